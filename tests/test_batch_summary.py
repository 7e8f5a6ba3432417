"""summary.xlsx / summary.csv / index.html, read back as a reviewer would open them."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from test_batch_support import BOILERPLATE, FAKE, write_text_app

from xdt_rules.batch.runner import rebuild_summary
from xdt_rules.cli import main

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("summary")
    batch = root / "batch"
    write_text_app(batch / "强企业", "公司上线ERP系统、MES系统、PLM系统和WMS系统，采用CAD设计。\n\n" + BOILERPLATE)
    write_text_app(batch / "弱企业", "公司计划建设ERP。\n\n" + BOILERPLATE)
    (batch / "弱企业" / "坏.pdf").write_bytes(b"%PDF-1.4 broken")
    write_text_app(batch / XSS, "上线MES系统。")
    write_text_app(batch / "崩溃企业", "x", "crash.txt")
    out = root / "out"
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "2", "--quiet", "--pipeline", FAKE]) == 0
    return out


def test_ranking_sheet(batch_out: Path):
    wb = load_workbook(batch_out / "summary.xlsx")
    assert wb.sheetnames == ["排名", "明细", "错误", "重复段落", "说明"]
    ws = wb["排名"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["排名", "申报", "状态", "总分"]
    assert header[4].startswith("1 数字化改造") and header[8].startswith("5 示范带动效应")
    assert header[9:14] == ["达标", "部分达标", "仅规划", "明确未实施", "未找到"]
    assert header[14:] == ["需人工确认项", "文件错误", "重复段落", "报告", "说明"]
    assert ws.freeze_panes == "C2"
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [r[1] for r in rows] == ["强企业", XSS, "弱企业", "崩溃企业"]
    assert [r[0] for r in rows] == [1, 2, 3, None]
    strong = rows[0]
    result = json.loads((batch_out / "强企业.json").read_text(encoding="utf-8"))
    assert strong[3] == pytest.approx(result["total"]["score"])
    assert strong[9] == sum(1 for i in result["items"] if i["status"] == "met") == 5
    assert sum(strong[9:14]) == 36
    assert strong[14] == 9  # the holistic items need confirmation
    assert strong[16] == 1  # one shared passage (the boilerplate with 弱企业)
    weak = rows[2]
    assert weak[15] == 1  # the broken PDF
    link = ws.cell(2, header.index("报告") + 1)
    assert link.hyperlink.target == "%E5%BC%BA%E4%BC%81%E4%B8%9A.html"
    assert (batch_out / unquote(link.hyperlink.target)).is_file()
    assert rows[3][2] == "失败" and "退出码" in rows[3][-1]
    assert ws.column_dimensions["B"].width >= 20


def test_detail_sheet_has_status_and_points_per_item_with_colours(batch_out: Path):
    ws = load_workbook(batch_out / "summary.xlsx")["明细"]
    top = [c.value for c in ws[1]]
    sub = [c.value for c in ws[2]]
    assert top[:2] == ["申报", "总分"] and top[2].startswith("1.1.1 ") and top[-2].startswith("5.1.1 ")
    assert sub[2:4] == ["状态", "得分"] and len(sub) == 2 + 2 * 36
    assert ws.freeze_panes == "C3"
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert set(rows) == {"强企业", "弱企业", XSS}  # the failed one has no matrix row
    strong = rows["强企业"]
    erp = top.index(next(t for t in top if t and t.startswith("1.3.1 ")))
    assert strong[erp] == "达标" and strong[erp + 1] > 0
    holistic = top.index(next(t for t in top if t and t.startswith("5.1.1 ")))
    assert strong[holistic] == "未找到（需确认）"
    rules = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    assert len(rules) == 36 * 5
    assert any('="部分达标"' in rule.formula[0] for rule in rules)


def test_errors_and_duplicates_sheets(batch_out: Path):
    wb = load_workbook(batch_out / "summary.xlsx")
    errors = list(wb["错误"].iter_rows(min_row=2, values_only=True))
    assert ("弱企业" in {e[0] for e in errors}) and any(e[1].endswith("坏.pdf") and "损坏" in e[2] for e in errors)
    assert any(e[0] == "崩溃企业" and "退出码" in e[2] for e in errors)
    passages = list(wb["重复段落"].iter_rows(min_row=2, values_only=True))
    assert len(passages) == 1
    app_a, app_b, chars, file_a, _, file_b, _, text = passages[0]
    assert {app_a, app_b} == {"强企业", "弱企业"} and chars >= 80
    assert text.startswith("我公司坚持以数字化转型为核心战略") and file_a == file_b == "申报书.txt"
    assert "须人工确认" in wb["说明"]["A1"].value


def test_csv_is_utf8_with_bom_and_matches_the_ranking(batch_out: Path):
    raw = (batch_out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["排名", "申报", "状态", "总分"]
    assert [r[1] for r in rows[1:]] == ["强企业", XSS, "弱企业", "崩溃企业"]
    assert rows[1][-2] == "强企业.html"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))
        if tag in ("script", "img"):
            self.scripts += 1

    def handle_data(self, data):
        self.text.append(data)


def test_index_html_is_escaped_self_contained_and_links_every_report(batch_out: Path):
    page = (batch_out / "index.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.scripts == 0  # the application named <img onerror=…> is text, not markup
    assert XSS in "".join(parser.text)
    reports = [unquote(h) for h in parser.links if h.endswith(".html")]
    assert sorted(reports) == sorted(["强企业.html", "弱企业.html", f"{XSS}.html"])
    for report in reports:
        assert (batch_out / report).is_file()
    assert "初步结果，须人工确认" in page and "http" not in page.replace("http-equiv", "")
    assert "崩溃企业" in page and "退出码" in page


def test_summary_is_rebuilt_from_out(batch_out: Path):
    (batch_out / "summary.xlsx").unlink()
    (batch_out / "index.html").unlink()
    paths = rebuild_summary(batch_out)
    assert Path(paths.xlsx).is_file() and Path(paths.html).is_file()
    assert load_workbook(paths.xlsx)["排名"].max_row == 5


def test_results_from_different_rules_versions_are_flagged(tmp_path, monkeypatch):
    batch = tmp_path / "batch"
    for name in ("甲", "乙"):
        write_text_app(batch / name, f"{name}上线ERP系统。")
    out = tmp_path / "out"
    args = ["batch", str(batch), "--out", str(out), "--jobs", "1", "--quiet", "--pipeline", FAKE]
    assert main(args) == 0
    # the rules changed while 乙's result was being written: simulate with an edited result
    path = out / "乙.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["rules_version"] = "other-version"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    rebuild_summary(out)
    assert "2 个不同的规则版本" in (out / "index.html").read_text(encoding="utf-8")
    assert "不同的规则版本" in load_workbook(out / "summary.xlsx")["说明"]["A3"].value
