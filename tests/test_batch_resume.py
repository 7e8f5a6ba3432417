"""Nothing lost: kill a batch mid-way, rerun with --resume, nothing done is redone, nothing missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_batch_support import FAKE, cli_env, write_text_app

from xdt_rules.batch.resume import load_manifest, manifest_path
from xdt_rules.cli import main

APPS = [f"企业{i:02d}" for i in range(8)]


def _slow_batch(root: Path) -> Path:
    batch = root / "batch"
    for i, name in enumerate(APPS):
        write_text_app(batch / name, f"{name}上线ERP系统。" + ("并部署MES系统。" if i % 2 else ""), "slow_申报书.txt")
    return batch


def _done(out: Path) -> set[str]:
    if not manifest_path(out).exists():
        return set()
    return {n for n, r in load_manifest(out).applications.items() if r.status == "done"}


def _start(batch: Path, out: Path, runlog: Path, *extra: str) -> subprocess.Popen:
    env = cli_env(XDT_TEST_SLOW="0.6", XDT_TEST_RUNLOG=str(runlog))
    return subprocess.Popen([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out),
                             "--jobs", "1", "--quiet", "--pipeline", FAKE, *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_kill_mid_batch_then_resume_recomputes_only_what_was_not_finished(tmp_path: Path):
    batch = _slow_batch(tmp_path)
    out = tmp_path / "out"
    first_log = tmp_path / "run1.log"
    process = _start(batch, out, first_log)
    _wait_for(lambda: len(_done(out)) >= 3)
    process.send_signal(signal.SIGKILL)  # a crash: no cleanup at all
    process.wait(timeout=10)
    done_before = _done(out)
    assert 3 <= len(done_before) < len(APPS)
    # every application the manifest calls done has its outputs, intact
    for name in done_before:
        assert json.loads((out / f"{name}.json").read_text(encoding="utf-8"))["application"] == name
        assert (out / f"{name}.html").is_file()
    mtimes = {name: (out / f"{name}.json").stat().st_mtime_ns for name in done_before}
    time.sleep(0.5)  # the killed batch's worker dies with it (PDEATHSIG) and must not write on

    second_log = tmp_path / "run2.log"
    env = cli_env(XDT_TEST_RUNLOG=str(second_log), XDT_TEST_SLOW="0")
    resumed = subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs", "2",
                              "--resume", "--quiet", "--pipeline", FAKE], env=env, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    rerun = set(second_log.read_text(encoding="utf-8").split())
    assert rerun == set(APPS) - done_before  # nothing done was redone, nothing missing
    assert _done(out) == set(APPS)
    assert {name: (out / f"{name}.json").stat().st_mtime_ns for name in done_before} == mtimes
    from openpyxl import load_workbook

    ranking = load_workbook(out / "summary.xlsx")["排名"]
    names = {row[1] for row in ranking.iter_rows(min_row=2, values_only=True)}
    states = {row[2] for row in ranking.iter_rows(min_row=2, values_only=True)}
    assert names == set(APPS) and states == {"完成"}


def test_sigterm_stops_cleanly_with_a_partial_summary(tmp_path: Path):
    batch = _slow_batch(tmp_path)
    out = tmp_path / "out"
    process = _start(batch, out, tmp_path / "log")
    _wait_for(lambda: len(_done(out)) >= 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    csv_rows = (out / "summary.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    states = [row.split(",")[2] for row in csv_rows]
    assert states.count("完成") == len(_done(out)) and "未处理" in states


def test_resume_reruns_changed_inputs_and_a_rules_change(tmp_path: Path, monkeypatch):
    batch = tmp_path / "batch"
    for name in ("甲", "乙", "丙"):
        write_text_app(batch / name, f"{name}上线ERP系统。")
    out = tmp_path / "out"
    log = tmp_path / "run.log"
    monkeypatch.setenv("XDT_TEST_RUNLOG", str(log))
    args = ["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--pipeline", FAKE]
    assert main(args) == 0
    log.write_text("", encoding="utf-8")
    assert main(args + ["--resume"]) == 0
    assert log.read_text(encoding="utf-8") == ""  # nothing changed: nothing screened

    (batch / "乙" / "申报书.txt").write_text("乙上线ERP和MES系统。", encoding="utf-8")
    assert main(args + ["--resume"]) == 0
    assert log.read_text(encoding="utf-8").split() == ["乙"]
    assert next(i for i in json.loads((out / "乙.json").read_text(encoding="utf-8"))["items"]
                if i["id"] == "1.3.2")["status"] == "met"

    log.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDT_TEST_RULES_VERSION", "fake-rules-2")
    assert main(args + ["--resume"]) == 0
    assert sorted(log.read_text(encoding="utf-8").split()) == ["丙", "乙", "甲"]
    assert {json.loads(p.read_text(encoding="utf-8"))["rules_version"] for p in out.glob("*.json")} == {"fake-rules-2"}

    # an application that disappeared from the batch is no longer in the summary
    import shutil

    shutil.rmtree(batch / "丙")
    assert main(args + ["--resume"]) == 0
    rows = (out / "summary.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert sorted(r.split(",")[1] for r in rows) == ["乙", "甲"]
    # its old results are moved aside (not deleted, not left unlisted beside the summary) and that is said
    assert not os.path.exists(out / "丙.json")
    assert [p.name for p in (out / ".xdt-batch" / "previous").glob("*/丙.json")] == ["丙.json"]
