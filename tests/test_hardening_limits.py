"""A big text file has bounds (issue 14, point 3): ``xdt evidence`` stays within 500 MB on a
multi-megabyte text, a batch worker past its memory limit is stopped and its file skipped (and
counted in the peak RSS figure), and the per-file time limit covers reading and evidence."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_batch_support import cli_env, write_text_app

from xdt_rules.batch.resume import load_manifest

ROOT = Path(__file__).resolve().parents[1]
ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"
def _sample_paragraphs() -> list[str]:
    """The writing of the 35 sample applications (samples/sources): what real applications read like."""
    import yaml

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.extend(p.strip() for p in value.split("\n") if len(p.strip()) >= 20)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for source in sorted((ROOT / "samples" / "sources").glob("*.yaml")):
        walk(yaml.safe_load(source.read_text(encoding="utf-8")))
    return found


def _big_text(path: Path, megabytes: float) -> Path:
    """Application-like Chinese text of about ``megabytes`` MB (the samples' paragraphs, repeated)."""
    paragraphs = _sample_paragraphs()
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = int(megabytes * 1024 * 1024)
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        n = 0
        while written < limit:
            para = f"{paragraphs[n % len(paragraphs)]}\n\n"
            handle.write(para)
            written += len(para.encode("utf-8"))
            n += 1
    return path


# The CLI in a child that reports its own peak RSS (MB) on its last stderr line. VmHWM, not ru_maxrss:
# Linux carries ru_maxrss over exec from the forking parent, so a child of a big pytest process reported
# the parent's 1.2 GB (the regression this test once failed on in the full suite).
PEAK = ("import re, sys\nfrom xdt_rules.cli import main\ncode = main(sys.argv[1:])\nsys.stdout.flush()\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
        "print('PEAK_MB', int(hwm) // 1024, file=sys.stderr)\n"
        "sys.exit(code)")


def _evidence_peak_mb(text: Path, tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "evidence.json"
    with open(out, "wb") as sink:
        done = subprocess.run([sys.executable, "-c", PEAK, "evidence", str(text), "--json", "--ocr", "off"],
                              stdout=sink, stderr=subprocess.PIPE, text=False, timeout=1800)
    stderr = done.stderr.decode("utf-8", errors="replace")
    assert done.returncode == 0, stderr
    peak = int(re.search(r"PEAK_MB (\d+)", stderr).group(1))
    return peak, json.loads(out.read_text(encoding="utf-8"))


def test_evidence_of_a_2_mb_text_stays_well_within_500_mb(tmp_path: Path):
    peak, found = _evidence_peak_mb(_big_text(tmp_path / "申报书.txt", 2), tmp_path)
    assert len(found["mentions"]) > 1000  # really read
    assert peak < 500, f"peak RSS {peak} MB"


@pytest.mark.slow
def test_evidence_of_a_5_mb_text_stays_within_500_mb(tmp_path: Path):
    peak, found = _evidence_peak_mb(_big_text(tmp_path / "申报书.txt", 5), tmp_path)
    assert len(found["mentions"]) > 1000
    assert peak < 500, f"peak RSS {peak} MB"  # 839 MB before the JSON was written mention by mention


def test_mentions_of_one_item_are_bounded_per_document_and_the_cut_is_said(tmp_path: Path):
    # 20 MB of repeated paragraphs made 232,792 mentions and 1.26 GB: one item's mentions in one
    # document now stop at the finder's bound, and the document says so
    from support import FRAMEWORK, doc

    from xdt_rules.evidence import file_evidence
    from xdt_rules.evidence.finder import EvidenceFinder

    bound = EvidenceFinder.MAX_MENTIONS_PER_ITEM
    evidence = file_evidence(doc(*[ERP] * (bound + 200)), FRAMEWORK)
    erp = [m for m in evidence.mentions if m.item_id == "1.3.1"]
    assert len(erp) == bound and erp[-1].block < bound + 200 - 1
    assert any("1.3.1" in w and "证据过多" in w for w in evidence.document.warnings)
    assert not file_evidence(doc(*[ERP] * 20), FRAMEWORK).document.warnings


@pytest.mark.slow
def test_evidence_of_a_20_mb_text_stays_within_500_mb(tmp_path: Path):
    # 1.26 GB before one item's mentions per document were bounded; 450 MB after
    peak, _ = _evidence_peak_mb(_big_text(tmp_path / "申报书.txt", 19.5), tmp_path)
    assert peak < 500, f"peak RSS {peak} MB"


def _batch(batch: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xdt_rules", "batch", str(batch), "--out", str(out), "--jobs", "1",
                           "--no-crops", "--no-duplicates", *extra], capture_output=True, text=True, timeout=600,
                          env=cli_env(COLUMNS="120"))


def _file_errors(out: Path, name: str) -> dict[str, str]:
    result = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    return {f["path"]: f.get("error") or "" for f in result["files"]}


def test_a_worker_over_its_memory_limit_is_stopped_its_file_skipped_and_its_peak_counted(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "甲公司", ERP)
    _big_text(batch / "甲公司" / "大文本.txt", 2.5)  # the evidence stage grows past 250 MB on it
    out = tmp_path / "out"
    done = _batch(batch, out, "--worker-memory-mb", "250")
    assert done.returncode == 0 and (out / "甲公司.json").exists(), done.stderr
    errors = _file_errors(out, "甲公司")
    assert "内存超限" in errors["大文本.txt"] and errors["申报书.txt"] == ""  # the rest is scored
    assert {r.status for r in load_manifest(out).applications.values()} == {"done"}
    peak = int(re.search(r"peak RSS per worker\s*│\s*(\d+) MB", done.stderr).group(1))
    assert peak >= 250  # the killed worker's peak is in the figure
    assert re.search(r"内存超限 over the memory limit\s*│\s*1 ", done.stderr)


def test_the_per_file_time_limit_covers_reading_and_evidence_of_a_big_text(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "甲公司", ERP)
    _big_text(batch / "甲公司" / "大文本.txt", 3)  # ~15 s of evidence finding
    out = tmp_path / "out"
    done = _batch(batch, out, "--file-timeout", "5", "--quiet")
    assert done.returncode == 0 and (out / "甲公司.json").exists(), done.stderr
    errors = _file_errors(out, "甲公司")
    assert "解析超时" in errors["大文本.txt"] and errors["申报书.txt"] == ""
    assert {r.status for r in load_manifest(out).applications.values()} == {"done"}
