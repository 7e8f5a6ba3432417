"""Issue 14 (13): DOCX and XLSX evidence was located only as 块 N. Now a DOCX passage has its
heading path and its paragraph under the nearest heading (or its table, row and column), a
worksheet cell its sheet and A1 name — in the JSON and in the report — and each is checked here
against the file itself, read with python-docx and openpyxl."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from xdt_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "docx" / "01_strong_manufacturer"
pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="samples not built (python samples/build_samples.py)")


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("located")
    assert main(["screen", str(SAMPLE), "--out", str(out), "--no-crops", "--ocr", "off"]) == 0
    result = json.loads((out / f"{SAMPLE.name}.json").read_text(encoding="utf-8"))
    return result, (out / f"{SAMPLE.name}.html").read_text(encoding="utf-8")


def _evidence(result: dict, file: str) -> list[dict]:
    return [ev for item in result["items"] for ev in item["evidence"] if ev["file"] == file]


def _body_outline(path: Path) -> list[tuple[list[str], int | None, str]]:
    """(heading path, paragraph under the nearest heading, text) of each body paragraph, from
    python-docx's own view of the file (Word's heading styles give the levels)."""
    import docx

    open_headings: list[tuple[int, str]] = []
    count = 0
    out = []
    for paragraph in docx.Document(str(path)).paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        level = re.fullmatch(r"Heading (\d)", style)
        if level:
            while open_headings and open_headings[-1][0] >= int(level.group(1)):
                open_headings.pop()
            open_headings.append((int(level.group(1)), text))
            count = 0
            continue
        count += 1
        out.append(([t for _, t in open_headings], count, text))
    return out


def test_docx_paragraph_evidence_has_its_heading_path_and_paragraph(screened) -> None:
    result, html = screened
    paragraphs = [ev for ev in _evidence(result, "申报书.docx") if ev["block_kind"] == "paragraph"
                  and ev["location"].get("headings")]
    assert len(paragraphs) >= 50
    outline = _body_outline(SAMPLE / "申报书.docx")
    for ev in paragraphs:
        location = ev["location"]
        candidates = [(path, number) for path, number, text in outline if ev["text"] in text]
        assert (location["headings"], location["paragraph"]) in candidates, (ev["matched"], location)
        assert location["label"].endswith(f"第 {location['paragraph']} 段")
        assert "块" not in location["label"]
    # the passage a reviewer looks for: CAM/DNC under 三 › （二）, the second paragraph there
    (dnc,) = {json.dumps(ev["location"], ensure_ascii=False) for ev in paragraphs if ev["matched"] == "DNC网络"}
    assert json.loads(dnc) == {"label": "三、数字化改造情况 › （二）制造设备数字化 · 第 2 段",
                               "headings": ["三、数字化改造情况", "（二）制造设备数字化"], "paragraph": 2}
    # the report shows it where it used to say 块 N
    assert "申报书.docx · 三、数字化改造情况 › （二）制造设备数字化 · 第 2 段" in unescape(html)
    assert not re.search(r'<span class="where"[^>]*>[^<]*块 \d', html)


def test_docx_table_cell_evidence_has_its_table_row_and_column(screened) -> None:
    import docx

    result, html = screened
    cells = [ev for ev in _evidence(result, "申报书.docx") if ev["block_kind"] == "table_cell"]
    assert len(cells) >= 20
    tables = docx.Document(str(SAMPLE / "申报书.docx")).tables
    for ev in cells:
        location = ev["location"]
        cell = tables[location["table"] - 1].rows[location["row"] - 1].cells[location["column"] - 1]
        assert ev["matched"] in cell.text.replace("\n", ""), (ev["matched"], location)
        assert f"表 {location['table']} 第 {location['row']} 行第 {location['column']} 列" in location["label"]
    # a row shown whole in the report is located by its row
    assert "申报书.docx · 二、数字化转型总体情况 · 表 2 第 3 行<" in unescape(html).replace("</span>", "<")


def test_xlsx_evidence_has_its_sheet_and_a1_cell(screened) -> None:
    import openpyxl

    result, html = screened
    cells = _evidence(result, "设备清单.xlsx")
    assert len(cells) >= 5
    workbook = openpyxl.load_workbook(SAMPLE / "设备清单.xlsx", read_only=False)
    for ev in cells:
        location = ev["location"]
        assert re.fullmatch(r"[A-Z]+\d+", location["cell"])
        value = workbook[location["sheet"]][location["cell"]].value
        assert ev["matched"] in str(value), (ev["matched"], location, value)
        assert location["label"] == f"工作表“{location['sheet']}” · {location['cell']}"
    shown = {ev["location"]["label"] for ev in cells}
    assert any(f"设备清单.xlsx · {label}" in unescape(html) for label in shown)


def test_a1_names_past_column_z() -> None:
    from xdt_rules.scoring.locations import cell_name

    assert [cell_name(0, 0), cell_name(4, 2), cell_name(0, 25), cell_name(9, 26), cell_name(0, 701),
            cell_name(0, 702)] == ["A1", "C5", "Z1", "AA10", "ZZ1", "AAA1"]


def test_pdf_evidence_keeps_its_page() -> None:
    """PDF evidence was located by its page before and still is (the label is the page)."""
    from support import screen

    outcome = screen(ROOT / "samples" / "pdf" / "01_strong_manufacturer")
    evidence = [ev for item in outcome.result.items for ev in item.evidence if ev.file.endswith(".pdf")]
    assert evidence and all(ev.location is not None and ev.location.label.startswith(f"第 {ev.page} 页")
                            for ev in evidence)


def test_heading_paths_follow_styles_numbers_and_leave_the_contents_out(tmp_path: Path) -> None:
    """Headings set by style (标题 1/2) or only by their number (（一）), a table of contents whose
    lines repeat the headings, a table under a heading: each block's path and paragraph."""
    import docx

    from xdt_rules.ingest import ExtractOptions, extract

    document = docx.Document()
    document.add_paragraph("目    录")
    document.add_paragraph("一、企业基本情况\t1")
    document.add_paragraph("二、数字化改造\t2")
    document.add_heading("一、企业基本情况", level=1)
    document.add_paragraph("公司成立于2006年，主营减速机。")
    document.add_heading("二、数字化改造", level=1)
    document.add_paragraph("（一）生产管理")  # a heading by its number only (direct formatting)
    document.add_paragraph("公司于2019年上线ERP。")
    document.add_paragraph("2022年上线MES。")
    table = document.add_table(rows=2, cols=2)
    table.cell(1, 1).text = "鼎捷MES"
    path = tmp_path / "申报书.docx"
    document.save(str(path))
    blocks = {b.text: b for b in extract(path, ExtractOptions(ocr="off")).blocks}
    assert blocks["一、企业基本情况\t1"].headings == ["目录"]
    assert blocks["公司成立于2006年，主营减速机。"].headings == ["一、企业基本情况"]
    assert (blocks["2022年上线MES。"].headings, blocks["2022年上线MES。"].paragraph) == (
        ["二、数字化改造", "（一）生产管理"], 2)
    cell = blocks["鼎捷MES"]
    assert (cell.headings, cell.table, cell.row, cell.col) == (["二、数字化改造", "（一）生产管理"], 0, 1, 1)
    from xdt_rules.scoring.locations import locate

    assert locate(cell, page=None, file_type="docx").label == "二、数字化改造 › （一）生产管理 · 表 1 第 2 行第 2 列"
    assert locate(blocks["一、企业基本情况\t1"], page=None, file_type="docx").label == "目录 · 标题"
