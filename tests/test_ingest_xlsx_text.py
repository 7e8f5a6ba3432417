"""XLSX cells (values, not formulas) and TXT/MD (encodings, paragraphs, headings)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from xdt_rules.errors import IngestError
from xdt_rules.ingest import ExtractOptions, extract

OFF = ExtractOptions(ocr="off")


def _workbook(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "系统清单"
    ws.append(["系统名称", "投资额（万元）", "上线日期", "覆盖率"])
    ws.append(["ERP", 120, dt.datetime(2021, 3, 1), 0.85])
    ws["D2"].number_format = "0%"
    ws.append(["MES", 80.5, None, None])
    ws["B5"] = "=SUM(B2:B3)"
    other = wb.create_sheet("成效")
    other["C2"] = "生产效率提升25%"
    wb.save(str(path))
    # openpyxl writes formulas without the value Excel would cache; add it as Excel does.
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    sheet, count = re.subn(r"(<f>SUM\(B2:B3\)</f>)<v\s*/?>(?:</v>)?", r"\1<v>200.5</v>", sheet)
    assert count == 1
    members["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return path


def test_xlsx_sheet_cells_with_values(tmp_path):
    doc = extract(_workbook(tmp_path / "清单.xlsx"), OFF)
    assert doc.file_type == "xlsx"
    got = [(b.kind, b.sheet, b.row, b.col, b.text) for b in doc.blocks]
    assert got == [
        ("sheet_cell", "系统清单", 0, 0, "系统名称"), ("sheet_cell", "系统清单", 0, 1, "投资额（万元）"),
        ("sheet_cell", "系统清单", 0, 2, "上线日期"), ("sheet_cell", "系统清单", 0, 3, "覆盖率"),
        ("sheet_cell", "系统清单", 1, 0, "ERP"), ("sheet_cell", "系统清单", 1, 1, "120"),
        ("sheet_cell", "系统清单", 1, 2, "2021-03-01"), ("sheet_cell", "系统清单", 1, 3, "85%"),
        ("sheet_cell", "系统清单", 2, 0, "MES"), ("sheet_cell", "系统清单", 2, 1, "80.5"),
        ("sheet_cell", "系统清单", 4, 1, "200.5"),  # the value, not "=SUM(B2:B3)"
        ("sheet_cell", "成效", 1, 2, "生产效率提升25%"),
    ]


def test_xlsx_truncated_is_corrupt(tmp_path):
    data = _workbook(tmp_path / "a.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "corrupt"


TEXT = "一、企业概况\n\n公司主营精密零部件，\n已上线ERP系统。\n\n二、成效\n\n生产效率提升25%。\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_text_encodings(tmp_path, encoding):
    path = tmp_path / "说明.txt"
    path.write_bytes(TEXT.encode(encoding))
    doc = extract(path, OFF)
    assert doc.file_type == "txt"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "一、企业概况"), ("paragraph", "公司主营精密零部件，\n已上线ERP系统。"),
        ("heading", "二、成效"), ("paragraph", "生产效率提升25%。"),
    ]


def test_gbk_text_is_not_mistaken_for_utf8(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("设备联网上云，数据采集覆盖全部关键设备。".encode("gbk"))
    assert extract(path, OFF).blocks[0].text == "设备联网上云，数据采集覆盖全部关键设备。"


def test_text_without_blank_lines_splits_on_lines(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes("第一行内容\r\n第二行内容\r\n".encode("utf-8"))
    assert [b.text for b in extract(path, OFF).blocks] == ["第一行内容", "第二行内容"]


def test_markdown_headings_lists_and_paragraphs(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# 项目概述\n\n本项目建设MES系统，\n覆盖三个车间。\n\n- 设备联网\n- 数据采集\n\n## 成效 ##\n结论段落。\n",
                    encoding="utf-8")
    doc = extract(path, OFF)
    assert doc.file_type == "md"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "项目概述"), ("paragraph", "本项目建设MES系统，\n覆盖三个车间。"),
        ("list_item", "- 设备联网"), ("list_item", "- 数据采集"), ("heading", "成效"), ("paragraph", "结论段落。"),
    ]


def test_xlsx_cell_limit_stops_with_a_warning(tmp_path, monkeypatch):
    import xdt_rules.ingest.xlsx as xlsx

    monkeypatch.setattr(xlsx, "XLSX_MAX_CELLS", 3)
    doc = extract(_workbook(tmp_path / "big.xlsx"), OFF)
    assert [b.text for b in doc.blocks] == ["系统名称", "投资额（万元）", "上线日期"]
    assert any("单元格超过 3 个" in w for w in doc.warnings)
