"""PDF ingestion on real generated PDFs: text, reading order, headings, tables, boxes, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures_build import (CJK_FONT, PdfItem, build_canvas_pdf, build_dense_pdf, build_pdf, build_zero_page_pdf,
                            dense_paragraphs, scan_like_image)
from xdt_rules.errors import IngestError
from xdt_rules.ingest import EXTRACTOR_VERSION, ExtractOptions, extract, pages_needing_ocr
from xdt_rules.ingest.pdf import render_pdf_page

OFF = ExtractOptions(ocr="off")


def _closed(text: str) -> str:
    """What the matcher sees: line breaks and spaces closed up."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "申报书.pdf"
    paras = dense_paragraphs(3, seed=7)
    build_pdf(path, [
        PdfItem("heading", text="一、企业基本情况"),
        PdfItem("para", text=paras[0]),
        PdfItem("para", text="（一）信息化系统建设"),
        PdfItem("para", text=paras[1]),
        PdfItem("table", rows=[["序号", "系统名称", "上线时间"],
                               ["1", "用友U8 ERP系统", "2021年3月"],
                               ["2", "鼎捷MES制造执行系统", "2022年6月"]]),
        PdfItem("para", text=paras[2]),
        PdfItem("para", text="1. 建立设备台账。"),
    ])
    return path


def test_paragraphs_headings_and_table_cells_in_reading_order(report_pdf):
    doc = extract(report_pdf, OFF)
    assert doc.file_type == "pdf" and doc.pages == 1 and doc.extractor_version == EXTRACTOR_VERSION
    assert doc.name == "申报书.pdf" and doc.path == str(report_pdf)
    paras = dense_paragraphs(3, seed=7)
    kinds = [(b.kind, _closed(b.text)) for b in doc.blocks]
    assert kinds == [
        ("heading", "一、企业基本情况"),
        ("paragraph", _closed(paras[0])),
        ("heading", "（一）信息化系统建设"),
        ("paragraph", _closed(paras[1])),
        ("table_cell", "序号"), ("table_cell", "系统名称"), ("table_cell", "上线时间"),
        ("table_cell", "1"), ("table_cell", "用友U8ERP系统"), ("table_cell", "2021年3月"),
        ("table_cell", "2"), ("table_cell", "鼎捷MES制造执行系统"), ("table_cell", "2022年6月"),
        ("paragraph", _closed(paras[2])),
        ("list_item", "1.建立设备台账。"),
    ]
    cells = [b for b in doc.blocks if b.kind == "table_cell"]
    assert [(c.table, c.row, c.col) for c in cells] == [(0, r, c) for r in range(3) for c in range(3)]
    assert [b.index for b in doc.blocks] == list(range(len(doc.blocks)))
    assert all(b.page == 1 for b in doc.blocks)


def test_table_characters_are_not_repeated_in_paragraphs(report_pdf):
    doc = extract(report_pdf, OFF)
    outside = "".join(b.text for b in doc.blocks if b.kind != "table_cell")
    assert "鼎捷" not in outside and "2022年6月" not in outside
    all_text = _closed("".join(b.text for b in doc.blocks))
    assert all_text.count("鼎捷MES") == 1


def test_multi_line_paragraph_keeps_line_breaks_and_line_boxes(report_pdf):
    doc = extract(report_pdf, OFF)
    para = doc.blocks[1]
    assert "\n" in para.text  # visual lines are kept, not joined
    assert len(para.lines) == para.text.count("\n") + 1
    # Line spans tile the text exactly, and the boxes go down the page.
    pieces = [para.text[s.start:s.end] for s in para.lines]
    assert "\n".join(pieces) == para.text
    tops = [s.bbox.top for s in para.lines]
    assert tops == sorted(tops)
    for span in para.lines:
        assert 0 < span.bbox.x0 < span.bbox.x1 <= doc.page_info[0].width
        assert 0 < span.bbox.top < span.bbox.bottom <= doc.page_info[0].height
    assert para.bbox and para.bbox.top == tops[0]


def test_offsets_are_stable_between_runs(report_pdf):
    first = extract(report_pdf, OFF).model_dump()
    second = extract(report_pdf, OFF).model_dump()
    assert first == second


def test_fake_bold_and_spaced_text_are_not_duplicated(tmp_path):
    def draw(canvas):
        canvas.setFont(CJK_FONT, 12)
        canvas.drawString(72, 700, "加粗标题ERP系统")
        canvas.drawString(72.3, 700, "加粗标题ERP系统")  # the fake-bold overprint
        text = canvas.beginText(72, 660)
        text.setFont(CJK_FONT, 12)
        text.setCharSpace(4)
        text.textLine("两端对齐的中文")
        canvas.drawText(text)

    doc = extract(build_canvas_pdf(tmp_path / "bold.pdf", draw), OFF)
    assert [b.text for b in doc.blocks] == ["加粗标题ERP系统", "两端对齐的中文"]


def test_heading_by_font_size(tmp_path):
    def draw(canvas):
        canvas.setFont(CJK_FONT, 20)
        canvas.drawString(72, 760, "智能制造项目概述")
        canvas.setFont(CJK_FONT, 10.5)
        for k, line in enumerate(("本项目建设内容包括设备联网与数据采集平台。", "平台已于二〇二二年投入使用。")):
            canvas.drawString(72, 720 - k * 16, line)

    doc = extract(build_canvas_pdf(tmp_path / "size.pdf", draw), OFF)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "智能制造项目概述"),
        ("paragraph", "本项目建设内容包括设备联网与数据采集平台。\n平台已于二〇二二年投入使用。"),
    ]


def test_image_only_page_is_flagged_and_not_emitted(tmp_path):
    path = build_pdf(tmp_path / "scan.pdf", [PdfItem("para", text="第一页是正文，说明企业上线了ERP系统。"), PdfItem("break"),
                                             PdfItem("image", image=scan_like_image()), PdfItem("break"),
                                             PdfItem("para", text="第三页也是正文。")])
    doc = extract(path, OFF)
    assert [p.status for p in doc.page_info] == ["ok", "no_text_layer", "ok"]
    assert "需要OCR" in doc.page_info[1].reason
    assert pages_needing_ocr(doc) == [2]
    assert {b.page for b in doc.blocks} == {1, 3}


def test_empty_page_status(tmp_path):
    path = build_pdf(tmp_path / "blank.pdf", [PdfItem("para", text="正文"), PdfItem("break"), PdfItem("break"),
                                              PdfItem("para", text="结尾")])
    doc = extract(path, OFF)
    statuses = [p.status for p in doc.page_info]
    assert "empty" in statuses and statuses[0] == "ok" and statuses[-1] == "ok"
    assert doc.page_info[statuses.index("empty")].reason == "空白页"


def test_running_heads_emitted_once_and_page_numbers_dropped(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from fixtures_build import _register_font

    _register_font()
    path = tmp_path / "heads.pdf"
    canvas = Canvas(str(path), pagesize=A4)
    for page in range(1, 4):
        canvas.setFont(CJK_FONT, 9)
        canvas.drawString(72, 812, "昆明某某机械有限公司小灯塔申报书")
        canvas.drawString(290, 25, f"- {page} -")
        canvas.setFont(CJK_FONT, 10.5)
        canvas.drawString(72, 700, f"第{page}页正文内容。")
        canvas.showPage()
    canvas.save()
    doc = extract(path, OFF)
    assert [(b.kind, b.page, b.text) for b in doc.blocks] == [
        ("header", 1, "昆明某某机械有限公司小灯塔申报书"),
        ("paragraph", 1, "第1页正文内容。"),
        ("paragraph", 2, "第2页正文内容。"),
        ("paragraph", 3, "第3页正文内容。"),
    ]


def test_encrypted_pdf_needs_password(tmp_path):
    path = build_pdf(tmp_path / "locked.pdf", [PdfItem("para", text="加密的申报材料")], user_password="foo")
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "encrypted"
    assert "PDF 已加密，需要密码（--password）" in str(err.value)
    with pytest.raises(IngestError) as wrong:
        extract(path, ExtractOptions(ocr="off", password="bar"))
    assert wrong.value.code == "encrypted" and "密码不正确" in str(wrong.value)
    doc = extract(path, ExtractOptions(ocr="off", password="foo"))
    assert [b.text for b in doc.blocks] == ["加密的申报材料"]


def test_encrypted_corpus_samples_open_with_password(corpus_dir):
    for name, password in (("samples_encryption_aes-128.pdf", "foo"), ("samples_encryption_rc4-40.pdf", "foo"),
                           ("samples_encryption_aes-256-r6.pdf", "usersecret")):
        with pytest.raises(IngestError) as err:
            extract(corpus_dir / name, OFF)
        assert err.value.code == "encrypted"
        doc = extract(corpus_dir / name, ExtractOptions(ocr="off", password=password))
        assert doc.blocks and doc.page_info[0].status == "ok"


@pytest.mark.parametrize("share", [0.3, 0.7])
def test_truncated_pdf_is_a_clean_error(tmp_path, report_pdf, share):
    data = report_pdf.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * share)])
    with pytest.raises(IngestError) as err:
        extract(path, OFF)
    assert err.value.code == "corrupt"
    assert " / " in err.value.one_line() and str(path) in err.value.one_line()


@pytest.mark.parametrize("cut", range(1, 400, 7))
def test_any_cut_of_the_tail_gives_a_document_or_an_ingest_error(tmp_path, report_pdf, cut):
    data = report_pdf.read_bytes()
    path = tmp_path / "tail.pdf"
    path.write_bytes(data[:-cut])
    try:
        doc = extract(path, OFF)
    except IngestError as err:
        assert err.code == "corrupt"
    else:  # pdfium rebuilt the cross-reference table: the text must be the same
        assert doc.blocks[0].text == "一、企业基本情况"


def test_zero_page_pdf(tmp_path):
    with pytest.raises(IngestError) as err:
        extract(build_zero_page_pdf(tmp_path / "zero.pdf"), OFF)
    assert err.value.code == "no_pages"


def test_page_limit(tmp_path):
    path = build_dense_pdf(tmp_path / "three.pdf", 3)
    with pytest.raises(IngestError) as err:
        extract(path, ExtractOptions(ocr="off", max_pages=2))
    assert err.value.code == "too_large"


def test_render_pdf_page_for_crops_and_ocr(report_pdf, tmp_path):
    image = render_pdf_page(report_pdf, 1, dpi=72)
    doc = extract(report_pdf, OFF)
    assert abs(image.size[0] - doc.page_info[0].width) <= 1 and abs(image.size[1] - doc.page_info[0].height) <= 1
    big = render_pdf_page(str(report_pdf), 1, dpi=144)
    assert abs(big.size[0] - 2 * image.size[0]) <= 2
    with pytest.raises(IngestError):
        render_pdf_page(report_pdf, 2, dpi=72)


def test_boxes_land_on_the_rendered_text(tmp_path):
    """A block's box × dpi/72 is where its ink is (Helvetica: rendered without a system CJK font)."""
    def draw(canvas):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(300, 500, "ERP online since 2021")

    path = build_canvas_pdf(tmp_path / "latin.pdf", draw)
    block = extract(path, OFF).blocks[0]
    page = render_pdf_page(path, 1, dpi=144).convert("L")
    box = block.bbox
    inside = page.crop((int(box.x0 * 2), int(box.top * 2), int(box.x1 * 2), int(box.bottom * 2)))
    assert inside.getextrema()[0] < 100  # ink inside the box
    above = page.crop((int(box.x0 * 2), int(box.top * 2) - 60, int(box.x1 * 2), int(box.top * 2) - 10))
    assert above.getextrema()[0] > 200  # and none just above it


def test_dense_document_pages_and_tables(tmp_path):
    path = build_dense_pdf(tmp_path / "dense.pdf", 6, table_every=2)
    doc = extract(path, OFF)
    assert doc.pages == 6 and all(p.status == "ok" for p in doc.page_info)
    tables = sorted({b.table for b in doc.blocks if b.kind == "table_cell"})
    assert tables == [0, 1, 2]
    for page in range(1, 7):
        expected = [_closed(p) for p in dense_paragraphs(7, seed=page - 1)]
        got = [_closed(b.text) for b in doc.blocks if b.page == page and b.kind == "paragraph"]
        assert got == expected
    # No character appears twice: the text equals the source text exactly, cells included.
    text = _closed("".join(b.text for b in doc.blocks))
    assert text.count("序号") == 3


def _cell_key(tables) -> list[tuple]:
    return sorted((t_index, c.row, c.col, *(round(v * 2) / 2 for v in c.box))
                  for t_index, t in enumerate(tables) for c in t.cells)


@pytest.mark.parametrize("name", ["generated", "samples_contrib_issue-00352-asw-oct96-p41.pdf",
                                  "samples_contrib_issue-00369-excel.pdf", "samples_contrib_issue-598-cmap-other-fonts.pdf",
                                  "samples_contrib_issue-625-identity-cmap.pdf"])
def test_edge_table_finder_matches_pdfplumber(tmp_path, report_pdf, name):
    """Tables found on pdfium's ruling lines equal pdfplumber's own find_tables (full parse)."""
    import pdfplumber
    import pypdfium2 as pdfium

    from xdt_rules.ingest.pdf_page import read_page
    from xdt_rules.ingest.pdf_tables import find_tables, find_tables_from_edges

    if name == "generated":
        path = report_pdf
    else:
        path = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdfminer-samples" / name
        if not path.is_file():
            pytest.skip("shared PDF corpus not present")
    doc = pdfium.PdfDocument(str(path))
    with pdfplumber.open(str(path)) as plumber:
        read = read_page(doc, 0)
        assert read.objects.may_hold_table
        mine = find_tables_from_edges(read.objects.edges)
        reference = find_tables(plumber.pages[0])
    doc.close()
    assert mine and _cell_key(mine) == _cell_key(reference)


def test_framed_page_is_not_a_table(tmp_path):
    def draw(canvas):
        canvas.rect(40, 40, 515, 760)          # a page border
        canvas.line(40, 760, 555, 760)         # and a rule under the title: one column, two rows
        canvas.setFont(CJK_FONT, 10.5)
        canvas.drawString(72, 770, "申报书标题")
        canvas.drawString(72, 700, "正文在边框里面。")

    doc = extract(build_canvas_pdf(tmp_path / "frame.pdf", draw), OFF)
    assert [b.kind for b in doc.blocks] == ["paragraph", "paragraph"]


def _fill(prefix: str, width_chars: int) -> str:
    """A line of exactly ``width_chars`` CJK characters starting with ``prefix``."""
    filler = "数字化转型推动企业管理水平全面提升"
    text = prefix
    while len(text) < width_chars:
        text += filler[len(text) % len(filler)]
    return text[:width_chars]


def test_wrapped_number_at_line_start_continues_the_paragraph(tmp_path):
    first = _fill("公司已建立物料编码体系", 31) + "约"
    second = "1.8" + _fill("万个物料编码纳入产品数据库，系统升级至", 32)
    third = "3.5" + _fill("版本后实现了全部车间的数据采集", 32)  # looks like a "3.5 …" heading number
    lines = [(114, first), (90, second), (90, third), (90, "全过程在系统中管理。")]

    def draw(canvas):
        canvas.setFont(CJK_FONT, 12)
        for k, (x, text) in enumerate(lines):
            canvas.drawString(x, 700 - 22 * k, text)
        canvas.drawString(114, 700 - 22 * 4, "1.2 下一节标题")

    doc = extract(build_canvas_pdf(tmp_path / "wrap.pdf", draw), OFF)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "\n".join(t for _, t in lines)),
        ("heading", "1.2 下一节标题"),
    ]


def test_cover_page_fields_are_separate_blocks(tmp_path):
    fields = ["申报单位（盖章）：昆明某某精密机械制造有限公司", "所属行业：通用设备制造业（C34）", "联系人：周建明"]

    def draw(canvas):
        canvas.setFont(CJK_FONT, 14)
        for k, text in enumerate(fields):
            canvas.drawString(130, 500 - 36 * k, text)

    doc = extract(build_canvas_pdf(tmp_path / "cover.pdf", draw), OFF)
    assert [b.text for b in doc.blocks] == fields


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_boxes_follow_page_rotation(tmp_path, rotation):
    """Boxes are in the frame of the rendered (rotated) page: they hold the rendered ink."""
    def draw(canvas):
        canvas.setPageRotation(rotation)
        canvas.setFont("Helvetica", 14)
        canvas.drawString(100, 300, "ERP online since 2021")

    path = build_canvas_pdf(tmp_path / f"rot{rotation}.pdf", draw)
    doc = extract(path, OFF)
    box = doc.blocks[0].bbox
    assert doc.blocks[0].text == "ERP online since 2021"
    ink = render_pdf_page(path, 1, dpi=72).convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    assert ink is not None
    assert box.x0 - 1 <= ink[0] and ink[2] <= box.x1 + 1 and box.top - 1 <= ink[1] and ink[3] <= box.bottom + 1
    # and tightly: the box is not much larger than the ink
    assert (box.x1 - box.x0) * (box.bottom - box.top) < 2.2 * (ink[2] - ink[0]) * (ink[3] - ink[1])
