"""The output folder of ``xdt batch``: one batch at a time, no stale reports left unlisted, no
temp litter, an empty batch said so, and a full disk stopping the batch with the file named and
the summary never contradicting the manifest (issue 14, points 5, 8, 9 and 15)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from test_batch_support import FAKE, cli_env, run_batch_cli, write_text_app

from xdt_rules.batch.resume import load_manifest

ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"


def _summary_names(out: Path) -> list[str]:
    with open(out / "summary.csv", encoding="utf-8-sig", newline="") as handle:
        return sorted(row["申报"] for row in csv.DictReader(handle))


def test_two_batches_into_one_out_the_second_is_refused_while_the_first_runs(tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_text_app(first / "甲", ERP, name="slow申报书.txt")  # the stand-in pipeline sleeps on slow* files
    write_text_app(second / "乙", ERP)
    out = tmp_path / "out"
    env = cli_env(XDT_TEST_SLOW="6")
    running = subprocess.Popen([sys.executable, "-m", "xdt_rules", "batch", str(first), "--out", str(out), "--jobs",
                                "1", "--quiet", "--pipeline", FAKE], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lock = out / ".xdt-batch" / "lock"
        deadline = time.monotonic() + 60
        while not (lock.is_file() and lock.read_text().strip()) and time.monotonic() < deadline:
            assert running.poll() is None, running.communicate()[1]  # it must still be running
            time.sleep(0.1)
        assert running.poll() is None, "the first batch ended before the second one started"
        refused = run_batch_cli(second, out, "--jobs", "1", "--quiet", "--pipeline", FAKE, env=env)
        assert refused.returncode == 1
        assert "另一个批量预审正在写入" in refused.stderr and str(running.pid) in refused.stderr
    finally:
        stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr
    assert _summary_names(out) == ["甲"]  # the first batch's summary, not a mix


def test_reusing_an_out_moves_the_other_batch_reports_aside_and_says_so(tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_text_app(first / "甲", ERP)
    write_text_app(first / "乙", ERP)
    write_text_app(second / "丙", ERP)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "xdt-screen的结果.json").write_text("{}", encoding="utf-8")  # a result that no batch wrote
    (out / "xdt-screen的结果.html").write_text("<p>", encoding="utf-8")
    assert run_batch_cli(first, out, "--jobs", "1", "--quiet", "--pipeline", FAKE).returncode == 0

    again = run_batch_cli(second, out, "--jobs", "1", "--quiet", "--pipeline", FAKE)
    assert again.returncode == 0, again.stderr
    assert _summary_names(out) == ["丙"]
    assert not (out / "甲.json").exists() and not (out / "乙.html").exists()
    moved = sorted(p.name for p in (out / ".xdt-batch" / "previous").glob("*/*"))
    assert moved == ["乙.html", "乙.json", "甲.html", "甲.json"]  # moved, never deleted
    assert "2 份不属于本批次的旧报告" in again.stderr  # and said, even with --quiet
    assert "xdt-screen的结果.json" in again.stderr and (out / "xdt-screen的结果.json").exists()


def test_temp_files_of_killed_runs_are_cleaned(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "甲", ERP)
    out = tmp_path / "out"
    litter = [out / ".xdt-batch" / ".manifest.json.k1l2e3d4.tmp",
              out / ".cache" / "evidence" / "ab" / ".ab12.key.ev.gz.x8y9z0.tmp",
              out / ".甲.json.q1w2e3r4.tmp"]
    for path in litter:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half written")
    keep = out / ".cache" / "evidence" / "ab" / "ab12.key.ev.gz"
    keep.write_bytes(b"an entry")
    assert run_batch_cli(batch, out, "--jobs", "1", "--quiet", "--pipeline", FAKE).returncode == 0
    assert not [p for p in litter if p.exists()] and keep.exists()


def test_an_empty_batch_folder_is_an_error_not_an_empty_summary(tmp_path: Path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / ".DS_Store").write_bytes(b"\0")  # litter is no application either
    out = tmp_path / "out"
    done = run_batch_cli(batch, out, "--quiet", "--pipeline", FAKE)
    assert done.returncode == 1
    assert "批量目录中没有申报材料" in done.stderr and "holds no applications" in done.stderr
    assert not (out / "summary.xlsx").exists()


# --------------------------------------------------------------------------- a full disk

@pytest.fixture
def small_disk(tmp_path: Path):
    """A 600 KB tmpfs (root only); the test is skipped where it cannot be mounted."""
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("needs Linux mount")
    mount_point = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_a_full_disk_stops_the_batch_naming_the_file_and_resume_finishes(tmp_path: Path, small_disk: Path):
    batch = tmp_path / "batch"
    for n in range(12):  # each report is ~100 KB of JSON and HTML: 600 KB holds a few
        write_text_app(batch / f"申报{n:02d}", ERP + "公司建成了覆盖生产车间的工业以太网。" * 40)
    out = small_disk / "out"

    full = subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs", "1",
                           "--quiet", "--no-crops", "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=600, env=cli_env())
    assert full.returncode == 1
    assert "磁盘空间不足" in full.stderr and str(out) in full.stderr  # the path it could not write
    assert "internal error" not in full.stderr and "内部错误" not in full.stderr
    manifest = load_manifest(out)
    done = sorted(n for n, r in manifest.applications.items() if r.status == "done")
    assert 0 < len(done) < 12 and not [r for r in manifest.applications.values() if r.status == "failed"]
    if (out / "summary.csv").exists():  # a summary, if one fits, says what the manifest says
        with open(out / "summary.csv", encoding="utf-8-sig", newline="") as handle:
            finished = sorted(r["申报"] for r in csv.DictReader(handle) if r["状态"] == "完成")
        assert finished == done
    assert not list(out.rglob("*.tmp"))  # no half-written files left behind

    subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
    resumed = subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs",
                              "1", "--quiet", "--no-crops", "--resume", "--cache-dir", str(tmp_path / "cache")],
                             capture_output=True, text=True, timeout=600, env=cli_env())
    assert resumed.returncode == 0, resumed.stderr
    assert len(_summary_names(out)) == 12
    assert {r.status for r in load_manifest(out).applications.values()} == {"done"}


def test_the_lock_file_names_the_running_process(tmp_path: Path):
    from xdt_rules.batch.outdir import OutLock

    out = tmp_path / "out"
    with OutLock(out):
        assert (out / ".xdt-batch" / "lock").read_text().strip() == str(os.getpid())
        # a second holder in another process is refused (flock is per open file description)
        code = ("import sys; from pathlib import Path; from xdt_rules.batch.outdir import OutLock\n"
                f"try:\n    OutLock(Path({str(out)!r})).__enter__()\nexcept Exception as e:\n    print(e); sys.exit(3)")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert other.returncode == 3 and str(os.getpid()) in other.stdout
    with OutLock(out):  # released: taken again
        assert (out / ".xdt-batch" / "lock").read_text().strip() == str(os.getpid())
