"""What a reviewer meets in the batch summary: application names that are formulas stay text in
summary.xlsx and summary.csv, and applications with nothing readable are 无法评分 at the bottom
with the reason, not ranked with 0.00 (issue 14, points 6 and 11)."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from test_batch_support import write_text_app

from xdt_rules.cli import main

ERP = "公司于2021年上线用友U8 Cloud企业资源计划系统，采购、销售、库存、财务全流程在线运行。"
FORMULAS = ['=HYPERLINK("http://example.invalid","点我")', "=1+2", "+1+2", "-1+2", "@SUM(A1)"]


def _csv(out: Path) -> list[list[str]]:
    with open(out / "summary.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_formula_names_are_text_in_summary_xlsx_and_csv(tmp_path: Path):
    batch = tmp_path / "batch"
    for name in FORMULAS:
        write_text_app(batch / name.replace("/", "_"), ERP)
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops"]) == 0
    names = {name.replace("/", "_") for name in FORMULAS}

    workbook = load_workbook(out / "summary.xlsx")
    for title in ("排名", "明细"):
        cells = [c for row in workbook[title].iter_rows() for c in row if c.value in names]
        assert {c.value for c in cells} == names, title  # the names, exactly as typed
        assert all(c.data_type == "s" for c in cells), [(c.value, c.data_type) for c in cells]
    ranking = workbook["排名"]
    assert not [c for row in ranking.iter_rows() for c in row if c.data_type == "f"]  # no formula anywhere

    rows = _csv(out)
    header = rows[0]
    shown = {row[header.index("申报")] for row in rows[1:]}
    assert shown == {"'" + n for n in names}  # a quote before = + - @: a spreadsheet shows it as text
    assert all(row[header.index("总分")].replace(".", "").isdigit() for row in rows[1:])  # numbers stay numbers


def test_unreadable_applications_are_unscorable_at_the_bottom_with_the_reason(tmp_path: Path):
    batch = tmp_path / "batch"
    write_text_app(batch / "正常企业", ERP)
    batch.joinpath("坏压缩包.zip").write_bytes(b"PK\x03\x04 this is not really a zip file at all")
    (batch / "只有坏PDF").mkdir()
    (batch / "只有坏PDF" / "申报书.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R")
    out = tmp_path / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--no-crops"]) == 0

    rows = _csv(out)
    header = rows[0]
    by_name = {row[header.index("申报")]: row for row in rows[1:]}
    assert [row[header.index("申报")] for row in rows[1:]][0] == "正常企业"
    assert by_name["正常企业"][header.index("排名")] == "1"
    for name, why in (("坏压缩包", "压缩包已损坏"), ("只有坏PDF", "申报书.pdf")):
        row = by_name[name]
        assert row[header.index("状态")] == "无法评分"
        assert row[header.index("排名")] == "" and row[header.index("总分")] == ""  # not ranked, no 0.00
        assert why in row[header.index("说明")]
    ranking = load_workbook(out / "summary.xlsx")["排名"]
    states = [r[2].value for r in ranking.iter_rows(min_row=2)]
    assert states == ["完成", "无法评分", "无法评分"]  # at the bottom
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "无法评分" in index and "压缩包已损坏" in index
