"""Bad input never stops a batch: corrupt and encrypted files, a parser that hangs, a worker
that dies. Each becomes a recorded failure, every other application is screened."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from test_batch_support import CORPUS, FAKE, hanging_batch, make_pdf, run_batch_cli, write_text_app

from xdt_rules.batch.executor import LocalProcessExecutor, TaskDone, TaskFailed, describe_exit
from xdt_rules.batch.resume import load_manifest
from xdt_rules.cli import main


def _results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}


def test_hanging_file_is_killed_recorded_as_timeout_and_the_application_rerun_without_it(tmp_path: Path):
    batch = hanging_batch(tmp_path / "batch")
    out = tmp_path / "out"
    started = time.monotonic()
    code = main(["batch", str(batch), "--out", str(out), "--jobs", "2", "--file-timeout", "1.5", "--quiet",
                 "--pipeline", FAKE])
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 30  # the hour-long sleep was cut short
    results = _results(out)
    stuck = {Path(f["path"]).name: f for f in results["卡住的企业"]["files"]}
    assert "解析超时" in stuck["hang.pdf"]["error"]
    assert stuck["申报书.txt"]["error"] is None and stuck["申报书.txt"]["sha256"]
    statuses = {i["id"]: i["status"] for i in results["卡住的企业"]["items"]}
    assert statuses["1.3.1"] == "met" and statuses["1.3.2"] == "met"  # the rest of the application still counts
    assert results["正常企业"]["total"]["score"] > 0
    manifest = load_manifest(out)
    assert {r.status for r in manifest.applications.values()} == {"done"}


def test_dead_worker_is_replaced_and_its_application_reported_failed(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "崩溃企业", "x", "crash.txt")
    write_text_app(batch / "段错误企业", "x", "segv.txt")
    for name in ("甲", "乙", "丙"):
        write_text_app(batch / name, f"{name}公司上线ERP系统。")
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "2", "--quiet", "--pipeline", FAKE]) == 0
    manifest = load_manifest(out)
    crashed = manifest.applications["崩溃企业"]
    assert crashed.status == "failed" and "退出码 7" in crashed.reason
    assert "当时正在解析 crash.txt" in crashed.reason  # named inside the application, not by a path here
    segv = manifest.applications["段错误企业"]
    assert segv.status == "failed" and "SIGSEGV" in segv.reason
    assert all(manifest.applications[n].status == "done" for n in ("甲", "乙", "丙"))
    assert set(_results(out)) == {"甲", "乙", "丙"}
    # the failures are in the summary, and --strict makes them an error exit
    from openpyxl import load_workbook

    errors = [row for row in load_workbook(out / "summary.xlsx")["错误"].iter_rows(min_row=2, values_only=True)]
    assert {row[0] for row in errors} == {"崩溃企业", "段错误企业"}
    strict = run_batch_cli(batch, tmp_path / "out2", "--jobs", "2", "--quiet", "--strict", "--pipeline", FAKE)
    assert strict.returncode == 3


def test_corrupt_and_encrypted_files_become_file_errors(tmp_path: Path):
    batch = tmp_path / "batch"
    app = batch / "材料有问题"
    make_pdf(app / "申报书.pdf", ["公司上线ERP系统。"])
    (app / "截断.pdf").write_bytes((app / "申报书.pdf").read_bytes()[:300])
    if CORPUS.is_dir():
        shutil.copy(CORPUS / "samples_encryption_aes-128.pdf", app / "加密.pdf")
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--pipeline", FAKE]) == 0
    files = {Path(f["path"]).name: f for f in _results(out)["材料有问题"]["files"]}
    assert files["申报书.pdf"]["error"] is None and files["申报书.pdf"]["pages"] == 1
    assert "损坏" in files["截断.pdf"]["error"]
    if CORPUS.is_dir():
        assert "加密" in files["加密.pdf"]["error"]


def _work_raises(payload, context, reporter):
    if payload == "boom":
        raise ValueError("坏数据")
    return payload * 2


def test_executor_reports_an_exception_and_goes_on():
    with LocalProcessExecutor(_work_raises, None, jobs=1, file_timeout=None) as executor:
        executor.submit("a", "boom")
        events = []
        while executor.busy:
            events += executor.poll(1.0)
        executor.submit("b", "ok")
        while executor.busy:
            events += executor.poll(1.0)
    failed = [e for e in events if isinstance(e, TaskFailed)]
    done = [e for e in events if isinstance(e, TaskDone)]
    assert failed[0].task_id == "a" and failed[0].kind == "error" and "坏数据" in failed[0].reason
    assert done[0].value == "okok"
    assert executor.stats.workers_started == 1  # an exception does not cost the worker


def test_describe_exit():
    assert "退出码 3" in describe_exit(3)
    assert "SIGKILL" in describe_exit(-9) and "内存" in describe_exit(-9)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_batch_over_the_real_world_pdf_corpus_completes(tmp_path: Path):
    """Every corpus PDF as its own application: each gets a result or a recorded failure."""
    batch = tmp_path / "batch"
    batch.mkdir()
    pdfs = sorted(CORPUS.glob("*.pdf"))
    for pdf in pdfs:  # copies: symbolic links in a batch are refused (never followed)
        shutil.copyfile(pdf, batch / pdf.name)
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "2", "--file-timeout", "60", "--quiet",
                 "--pipeline", FAKE]) == 0
    manifest = load_manifest(out)
    assert len(manifest.applications) == len(pdfs)
    assert all(r.status == "done" for r in manifest.applications.values())
    from openpyxl import load_workbook

    ranking = load_workbook(out / "summary.xlsx")["排名"]
    assert ranking.max_row == len(pdfs) + 1


def _work_sleeps(payload, context, reporter):
    seconds, extra = payload
    reporter.file_started("扫描件.pdf", extra)
    time.sleep(seconds)
    reporter.file_finished("扫描件.pdf", 3)
    return "ok"


def test_time_limit_grows_with_the_pages_ocr_will_read():
    events = []
    with LocalProcessExecutor(_work_sleeps, None, jobs=2, file_timeout=1.0) as executor:
        executor.submit("slow-but-scanned", (2.0, 3.0))  # allowed 1 + 3 s
        executor.submit("stuck", (30.0, 0.5))  # allowed 1.5 s
        while executor.busy:
            events += executor.poll(0.5)
    outcome = {e.task_id: e for e in events if isinstance(e, (TaskDone, TaskFailed))}
    assert isinstance(outcome["slow-but-scanned"], TaskDone)
    assert outcome["stuck"].kind == "timeout" and "1.5 秒" in outcome["stuck"].reason
    assert outcome["stuck"].file == "扫描件.pdf"


def test_ocr_notice_gives_the_file_time_for_the_pages_ocr_will_read(tmp_path: Path, monkeypatch):
    """The extractor says when OCR starts and on how many pages; the loader restarts the file's
    clock with that many times the per-page allowance (no estimate before parsing)."""
    from reportlab.pdfgen import canvas

    import xdt_rules.ocr
    from xdt_rules.batch.work import _ReportingReader
    from xdt_rules.ingest import ExtractOptions, extract

    monkeypatch.setattr(xdt_rules.ocr, "apply_ocr", lambda document, path, options: document)  # no engine run
    text_pdf = make_pdf(tmp_path / "text.pdf", ["公司上线ERP系统，实现了业务财务一体化管理。"], pages=3)
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    scan = ImageReader(Image.new("L", (200, 280), 200))
    mixed = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(mixed))
    c.drawString(50, 800, "This page has a text layer.")
    c.showPage()
    c.drawImage(scan, 50, 50, 400, 600)  # a scan: an image, no text
    c.showPage()
    c.save()

    class Reporter:
        def __init__(self):
            self.extra: list[float] = []

        def file_started(self, path, extra_seconds=0.0):
            self.extra.append(extra_seconds)

        def file_finished(self, path, pages, **ocr):
            pass

    def allowances(path: Path, ocr: str) -> list[float]:
        from xdt_rules.models import FileEvidence

        reporter = Reporter()
        read = _ReportingReader(lambda p: FileEvidence(document=extract(p, ExtractOptions(ocr=ocr)), mentions=[],
                                                       has_text=True), reporter, ocr_page_seconds=20.0)
        read(str(path))
        return [e for e in reporter.extra if e]

    assert allowances(text_pdf, "auto") == []  # nothing to OCR: the base limit only
    assert allowances(mixed, "auto") == [20.0]  # one scanned page
    assert allowances(mixed, "force") == [40.0]  # every page
    assert allowances(mixed, "off") == []


def test_run_batch_works_from_a_script_on_stdin(tmp_path: Path):
    """Spawned workers re-run the parent's main file; ``python - <<EOF`` has none."""
    import subprocess
    import sys

    from test_batch_support import cli_env

    batch = tmp_path / "batch"
    write_text_app(batch / "甲", "上线ERP系统。")
    script = (
        "from xdt_rules.batch.runner import BatchOptions, run_batch\n"
        "from test_batch_support import fake_pipeline\n"
        f"report = run_batch({str(batch)!r}, {str(tmp_path / 'out')!r}, BatchOptions(jobs=1, quiet=True),"
        " pipeline=fake_pipeline())\n"
        "print(report.done, report.failed)\n"
    )
    result = subprocess.run([sys.executable, "-"], input=script, env=cli_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["1", "0"], result.stderr
