"""`xdt evidence` on real files (a generated Chinese PDF with a table, a DOCX sample, the shared
PDF corpus), and the measured quality against the samples' gold labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures_build import PdfItem, build_pdf

from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def application(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("app")
    build_pdf(folder / "申报书.pdf", [
        PdfItem("heading", "三、数字化改造情况", size=14),
        PdfItem("para", "公司于2021年上线用友U8 Cloud，覆盖采购、销售、库存和财务全流程。目前公司已上线ERP，但MES尚未建设。"),
        PdfItem("para", "设计部使用SolidWorks进行三维设计，生产效率提升23%，行业普遍采用PLM系统。"),
        PdfItem("table", rows=[["系统名称", "供应商/产品", "上线时间", "状态"],
                               ["仓库管理系统", "富勒FLUX", "2022年6月", "已上线"],
                               ["质量管理系统", "待定", "2026年", "规划中"]]),
    ])
    (folder / "~$临时.docx").write_bytes(b"lock file of Word, skipped")
    (folder / "坏文件.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    return folder


def _json(capsys, *argv: str) -> dict:
    assert main(["evidence", *argv, "--json", "--ocr", "off"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_on_a_folder(application, capsys):
    out = _json(capsys, str(application))
    names = sorted(Path(f["path"]).name for f in out["files"])
    assert names == ["坏文件.pdf", "申报书.pdf"]  # the Word lock file is skipped
    assert [f for f in out["files"] if f.get("error")][0]["path"].endswith("坏文件.pdf")
    got = {(m["item_id"], m["polarity"]) for m in out["mentions"]}
    assert {("1.3.1", "implemented"), ("1.3.2", "negated"), ("1.1.1", "implemented"), ("4.1.6", "implemented"),
            ("1.1.3", "generic"), ("1.3.3", "implemented"), ("1.3.4", "planned")} <= got
    pdf = next(f for f in out["files"] if f["path"].endswith("申报书.pdf"))
    assert all(m["page"] == 1 and m["sha256"] == pdf["sha256"] for m in out["mentions"])
    table = [m for m in out["mentions"] if m["in_table"]]
    assert {m["item_id"] for m in table} >= {"1.3.3", "1.3.4"}
    # the same input gives byte-identical JSON
    assert _json(capsys, str(application)) == out


def test_spans_point_into_extracted_blocks(application, capsys):
    from xdt_rules.ingest import ExtractOptions, extract

    document = extract(application / "申报书.pdf", ExtractOptions(ocr="off"))
    blocks = {b.index: b.text for b in document.blocks}
    out = _json(capsys, str(application / "申报书.pdf"))
    assert out["mentions"]
    for m in out["mentions"]:
        assert blocks[m["block"]][m["start"] : m["end"]] == m["matched"]


def test_table_output_and_filters(application, capsys):
    assert main(["evidence", str(application / "申报书.pdf"), "--ocr", "off", "--item", "1.3.2"]) == 0
    out = capsys.readouterr().out
    assert "1.3.2" in out and "缺失" in out and "尚未" in out and "1.3.1" not in out.split("1.3.2", 1)[0]
    assert main(["evidence", str(application), "--ocr", "off", "--polarity", "planned", "--json"]) == 0
    mentions = json.loads(capsys.readouterr().out)["mentions"]
    assert mentions and {m["polarity"] for m in mentions} == {"planned"}


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["evidence", str(tmp_path / "nope.pdf")]) == 1
    assert "找不到" in capsys.readouterr().err
    assert main(["evidence", str(tmp_path), "--item", "9.9"]) == 1
    assert "9.9" in capsys.readouterr().err


@pytest.mark.skipif(not (SAMPLES / "docx").is_dir(), reason="samples not built")
def test_real_docx_sample(capsys):
    folder = sorted((SAMPLES / "docx").iterdir())[0]
    out = _json(capsys, str(folder))
    assert out["mentions"] and not [f for f in out["files"] if f.get("error")]


def test_corpus_pdfs_do_not_break_the_finder(corpus_dir, capsys):
    pdfs = sorted(corpus_dir.glob("*.pdf"))[:12]
    for pdf in pdfs:
        assert main(["evidence", str(pdf), "--json", "--ocr", "off"]) in (0, 1)
        out = json.loads(capsys.readouterr().out)
        for m in out["mentions"]:
            assert m["sentence"][m["start"] - m["sentence_start"] : m["end"] - m["sentence_start"]] == m["matched"]


@pytest.mark.skipif(not (SAMPLES / "gold").is_dir(), reason="samples not built")
@pytest.mark.parametrize("variant", ["docx", "pdf"])
def test_quality_against_gold_labels(variant):
    from xdt_rules.evidence.quality import evaluate

    # the targets hold on every labelled set, the development set and each hold-out alike
    names = sorted(p.stem for p in (SAMPLES / "gold").glob("*.yaml"))
    sets = [(1, 11), (12, 17), (18, 23), (24, 29), (30, 99)]
    for low, high in sets:
        chosen = [n for n in names if low <= int(n[:2]) <= high]
        if not chosen:
            continue
        report = evaluate(SAMPLES, variant, applications=chosen)
        assert report.applications and not report.errors
        assert report.f1 is not None and report.f1 >= 0.90, (low, high, report.f1)
        assert report.false_implemented_share is not None and report.false_implemented_share <= 0.05, (low, high)


def test_table_of_a_capability_described_without_its_name_does_not_crash(tmp_path: Path, capsys):
    """`xdt evidence` printed "内部错误 KeyError: 'model'" as soon as a sentence was recognised by its
    description (the learned model) rather than by a keyword: the table had no label for that kind."""
    text = tmp_path / "申报书.txt"
    text.write_text("每台注塑机的开模次数、周期、温度和报警实时采集到车间系统，一块大屏就能看到每台机器在干什么，"
                    "停机超过十分钟系统会自动通知机修。\n\n车间的物料搬运全靠AGV小车在各工位之间来回跑，全程不用人推车。\n",
                    encoding="utf-8")
    assert main(["evidence", str(tmp_path), "--json", "--ocr", "off"]) == 0
    kinds = {m["kind"] for m in json.loads(capsys.readouterr().out)["mentions"]}
    assert "model" in kinds  # what the table could not show
    assert main(["evidence", str(tmp_path), "--ocr", "off"]) == 0
    assert "按描述" in capsys.readouterr().out
