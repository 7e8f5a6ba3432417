"""``run_batch``: list the entries, dispatch them to the executor, record every finished
application in the manifest the moment it finishes, then rebuild the summary from OUT.

The loop is a plain event loop over :class:`~xdt_rules.batch.executor.Executor`: entries are
prepared (listed + hashed) just before dispatch, so hashing overlaps the workers' parsing and a
``--resume`` run decides per entry whether anything changed. A file that passes the time limit
is recorded as failed (解析超时) and its application runs again without it (so is a file whose
worker passed its memory limit); an application whose worker died or raised is recorded as
failed with the reason. The batch always completes — except when the disk is full: then every
further application would fail too, so the run stops, keeps what is finished, and says which
file could not be written (``--resume`` goes on once there is room).

One batch writes into an OUT at a time (:class:`~xdt_rules.batch.outdir.OutLock`); reports of
applications that are not in this batch are moved aside, not left unlisted.
"""

from __future__ import annotations

import importlib
import os
from contextlib import nullcontext
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
from ..fsutil import OutputWriteError, atomic_write_text
from ..models import FileRecord
from .cluster import ClusterConnection, ClusterOptions, ClusterReport
from .executor import (
    Event,
    Executor,
    FileFinished,
    FileStarted,
    LocalProcessExecutor,
    TaskDone,
    TaskFailed,
    default_memory_limit_mb,
)
from .inputs import BatchEntry, EntrySource, ZipLimits, list_entries, prepare_entry
from .outdir import OutLock, remove_litter, set_aside_old_outputs, unlisted_results
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
    worker_memory_mb: float | None = Field(None, ge=0, description="resident memory a worker may use; "
                                                                   "None = automatic, 0 = no limit")
    cluster: ClusterOptions | None = Field(None, description="run on a Dask cluster instead of the local pool")


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
    memory_kills: int = 0
    worker_deaths: int = 0
    counts: WorkCounts = Field(default_factory=WorkCounts, description="the finished applications' work, summed")
    duplicate_passages: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    interrupted: bool = False
    stopped: str | None = Field(None, description="why the run stopped before the end (a full disk)")
    failures: list[Failure] = Field(default_factory=list)
    cluster: ClusterReport | None = Field(None, description="what the Dask cluster did (--scheduler / --cluster)")
    notes: list[str] = Field(default_factory=list, description="what the user should know about OUT")
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


class _Stop(Exception):
    """Every further application would fail the same way (a full disk): stop the run."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BatchRun:
    """One run of a batch: entries are prepared (listed and hashed) just before dispatch, so
    hashing overlaps the workers' parsing and ``--resume`` decides per entry whether anything
    changed; every finished application is recorded in the manifest at once."""

    def __init__(self, batch: Path, out: Path, options: BatchOptions, pipeline: BatchPipeline,
                 executor: Executor | None, console: Any | None, sources: list[EntrySource] | None = None,
                 connection: ClusterConnection | None = None):
        self.out, self.options, self.pipeline = out, options, pipeline
        if sources is None:
            sources = batch_sources(batch, out)
        previous = load_manifest(out)
        names = {s.name for s in sources}
        kept = {k: v for k, v in previous.applications.items() if k in names} if options.resume else {}
        self.report = BatchReport(applications=len(sources))
        cache_dir = (options.cache_dir or str(out / ".cache")) if options.use_cache else None
        self._tidy(out, previous, names, cache_dir)
        self.manifest = Manifest(order=[s.name for s in sources], applications=kept, batch_dir=str(batch.resolve()))
        save_manifest(out, self.manifest)
        context = WorkContext(pipeline=pipeline, out_dir=str(out), cache_dir=cache_dir, zip_limits=options.zip_limits,
                              passages=options.duplicates, ocr_page_seconds=options.ocr_page_seconds)
        self.executor = executor or self._executor(batch, context, connection)
        self.pending: deque[EntrySource | AppTask] = deque(sources)
        self.inflight: dict[str, AppTask] = {}
        self.progress = BatchProgress(len(sources), quiet=options.quiet, console=console)
        self._unsaved = 0.0  # when the oldest record not yet in the manifest file was made (0: none)
        self._max_file_bytes = _max_file_bytes(pipeline)

    def _executor(self, batch: Path, context: WorkContext, connection: ClusterConnection | None) -> Executor:
        options = self.options
        if connection is not None:
            from .cluster import DaskExecutor

            return DaskExecutor(connection, context, batch_dir=batch,
                                shared_path=options.cluster.shared_path if options.cluster else None,
                                file_timeout=options.file_timeout, memory_limit_mb=options.worker_memory_mb)
        memory = options.worker_memory_mb
        if memory is None:
            memory = default_memory_limit_mb(options.jobs)
        return LocalProcessExecutor(run_application, context, jobs=options.jobs, file_timeout=options.file_timeout,
                                    start_method=options.start_method, memory_limit_mb=memory or None)

    def _tidy(self, out: Path, previous: Manifest, names: set[str], cache_dir: str | None) -> None:
        """Before anything is written: old reports that are not this batch's moved aside (told),
        results that no batch wrote named, temp files of killed runs removed."""
        from ..screen import output_stem

        moved, where = set_aside_old_outputs(out, previous, names)
        if moved and where is not None:
            self.report.notes.append(
                f"输出目录中有 {moved} 份不属于本批次的旧报告，已移到 {where}，未列入汇总 / "
                f"{moved} old reports of applications not in this batch were moved to {where}")
        own = {f"{output_stem(name)}.json" for name in names}
        own |= {o for record in previous.applications.values() for o in record.outputs}
        stray = unlisted_results(out, own)
        if stray:
            shown = "、".join(stray[:5]) + ("…" if len(stray) > 5 else "")
            self.report.notes.append(
                f"输出目录中另有 {len(stray)} 个结果文件不属于本批次（{shown}），汇总未列入；"
                f"建议每个批次使用单独的 --out / {len(stray)} result files in the output folder are not this "
                f"batch's and are not in the summary; use a separate --out per batch")
        remove_litter(out, cache_dir)

    def run(self) -> BatchReport:
        started = time.monotonic()
        interrupted = False
        stopped: str | None = None
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
                        try:
                            self._save(now=True)
                        except OutputWriteError:
                            pass  # reported below when it was the cause; the previous manifest stays
            except KeyboardInterrupt:
                interrupted = True
            except _Stop as stop:
                stopped = stop.reason
            except OutputWriteError as exc:  # the manifest could not be written
                stopped = exc.one_line()
        report = self.report
        stats = getattr(self.executor, "stats", None)
        report.peak_rss_mb = getattr(stats, "peak_rss_mb", 0.0)
        report.memory_kills = getattr(stats, "memory_kills", 0)
        report.cluster = getattr(self.executor, "report", None)
        report.seconds = round(time.monotonic() - started, 3)
        report.interrupted = interrupted
        report.stopped = stopped
        report.not_run = report.applications - report.done - report.failed - report.skipped
        self.progress.finish(interrupted=interrupted, stopped=stopped)
        try:
            report.summary = rebuild_summary(self.out, manifest=self.manifest, duplicates=self.options.duplicates,
                                             min_chars=self.options.min_duplicate_chars, report=report)
        except OSError as exc:
            removed = _remove_summary(self.out)
            reason = exc.one_line() if isinstance(exc, XdtError) else f"{type(exc).__name__}: {exc}"
            report.notes.append(f"汇总表未能更新（{reason}）"
                                + ("，旧汇总已删除以免与结果不符" if removed else "")
                                + "；腾出空间后用 --resume 重新生成 / the summary could not be written"
                                + ("; the old one was removed so that it cannot disagree with the results" if removed else ""))
            report.stopped = report.stopped or reason
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
        if source.problem:  # a symbolic link, a pipe, a device: never opened
            self._fail(BatchEntry(name=source.name, path=source.path, kind=source.kind), source.problem)
            return None
        try:
            entry = prepare_entry(source, max_file_bytes=self._max_file_bytes)
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
            self.progress.file_finished(event.pages, event.ocr_pages, event.ocr_seconds, task=event.task_id)
        elif isinstance(event, TaskDone):
            self._finished(self.inflight.pop(event.task_id), event.value)
        elif isinstance(event, TaskFailed):
            task = self.inflight.pop(event.task_id)
            shown = entry_display_path(self.out, task.entry, event.file) if event.file else None
            self.progress.task_dropped(event.task_id)
            if event.kind in ("disk_full", "setup"):
                self.pending.clear()  # not recorded: --resume screens it once the problem is fixed
                raise _Stop(event.reason)
            if event.kind in ("timeout", "memory") and event.file:
                if event.kind == "timeout":
                    self.report.timeouts += 1
                sha = known_hashes(task.entry).get(event.file)
                retry = task.model_copy(update={
                    "skip_paths": task.skip_paths + [event.file],
                    "skip": task.skip + [FileRecord(path=shown or event.file, sha256=sha, error=event.reason)]})
                self.pending.appendleft(retry)  # first in line: its other files are in the cache already
                mark = "⏱" if event.kind == "timeout" else "⚠"
                self.progress.note(f"[yellow]{mark} {_esc(task.entry.name)}[/]：{_esc(f'{shown} {event.reason}')}，跳过该文件重新处理")
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
        self.progress.application_done(task=task.entry.name, pages=done.counts.pages)

    def _fail(self, entry: BatchEntry, reason: str) -> None:
        self._record(entry, "failed", reason=reason)
        self.report.failed += 1
        self.report.failures.append(Failure(application=entry.name, reason=reason))
        self.progress.application_failed()
        self.progress.note(f"[red]✗ {_esc(entry.name)}[/]：{_esc(reason)}")

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
    sources = batch_sources(batch, out)
    if not sources:
        raise XdtError("批量目录中没有申报材料（应为每份申报一个子文件夹、文件或 .zip）",
                       "the batch folder holds no applications (one subfolder, file or .zip per application)",
                       file=str(batch), code="empty_batch")
    if pipeline is None:
        pipeline = screen_pipeline(framework=options.framework, keywords=options.keywords,
                                   extract_options=options.extract_options, crops=options.crops)
    connection = None
    if options.cluster is not None and executor is None:
        from .cluster import connect

        connection = connect(options.cluster)  # before OUT is touched: an unreachable scheduler changes nothing
    with connection or nullcontext():
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise XdtError(f"无法创建输出目录（{exc.strerror or exc}）", "cannot create the output folder",
                           file=str(out)) from None
        with OutLock(out):
            return BatchRun(batch, out, options, pipeline, executor, console, sources, connection=connection).run()


def batch_sources(batch: Path, out: Path) -> list[EntrySource]:
    """The entries of BATCH_DIR, without OUT when OUT is inside it."""
    out_resolved = out.resolve()
    return [s for s in list_entries(batch) if Path(s.path).resolve() != out_resolved]


def _esc(text: str) -> str:
    """Names and reasons printed through rich: a "[" in a file name is text, not markup."""
    from rich.markup import escape

    return escape(text)


def _max_file_bytes(pipeline: BatchPipeline) -> int | None:
    settings = getattr(pipeline, "settings", None)
    extract = getattr(settings, "extract", None)
    limit = getattr(extract, "max_file_mb", None)
    return int(limit * 1024 * 1024) if limit else None


def _remove_summary(out: Path) -> bool:
    """Delete the summary files (a stale summary must not contradict the manifest)."""
    removed = False
    for name in ("summary.xlsx", "summary.csv", "index.html"):
        try:
            (out / name).unlink()
            removed = True
        except FileNotFoundError:
            continue
        except OSError:
            continue
    return removed


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
            key = dup.passages_key_path(out, name).read_text(encoding="ascii")
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
