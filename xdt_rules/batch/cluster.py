"""The Dask backend of ``xdt batch`` (``--scheduler tcp://HOST:8786`` or ``--cluster local:N``).

:class:`DaskExecutor` implements the same :class:`~xdt_rules.batch.executor.Executor` seam as the
local process pool, so the runner — manifest, ``--resume``, summary, progress, ``--strict`` —
does not know which one it drives. What differs is where the work happens:

- Before anything is sent, the application is prepared here as the local pool's worker would
  (a zip unpacked under OUT) and the caches are looked at: when every file's evidence is cached
  (a re-score after a rules edit) the application is screened right here and nothing is shipped.
- Otherwise its files go with the task (bytes, or paths on a share all machines mount:
  ``--shared-path``) with whatever cache entries this machine already has for them; a worker
  never needs the batch folder (``xdt_rules.batch.cluster_worker``).
- The result comes back as the local pool's event plus the files the work wrote: outputs and
  passages are written into OUT here, atomically, by this one process; cache entries (parsed
  documents, evidence, crops, OCR pages) go into this machine's caches.

Faults: a Dask worker that dies mid-task is Dask's to handle — the scheduler runs the task again
on another worker, and after ``distributed.scheduler.allowed-failures`` deaths (default 3) gives
up, which is reported as that application's failure. Time limits, memory limits and a parser
crash are handled on the worker by the local pool, exactly as on one machine.

Dask is imported only here and only when a cluster is asked for (the ``[cluster]`` extra).
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from ..errors import XdtError
from ..fsutil import atomic_write_bytes, open_regular, sha256_file
from .executor import Event, Executor, FileFinished, FileStarted, TaskDone, TaskFailed, failed_event
from .shipment import AreaFile, BatchSpec, Shipment, ShippedFile, ShippedResult, describe, pack_framework, safe_rel
from .work import AppTask, PreparedTask, WorkContext, prepare_input, run_prepared

DEFAULT_PORT = 8786
INSTALL_HINT = "pip install 'xdt-rules[cluster]'"
# Tasks sent beyond the workers' threads, so a worker finishing one finds the next one waiting.
PREFETCH = 2
# A task whose future was cancelled under us (the scheduler restarted) is sent again this often.
MAX_RESENDS = 3


class ClusterOptions(BaseModel):
    """Where a batch runs when not in the local pool."""

    scheduler: str | None = Field(None, description="address of a running Dask scheduler")
    local_workers: int | None = Field(None, ge=1, description="start a LocalCluster of this many processes")
    shared_path: str | None = Field(None, description="BATCH_DIR as the workers see it ('' = the same path)")
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    connect_timeout: float = Field(10.0, gt=0)

    @property
    def address(self) -> str:
        if not self.scheduler:
            return f"local:{self.local_workers}"
        return normalise_address(self.scheduler, "tls" if self.secured else "tcp")

    @property
    def secured(self) -> bool:
        return bool(self.tls_ca_file or self.tls_cert or self.tls_key) or _dask_tls_configured()


class ClusterReport(BaseModel):
    """What the cluster did for the batch (the summary table shows it)."""

    address: str
    workers: int = 0
    threads: int = 0
    shipped: int = Field(0, description="applications sent to the workers")
    here: int = Field(0, description="applications screened on this machine: all their evidence was cached")
    mb_sent: float = 0.0
    mb_received: float = 0.0
    resent: int = 0


def normalise_address(address: str, scheme: str = "tcp") -> str:
    """``HOST`` or ``HOST:PORT`` → ``tcp://HOST:PORT`` (``tls://`` with certificates); a scheme
    given is kept."""
    address = address.strip()
    if "://" not in address:
        address = f"{scheme}://{address}"
    parts = urlsplit(address)
    if parts.port is None and parts.hostname:
        address = f"{address}:{DEFAULT_PORT}"
    return address


def is_loopback(address: str) -> bool:
    host = urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: another machine as far as we know


def insecure_warning(options: ClusterOptions) -> str | None:
    """The warning for an unencrypted, unauthenticated scheduler on another machine."""
    if not options.scheduler:
        return None
    address = options.address
    if urlsplit(address).scheme == "tls" or is_loopback(address):
        return None
    return (f"警告：调度器 {address} 不在本机，且未启用 TLS 与证书。未加密的 Dask 调度器会执行任何连上它的人发来的代码，"
            f"只可在可信的内网中使用；启用方法见 README“多台电脑协同预审”/ warning: the scheduler {address} is on "
            f"another machine and unsecured: an unsecured Dask scheduler executes whatever it is sent; use TLS "
            f"certificates (see the README)")


def _dask_tls_configured() -> bool:
    try:
        import dask

        return bool(dask.config.get("distributed.comm.tls.ca-file", None))
    except ImportError:
        return False


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise XdtError(f"使用集群需要安装 Dask：{INSTALL_HINT}",
                       f"a cluster needs Dask: {INSTALL_HINT}", code="no_dask") from None


@dataclass
class ClusterConnection:
    """A client of a scheduler (and the LocalCluster it runs, when this process started one)."""

    client: Any
    address: str
    local: Any = None

    def close(self) -> None:
        for closable in (self.client, self.local):
            if closable is None:
                continue
            try:
                closable.close()
            except Exception:  # noqa: BLE001 - closing after a failure: nothing more to do
                pass

    def __enter__(self) -> ClusterConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(options: ClusterOptions, *, warn: Callable[[str], None] | None = None) -> ClusterConnection:
    """A client of the scheduler (or of a new LocalCluster); one bilingual line when it fails."""
    _require_dask()
    from distributed import Client, LocalCluster

    warn = warn or (lambda text: print(text, file=sys.stderr))
    # distributed logs in English, per worker event; the batch reports what matters itself
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if options.local_workers:
        try:
            # memory_limit=0: Dask's nanny would restart a worker at 95 %; each task's own child
            # process has the batch's memory limit (--worker-memory-mb) instead
            local = LocalCluster(n_workers=options.local_workers, threads_per_worker=1, processes=True,
                                 dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR,
                                 preload=["xdt_rules.batch.cluster_worker"])
            return ClusterConnection(client=Client(local, set_as_default=False), address=options.address, local=local)
        except Exception as exc:  # noqa: BLE001 - one line, not a traceback
            raise XdtError(f"无法启动本机 Dask 集群（{describe(exc)}）", "cannot start a local Dask cluster") from None
    address = options.address
    message = insecure_warning(options)
    if message:
        warn(message)
    security = None
    if options.tls_ca_file or options.tls_cert or options.tls_key:
        from distributed.security import Security

        security = Security(tls_ca_file=options.tls_ca_file, tls_client_cert=options.tls_cert,
                            tls_client_key=options.tls_key, require_encryption=True)
    try:
        client = Client(address, timeout=options.connect_timeout, security=security, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ssl errors: all one line
        raise XdtError(f"无法连接 Dask 调度器 {address}（{describe(exc)}）；请确认调度器已启动、地址和端口正确、防火墙放行",
                       f"cannot reach the Dask scheduler at {address}", code="scheduler_unreachable") from None
    try:
        if not client.nthreads():
            warn(f"提示：调度器 {address} 上暂无工作进程，工作进程连上后开始处理 / note: no workers on the scheduler "
                 "yet; the batch starts when they join")
    except Exception:  # noqa: BLE001 - only a courtesy
        pass
    return ClusterConnection(client=client, address=address)


# --------------------------------------------------------------------------- the executor

@dataclass
class ClusterStats:
    peak_rss_mb: float = 0.0
    memory_kills: int = 0


class _ListReporter:
    """File events of an application screened here, for the runner (time limits do not apply:
    only applications whose evidence is all cached run here — no file is parsed)."""

    def __init__(self, task_id: str, events: list[Event]):
        self.task_id, self.events = task_id, events

    def file_started(self, path: str, extra_seconds: float = 0.0) -> None:
        self.events.append(FileStarted(self.task_id, str(path)))

    def file_finished(self, path: str, pages: int, ocr_pages: int = 0, ocr_seconds: float = 0.0) -> None:
        self.events.append(FileFinished(self.task_id, str(path), int(pages), int(ocr_pages), float(ocr_seconds)))


class DaskExecutor(Executor):
    """Runs each application on the cluster, or here when there is nothing to compute."""

    def __init__(self, connection: ClusterConnection, context: WorkContext, *, batch_dir: Path,
                 shared_path: str | None, file_timeout: float | None, memory_limit_mb: float | None):
        from .cluster_worker import batch_spec, progress_topic
        from .shipment import tool_fingerprint

        self._client = connection.client
        self._ctx = context
        self._batch_dir = batch_dir
        self._shared = None if shared_path is None else Path(shared_path or str(batch_dir))
        self.batch_id = uuid.uuid4().hex[:12]
        pipeline = context.pipeline
        self.stats = ClusterStats()
        self.report = ClusterReport(address=connection.address)
        self._ocr_dir = pipeline.settings.extract.cache_dir
        spec = BatchSpec(batch_id=self.batch_id, tool=tool_fingerprint(pipeline.settings.extract.ocr != "off"),
                         pipeline=pipeline, framework=pack_framework(pipeline.framework, pipeline.fingerprint),
                         file_timeout=file_timeout, memory_limit_mb=memory_limit_mb, passages=context.passages,
                         ocr_page_seconds=context.ocr_page_seconds, use_cache=context.cache_dir is not None,
                         ocr_cache=self._ocr_dir is not None)
        import dask

        # the files of an application travel inside its task (so the scheduler can send them again
        # when a worker dies); Dask would warn on every large one
        dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GiB"})
        # a task, not scattered data: Dask can compute it again if every worker holding it dies
        self._spec = self._client.submit(batch_spec, spec, key=f"xdt-spec-{self.batch_id}", pure=False)
        self._queue: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._futures: dict[str, Any] = {}
        self._shipments: dict[str, Shipment] = {}
        self._sends: dict[str, int] = {}
        self._here: deque[tuple[str, PreparedTask]] = deque()
        self._ready: list[Event] = []
        self._closing = False
        self._capacity = (0.0, PREFETCH)
        self._topic = progress_topic(self.batch_id)
        self._client.subscribe_topic(self._topic, lambda event: self._queue.put(("progress", event[1])))
        self._reader = self._cache_reader()

    # -- capacity

    def _threads(self) -> int:
        """Threads on the cluster now (asked at most once a second)."""
        checked, known = self._capacity
        if time.monotonic() - checked >= 1.0:
            try:
                nthreads = self._client.nthreads()
                known = sum(nthreads.values())
                self.report.workers = max(self.report.workers, len(nthreads))
                self.report.threads = max(self.report.threads, known)
            except Exception:  # noqa: BLE001 - the scheduler is away: keep the last figure
                pass
            self._capacity = (time.monotonic(), known)
        return known

    def free_slots(self) -> int:
        return max(0, self._threads() + PREFETCH - self.busy)

    @property
    def busy(self) -> int:
        return len(self._futures) + len(self._here) + len(self._ready)

    # -- submitting

    def submit(self, task_id: str, payload: Any) -> None:
        task: AppTask = payload
        try:
            prepared = prepare_input(task, self._ctx)  # a zip is unpacked under OUT, as by the local pool
        except Exception as exc:  # noqa: BLE001 - as the local pool reports a failing work function
            self._ready.append(failed_event(task_id, exc))
            return
        try:
            if self._all_cached(prepared):
                self._here.append((task_id, prepared))
                return
            shipment = self._shipment(task_id, prepared)
        except OSError:  # a file this machine cannot read: screened here, where the reader names the problem
            self._here.append((task_id, prepared))
            return
        self._send(task_id, shipment)

    def _cache_reader(self) -> Any:
        if self._ctx.cache_dir is None:
            return None
        from ..cache import CachedReader

        pipeline = self._ctx.pipeline
        framework = pipeline.load()
        return CachedReader(self._ctx.cache_dir, document_key=pipeline.document_key(),
                            evidence_key=pipeline.evidence_key(framework), ocr=pipeline.settings.extract.ocr != "off",
                            extract=pipeline.extract, find=lambda document: pipeline.find(document, framework))

    def _sha(self, prepared: PreparedTask, path: str) -> str:
        sha = prepared.hashes.get(path)
        if sha is None:  # a zip member
            sha = prepared.hashes[path] = sha256_file(path)
        return sha

    def _all_cached(self, prepared: PreparedTask) -> bool:
        reader = self._reader
        if reader is None:
            return False
        return all(reader.evidence.entry_path(self._sha(prepared, f), reader.evidence_key).is_file()
                   for f in prepared.app.files)

    def _seeds(self, prepared: PreparedTask) -> list[AreaFile]:
        """The cache entries and passages this machine has for the application: the worker then
        parses only what is new (after a keywords edit, nothing: it finds evidence again)."""
        from .duplicates import passages_key_path, passages_path

        seeds: list[AreaFile] = []
        reader = self._reader
        if reader is not None:
            root = Path(self._ctx.cache_dir or "")
            for file in prepared.app.files:
                sha = self._sha(prepared, file)
                for entry in (reader.evidence.entry_path(sha, reader.evidence_key),
                              reader.documents.entry_path(sha, reader.document_key)):
                    if entry.is_file():
                        seeds.append(AreaFile(area="cache", rel=entry.relative_to(root).as_posix(),
                                              data=entry.read_bytes()))
        out = Path(self._ctx.out_dir)
        for path in (passages_path(out, prepared.app.name), passages_key_path(out, prepared.app.name)):
            if path.is_file():
                seeds.append(AreaFile(area="out", rel=path.relative_to(out).as_posix(), data=path.read_bytes()))
        return seeds

    def _shipment(self, task_id: str, prepared: PreparedTask) -> Shipment:
        app = prepared.app
        root = Path(app.root)
        loose = not root.is_dir()
        shared_root = self._shared_root(root)
        files = []
        for file in app.files:
            rel = root.name if loose else Path(file).relative_to(root).as_posix()
            data = None
            if shared_root is None:
                with open_regular(file) as handle:
                    data = handle.read()
            files.append(ShippedFile(rel=rel, client_path=file, sha256=self._sha(prepared, file), data=data))
        return Shipment(task_id=task_id, name=app.name, loose_file=loose, client_root=app.root,
                        shared_root=str(shared_root) if shared_root is not None else None, files=files,
                        file_errors=app.file_errors, seeds=self._seeds(prepared))

    def _shared_root(self, root: Path) -> Path | None:
        """The application's root on the share, when it is under BATCH_DIR (an unpacked zip is not)."""
        if self._shared is None:
            return None
        try:
            return self._shared.joinpath(*root.relative_to(self._batch_dir).parts)
        except ValueError:
            return None

    def _send(self, task_id: str, shipment: Shipment) -> None:
        from .cluster_worker import run_shipped

        self._sends[task_id] = self._sends.get(task_id, 0) + 1
        self._shipments[task_id] = shipment
        key = f"xdt-{self.batch_id}-{len(self._sends)}-{self._sends[task_id]}"
        future = self._client.submit(run_shipped, shipment, self._spec, key=key, pure=False)
        self._futures[task_id] = future
        self.report.shipped += self._sends[task_id] == 1
        self.report.mb_sent += (sum(len(f.data or b"") for f in shipment.files)
                                + sum(len(seed.data) for seed in shipment.seeds)) / 1e6
        future.add_done_callback(lambda done, task=task_id: self._queue.put(("future", task, done)))

    # -- events

    def poll(self, timeout: float) -> list[Event]:
        events, self._ready = self._ready, []
        deadline = time.monotonic() + timeout
        # screened here between looks at the queue, so results of the cluster are recorded meanwhile
        while self._here and time.monotonic() < deadline and not events:
            events += self._run_here(*self._here.popleft())
        while True:
            wait = 0.0 if events else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            events += self._on_item(item)
        return events

    def _run_here(self, task_id: str, prepared: PreparedTask) -> list[Event]:
        events: list[Event] = []
        try:
            done = run_prepared(prepared, self._ctx, _ListReporter(task_id, events))
        except Exception as exc:  # noqa: BLE001 - as the local pool reports it
            return events + [failed_event(task_id, exc)]
        self.report.here += 1
        return events + [TaskDone(task_id, done)]

    def _on_item(self, item: tuple) -> list[Event]:
        if item[0] == "progress":
            from .cluster_worker import progress_event

            event = progress_event(item[1]) if isinstance(item[1], dict) else None
            # late news of a task already finished (or of another batch) must not count its pages again
            return [event] if event is not None and event.task_id in self._futures else []
        _, task_id, future = item
        if self._futures.get(task_id) is not future:
            return []  # a send replaced by a later one
        return self._finished(task_id, future)

    def _finished(self, task_id: str, future: Any) -> list[Event]:
        from distributed.scheduler import KilledWorker

        status = future.status
        if status == "finished":
            try:
                result: ShippedResult = future.result()
            except Exception as exc:  # noqa: BLE001 - the result could not be fetched: send again
                return self._resend(task_id, describe(exc))
            del self._futures[task_id]
            self._shipments.pop(task_id, None)
            return [self._accept(task_id, result)]
        if status == "error":
            del self._futures[task_id]
            self._shipments.pop(task_id, None)
            exc = future.exception()
            if isinstance(exc, KilledWorker):
                return [TaskFailed(task_id, "died", f"处理该申报时工作机的工作进程反复退出（{exc.allowed_failures + 1} 次），"
                                                    f"已放弃 / workers died {exc.allowed_failures + 1} times running "
                                                    "this application; given up")]
            return [TaskFailed(task_id, "error", f"处理出错：{type(exc).__name__}: {describe(exc)} / processing error")]
        return self._resend(task_id, "任务被取消 / the task was cancelled")

    def _resend(self, task_id: str, why: str) -> list[Event]:
        if self._closing:
            return []
        self._futures.pop(task_id, None)
        shipment = self._shipments.get(task_id)
        if self._client.status not in ("running", "connecting"):
            return [TaskFailed(task_id, "setup", f"与调度器的连接中断（{why}）/ lost the connection to the scheduler")]
        if shipment is None or self._sends.get(task_id, 0) >= MAX_RESENDS:
            self._shipments.pop(task_id, None)
            return [TaskFailed(task_id, "died", f"任务多次未能完成（{why}）/ the task did not complete")]
        self.report.resent += 1
        self._send(task_id, shipment)
        return []

    def _accept(self, task_id: str, result: ShippedResult) -> Event:
        """The worker's files written here (OUT only for a finished application), then its event."""
        event = result.event
        if event.task_id != task_id:
            return TaskFailed(task_id, "error", "工作机返回了另一份申报的结果 / a worker answered for another task")
        self.stats.peak_rss_mb = max(self.stats.peak_rss_mb, result.peak_rss_mb)
        if isinstance(event, TaskFailed) and event.kind == "memory":
            self.stats.memory_kills += 1
        outputs = set(event.value.outputs) if isinstance(event, TaskDone) else set()
        try:
            for returned in result.files:
                self.report.mb_received += len(returned.data) / 1e6
                target, durable = self._target(returned, outputs)
                if target is not None and (returned.area == "out" or not target.exists()):
                    atomic_write_bytes(target, returned.data, durable=durable)
        except OSError as exc:
            return failed_event(task_id, exc)
        return event

    def _target(self, returned: AreaFile, outputs: set[str]) -> tuple[Path | None, bool]:
        """Where a returned file goes, or None: a worker names only files inside the three folders,
        and in OUT only the application's own outputs and passages."""
        rel = safe_rel(returned.rel)
        if rel is None:
            return None, False
        if returned.area == "out":
            if len(rel.parts) == 1 and rel.name in outputs:
                return Path(self._ctx.out_dir, rel.name), True
            if rel.parts[:2] == (".xdt-batch", "passages") and len(rel.parts) == 3:
                return Path(self._ctx.out_dir).joinpath(*rel.parts), False
            return None, False
        folder = self._ctx.cache_dir if returned.area == "cache" else self._ocr_dir
        return (Path(folder).joinpath(*rel.parts), False) if folder else (None, False)

    def close(self, *, kill: bool = False) -> None:
        from .cluster_worker import release_batch_soon

        self._closing = True
        futures = list(self._futures.values()) + [self._spec]
        self._futures.clear()
        try:
            self._client.unsubscribe_topic(self._topic)
            self._client.cancel(futures, force=True)
            # not waited for: a worker that is gone or stuck must not hold up the end of the batch
            self._client.run(release_batch_soon, self.batch_id, on_error="ignore", wait=False)
        except Exception:  # noqa: BLE001 - the scheduler may be gone already; nothing is left to stop
            pass
