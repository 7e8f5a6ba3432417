"""Faults on a cluster behave as on one machine: a file past its time limit on a worker, an
application that kills every worker it reaches, Ctrl-C on the client and ``--resume``.

These use the stand-in pipeline of the batch tests (``test_batch_support``): its files hang,
crash or take their time on purpose, and the LocalCluster's workers import it from ``tests/``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch_support import FAKE, cli_env, ctrl_c_reaches, hanging_batch, run_batch_cli, write_text_app
from test_cluster_support import outputs, report_rows, statuses, wait_until, wide_env

pytest.importorskip("distributed")


def test_file_past_its_time_limit_on_a_worker_is_left_out_and_the_application_rerun(tmp_path: Path):
    batch = hanging_batch(tmp_path / "batch")
    out = tmp_path / "out"
    run = run_batch_cli(batch, out, "--cluster", "local:2", "--file-timeout", "1.5", "--quiet", "--pipeline", FAKE,
                        timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads((out / "卡住的企业.json").read_text(encoding="utf-8"))
    files = {f["path"]: f for f in result["files"]}  # named inside the application, as the real pipeline does
    assert "解析超时" in files["hang.pdf"]["error"]  # a worker's path never shows
    assert files["申报书.txt"]["error"] is None
    assert {i["id"]: i["status"] for i in result["items"]}["1.3.1"] == "met"
    assert statuses(out) == {"卡住的企业": "done", "正常企业": "done"}


@pytest.mark.slow
def test_application_that_keeps_killing_workers_is_that_applications_error(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "杀手企业", "x", "killparent.txt")
    for name in ("甲", "乙"):
        write_text_app(batch / name, f"{name}公司上线ERP系统。")
    out = tmp_path / "out"
    # Dask gives up on a task after this many workers died running it (default 3)
    env = cli_env(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    run = run_batch_cli(batch, out, "--cluster", "local:2", "--strict", "--pipeline", FAKE, env=env, timeout=300)
    assert run.returncode == 3, run.stderr  # --strict: something failed
    assert statuses(out) == {"杀手企业": "failed", "甲": "done", "乙": "done"}
    reason = json.loads((out / ".xdt-batch" / "manifest.json").read_text(encoding="utf-8"))["applications"]["杀手企业"]["reason"]
    assert "反复退出（2 次）" in reason and "workers died 2 times" in reason


def test_interrupted_cluster_batch_resumes_to_the_same_outputs(tmp_path: Path):
    batch = tmp_path / "batch"
    names = [f"企业{i}" for i in range(6)]
    for i, name in enumerate(names):
        # the first two are quick; the others take 20 s while interrupted, so the batch cannot be over
        # before Ctrl-C reaches it, however slow the machine
        write_text_app(batch / name, f"{name}上线ERP系统，建设MES系统。", "申报书.txt" if i < 2 else "slow申报书.txt")
        write_text_app(batch / name, f"附件{i}：PLM 系统验收报告。", "附件.txt")
    reference = tmp_path / "reference"
    assert run_batch_cli(batch, reference, "--jobs", "2", "--quiet", "--pipeline", FAKE,
                         env=cli_env(XDT_TEST_SLOW="0.2")).returncode == 0
    env = cli_env(XDT_TEST_SLOW="20")

    out = tmp_path / "out"
    command = [sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--cluster", "local:2",
               "--quiet", "--pipeline", FAKE]
    # its own session: Ctrl-C in a terminal reaches the whole foreground group, the cluster's workers too
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=ctrl_c_reaches)
    try:
        assert wait_until(lambda: len(list(out.glob("*.json"))) >= 1, 120)
        os.killpg(run.pid, signal.SIGINT)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    recorded = json.loads((out / ".xdt-batch" / "manifest.json").read_text(encoding="utf-8"))["applications"]
    done = {name for name, record in recorded.items() if record["status"] == "done"}
    assert 1 <= len(done) < len(names)  # a quick one may wait behind a slow one: never all of them
    assert all((out / output).is_file() for name in done for output in recorded[name]["outputs"])
    assert not (out / ".xdt-batch" / "lock").exists() or not _locked(out)

    started = time.monotonic()
    resumed = run_batch_cli(batch, out, "--cluster", "local:2", "--resume", "--pipeline", FAKE,
                            env=wide_env(XDT_TEST_SLOW="0.2"), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rows = report_rows(resumed.stderr)
    assert int(rows["跳过（未变化）skipped"]) == len(done)
    assert int(rows["完成 done"]) == len(names) - len(done)
    assert time.monotonic() - started < 300
    assert outputs(out) == outputs(reference)
    assert set(statuses(out).values()) == {"done"}


def _locked(out: Path) -> bool:
    """Another process holds OUT's lock (a batch left running)."""
    import fcntl

    with open(out / ".xdt-batch" / "lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
