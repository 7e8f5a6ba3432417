"""Helpers for the cluster tests (no tests here): sample batches, a Dask scheduler and workers
started as separate processes (as on separate machines), and reading what a batch reported."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from test_batch_support import TESTS_DIR, cli_env

REPO = TESTS_DIR.parent
SAMPLES = REPO / "samples" / "pdf"
DASK = Path(sys.executable).with_name("dask")


def small_batch(folder: Path) -> Path:
    """Four real sample applications in every form a batch holds: two folders, a loose PDF and a
    zip package (unpacked on the client, its members sent as bytes)."""
    folder.mkdir(parents=True)
    for name in ("01_strong_manufacturer", "06_table_only_chemical"):
        shutil.copytree(SAMPLES / name, folder / name)
    shutil.copy(SAMPLES / "03_plan_heavy_pharma" / "申报书.pdf", folder / "规划企业.pdf")
    with zipfile.ZipFile(folder / "打包企业.zip", "w") as archive:
        for path in sorted((SAMPLES / "05_criteria_parrot").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(SAMPLES / "05_criteria_parrot").as_posix())
    return folder


def sample_batch(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copytree(SAMPLES / name, folder / name)
    return folder


def outputs(out: Path) -> dict[str, bytes]:
    """What must be byte-identical between backends: every report and the summary table."""
    found = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".json", ".html")}
    found["summary.csv"] = (out / "summary.csv").read_bytes()
    return found


def cache_entries(out: Path) -> set[str]:
    """The names of the entries in OUT/.cache (parsed documents, evidence, crops, OCR pages)."""
    root = out / ".cache"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def manifest(out: Path) -> dict:
    return json.loads((out / ".xdt-batch" / "manifest.json").read_text(encoding="utf-8"))


def statuses(out: Path) -> dict[str, str]:
    return {name: record["status"] for name, record in manifest(out)["applications"].items()}


def wide_env(**extra: str) -> dict[str, str]:
    """The batch tests' environment with a terminal wide enough that no cell of the summary wraps."""
    return cli_env(COLUMNS="200", **extra)


def report_rows(stderr: str) -> dict[str, str]:
    """The rows of the summary table ``xdt batch`` prints (run with :func:`wide_env`): label → value."""
    rows = {}
    for line in stderr.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaskProcesses:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own session so
    that one worker can be killed whole (nanny, worker, the child screening for it) like a machine
    that loses power."""

    def __init__(self, root: Path, *, tls: list[str] | None = None):
        self.root = root
        self.tls = tls or []
        self.port = free_port()
        scheme = "tls" if tls else "tcp"
        self.address = f"{scheme}://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.env = cli_env()

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        handle = open(self.root / log, "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(DASK), *args], stdout=handle, stderr=subprocess.STDOUT, env=self.env,
                                   cwd=self.root, start_new_session=True)
        handle.close()
        self.processes.append(process)
        return process

    def start_scheduler(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        protocol = ["--protocol", "tls"] if self.tls else []
        self._start(["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard", *protocol,
                     *self.tls], "scheduler.log")
        return self.address

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._start(["worker", self.address, "--name", name, "--nthreads", "1", "--no-dashboard",
                            "--memory-limit", "0", "--local-directory", str(self.root / name), *self.tls],
                           f"{name}.log")

    def client(self):  # noqa: ANN201 - a distributed.Client
        from distributed import Client

        security = None
        if self.tls:
            from distributed.security import Security

            options = dict(zip(self.tls[::2], self.tls[1::2]))
            security = Security(tls_ca_file=options["--tls-ca-file"], tls_client_cert=options["--tls-cert"],
                                tls_client_key=options["--tls-key"], require_encryption=True)
        return Client(self.address, timeout=30, security=security, set_as_default=False)

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=timeout)

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL to the process's whole session (it was started as a session leader)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                self.kill(process)


def wait_until(condition, timeout: float, step: float = 0.2) -> bool:  # noqa: ANN001 - a callable
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
