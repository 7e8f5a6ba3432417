"""DOCX ingestion on real files: body order, tables (merged, nested), text boxes, content
controls, tracked changes, headers/footers, footnotes, and broken or hostile packages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fixtures_build import (build_zip_bomb, docx_replace_body_xml, w_del, w_ins, w_para, w_run, w_sdt_block,
                            w_sdt_inline, w_table, w_tc, w_textbox)
from xdt_rules.errors import IngestError
from xdt_rules.ingest import ExtractOptions, extract
from xdt_rules.ingest.limits import ZIP_MAX_MEMBER_BYTES

OFF = ExtractOptions(ocr="off")


def _base_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "昆明某某机械有限公司"
    section.footer.paragraphs[0].text = "小灯塔企业申报书"
    document.add_heading("一、企业基本情况", level=1)
    document.add_paragraph("公司成立于2008年，主营数控机床零部件。")
    document.add_paragraph("MARKER_TRACKED")
    document.add_paragraph("上线ERP系统", style="List Bullet")
    document.add_paragraph("二、数字化改造情况")  # a heading by its number only (direct formatting)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "系统"
    table.cell(0, 1).text = "供应商"
    table.cell(0, 2).text = "时间"
    table.cell(1, 0).text = "MES"
    table.cell(1, 1).text = "鼎捷"
    table.cell(1, 2).text = "2022年"
    document.add_paragraph("MARKER_TEXTBOX")
    document.add_paragraph("MARKER_SDT")
    document.add_paragraph("MARKER_MERGED")
    document.add_paragraph("结尾段落。")
    document.save(str(path))
    return path


@pytest.fixture(scope="module")
def rich_docx(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docx")
    base = _base_docx(folder / "base.docx")
    merged = w_table([
        [w_tc(w_para(w_run("合并标题")), grid_span=2), w_tc(w_para(w_run("备注")))],
        [w_tc(w_para(w_run("纵向合并")), vmerge="restart"), w_tc(w_para(w_run("A"))), w_tc(w_para(w_run("B")))],
        [w_tc(w_para(), vmerge="continue"), w_tc(w_para(w_run("C"))),
         w_tc(w_para(w_run("外层")) + w_table([[w_tc(w_para(w_run("内1"))), w_tc(w_para(w_run("内2")))]], 2)
              + w_para())],
    ], 3)
    return docx_replace_body_xml(base, folder / "rich.docx", {
        "MARKER_TRACKED": w_para(w_run("已上线"), w_ins("MES系统"), w_del("WMS系统"), w_run("并投入使用。")),
        "MARKER_TEXTBOX": w_para(w_run("见右侧说明")) + w_textbox("文本框内：设备联网率95%"),
        "MARKER_SDT": w_sdt_block("企业名称：昆明某某机械有限公司") + w_para(w_run("填报人："), w_sdt_inline("张三"), w_run("。")),
        "MARKER_MERGED": merged,
    })


def test_body_order_and_kinds(rich_docx):
    doc = extract(rich_docx, OFF)
    assert doc.file_type == "docx" and doc.pages is None and doc.page_info == []
    got = [(b.kind, b.text, b.table, b.row, b.col) for b in doc.blocks]
    assert got == [
        ("header", "昆明某某机械有限公司", None, None, None),
        ("heading", "一、企业基本情况", None, None, None),
        ("paragraph", "公司成立于2008年，主营数控机床零部件。", None, None, None),
        ("paragraph", "已上线MES系统并投入使用。", None, None, None),
        ("list_item", "上线ERP系统", None, None, None),
        ("heading", "二、数字化改造情况", None, None, None),
        ("table_cell", "系统", 0, 0, 0), ("table_cell", "供应商", 0, 0, 1), ("table_cell", "时间", 0, 0, 2),
        ("table_cell", "MES", 0, 1, 0), ("table_cell", "鼎捷", 0, 1, 1), ("table_cell", "2022年", 0, 1, 2),
        ("paragraph", "见右侧说明", None, None, None),
        ("text_box", "文本框内：设备联网率95%", None, None, None),
        ("content_control", "企业名称：昆明某某机械有限公司", None, None, None),
        ("paragraph", "填报人：张三。", None, None, None),
        ("table_cell", "合并标题", 1, 0, 0), ("table_cell", "备注", 1, 0, 2),
        ("table_cell", "纵向合并", 1, 1, 0), ("table_cell", "A", 1, 1, 1), ("table_cell", "B", 1, 1, 2),
        ("table_cell", "C", 1, 2, 1), ("table_cell", "外层", 1, 2, 2),
        ("table_cell", "内1", 2, 0, 0), ("table_cell", "内2", 2, 0, 1),
        ("paragraph", "结尾段落。", None, None, None),
        ("footer", "小灯塔企业申报书", None, None, None),
    ]
    assert [b.index for b in doc.blocks] == list(range(len(doc.blocks)))
    assert all(b.page is None for b in doc.blocks)


def test_deleted_text_is_out_and_merged_cells_once(rich_docx):
    doc = extract(rich_docx, OFF)
    text = "".join(b.text for b in doc.blocks)
    assert "WMS" not in text
    assert text.count("纵向合并") == 1 and text.count("合并标题") == 1 and text.count("文本框内") == 1


def test_headers_once_per_distinct_text_and_footnotes(tmp_path):
    import docx
    from docx.enum.section import WD_SECTION

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "公司页眉"
    document.add_paragraph("首节正文")
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.header.is_linked_to_previous = False
    section.header.paragraphs[0].text = "公司页眉"  # same text in another header part
    document.add_paragraph("次节正文")
    path = tmp_path / "sections.docx"
    document.save(str(path))
    _add_footnote(path, "注：数据来源于2023年审计报告。")
    doc = extract(path, OFF)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("header", "公司页眉"), ("paragraph", "首节正文"), ("paragraph", "次节正文"),
        ("footnote", "注：数据来源于2023年审计报告。"),
    ]


def _add_footnote(path: Path, text: str) -> None:
    """Add word/footnotes.xml and its relationship (python-docx cannot write footnotes)."""
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    members["word/footnotes.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {ns}>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote></w:footnotes>').encode()
    rels = members["word/_rels/document.xml.rels"].decode()
    rels = rels.replace("</Relationships>", '<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/'
                        'officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>')
    members["word/_rels/document.xml.rels"] = rels.encode()
    types = members["[Content_Types].xml"].decode()
    types = types.replace("</Types>", '<Override PartName="/word/footnotes.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>')
    members["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)


def test_word_textbox_in_alternate_content_is_read_once(tmp_path):
    base = _base_docx(tmp_path / "base.docx")
    wps = 'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    box = (f'<w:p><w:r><mc:AlternateContent {mc}><mc:Choice Requires="wps"><w:drawing><wps:txbx {wps}>'
           '<w:txbxContent><w:p><w:r><w:t>双份文本框</w:t></w:r></w:p></w:txbxContent></wps:txbx></w:drawing>'
           '</mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>双份文本框</w:t></w:r></w:p>'
           '</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>')
    path = docx_replace_body_xml(base, tmp_path / "ac.docx", {"MARKER_TEXTBOX": box})
    doc = extract(path, OFF)
    assert [b.text for b in doc.blocks if b.kind == "text_box"] == ["双份文本框"]


def test_docx_named_pdf_is_read_as_docx(tmp_path, rich_docx):
    disguised = tmp_path / "申报书.pdf"
    disguised.write_bytes(rich_docx.read_bytes())
    doc = extract(disguised, OFF)
    assert doc.file_type == "docx" and doc.name == "申报书.pdf"
    assert any(b.text == "一、企业基本情况" for b in doc.blocks)


def test_truncated_docx_is_corrupt(tmp_path, rich_docx):
    data = rich_docx.read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "corrupt"


def test_docx_without_document_part_is_corrupt(tmp_path):
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/styles.xml", "<styles/>")
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "corrupt"


def test_docx_with_malformed_xml_is_corrupt(tmp_path, rich_docx):
    with zipfile.ZipFile(rich_docx) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members["word/document.xml"] = members["word/document.xml"][:-200]
    path = tmp_path / "badxml.docx"
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "corrupt"


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    path = build_zip_bomb(tmp_path / "bomb.docx", member_mb=ZIP_MAX_MEMBER_BYTES // (1024 * 1024) + 8)
    assert path.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "zip_bomb" and "压缩炸弹" in err.value.reason_zh


def test_zip_bomb_by_ratio(tmp_path):
    path = build_zip_bomb(tmp_path / "ratio.docx", member_mb=20)  # 20 MB of zeros → ~20 KB
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "zip_bomb" and "压缩比" in err.value.reason_zh
