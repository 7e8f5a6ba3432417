"""The executor seam: run one work function per application on worker processes.

The batch runner only talks to :class:`Executor` (``submit`` a task, ``poll`` for events):
:class:`LocalProcessExecutor` here, or the Dask backend (``xdt_rules.batch.cluster``), whose
workers run each application in a one-process pool of this kind, so limits and crashes are
reported the same way on a cluster.
The work function and its context must be picklable (a module-level function and plain data).

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot stop ONE stuck task. pdfium and
pdfminer are C/Python code that may loop forever on a hostile PDF and cannot be interrupted by a
signal handler, and a segfault in one of them breaks the whole pool. Here every worker owns a
pipe to the parent and says which file it starts and finishes parsing; the parent kills a
worker whose current file passed the time limit (reporting the task as ``timeout`` with that
file, so the runner can re-run the application without it) and replaces a worker that died
(reporting its task as ``died`` with the reason). One worker's pipe breaking cannot corrupt
another's (a shared ``multiprocessing.Queue`` can be left locked by a killed writer).

Memory is watched the same way: the parent reads each busy worker's resident size from /proc
on every poll and kills a worker past ``memory_limit_mb`` (``memory``, with the file it was
reading). The peak it saw counts in the batch's peak RSS also for workers it killed.
A worker whose disk is full says so (``disk_full``): every later application would fail too.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Literal, Protocol


class Reporter(Protocol):
    """What a work function tells the parent while it runs (for time limits and progress)."""

    def file_started(self, path: str, extra_seconds: float = 0.0) -> None: ...

    def file_finished(self, path: str, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0) -> None: ...


WorkFunction = Callable[[Any, Any, Reporter], Any]


@dataclass(frozen=True)
class FileStarted:
    task_id: str
    file: str


@dataclass(frozen=True)
class FileFinished:
    task_id: str
    file: str
    pages: int
    ocr_pages: int = 0  # pages or images the OCR engine read (not from the OCR cache)
    ocr_seconds: float = 0.0


@dataclass(frozen=True)
class TaskDone:
    task_id: str
    value: Any
    peak_rss_mb: float = 0.0


# disk_full and setup stop the batch (every later application would fail the same way): a full
# disk, or a machine of a cluster that cannot run this batch (another version of the tool)
FailureKind = Literal["timeout", "memory", "died", "error", "disk_full", "setup"]


@dataclass(frozen=True)
class TaskFailed:
    task_id: str
    kind: FailureKind
    reason: str
    file: str | None = None
    detail: str | None = None


Event = FileStarted | FileFinished | TaskDone | TaskFailed


class Executor(ABC):
    """Runs submitted tasks; ``poll`` returns what happened since the last call."""

    @abstractmethod
    def free_slots(self) -> int: ...

    @abstractmethod
    def submit(self, task_id: str, payload: Any) -> None: ...

    @abstractmethod
    def poll(self, timeout: float) -> list[Event]: ...

    @property
    @abstractmethod
    def busy(self) -> int: ...

    @abstractmethod
    def close(self, *, kill: bool = False) -> None: ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)


# --------------------------------------------------------------------------- worker side

class _PipeReporter:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.task_id = ""

    def file_started(self, path: str, extra_seconds: float = 0.0) -> None:
        self.conn.send(("start", self.task_id, str(path), float(extra_seconds)))

    def file_finished(self, path: str, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0) -> None:
        self.conn.send(("end", self.task_id, str(path), int(pages), int(ocr_pages), float(ocr_seconds)))


def _die_with_parent(parent_pid: int) -> None:
    """On Linux, have the kernel kill this worker if the batch process dies (kill -9, crash)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def peak_rss_mb() -> float:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return 0.0
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


# A worker's long-lived objects (modules, pydantic schemas, the keyword automaton, jieba's
# dictionary, compiled rules) number in the millions; every full collection walked them all,
# ~15 % of a re-score's time. After each task the survivors are frozen (``gc.freeze``: never
# scanned again) and young collections run less often; a task's documents are acyclic data
# that reference counting frees, so little garbage waits for the collector.
GC_THRESHOLD = (20_000, 20, 20)


def _settle_memory() -> None:
    """Collect the finished task's cyclic garbage, then freeze what is still alive (caches)."""
    gc.collect()
    gc.freeze()


def _worker_main(conn: Connection, work: WorkFunction, context: Any, parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the parent decides what to do, the workers are killed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    gc.set_threshold(*GC_THRESHOLD)
    _settle_memory()
    reporter = _PipeReporter(conn)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, payload = message
        reporter.task_id = task_id
        try:
            value = work(payload, context, reporter)
            conn.send(("done", task_id, value, peak_rss_mb()))
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - reported to the parent, the worker goes on
            kind, reason, detail = failure_of(exc)
            try:
                conn.send((kind, task_id, reason, detail))
            except (BrokenPipeError, EOFError, OSError):
                return
        _settle_memory()  # while the parent records the result and sends the next task


def failure_of(exc: BaseException) -> tuple[Literal["error", "disk_full"], str, str]:
    """(kind, reason, traceback) of an exception a work function raised: a full disk is its own
    kind (every later application would fail too), anything else an error of this application.
    Call it inside the ``except`` block (the traceback is the one being handled)."""
    detail = traceback.format_exc(limit=8)
    if _disk_full(exc):
        return "disk_full", _disk_full_reason(exc), detail
    return "error", f"{type(exc).__name__}: {exc}", detail


def failed_event(task_id: str, exc: BaseException) -> TaskFailed:
    """The event the runner gets for a work function that raised (as the pool reports it)."""
    kind, reason, detail = failure_of(exc)
    if kind == "error":
        reason = f"处理出错：{reason} / processing error"
    return TaskFailed(task_id, kind, reason, detail=detail)


def _disk_full(exc: BaseException) -> bool:
    """The exception or one it was raised from is a full disk (a write deep in a library)."""
    from ..fsutil import is_disk_full

    seen = 0
    while exc is not None and seen < 5:
        if is_disk_full(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


def _disk_full_reason(exc: BaseException) -> str:
    one_line = getattr(exc, "one_line", None)
    if callable(one_line):
        return one_line()
    path = getattr(exc, "filename", None)
    where = f"{path}: " if path else ""
    return f"{where}磁盘空间不足 / no space left on the device"


# --------------------------------------------------------------------------- parent side

def process_memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process in MB from /proc (Linux); zeros elsewhere."""
    rss = peak = 0.0
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith(b"VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return round(rss, 1), round(peak, 1)


def default_memory_limit_mb(jobs: int) -> float:
    """Per worker: 80 % of the machine's memory shared by the workers, at least 1 GB (OCR needs
    about that), at most 4 GB (no screening needs more; past that it is a runaway file)."""
    total = 0.0
    try:
        with open("/proc/meminfo", "rb") as handle:
            for line in handle:
                if line.startswith(b"MemTotal:"):
                    total = int(line.split()[1]) / 1024
                    break
    except (OSError, ValueError, IndexError):
        return 4096.0
    if not total:
        return 4096.0
    return float(max(1024, min(4096, int(0.8 * total / max(1, jobs)))))


class _main_file_hidden_if_unreadable:
    """A spawned child re-runs the parent's ``__main__`` file; from ``python - <<EOF``, ``python -c``
    or a notebook that "file" (``<stdin>``) does not exist and every worker would die at start.
    Hiding ``__main__.__file__`` while starting makes the child skip that step."""

    def __enter__(self) -> None:
        self._main = sys.modules.get("__main__")
        self._file = getattr(self._main, "__file__", None)
        self._hidden = self._file is not None and not os.path.isfile(self._file)
        if self._hidden:
            del self._main.__file__

    def __exit__(self, *exc: Any) -> None:
        if self._hidden:
            self._main.__file__ = self._file


class _children_allowed:
    """A Dask worker started by its nanny is a daemonic process, and multiprocessing refuses to
    start children from one (they could outlive it). Ours cannot: each dies with its parent
    (``_die_with_parent``) and the pool kills them on close. So the flag is lifted while starting."""

    def __enter__(self) -> None:
        self._config = getattr(mp.current_process(), "_config", None)
        self._daemon = self._config.pop("daemon", None) if isinstance(self._config, dict) else None

    def __exit__(self, *exc: Any) -> None:
        if self._daemon is not None:
            self._config["daemon"] = self._daemon


@dataclass
class _Worker:
    process: Any
    conn: Connection
    queue: deque[str] = field(default_factory=deque)  # tasks sent, oldest (the running one) first
    file: str | None = None
    file_started: float = 0.0
    file_extra: float = 0.0  # more time for this file (OCR of its scanned pages)
    tasks_done: int = 0
    peak_rss_mb: float = 0.0
    pid: int | None = None

    @property
    def task_id(self) -> str | None:
        """The task the worker is running (None when idle)."""
        return self.queue[0] if self.queue else None


def describe_exit(exitcode: int | None) -> str:
    """A reviewer-readable reason for a worker's death."""
    if exitcode is None:
        return "工作进程失去响应 / worker stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return f"工作进程被系统终止（{name}，可能内存不足）/ worker killed ({name}, out of memory?)"
        if -exitcode == signal.SIGSEGV:
            return f"工作进程崩溃（{name} 段错误）/ worker crashed ({name})"
        return f"工作进程被信号终止（{name}）/ worker killed by {name}"
    return f"工作进程异常退出（退出码 {exitcode}）/ worker exited with code {exitcode}"


@dataclass
class ExecutorStats:
    workers_started: int = 0
    workers_replaced: int = 0
    timeouts: int = 0
    deaths: int = 0
    memory_kills: int = 0
    peak_rss_mb: float = 0.0
    peak_rss_by_worker: list[float] = field(default_factory=list)


class LocalProcessExecutor(Executor):
    """``jobs`` worker processes on this machine, started when first needed."""

    def __init__(self, work: WorkFunction, context: Any, *, jobs: int, file_timeout: float | None,
                 start_method: str = "spawn", depth: int = 1, memory_limit_mb: float | None = None):
        # spawn, not fork: the parent runs a progress thread, and forking a threaded process can
        # deadlock the child; spawn also proves the work function is really picklable.
        self._ctx = mp.get_context(start_method)
        self._work = work
        self._context = context
        self.jobs = max(1, int(jobs))
        # tasks a worker may hold: 1 runs, the rest wait in its pipe (no idle gap between quick
        # tasks while the parent is busy). A time limit concerns the running task only.
        self.depth = max(1, int(depth))
        self.file_timeout = file_timeout if file_timeout and file_timeout > 0 else None
        self.memory_limit_mb = memory_limit_mb if memory_limit_mb and memory_limit_mb > 0 else None
        self._workers: list[_Worker] = []
        self.stats = ExecutorStats()

    # -- pool management

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child_conn, self._work, self._context, os.getpid()),
                                    name="xdt-batch-worker", daemon=True)
        with _main_file_hidden_if_unreadable(), _children_allowed():
            process.start()
        child_conn.close()
        worker = _Worker(process=process, conn=parent_conn, pid=process.pid)
        self._workers.append(worker)
        self.stats.workers_started += 1
        return worker

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if worker.process.is_alive():  # its last peak: a killed worker's counts too
            self._sample(worker)
        self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, worker.peak_rss_mb)
        if worker.peak_rss_mb:
            self.stats.peak_rss_by_worker.append(worker.peak_rss_mb)
        if kill and worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()

    def free_slots(self) -> int:
        queued = sum(self.depth - len(w.queue) for w in self._workers)
        return queued + (self.jobs - len(self._workers)) * self.depth

    @property
    def busy(self) -> int:
        return sum(len(w.queue) for w in self._workers)

    def submit(self, task_id: str, payload: Any) -> None:
        # an idle worker first, then a new one, then the shortest queue
        worker = next((w for w in self._workers if not w.queue), None)
        if worker is None and len(self._workers) < self.jobs:
            worker = self._start_worker()
        if worker is None:
            worker = min((w for w in self._workers if len(w.queue) < self.depth), key=lambda w: len(w.queue),
                         default=None)
            if worker is None:
                raise RuntimeError("no free worker")
        try:
            worker.conn.send((task_id, payload))
        except (BrokenPipeError, OSError):  # it died while idle: replace it and try once more
            if worker.queue:
                raise
            self._retire(worker, kill=True)
            self.stats.workers_replaced += 1
            worker = self._start_worker()
            worker.conn.send((task_id, payload))
        if not worker.queue:
            worker.file = None
        worker.queue.append(task_id)

    # -- events

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        wait_for = timeout
        if self.file_timeout:
            now = time.monotonic()
            for worker in self._workers:
                if worker.file is not None:
                    deadline = worker.file_started + self.file_timeout + worker.file_extra
                    wait_for = min(wait_for, max(0.0, deadline - now))
        handles: list[Any] = [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
        if handles:
            ready = set(wait(handles, wait_for))
        else:
            time.sleep(min(wait_for, 0.05))
            ready = set()
        for worker in list(self._workers):
            if worker.conn in ready:
                self._drain(worker, events)
            if worker.process.sentinel in ready or not worker.process.is_alive():
                self._drain(worker, events)
                self._on_death(worker, events)
        self._check_timeouts(events)
        self._check_memory(events)
        return events

    def _sample(self, worker: _Worker) -> float:
        """The worker's resident size now (MB); its peak is kept."""
        if worker.pid is None:
            return 0.0
        rss, peak = process_memory_mb(worker.pid)
        worker.peak_rss_mb = max(worker.peak_rss_mb, peak, rss)
        return rss

    def _check_memory(self, events: list[Event]) -> None:
        for worker in list(self._workers):
            if worker.task_id is None:
                continue
            rss = self._sample(worker)
            if self.memory_limit_mb is None or rss <= self.memory_limit_mb:
                continue
            task_id, file, waiting = worker.task_id, worker.file, list(worker.queue)[1:]
            self._retire(worker, kill=True)
            self.stats.memory_kills += 1
            self.stats.workers_replaced += 1
            limit = f"{self.memory_limit_mb:g}"
            reason = (f"内存超限（工作进程占用 {rss:.0f} MB，上限 {limit} MB），已终止 / "
                      f"memory limit exceeded ({rss:.0f} MB > {limit} MB), worker stopped")
            events.append(TaskFailed(task_id, "memory" if file else "died", reason, file=file))
            for queued in waiting:
                events.append(TaskFailed(queued, "died", "工作进程因内存超限被终止 / worker killed over its memory limit"))

    def _drain(self, worker: _Worker, events: list[Event]) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv(), events)
        except (EOFError, OSError):
            pass  # the sentinel reports the death

    def _handle(self, worker: _Worker, message: tuple, events: list[Event]) -> None:
        kind, task_id = message[0], message[1]
        if kind == "start":
            worker.file = message[2]
            worker.file_extra = message[3] if len(message) > 3 else 0.0
            worker.file_started = time.monotonic()
            events.append(FileStarted(task_id, message[2]))
        elif kind == "end":
            worker.file = None
            events.append(FileFinished(task_id, message[2], message[3], *message[4:6]))
        elif kind == "done":
            worker.peak_rss_mb = max(worker.peak_rss_mb, message[3])
            self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, message[3])
            self._finish(worker, task_id)
            worker.tasks_done += 1
            events.append(TaskDone(task_id, message[2], message[3]))
        elif kind == "error":
            self._finish(worker, task_id)
            events.append(TaskFailed(task_id, "error", f"处理出错：{message[2]} / processing error", detail=message[3]))
        elif kind == "disk_full":
            self._finish(worker, task_id)
            events.append(TaskFailed(task_id, "disk_full", message[2], detail=message[3]))

    @staticmethod
    def _finish(worker: _Worker, task_id: str) -> None:
        if worker.queue and worker.queue[0] == task_id:
            worker.queue.popleft()
        worker.file = None

    def _on_death(self, worker: _Worker, events: list[Event]) -> None:
        worker.process.join(timeout=5)
        exitcode = worker.process.exitcode
        task_id, file, waiting = worker.task_id, worker.file, list(worker.queue)[1:]
        self._retire(worker, kill=True)
        if task_id is not None:
            self.stats.deaths += 1
            self.stats.workers_replaced += 1
            reason = describe_exit(exitcode)
            if file:
                reason = f"{reason}；当时正在解析 {file}"
            events.append(TaskFailed(task_id, "died", reason, file=file))
        for queued in waiting:  # never started: they failed with it
            events.append(TaskFailed(queued, "died", describe_exit(exitcode)))

    def _check_timeouts(self, events: list[Event]) -> None:
        if not self.file_timeout:
            return
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.task_id is None or worker.file is None:
                continue
            limit = self.file_timeout + worker.file_extra
            if now - worker.file_started < limit:
                continue
            task_id, file, waiting = worker.task_id, worker.file, list(worker.queue)[1:]
            # pdfium cannot be interrupted from Python: the only reliable stop is killing the process.
            self._retire(worker, kill=True)
            self.stats.timeouts += 1
            self.stats.workers_replaced += 1
            events.append(TaskFailed(task_id, "timeout",
                                     f"解析超时（超过 {limit:g} 秒）/ parse timed out after {limit:g} s", file=file))
            for queued in waiting:  # killed with it before they started
                events.append(TaskFailed(queued, "died", "工作进程因超时被终止 / worker killed after a timeout"))

    def close(self, *, kill: bool = False) -> None:
        for worker in list(self._workers):
            if not kill and not worker.queue:
                try:
                    worker.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
        for worker in list(self._workers):
            if not kill and not worker.queue:
                worker.process.join(timeout=5)
            self._retire(worker, kill=True)
