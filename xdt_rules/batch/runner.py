"""``run_batch``: list the entries, dispatch them to the executor, record every finished
application in the manifest the moment it finishes, then rebuild the summary from OUT.

The loop is a plain event loop over :class:`~xdt_rules.batch.executor.Executor`: entries are
prepared (listed + hashed) just before dispatch, so hashing overlaps the workers' parsing and a
``--resume`` run decides per entry whether anything changed. A file that passes the time limit
is recorded as failed (解析超时) and its application runs again without it; an application whose
worker died or raised is recorded as failed with the reason. The batch always completes.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..datapaths import DEFAULT_FRAMEWORK
from ..errors import XdtError
from ..fsutil import atomic_write_text
from ..models import FileRecord
from .executor import Event, Executor, FileFinished, FileStarted, LocalProcessExecutor, TaskDone, TaskFailed
from .inputs import BatchEntry, EntrySource, ZipLimits, list_entries, prepare_entry
from .progress import BatchProgress
from .resume import AppRecord, AppStatus, Manifest, is_up_to_date, load_manifest, now, save_manifest, state_dir
from .summary import SummaryPaths, collect, write_summary
from .work import (
    AppDone,
    AppTask,
    BatchPipeline,
    WorkContext,
    WorkCounts,
    entry_display_path,
    known_hashes,
    run_application,
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
    framework: str = DEFAULT_FRAMEWORK
    keywords: str | None = Field(None, description="another keywords folder")
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
    timeouts: int = 0
    worker_deaths: int = 0
    counts: WorkCounts = Field(default_factory=WorkCounts, description="the finished applications' work, summed")
    duplicate_passages: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    interrupted: bool = False
    failures: list[Failure] = Field(default_factory=list)
    summary: SummaryPaths | None = None

    @property
    def pages_per_second(self) -> float:
        return self.counts.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def ocr_pages_per_second(self) -> float:
        """Per worker: engine pages over engine seconds (the figure that sizes a batch of scans)."""
        return self.counts.ocr_pages / self.counts.ocr_seconds if self.counts.ocr_seconds > 0 else 0.0


def resolve_reference(reference: str) -> Callable[..., BatchPipeline]:
    """``"package.module:function"`` → a function returning a BatchPipeline (the seam tests use)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise XdtError(f"引用格式应为 模块:函数，而不是“{reference}”", f"expected module:function, got '{reference}'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise XdtError(f"无法加载 {reference}：{exc}", f"cannot load {reference}: {exc}") from None


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


MANIFEST_EVERY = 0.2  # seconds between manifest writes while applications finish back to back


class BatchRun:
    """One run of a batch: entries are prepared (listed and hashed) just before dispatch, so
    hashing overlaps the workers' parsing and ``--resume`` decides per entry whether anything
    changed; every finished application is recorded in the manifest at once."""

    def __init__(self, batch: Path, out: Path, options: BatchOptions, pipeline: BatchPipeline,
                 executor: Executor | None, console: Any | None):
        self.out, self.options, self.pipeline = out, options, pipeline
        out_resolved = out.resolve()
        sources = [s for s in list_entries(batch) if Path(s.path).resolve() != out_resolved]
        previous = load_manifest(out)
        names = {s.name for s in sources}
        kept = {k: v for k, v in previous.applications.items() if k in names} if options.resume else {}
        self.manifest = Manifest(order=[s.name for s in sources], applications=kept)
        save_manifest(out, self.manifest)
        cache_dir = (options.cache_dir or str(out / ".cache")) if options.use_cache else None
        context = WorkContext(pipeline=pipeline, out_dir=str(out), cache_dir=cache_dir, zip_limits=options.zip_limits,
                              passages=options.duplicates, ocr_page_seconds=options.ocr_page_seconds)
        self.executor = executor or LocalProcessExecutor(run_application, context, jobs=options.jobs,
                                                         file_timeout=options.file_timeout,
                                                         start_method=options.start_method)
        self.report = BatchReport(applications=len(sources))
        self.pending: deque[EntrySource | AppTask] = deque(sources)
        self.inflight: dict[str, AppTask] = {}
        self.progress = BatchProgress(len(sources), quiet=options.quiet, console=console)
        self._unsaved = 0.0  # when the oldest record not yet in the manifest file was made (0: none)

    def run(self) -> BatchReport:
        started = time.monotonic()
        interrupted = False
        with _SigtermAsInterrupt():
            try:
                with self.progress:
                    try:
                        while self.pending or self.executor.busy:
                            self._dispatch()
                            self._save(now=True)  # before waiting
                            events = self.executor.poll(0.25)
                            self._dispatch()  # refill freed workers first: recording (fsync) can wait
                            for event in events:
                                self._handle(event)
                            self.progress.tick()
                    finally:
                        # on Ctrl-C the workers are killed: whatever they were doing is simply not recorded
                        self.executor.close(kill=bool(self.pending or self.executor.busy))
                        self._save(now=True)
            except KeyboardInterrupt:
                interrupted = True
        report = self.report
        report.peak_rss_mb = getattr(getattr(self.executor, "stats", None), "peak_rss_mb", 0.0)
        report.seconds = round(time.monotonic() - started, 3)
        report.interrupted = interrupted
        report.not_run = report.applications - report.done - report.failed - report.skipped
        report.summary = rebuild_summary(self.out, manifest=self.manifest, duplicates=self.options.duplicates,
                                         min_chars=self.options.min_duplicate_chars, report=report)
        return report

    def _dispatch(self) -> None:
        while self.pending and self.executor.free_slots() > 0:
            item = self.pending.popleft()
            task = item if isinstance(item, AppTask) else self._prepare(item)
            if task is not None:
                self.inflight[task.entry.name] = task
                self.executor.submit(task.entry.name, task)

    def _prepare(self, source: EntrySource) -> AppTask | None:
        """The entry listed and hashed; None when it failed or --resume skips it."""
        try:
            entry = prepare_entry(source)
        except OSError as exc:
            self._fail(BatchEntry(name=source.name, path=source.path, kind=source.kind), f"无法读取：{exc} / cannot read")
            return None
        if self.options.resume and is_up_to_date(self.manifest.applications.get(entry.name), inputs=entry.inputs,
                                                 rules_version=self.pipeline.rules_version,
                                                 settings_key=self.pipeline.settings_key, out_dir=self.out):
            self.report.skipped += 1
            self.progress.application_skipped()
            return None
        return AppTask(entry=entry)

    def _handle(self, event: Event) -> None:
        if isinstance(event, FileStarted):
            self.progress.file_started(event.task_id, event.file)
        elif isinstance(event, FileFinished):
            self.progress.file_finished(event.pages, event.ocr_pages, event.ocr_seconds)
        elif isinstance(event, TaskDone):
            self._finished(self.inflight.pop(event.task_id), event.value)
        elif isinstance(event, TaskFailed):
            task = self.inflight.pop(event.task_id)
            shown = entry_display_path(self.out, task.entry, event.file) if event.file else None
            if event.kind == "timeout" and event.file:
                self.report.timeouts += 1
                sha = known_hashes(task.entry).get(event.file)
                retry = task.model_copy(update={
                    "skip_paths": task.skip_paths + [event.file],
                    "skip": task.skip + [FileRecord(path=shown or event.file, sha256=sha, error=event.reason)]})
                self.pending.appendleft(retry)  # first in line: its other files are in the cache already
                self.progress.note(f"[yellow]⏱ {task.entry.name}[/]：{shown} {event.reason}，跳过该文件重新处理")
                return
            reason = event.reason
            if event.kind == "died":
                self.report.worker_deaths += 1
            if event.file and shown:  # name the file as the applicant knows it, not by its path here
                reason = reason.replace(event.file, shown)
            self._fail(task.entry, reason)

    def _finished(self, task: AppTask, done: AppDone) -> None:
        self._record(task.entry, "done", done=done)
        self.report.done += 1
        self.report.counts.add(done.counts)
        self.progress.application_done()

    def _fail(self, entry: BatchEntry, reason: str) -> None:
        self._record(entry, "failed", reason=reason)
        self.report.failed += 1
        self.report.failures.append(Failure(application=entry.name, reason=reason))
        self.progress.application_failed()
        self.progress.note(f"[red]✗ {entry.name}[/]：{reason}")

    def _record(self, entry: BatchEntry, status: AppStatus, *, reason: str | None = None,
                done: AppDone | None = None) -> None:
        counts = done.counts if done else WorkCounts()
        self.manifest.applications[entry.name] = AppRecord(
            name=entry.name, source=entry.path, status=status, inputs=entry.inputs, reason=reason,
            rules_version=done.rules_version if done else self.pipeline.rules_version,
            settings_key=self.pipeline.settings_key, outputs=done.outputs if done else [],
            files=counts.files, pages=counts.pages, file_errors=counts.file_errors,
            seconds=done.seconds if done else 0.0, finished_at=now())
        self._unsaved = self._unsaved or time.monotonic()
        self._save()

    def _save(self, *, now: bool = False) -> None:
        """The manifest file is rewritten whole, at most every 0.2 s while applications finish back
        to back (always before waiting for workers and at the end). A record not yet saved only
        means its application is redone by --resume: its outputs are already on disk, and the
        manifest never names outputs that are not."""
        if self._unsaved and (now or time.monotonic() - self._unsaved >= MANIFEST_EVERY):
            save_manifest(self.out, self.manifest)
            self._unsaved = 0.0


def run_batch(batch_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
              options: BatchOptions | None = None, *, pipeline: BatchPipeline | None = None,
              executor: Executor | None = None, console: Any | None = None) -> BatchReport:
    """Screen every application in ``batch_dir`` into ``out_dir``; see the module docstring."""
    options = options or BatchOptions()
    batch, out = Path(batch_dir), Path(out_dir)
    if not batch.is_dir():
        raise XdtError("批量目录不存在或不是文件夹", "batch folder not found or not a folder", file=str(batch))
    out.mkdir(parents=True, exist_ok=True)
    if pipeline is None:
        pipeline = screen_pipeline(framework=options.framework, keywords=options.keywords,
                                   extract_options=options.extract_options, crops=options.crops)
    return BatchRun(batch, out, options, pipeline, executor, console).run()


def rebuild_summary(out_dir: str | os.PathLike[str], *, manifest: Manifest | None = None, duplicates: bool = True,
                    min_chars: int = 80, report: BatchReport | None = None) -> SummaryPaths:
    """summary.xlsx / summary.csv / index.html from what is in OUT (also usable on its own)."""
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
    return write_summary(out, collect(out, manifest, dup_report))


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
