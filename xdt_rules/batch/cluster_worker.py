"""What a Dask worker does for one application of a batch (the worker side of ``--scheduler``).

:func:`run_shipped` is the Dask task. It runs in a thread of the Dask worker process but does not
screen there: it lays the application's files in a scratch folder and hands the application to
a one-process :class:`~xdt_rules.batch.executor.LocalProcessExecutor` of its own — the pool the
local backend uses — running :func:`~xdt_rules.batch.work.run_prepared`. So the per-file time
limit, the memory limit and a crash inside pdfium cost a child process, not the Dask worker, and
come back as the very events the local pool reports; the client's runner handles them the same
way (a timed-out file is left out and the application sent again, and so on). Only the death of
the Dask worker itself (kill -9, a power cut) is Dask's business: it runs the task again elsewhere.

Nothing is written outside the scratch folder: outputs, passages and cache entries are read back
and returned to the client, which alone writes OUT. File paths in events and reasons are told in
the client's paths, so the runner cannot tell the result from one made on its own machine.
"""

from __future__ import annotations

import asyncio

import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..framework import FrameworkRef
from ..fsutil import sha256_file
from ..screen import ApplicationInput
from .executor import (
    Event,
    FileFinished,
    FileStarted,
    LocalProcessExecutor,
    Reporter,
    TaskDone,
    TaskFailed,
    default_memory_limit_mb,
)
from .shipment import AREAS, AreaFile, BatchSpec, FrameworkFiles, Shipment, ShippedResult, safe_rel, tool_fingerprint
from .work import AppDone, PreparedTask, WorkContext, run_prepared

POLL_SECONDS = 0.25


def batch_spec(spec: BatchSpec) -> BatchSpec:
    """The batch's spec as a task result: Dask hands it to each worker once, and computes it again
    (from the graph it keeps) if every worker holding it dies."""
    return spec


def progress_topic(batch_id: str) -> str:
    """The Dask event topic a batch's file events are logged under (the client subscribes to it)."""
    return f"xdt-batch-{batch_id}"


class ScratchTask(BaseModel):
    """What the child process is given: the application and where this task's folders are."""

    prepared: PreparedTask
    out_dir: str
    cache_dir: str | None
    ocr_cache_dir: str | None


def run_scratch(task: ScratchTask, ctx: WorkContext, reporter: Reporter) -> AppDone:
    """The child's work function: :func:`run_prepared` with this task's scratch folders (the
    OCR cache folder too: the client's own path means nothing on this machine)."""
    pipeline = ctx.pipeline
    extract = pipeline.settings.extract.model_copy(update={"cache_dir": task.ocr_cache_dir})
    pipeline = dataclasses.replace(pipeline, settings=pipeline.settings.model_copy(update={"extract": extract}))
    here = dataclasses.replace(ctx, pipeline=pipeline, out_dir=task.out_dir, cache_dir=task.cache_dir)
    return run_prepared(task.prepared, here, reporter)


# --------------------------------------------------------------------------- per-thread pools

@dataclasses.dataclass
class _Pool:
    batch_id: str
    executor: LocalProcessExecutor
    busy: bool = False


_LOCK = threading.Lock()
_POOLS: dict[int, _Pool] = {}  # by thread: a Dask worker may run several tasks at once
_CANCELLED: set[str] = set()
_FRAMEWORK_LOCK = threading.Lock()


def _pool(spec: BatchSpec) -> _Pool | None:
    """This thread's child process for this batch (started on first use); None once cancelled."""
    thread = threading.get_ident()
    stale = None
    with _LOCK:
        if spec.batch_id in _CANCELLED:
            return None
        pool = _POOLS.get(thread)
        if pool is not None and pool.batch_id != spec.batch_id:
            stale, pool = pool, None
            del _POOLS[thread]
    if stale is not None:
        stale.executor.close(kill=True)
    if pool is None:
        ref = materialise_framework(spec.framework)
        context = WorkContext(pipeline=dataclasses.replace(spec.pipeline, framework=ref), out_dir="", cache_dir=None,
                              passages=spec.passages, ocr_page_seconds=spec.ocr_page_seconds)
        memory = spec.memory_limit_mb
        if memory is None:
            memory = default_memory_limit_mb(_cores())
        executor = LocalProcessExecutor(run_scratch, context, jobs=1, file_timeout=spec.file_timeout,
                                        memory_limit_mb=memory or None)
        pool = _Pool(batch_id=spec.batch_id, executor=executor)
        with _LOCK:
            _POOLS[thread] = pool
    pool.busy = True
    return pool


def release_batch(batch_id: str) -> int:
    """The client is done with a batch (finished or interrupted): its idle child processes stop at
    once, busy ones as soon as their task thread looks (Dask cannot stop a running task).
    Run on every worker by the client (``Client.run``); returns how many were stopped."""
    with _LOCK:
        _CANCELLED.add(batch_id)
        idle = [(thread, pool) for thread, pool in _POOLS.items() if pool.batch_id == batch_id and not pool.busy]
        for thread, _ in idle:
            del _POOLS[thread]
    for _, pool in idle:
        pool.executor.close(kill=True)
    return len(idle)


async def release_batch_soon(batch_id: str) -> None:
    """``release_batch`` for ``Client.run(..., wait=False)``, which only takes coroutines; stopping
    child processes may block, so it runs off the worker's event loop."""
    await asyncio.to_thread(release_batch, batch_id)


def _cancelled(batch_id: str) -> bool:
    with _LOCK:
        return batch_id in _CANCELLED


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- the Dask task

def run_shipped(shipment: Shipment, spec: BatchSpec) -> ShippedResult:
    """Screen one shipped application here; never raises for what the local pool would report."""
    worker = _dask_worker()
    where = getattr(worker, "address", "") or "local"
    ocr = spec.pipeline.settings.extract.ocr != "off"
    if tool_fingerprint(ocr) != spec.tool:
        reason = (f"工作机 {where} 上安装的 xdt-rules（代码、依赖库版本或 OCR 组件）与本机不同，结果会不一致；"
                  f"请在所有电脑上安装同一版本（含相同的附加组件）/ the worker {where} runs another xdt-rules "
                  f"(code, library versions or the OCR extra); install the same version on every machine")
        return ShippedResult(event=TaskFailed(shipment.task_id, "setup", reason), worker=where)
    scratch = Path(tempfile.mkdtemp(prefix="xdt-task-", dir=_local_directory(worker)))
    try:
        try:
            prepared, paths = lay_out(shipment, scratch / "in")
        except _NotShipped as problem:
            return ShippedResult(event=TaskFailed(shipment.task_id, "error", f"{problem} [{where}]"), worker=where)
        seeded = _seed(shipment.seeds, scratch)
        task = ScratchTask(prepared=prepared, out_dir=str(scratch / "out"),
                           cache_dir=str(scratch / "cache") if spec.use_cache else None,
                           ocr_cache_dir=str(scratch / "ocr") if spec.ocr_cache else None)
        translate = _Translator(paths)
        pool = _pool(spec)
        if pool is None:
            return ShippedResult(event=_cancelled_event(shipment.task_id), worker=where)
        try:
            event = _run(pool, shipment.task_id, task, spec.batch_id, translate, worker)
            peak = event.peak_rss_mb if isinstance(event, TaskDone) else pool.executor.stats.peak_rss_mb
        finally:
            pool.busy = False
        return ShippedResult(event=translate.event(event), files=_written(scratch, seeded), worker=where,
                             peak_rss_mb=peak)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(pool: _Pool, task_id: str, task: ScratchTask, batch_id: str, translate: _Translator,
         worker: Any) -> TaskDone | TaskFailed:
    executor = pool.executor
    executor.submit(task_id, task)
    topic = progress_topic(batch_id)
    while True:
        if _cancelled(batch_id):
            with _LOCK:
                if _POOLS.get(threading.get_ident()) is pool:
                    del _POOLS[threading.get_ident()]
            executor.close(kill=True)
            return _cancelled_event(task_id)
        for event in executor.poll(POLL_SECONDS):
            if isinstance(event, (TaskDone, TaskFailed)):
                return event
            if worker is not None:
                worker.log_event(topic, _progress_message(translate.event(event)))


def _cancelled_event(task_id: str) -> TaskFailed:
    return TaskFailed(task_id, "died", "批次已被取消 / the batch was cancelled")


def _progress_message(event: Event) -> dict[str, Any]:
    """A msgpack-able form of a file event (Dask's event log carries plain data only)."""
    if isinstance(event, FileStarted):
        return {"kind": "start", "task": event.task_id, "file": event.file}
    assert isinstance(event, FileFinished)
    return {"kind": "end", "task": event.task_id, "file": event.file, "pages": event.pages,
            "ocr_pages": event.ocr_pages, "ocr_seconds": event.ocr_seconds}


def progress_event(message: dict[str, Any]) -> Event | None:
    """The file event a progress message stands for (on the client); None if it is not one."""
    try:
        if message["kind"] == "start":
            return FileStarted(str(message["task"]), str(message["file"]))
        if message["kind"] == "end":
            return FileFinished(str(message["task"]), str(message["file"]), int(message["pages"]),
                                int(message.get("ocr_pages", 0)), float(message.get("ocr_seconds", 0.0)))
    except (KeyError, TypeError, ValueError):
        pass
    return None


# --------------------------------------------------------------------------- files in and out

class _NotShipped(Exception):
    """A file the worker cannot have: missing on the share, or different there from the client's."""


def lay_out(shipment: Shipment, base: Path) -> tuple[PreparedTask, dict[str, str]]:
    """The application's files on this machine (written from the bytes sent, or found on the
    share) and the mapping of each path here to the client's path."""
    hashes: dict[str, str] = {}
    paths: dict[str, str] = {}
    files: list[str] = []
    if shipment.shared_root is not None:
        root = Path(shipment.shared_root)
    elif shipment.loose_file:
        root = base / (shipment.files[0].rel if shipment.files else "file")
    else:
        root = base / "app"
    for shipped in shipment.files:
        rel = safe_rel(shipped.rel)
        if rel is None:
            raise _NotShipped(f"文件名不安全，未读取：{shipped.rel} / unsafe file name")
        path = root if shipment.loose_file else root.joinpath(*rel.parts)
        if shipped.data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(shipped.data)
            sha = hashlib.sha256(shipped.data).hexdigest()
        else:
            try:
                sha = sha256_file(path)
            except OSError as exc:
                raise _NotShipped(f"共享路径上读不到 {path}（{exc.strerror or exc}）/ cannot read the file on the "
                                  f"shared path") from None
            if shipped.sha256 and sha != shipped.sha256:
                raise _NotShipped(f"共享路径上的 {path} 与本机的文件不同（共享盘未同步？）/ the file on the shared "
                                  f"path differs from the client's")
        hashes[str(path)] = sha
        paths[str(path)] = shipped.client_path
        files.append(str(path))
    app = ApplicationInput(name=shipment.name, root=str(root), files=files, file_errors=shipment.file_errors)
    if shipment.client_root:
        paths[str(root)] = shipment.client_root
    return PreparedTask(app=app, hashes=hashes), paths


def _area_dir(scratch: Path, area: str) -> Path:
    return scratch / area


def _seed(seeds: list[AreaFile], scratch: Path) -> set[tuple[str, str]]:
    """Cache entries and passages the client already has, where the work will look for them."""
    seeded: set[tuple[str, str]] = set()
    for seed in seeds:
        rel = safe_rel(seed.rel)
        if rel is None:
            continue
        path = _area_dir(scratch, seed.area).joinpath(*rel.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(seed.data)
        seeded.add((seed.area, rel.as_posix()))
    return seeded


def _written(scratch: Path, seeded: set[tuple[str, str]]) -> list[AreaFile]:
    """Every file the work wrote (not the seeds, not temporary files of an interrupted write)."""
    found: list[AreaFile] = []
    for area in AREAS:
        folder = _area_dir(scratch, area)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.endswith(".tmp"):
                continue
            rel = path.relative_to(folder).as_posix()
            if (area, rel) not in seeded:
                found.append(AreaFile(area=area, rel=rel, data=path.read_bytes()))
    return found


class _Translator:
    """Paths here → the client's paths, in events and in the reasons they carry."""

    def __init__(self, paths: dict[str, str]):
        self._paths = paths
        self._longest_first = sorted(paths, key=len, reverse=True)

    def text(self, text: str | None) -> str | None:
        if not text:
            return text
        for here in self._longest_first:
            text = text.replace(here, self._paths[here])
        return text

    def event(self, event: Any) -> Any:
        if isinstance(event, (FileStarted, FileFinished)):
            return dataclasses.replace(event, file=self._paths.get(event.file, event.file))
        if isinstance(event, TaskFailed):
            return dataclasses.replace(event, file=self._paths.get(event.file, event.file) if event.file else None,
                                       reason=self.text(event.reason) or "", detail=self.text(event.detail))
        return event


# --------------------------------------------------------------------------- this machine

def materialise_framework(files: FrameworkFiles) -> FrameworkRef:
    """The batch's framework data written once per worker (by fingerprint) under its folder."""
    base = Path(_local_directory(_dask_worker())) / f"xdt-framework-{files.fingerprint}"
    with _FRAMEWORK_LOCK:
        if not (base / ".complete").is_file():
            shutil.rmtree(base, ignore_errors=True)
            for folder, contents in (("rules", files.rules), ("keywords", files.keywords)):
                for rel, data in contents.items():
                    path = safe_rel(rel)
                    if path is None:
                        continue
                    target = base / folder / Path(*path.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            (base / "rules").mkdir(parents=True, exist_ok=True)
            (base / ".complete").write_text(files.fingerprint, encoding="ascii")
    return FrameworkRef(framework=str(base / "rules"), keywords=str(base / "keywords"))


def dask_setup(worker: Any) -> None:
    """Preloaded into the workers of a LocalCluster (``--cluster local:N``): they share the
    terminal of ``xdt batch``, so Ctrl-C reaches them too; the batch stops them itself (each
    would otherwise print a traceback over the summary)."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _dask_worker() -> Any:
    """The Dask worker running this task, or None (called outside a Dask worker: tests, benches)."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _local_directory(worker: Any) -> str:
    """The Dask worker's own scratch folder (Dask removes it with the worker), else the temp folder."""
    folder = getattr(worker, "local_directory", None)
    return str(folder) if folder else tempfile.gettempdir()
