"""``xdt batch --scheduler``: a ``dask scheduler`` and ``dask worker`` processes started on their
own, as on other machines; a worker killed mid-batch; a share instead of bytes; the address that
cannot be reached and the address that is not this machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch_support import run_batch_cli
from test_cluster_support import (
    DaskProcesses,
    report_rows,
    sample_batch,
    small_batch,
    statuses,
    wait_until,
    wide_env,
)

pytest.importorskip("distributed")

KILL_BATCH = ["01_strong_manufacturer", "02_weak_few_systems", "03_plan_heavy_pharma", "04_admits_gaps_building",
              "05_criteria_parrot", "06_table_only_chemical", "08_line_wraps_tobacco", "09_long_flower_supply_chain"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory):
    processes = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        processes.start_scheduler()
        processes.workers = [processes.start_worker("worker-a"), processes.start_worker("worker-b")]
        processes.wait_for_workers(2)
        yield processes
    finally:
        processes.close()


def _busy_worker(processes: DaskProcesses) -> str | None:
    """The name of a worker running one of the batch's applications now."""
    with processes.client() as client:
        info = client.scheduler_info(n_workers=-1)["workers"]
        for address, keys in client.processing().items():
            if any(str(key).startswith("xdt-") and not str(key).startswith("xdt-spec") for key in keys):
                return info[address]["name"]
    return None


def test_killed_worker_costs_a_retry_not_the_batch(dask_cluster: DaskProcesses, tmp_path: Path):
    batch = sample_batch(tmp_path / "batch", KILL_BATCH)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out),
                            "--scheduler", dask_cluster.address], env=wide_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        # mid-batch: one application finished, another running on a worker
        assert wait_until(lambda: any(out.glob("*.json")), 120)
        busy: list[str] = []
        assert wait_until(lambda: bool(busy.append(_busy_worker(dask_cluster)) or busy[-1]), 60)
        victim = {"worker-a": 0, "worker-b": 1}[busy[-1]]
        DaskProcesses.kill(dask_cluster.workers[victim])  # nanny, worker and the child screening for it
        _, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    assert statuses(out) == {name: "done" for name in KILL_BATCH}  # nothing lost
    for name in KILL_BATCH:
        result = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        assert len(result["items"]) == 36 and (out / f"{name}.html").is_file()
    assert report_rows(stderr)["失败 failed"] == "0"
    # a new worker joins the cluster for the next tests, as a machine switched on again would
    dask_cluster.workers[victim] = dask_cluster.start_worker(f"worker-{victim}-again")
    dask_cluster.wait_for_workers(2)


def test_files_read_on_a_shared_path_are_not_sent(dask_cluster: DaskProcesses, tmp_path: Path):
    batch = small_batch(tmp_path / "batch")
    run = run_batch_cli(batch, tmp_path / "out", "--scheduler", dask_cluster.address, "--shared-path", env=wide_env(),
                        timeout=300)
    assert run.returncode == 0, run.stderr
    assert set(statuses(tmp_path / "out").values()) == {"done"}
    sent = report_rows(run.stderr)["发送/接收 MB sent/received"].split("/")[0]
    assert float(sent) < 0.5  # only the zip package's members travel (it is unpacked into OUT, not on the share)

    # a share that is not where it was said to be: each application says so, nothing is read elsewhere
    wrong = run_batch_cli(batch, tmp_path / "wrong", "--scheduler", dask_cluster.address, "--shared-path",
                          str(tmp_path / "没有挂载"), "--quiet", timeout=300)
    assert wrong.returncode == 0
    failed = {k: v for k, v in statuses(tmp_path / "wrong").items() if v == "failed"}
    assert set(failed) == {"01_strong_manufacturer", "06_table_only_chemical", "规划企业"}
    reasons = json.loads((tmp_path / "wrong" / ".xdt-batch" / "manifest.json").read_text(encoding="utf-8"))
    assert "共享路径上读不到" in reasons["applications"]["规划企业"]["reason"]


def test_unreachable_scheduler_is_one_bilingual_line_naming_it(tmp_path: Path):
    from test_cluster_support import free_port

    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    batch = small_batch(tmp_path / "batch")
    started = time.monotonic()
    run = run_batch_cli(batch, tmp_path / "out", "--scheduler", address, "--scheduler-timeout", "2")
    assert run.returncode == 1
    assert time.monotonic() - started < 60
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert address in lines[0] and "无法连接 Dask 调度器" in lines[0] and "cannot reach the Dask scheduler" in lines[0]
    assert "警告" not in run.stderr  # this machine: no security warning
    assert not (tmp_path / "out").exists()  # nothing was touched


def test_scheduler_on_another_machine_without_tls_prints_the_warning(tmp_path: Path):
    batch = small_batch(tmp_path / "batch")
    # TEST-NET-1 (RFC 5737): never a real machine, so the connection fails after the warning
    run = run_batch_cli(batch, tmp_path / "out", "--scheduler", "192.0.2.10:8786", "--scheduler-timeout", "1")
    assert run.returncode == 1
    warning, error = run.stderr.strip().splitlines()
    assert "tcp://192.0.2.10:8786" in warning and "未加密的 Dask 调度器会执行" in warning
    assert "executes whatever it is sent" in warning
    assert "无法连接 Dask 调度器 tcp://192.0.2.10:8786" in error


def test_cluster_options_need_a_cluster(tmp_path: Path):
    batch = small_batch(tmp_path / "batch")
    run = run_batch_cli(batch, tmp_path / "out", "--shared-path")
    assert run.returncode == 1 and "--shared-path" in run.stderr and "--scheduler" in run.stderr
    run = run_batch_cli(batch, tmp_path / "out", "--cluster", "remote:3")
    assert run.returncode == 2 and "local:N" in run.stderr


def _office_certificates(folder: Path) -> list[str]:
    """A CA and one certificate signed by it, made as the README says (openssl)."""
    folder.mkdir(parents=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=xdt office CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=xdt node")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "node.pem", "-days", "3650")
    return ["--tls-ca-file", str(folder / "ca.pem"), "--tls-cert", str(folder / "node.pem"),
            "--tls-key", str(folder / "node.key")]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
def test_tls_cluster_runs_the_batch_and_refuses_a_client_without_the_certificate(tmp_path: Path):
    tls = _office_certificates(tmp_path / "certs")
    processes = DaskProcesses(tmp_path / "dask", tls=tls)
    try:
        processes.start_scheduler()
        processes.start_worker("worker-tls")
        processes.wait_for_workers(1)
        batch = sample_batch(tmp_path / "batch", ["02_weak_few_systems"])
        run = run_batch_cli(batch, tmp_path / "out", "--scheduler", processes.address, *tls, timeout=300)
        assert run.returncode == 0, run.stderr
        assert "警告" not in run.stderr
        assert statuses(tmp_path / "out") == {"02_weak_few_systems": "done"}
        refused = run_batch_cli(batch, tmp_path / "refused", "--scheduler", processes.address,
                                "--scheduler-timeout", "3")
        assert refused.returncode == 1 and "无法连接 Dask 调度器" in refused.stderr
    finally:
        processes.close()
