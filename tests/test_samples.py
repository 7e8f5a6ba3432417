"""The labelled sample applications (samples/): gold labels, required scenarios, up-to-date outputs.

These samples are what the whole team measures evidence detection and scoring against, so the
tests check that the gold labels are well formed and honest to the text (every evidence sentence
is really in the application, scan-only evidence really is only on image pages), that each hard
scenario the samples promise is really there in the built files, and that the committed PDF/DOCX
outputs are what the build script makes from the committed sources.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest
from docx import Document
from openpyxl import load_workbook

from xdt_rules.gold import load_gold_dir, load_gold_file
from support import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_samples", SAMPLES / "build_samples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_samples"] = module
    spec.loader.exec_module(module)
    return module


build = _load_builder()
APPS = [p.stem for p in build.source_paths()]
SOURCES = {app: build.load_source(SAMPLES / "sources" / f"{app}.yaml") for app in APPS}


def squash(text: str) -> str:
    """Whitespace-free text: PDF extraction breaks lines anywhere in Chinese text."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def catalogue():
    return CATALOGUE


@pytest.fixture(scope="module")
def golds(catalogue):
    return load_gold_dir(SAMPLES / "gold", catalogue)


def pdf_text(path: Path) -> list[str]:
    """Text per page with pdfium (fast; used where layout does not matter)."""
    doc = pdfium.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def xlsx_text(path: Path) -> str:
    wb = load_workbook(path, read_only=True)
    return "\n".join(
        f"{ws.title}|" + "|".join("" if v is None else str(v) for v in row)
        for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
    )


# --------------------------------------------------------------------------- gold labels


def test_every_source_has_a_gold_file_covering_all_36_items(catalogue, golds):
    assert len(APPS) >= 10
    assert sorted(golds) == APPS
    for app in APPS:
        gold = load_gold_file(SAMPLES / "gold" / f"{app}.yaml", catalogue)
        assert gold.application == app
        assert list(gold.items) == catalogue.item_ids  # all 36, in catalogue order


def test_gold_evidence_is_quoted_verbatim_from_the_application(golds):
    for app, gold in golds.items():
        units = build.source_units(SOURCES[app])
        text_units = [squash(u.text) for u in units if not u.scan]
        scan_units = [squash(u.text) for u in units if u.scan]
        for item_id, item in gold.items.items():
            if item.label == "absent":
                assert not item.scan_only
                continue
            where = f"{app} {item_id}"
            for sentence in item.evidence:
                s = squash(sentence)
                in_text = any(s in u for u in text_units)
                in_scan = any(s in u for u in scan_units)
                assert in_text or in_scan, f"{where}: evidence not in the application: {sentence}"
                if item.scan_only:
                    assert in_scan and not in_text, f"{where}: scan_only evidence is in the text layer: {sentence}"
            if not item.scan_only:
                assert any(any(squash(e) in u for u in text_units) for e in item.evidence), \
                    f"{where}: evidence only on scanned pages but scan_only is false"


def test_labels_are_balanced_across_samples(golds, catalogue):
    per_item: dict[str, Counter] = defaultdict(Counter)
    for gold in golds.values():
        for item_id, item in gold.items.items():
            per_item[item_id][item.label] += 1
    for item_id in catalogue.item_ids:
        counts = per_item[item_id]
        implemented = counts["implemented"]
        assert implemented >= 2, f"{item_id} implemented in only {implemented} samples"
        assert sum(counts.values()) - implemented >= 2, f"{item_id} not implemented in fewer than 2 samples"
    assert sum(1 for c in per_item.values() if c["planned"]) >= 15
    assert sum(1 for c in per_item.values() if c["negated"]) >= 10


def test_scenario_labels(golds):
    """The samples' roles show in their labels, as a reviewer would read them."""
    def labels(app: str) -> Counter:
        return Counter(i.label for i in golds[app].items.values())

    assert labels("01_strong_manufacturer")["implemented"] >= 28
    assert labels("02_weak_few_systems")["implemented"] <= 4
    plan = labels("03_plan_heavy_pharma")
    assert plan["planned"] > 2 * plan["implemented"]
    assert labels("04_admits_gaps_building")["negated"] >= 8
    assert labels("05_criteria_parrot")["implemented"] == 0
    assert sum(i.scan_only for i in golds["07_scanned_page_nonferrous"].items.values()) >= 3


# --------------------------------------------------------------------------- built packages


def test_packages_have_both_variants_with_the_same_files():
    for app in APPS:
        spec = SOURCES[app]
        pdf = sorted(p.name for p in (SAMPLES / "pdf" / app).iterdir())
        docx = sorted(p.name for p in (SAMPLES / "docx" / app).iterdir())
        assert "申报书.pdf" in pdf and "申报书.docx" in docx
        assert [Path(n).stem for n in pdf] == [Path(n).stem for n in docx] == sorted(f.name for f in spec.files)


def test_page_counts():
    pages = {app: len(pdfium.PdfDocument(str(SAMPLES / "pdf" / app / "申报书.pdf"))) for app in APPS}
    assert all(3 <= n <= 40 for n in pages.values()), pages
    assert max(pages.values()) >= 30
    assert min(pages.values()) == 3
    assert sum(5 <= n <= 15 for n in pages.values()) >= len(APPS) // 2


def test_every_text_evidence_is_in_the_pdf_and_docx_text(golds):
    for app, gold in golds.items():
        pdf_all = ""
        docx_all = ""
        for f in SOURCES[app].files:
            if f.kind == "xlsx":
                continue
            # running headers and page numbers sit between the two halves of a sentence that
            # crosses a page break; ingestion drops them, and so does this comparison
            text = squash("".join(pdf_text(SAMPLES / "pdf" / app / f"{f.name}.pdf")))
            if f.header:
                text = text.replace(squash(f.header), "")
            pdf_all += re.sub(r"第\d+页，共\d+页", "", text)
            docx_all += squash(docx_text(SAMPLES / "docx" / app / f"{f.name}.docx"))
        for item_id, item in gold.items.items():
            if item.scan_only:
                continue
            for sentence in item.evidence:
                s = squash(sentence)
                if s in squash("".join(u.text for u in build.source_units(SOURCES[app]) if u.scan)):
                    continue
                assert s in pdf_all, f"{app} {item_id}: not in the PDF text layer: {sentence}"
                assert s in docx_all, f"{app} {item_id}: not in the DOCX: {sentence}"


def test_scanned_page_has_no_text_layer_and_holds_the_scan_only_evidence(golds):
    app = "07_scanned_page_nonferrous"
    path = SAMPLES / "pdf" / app / "申报书.pdf"
    with pdfplumber.open(path) as pdf:
        image_pages = [p for p in pdf.pages if len(p.chars) < 10]
        assert image_pages, "no image-only page"
        for page in image_pages:
            assert page.images, "an image-only page must carry the scanned image"
            assert page.images[0]["width"] > 0.95 * page.width
        text_layer = squash("".join(p.extract_text() or "" for p in pdf.pages))
    scan_only = [e for i in golds[app].items.values() if i.scan_only for e in i.evidence]
    assert scan_only
    for sentence in scan_only:
        assert squash(sentence) not in text_layer
    # the DOCX variant carries the same page as a picture, not as text
    doc = Document(str(SAMPLES / "docx" / app / "申报书.docx"))
    assert doc.inline_shapes
    assert all(squash(s) not in squash(docx_text(SAMPLES / "docx" / app / "申报书.docx")) for s in scan_only)


def test_line_wraps_split_terms_in_the_pdf_text():
    with pdfplumber.open(SAMPLES / "pdf" / "08_line_wraps_tobacco" / "申报书.pdf") as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    for split in ("制造执\n行系统", "企业资源计\n划", "仓库管\n理系统", "产品生命周\n期管理", "客户关系管\n理系统"):
        assert split in text, f"{split!r} is not split in the PDF text"
    # the source itself has the whole terms (the split is layout only)
    source = "".join(u.text for u in build.source_units(SOURCES["08_line_wraps_tobacco"]))
    assert "制造执行系统" in source and build.FORCED_BREAK not in source


def test_table_only_sample_names_its_systems_only_in_the_table():
    app = "06_table_only_chemical"
    units = [u for u in build.source_units(SOURCES[app]) if u.file == "申报书"]
    body = "".join(u.text for u in units if u.kind != "cell")
    cells = [u.text for u in units if u.kind == "cell"]
    assert "详见下表" in body
    for product in ("用友NC Cloud", "和利时MACS V6", "三维天地", "纷享销客", "石化盈科", "泛微e-office", "百望云"):
        assert any(product in c for c in cells) and product not in body
    for abbr in ("ERP", "MES", "WMS", "LIMS", "CRM", "DCS"):
        assert abbr not in body
    header = ["系统名称", "供应商/产品", "上线时间", "覆盖环节", "状态"]
    with pdfplumber.open(SAMPLES / "pdf" / app / "申报书.pdf") as pdf:
        found = [t.extract() for p in pdf.pages for t in p.find_tables()]
    system_tables = [t for t in found if t and t[0] == header]
    assert len(system_tables) >= 2, "the system table should run over a page break with its header repeated"
    rows = [r for t in system_tables for r in t[1:]]
    assert any(r[0] and "LIMS" in r[0] and r[4] == "已上线" for r in rows)


TRICKY = {
    "pseudo-negation": ["无纸化办公", "无线网络全覆盖", "无缝对接", "无人化仓库", "不断完善", "不良率下降"],
    "other parties": ["供应商已上线SRM", "客户要求我们", "行业普遍采用MES", "政策鼓励企业上云"],
    "mixed": ["已上线ＥＲＰ，但MES尚未建设"],
    "past plan done": ["2022年计划建设的WMS已于2023年上线"],
    "names": ["企业资源计划", "制造执行系统", "ＥＲＰ", "ＣＲＭ", "鼎捷T100", "用友U8"],
    "gaps": ["尚未建立PLM", "没有WMS", "仍以人工纸质记录为主", "暂无CRM"],
    "plans": ["计划", "拟", "下一步", "预计2025年12月上线", "正在建设", "力争"],
}
STRONG_VENDORS = ["用友U8 Cloud", "SolidWorks", "中望CAD", "ANSYS", "Teamcenter", "鼎捷MES", "钉钉", "企业微信",
                  "天猫", "京东", "抖音", "树根互联", "数电发票"]


def test_tricky_language_is_present():
    everything = "".join(u.text for s in SOURCES.values() for u in build.source_units(s))
    for kind, phrases in TRICKY.items():
        for phrase in phrases:
            assert phrase in everything, f"{kind}: {phrase}"
    assert "不仅" in everything and re.search("不仅[^。]*还", everything)
    strong = "".join(u.text for u in build.source_units(SOURCES["01_strong_manufacturer"]))
    assert all(v in strong for v in STRONG_VENDORS)


def test_criteria_parrot_pastes_the_official_texts(catalogue):
    strip = lambda s: re.sub(r"[\s，。、；：,.;:（）()“”\"]", "", s)  # noqa: E731
    text = strip("".join(u.text for u in build.source_units(SOURCES["05_criteria_parrot"])))
    pasted = [i.id for i in catalogue.items if not i.holistic and strip(i.text)[:-2][-25:] in text]
    assert len(pasted) >= 15, pasted


def test_attachments():
    contract = "".join(pdf_text(SAMPLES / "pdf" / "01_strong_manufacturer" / "MES系统采购合同.pdf"))
    assert "验收" in contract and "2022年12月6日" in contract
    for variant in ("pdf", "docx"):
        sheet = xlsx_text(SAMPLES / variant / "01_strong_manufacturer" / "设备清单.xlsx")
        assert "五轴加工中心" in sheet
    assert "两化融合管理体系" in "".join(pdf_text(SAMPLES / "pdf" / "01_strong_manufacturer" / "两化融合管理体系评定证书.pdf"))
    assert "电子发票" in "".join(pdf_text(SAMPLES / "pdf" / "06_table_only_chemical" / "发票_LIMS实施服务.pdf"))
    assert "二级" in "".join(pdf_text(SAMPLES / "pdf" / "10_tricky_language_coffee" / "数字化水平评测结果证书.pdf"))


def test_docx_uses_real_headings_and_tables():
    doc = Document(str(SAMPLES / "docx" / "01_strong_manufacturer" / "申报书.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert "一、企业基本情况" in headings and len(headings) >= 8
    assert doc.tables and doc.tables[1].rows[0].cells[0].text == "系统名称"
    assert doc.core_properties.created.year == 2025


# --------------------------------------------------------------------------- the build


def test_wrap_keeps_punctuation_off_line_starts_and_honours_forced_breaks():
    text = "公司建成了覆盖办公区和生产车间的千兆工业以太网，" * 6 + "制造执" + build.FORCED_BREAK + "行系统。"
    lines = build.wrap(text, build.BODY_SIZE, build.TEXT_W, 2 * build.BODY_SIZE)
    assert "".join(line.text for line in lines) == text.replace(build.FORCED_BREAK, "")
    assert all(line.text[:1] not in "，。、；：）" for line in lines)
    assert any(line.forced and line.text.endswith("制造执") for line in lines)
    assert all(line.width <= build.TEXT_W + 0.01 for line in lines)


@pytest.mark.skipif(not build.SCAN_FONT.exists(), reason="scan pages need fonts-wqy-zenhei to be rebuilt")
def test_committed_outputs_are_up_to_date_with_the_sources(tmp_path):
    """Rebuild everything and compare: bytes when the libraries are the same, else the text."""
    assert build.main(["--out", str(tmp_path)]) == 0
    stale, byte_diff = [], []
    for variant in ("pdf", "docx"):
        committed = sorted((SAMPLES / variant).rglob("*.*"))
        rebuilt = sorted((tmp_path / variant).rglob("*.*"))
        assert [p.relative_to(SAMPLES) for p in committed] == [p.relative_to(tmp_path) for p in rebuilt]
        for old, new in zip(committed, rebuilt):
            if old.read_bytes() == new.read_bytes():
                continue
            byte_diff.append(old.name)
            reader = {".pdf": lambda p: "\f".join(pdf_text(p)), ".docx": docx_text, ".xlsx": xlsx_text}[old.suffix]
            if reader(old) != reader(new):
                stale.append(str(old.relative_to(SAMPLES)))
    assert not stale, f"run `python samples/build_samples.py`; stale outputs: {stale}"
    if byte_diff:  # text is the same; bytes differ only with other library versions
        pytest.skip(f"outputs match by text, not bytes (library versions differ?): {byte_diff[:3]}")


def test_docx_and_xlsx_zips_have_fixed_timestamps():
    for path in [*(SAMPLES / "docx").rglob("*.docx"), *(SAMPLES / "pdf").rglob("*.xlsx")]:
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
            assert {i.date_time for i in z.infolist()} == {build.ZIP_DATE}
