"""``run_batch``: list the entries, dispatch them to the executor, record every finished
application in the manifest the moment it finishes, then rebuild the summary from OUT.

The loop is a plain event loop over :class:`~xdt_rules.batch.executor.Executor`: entries are
prepared (listed + hashed) just before dispatch, so hashing overlaps the workers' parsing and a
``--resume`` run decides per entry whether anything changed. A file that passes the time limit
is recorded as failed (解析超时) and its application runs again without it; an application whose
worker died or raised is recorded as failed with the reason. The batch always completes.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import XdtError
from ..models import FileRecord
from .executor import (
    Executor,
    FileFinished,
    FileStarted,
    LocalProcessExecutor,
    TaskDone,
    TaskFailed,
)
from .fsutil import atomic_write_text
from .inputs import BatchEntry, EntrySource, ZipLimits, list_entries, prepare_entry
from .progress import BatchProgress
from .resume import (
    AppRecord,
    Manifest,
    is_up_to_date,
    load_manifest,
    now,
    save_manifest,
    state_dir,
)
from .summary import SummaryPaths, collect, write_summary
from .work import (
    AppDone,
    AppTask,
    Pipeline,
    WorkContext,
    display_path,
    known_hashes,
    run_application,
    run_cached_application,
    screen_pipeline,
)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class BatchOptions(BaseModel):
    jobs: int = Field(default_factory=default_jobs, ge=1)
    file_timeout: float | None = Field(120.0, description="seconds per file; None or 0 = no limit")
    resume: bool = False
    cache_dir: str | None = Field(None, description="default OUT/.cache")
    use_cache: bool = True
    quiet: bool = False
    duplicates: bool = True
    min_duplicate_chars: int = Field(80, ge=20)
    zip_limits: ZipLimits = Field(default_factory=ZipLimits)
    framework: str = "kunming-xdt"
    extract_options: dict[str, Any] = Field(default_factory=dict)
    crops: bool = True
    start_method: str = "spawn"
    ocr_page_seconds: float = Field(20.0, ge=0, description="extra time limit per page OCR may read")


class Failure(BaseModel):
    application: str
    reason: str


class BatchReport(BaseModel):
    applications: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    not_run: int = 0
    pages: int = 0
    files: int = 0
    file_errors: int = 0
    timeouts: int = 0
    worker_deaths: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    evidence_hits: int = Field(0, description="documents re-scored from the evidence cache (neither parsed nor matched)")
    inputs_hits: int = Field(0, description="applications re-scored from their cached scoring inputs (only the rules ran)")
    crops_rendered: int = 0
    ocr_pages: int = Field(0, description="pages or images the OCR engine read (not from the OCR cache)")
    ocr_seconds: float = Field(0.0, description="engine time for them, summed over workers")
    rescored_in_main: int = Field(0, description="fully cached applications re-scored without a worker")
    rescored_in_forks: int = Field(0, description="fully cached applications re-scored by forks of the main process")
    duplicate_passages: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    stage_seconds: dict[str, float] = Field(default_factory=dict, description="worker time per screening stage, summed")
    interrupted: bool = False
    failures: list[Failure] = Field(default_factory=list)
    summary: SummaryPaths | None = None

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def ocr_pages_per_second(self) -> float:
        """Per worker: engine pages over engine seconds (the figure that sizes a batch of scans)."""
        return self.ocr_pages / self.ocr_seconds if self.ocr_seconds > 0 else 0.0


def resolve_reference(reference: str) -> Callable[..., Any]:
    """``"package.module:function"`` → the function (the seam for other pipelines and engines)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise XdtError(f"引用格式应为 模块:函数，而不是“{reference}”", f"expected module:function, got '{reference}'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise XdtError(f"无法加载 {reference}：{exc}", f"cannot load {reference}: {exc}") from None


@contextmanager
def _frozen_heap() -> Iterator[Callable[[], None]]:
    """The collector's thresholds of the workers (``executor.GC_THRESHOLD``) for the batch's
    own process while it runs, and its long-lived objects frozen: re-scoring cached
    applications here is allocation-heavy, and full collections walking every module and
    cache took ~30 % of it. Yields ``settle`` to freeze what a finished application left
    alive; everything is unfrozen and the thresholds restored at the end. A caller that froze
    objects itself keeps its own arrangement (only the thresholds change)."""
    from .executor import GC_THRESHOLD

    previous = gc.get_threshold()
    ours = gc.get_freeze_count() == 0
    gc.set_threshold(*GC_THRESHOLD)
    if ours:
        gc.freeze()
    try:
        yield (gc.freeze if ours else (lambda: None))
    finally:
        gc.set_threshold(*previous)
        if ours:
            gc.unfreeze()


class _SigtermAsInterrupt:
    """``kill PID`` stops a batch like Ctrl-C does: workers killed, finished results and summary kept."""

    def __enter__(self) -> None:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._raise)

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def run_batch(batch_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
              options: BatchOptions | None = None, *, pipeline: Pipeline | None = None,
              executor: Executor | None = None, console: Any | None = None) -> BatchReport:
    """Screen every application in ``batch_dir`` into ``out_dir``; see the module docstring."""
    options = options or BatchOptions()
    batch_path, out = Path(batch_dir), Path(out_dir)
    if not batch_path.is_dir():
        raise XdtError("批量目录不存在或不是文件夹", "batch folder not found or not a folder", file=str(batch_path))
    out.mkdir(parents=True, exist_ok=True)
    if pipeline is None:
        pipeline = screen_pipeline(framework=options.framework, extract_options=options.extract_options,
                                   crops=options.crops)
    cache_dir = (options.cache_dir or str(out / ".cache")) if options.use_cache else None
    out_resolved = out.resolve()
    sources = [s for s in list_entries(batch_path) if Path(s.path).resolve() != out_resolved]

    previous = load_manifest(out)
    names = {s.name for s in sources}
    manifest = Manifest(order=[s.name for s in sources],
                        applications={k: v for k, v in previous.applications.items() if k in names} if options.resume else {})
    save_manifest(out, manifest)

    context = WorkContext(pipeline=pipeline, out_dir=str(out), cache_dir=cache_dir, zip_limits=options.zip_limits,
                          passages=options.duplicates, ocr_page_seconds=options.ocr_page_seconds)
    if executor is None:
        executor = LocalProcessExecutor(run_application, context, jobs=options.jobs, file_timeout=options.file_timeout,
                                        start_method=options.start_method)
    report = BatchReport(applications=len(sources))
    started = time.monotonic()
    pending: deque[EntrySource | AppTask] = deque(sources)
    inflight: dict[str, AppTask] = {}
    progress = BatchProgress(len(sources), quiet=options.quiet, console=console)

    unsaved = [0.0]  # when the oldest record not yet in the manifest file was made (0: none)

    def record(entry: BatchEntry, status: str, *, reason: str | None = None, done: AppDone | None = None) -> None:
        manifest.applications[entry.name] = AppRecord(
            name=entry.name, source=entry.path, status=status, inputs=entry.inputs, reason=reason,
            rules_version=(done.rules_version if done and done.rules_version else pipeline.rules_version),
            settings_key=pipeline.settings_key,
            outputs=done.outputs if done else [], files=done.files if done else 0, pages=done.pages if done else 0,
            file_errors=done.file_errors if done else 0, seconds=done.seconds if done else 0.0, finished_at=now())
        unsaved[0] = unsaved[0] or time.monotonic()
        save_records()

    def save_records(*, now_: bool = False) -> None:
        """The manifest file is rewritten whole; when cached applications finish every ~15 ms it
        is written at most every 0.2 s (and always before waiting for workers and at the end).
        A record not yet saved only means its application is redone by --resume: its outputs
        are already on disk, and the manifest never names outputs that are not."""
        if unsaved[0] and (now_ or time.monotonic() - unsaved[0] >= MANIFEST_EVERY):
            save_manifest(out, manifest)
            unsaved[0] = 0.0

    def fail(entry: BatchEntry, reason: str) -> None:
        record(entry, "failed", reason=reason)
        report.failed += 1
        report.failures.append(Failure(application=entry.name, reason=reason))
        progress.application_failed()
        progress.note(f"[red]✗ {entry.name}[/]：{reason}")

    inline = InlineRescorer(context) if pipeline.caches and cache_dir else None
    helpers: LocalProcessExecutor | None = None  # forks of this process for cached applications
    forked: dict[str, AppTask] = {}

    def start_helpers() -> None:
        """Once this process has re-scored one application (imports done, rules compiled), fork
        ``jobs - 1`` copies of it to share the rest: a fork starts warm in milliseconds, a
        spawned worker needs ~1 s before its first application."""
        nonlocal helpers
        if (helpers is None and inline is not None and inline.ran >= 1 and options.jobs > 1
                and len(pending) > HELPERS_MIN_PENDING and fork_is_safe()):
            # depth 2: the next application waits in the fork's pipe, so it never idles while
            # this process is busy with one of its own
            helpers = LocalProcessExecutor(run_cached_application, context, jobs=options.jobs - 1,
                                           file_timeout=None, start_method="fork", depth=2)

    def collect_helpers(timeout: float = 0.0) -> None:
        if helpers is None or not helpers.busy:
            return
        for event in helpers.poll(timeout):
            if isinstance(event, (TaskDone, TaskFailed)):
                task = forked.pop(event.task_id)
                if isinstance(event, TaskDone) and event.value is not None:
                    report.rescored_in_forks += 1
                    finished(task, event.value)
                else:  # it needs parsing or rendering after all (or failed): a spawned worker does it
                    assert inline is not None
                    inline.decline(task)
                    pending.appendleft(task)

    def dispatch() -> None:
        while pending:
            item = pending[0]
            if isinstance(item, AppTask):
                task = item
            else:
                pending.popleft()
                try:
                    entry = prepare_entry(item)
                except OSError as exc:
                    fail(BatchEntry(name=item.name, path=item.path, kind=item.kind), f"无法读取：{exc} / cannot read")
                    continue
                if options.resume and is_up_to_date(manifest.applications.get(entry.name), inputs=entry.inputs,
                                                     rules_version=pipeline.rules_version,
                                                     settings_key=pipeline.settings_key, out_dir=out):
                    report.skipped += 1
                    progress.application_skipped()
                    continue
                task = AppTask(entry=entry)
                pending.appendleft(task)  # prepared once, whether it runs here or waits for a worker
            if inline is not None and (caches := inline.cacheable(task)) is not None:
                start_helpers()
                if helpers is not None and helpers.free_slots() > 0:
                    pending.popleft()
                    forked[task.entry.name] = task
                    helpers.submit(task.entry.name, task)
                    continue
                if (done := inline.run(task, caches)) is not None:
                    pending.popleft()
                    finished(task, done)
                    collect_helpers()  # and keep them busy
                    continue
            if executor.free_slots() <= 0:
                return
            pending.popleft()
            inflight[task.entry.name] = task
            executor.submit(task.entry.name, task)

    def finished(task: AppTask, done: AppDone) -> None:
        record(task.entry, "done", done=done)
        report.done += 1
        report.pages += done.pages
        report.files += done.files
        report.file_errors += done.file_errors
        report.cache_hits += done.cache_hits
        report.cache_misses += done.cache_misses
        report.evidence_hits += done.evidence_hits
        report.inputs_hits += done.inputs_hits
        report.crops_rendered += done.crops_rendered
        report.ocr_pages += done.ocr_pages
        report.ocr_seconds = round(report.ocr_seconds + done.ocr_seconds, 3)
        for stage, seconds in done.stage_seconds.items():
            report.stage_seconds[stage] = round(report.stage_seconds.get(stage, 0.0) + seconds, 3)
        progress.application_done()

    def handle(event: Any) -> None:
        if isinstance(event, FileStarted):
            progress.file_started(event.task_id, event.file)
        elif isinstance(event, FileFinished):
            progress.file_finished(event.pages, event.ocr_pages, event.ocr_seconds)
        elif isinstance(event, TaskDone):
            finished(inflight.pop(event.task_id), event.value)
        elif isinstance(event, TaskFailed):
            task = inflight.pop(event.task_id)
            if event.kind == "timeout" and event.file:
                report.timeouts += 1
                sha = known_hashes(task.entry).get(event.file)
                shown = display_path(_entry_root(out, task.entry), event.file)
                retry = task.model_copy(update={
                    "skip_paths": task.skip_paths + [event.file],
                    "skip": task.skip + [FileRecord(path=shown, sha256=sha, error=event.reason)]})
                pending.appendleft(retry)  # first in line: its other files are in the cache already
                progress.note(f"[yellow]⏱ {task.entry.name}[/]：{event.file} {event.reason}，跳过该文件重新处理")
            else:
                reason = event.reason
                if event.kind == "died":
                    report.worker_deaths += 1
                    if event.file:  # name the file as the applicant knows it, not by its path here
                        reason = reason.replace(event.file, display_path(_entry_root(out, task.entry), event.file))
                fail(task.entry, reason)

    interrupted = False
    with _frozen_heap() as settle:
        if inline is not None:
            inline.settle = settle
        with _SigtermAsInterrupt():
            try:
                with progress:
                    try:
                        while pending or executor.busy or (helpers is not None and helpers.busy):
                            dispatch()
                            forks_busy = helpers is not None and helpers.busy
                            if not (pending or executor.busy or forks_busy):
                                break  # everything ran here: no worker to wait for
                            save_records(now_=True)  # before waiting
                            events = executor.poll(0.0 if forks_busy else 0.25) if executor.busy or not forks_busy else []
                            collect_helpers(0.02 if forks_busy and not events else 0.0)
                            dispatch()  # refill freed workers first: recording (fsync) can wait
                            for event in events:
                                handle(event)
                            progress.tick()
                    finally:
                        # on Ctrl-C the workers are killed: whatever they were doing is simply not recorded
                        if helpers is not None:
                            helpers.close(kill=True)  # idle by now unless interrupted
                        executor.close(kill=bool(pending or executor.busy))
                        save_records(now_=True)
            except KeyboardInterrupt:
                interrupted = True
        stats = getattr(executor, "stats", None)
        report.peak_rss_mb = getattr(stats, "peak_rss_mb", 0.0)
        report.rescored_in_main = inline.ran if inline is not None else 0
        report.seconds = round(time.monotonic() - started, 3)
        report.interrupted = interrupted
        report.not_run = report.applications - report.done - report.failed - report.skipped
        report.summary = rebuild_summary(out, manifest=manifest, duplicates=options.duplicates,
                                         min_chars=options.min_duplicate_chars, report=report,
                                         known=inline.results if inline is not None else None)
    return report


# Forking helpers is worth it only for a good number of cached applications (~15 ms each).
HELPERS_MIN_PENDING = 8
MANIFEST_EVERY = 0.2  # seconds between manifest writes while applications finish back to back


def fork_is_safe() -> bool:
    """A fork copies only the calling thread: with any other thread alive (a progress bar that
    refreshes itself, a caller's threads) a lock it held could stay locked in the copy. Linux
    only, where fork is the native start method and the helpers die with the batch."""
    import multiprocessing as mp

    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and "fork" in mp.get_all_start_methods())


class _QuietReporter:
    """In the main process nothing is parsed, so there is no file to time."""

    def file_started(self, path: str, extra_seconds: float = 0.0) -> None:
        pass

    def file_finished(self, path: str, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0) -> None:
        pass


class InlineRescorer:
    """Re-scores a fully cached application in the batch's own process.

    When every document's mentions are cached (a rules edit), an application costs ~20 ms of
    scoring and writing; starting a worker costs ~0.6 s (interpreter, imports, compiled rules)
    and every task a round of pickling. So such an application runs here, through the same
    :func:`run_application`, with caches that refuse to parse or render (``cached_only``):
    anything that would need pdfium or the extractor raises CacheMiss before an output is
    written, and the application goes to a worker as usual. Workers start only when needed.
    With ``--jobs`` above 1, forks of this process (warm after its first application) take a
    share of the cached applications (``run_cached_application``).
    """

    def __init__(self, context: WorkContext):
        self.context = context
        self.ran = 0
        self._declined: set[str] = set()  # waiting for a worker: not looked at again
        self.settle: Callable[[], None] = lambda: None  # after each application (see _frozen_heap)
        self.results: dict[str, Any] = {}  # JSON file name → the result written (for the summary)

    @property
    def declined(self) -> int:
        return len(self._declined)

    def cacheable(self, task: AppTask) -> Any | None:
        """The caches to re-score ``task`` from (every document's mentions are there), or None
        when it needs a worker (a look at file names only; a task declined once stays declined)."""
        from .work import ScreenCaches

        entry = task.entry
        if (entry.name in self._declined or task.skip_paths or entry.kind == "zip" or not entry.files
                or entry.file_errors):
            return None
        ctx = self.context
        assert ctx.cache_dir is not None
        try:
            caches = ScreenCaches.open(ctx.pipeline, ctx.cache_dir, known_hashes(entry), render_crops=False)
            if caches.has_evidence_for(entry.files):
                return caches
        except Exception:  # noqa: BLE001 - a worker will find out what is wrong
            pass
        self._declined.add(entry.name)
        return None

    def decline(self, task: AppTask) -> None:
        self._declined.add(task.entry.name)

    def run(self, task: AppTask, caches: Any) -> AppDone | None:
        """The finished application, or None when it needs a worker after all."""
        from ..cache import CacheMiss

        outcome: list[Any] = []
        try:
            done = run_application(task, self.context, _QuietReporter(), cached_only=True, caches=caches,
                                   keep=outcome.append)
        except CacheMiss:
            done = None
        except Exception:  # noqa: BLE001 - whatever went wrong here, a worker does it properly
            done = None
        if done is None:
            self.decline(task)
            return None
        json_name = next((o for o in done.outputs if o.endswith(".json")), None)
        if json_name and outcome:
            self.results[json_name] = outcome[0].result
        self.ran += 1
        self.settle()
        return done


def _entry_root(out: Path, entry: BatchEntry) -> str:
    """Where an entry's files are: its folder, or where its zip was unpacked (for display paths)."""
    return str(state_dir(out) / "unzipped" / entry.name) if entry.kind == "zip" else entry.path


def rebuild_summary(out_dir: str | os.PathLike[str], *, manifest: Manifest | None = None, duplicates: bool = True,
                    min_chars: int = 80, report: BatchReport | None = None,
                    known: dict[str, Any] | None = None) -> SummaryPaths:
    """summary.xlsx / summary.csv / index.html from what is in OUT (also usable on its own);
    ``known``: results this process wrote, by JSON file name (not read back)."""
    from .duplicates import DuplicateReport, find_duplicates, load_all_passages

    out = Path(out_dir)
    manifest = manifest or load_manifest(out)
    dup_report = DuplicateReport()
    if duplicates:
        done = [name for name in manifest.order if (r := manifest.applications.get(name)) and r.status == "done"]
        dup_report = _reuse_duplicates(out, done, min_chars)
        if dup_report is None:
            dup_report = find_duplicates(load_all_passages(out, done), min_chars=min_chars)
            _store_duplicates(out, done, min_chars, dup_report)
        if report is not None:
            report.duplicate_passages = len(dup_report.passages)
    return write_summary(out, collect(out, manifest, dup_report, known=known))


def _duplicates_key(out: Path, applications: list[str], min_chars: int) -> str | None:
    """What the duplicate passages of a batch depend on: each finished application's passages
    key (its documents and the criteria text, see ``passages_key``), in order, the minimum
    length and the duplicates code. None when an application has no passages key yet."""
    import hashlib

    from . import duplicates as dup

    digest = hashlib.sha256(f"{dup.PASSAGES_FORMAT}|{dup.K}|{dup.W}|{min_chars}|".encode())
    digest.update(hashlib.sha256(Path(dup.__file__).read_bytes()).digest())
    for name in applications:
        try:
            key = dup.passages_path(out, name).with_name(f"{name}.key").read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        digest.update(f"{name}\0{key}\0".encode())
    return digest.hexdigest()


def _reuse_duplicates(out: Path, applications: list[str], min_chars: int):
    """The previous run's duplicate passages when no application's documents changed (a re-score):
    comparing every pair of applications again took ~1 s for 100 applications."""
    from .duplicates import DuplicateReport

    key = _duplicates_key(out, applications, min_chars)
    try:
        if key is None or (state_dir(out) / "duplicates.key").read_text(encoding="ascii") != key:
            return None
        return DuplicateReport.model_validate_json((state_dir(out) / "duplicates.json").read_bytes())
    except (OSError, ValueError):
        return None


def _store_duplicates(out: Path, applications: list[str], min_chars: int, found) -> None:
    key_file = state_dir(out) / "duplicates.key"
    try:
        key_file.unlink()  # never vouch for a report being replaced
    except FileNotFoundError:
        pass
    atomic_write_text(state_dir(out) / "duplicates.json", found.model_dump_json(indent=1), durable=False)
    key = _duplicates_key(out, applications, min_chars)
    if key is not None:
        atomic_write_text(key_file, key, durable=False)
