"""OCR layout: engine lines → blocks (paragraphs, headings, tables, line boxes in points).

These tests feed hand-made engine output (OcrLine boxes in pixels), so they need no OCR engine
and pin the layout rules exactly; the ruled-table finder runs on images drawn here with Pillow
(lines only, no font) and needs OpenCV, which the [ocr] extra brings.
"""

from __future__ import annotations

import importlib.util

import pytest
from PIL import Image, ImageDraw

from xdt_rules.ocr.engine import OcrLine
from xdt_rules.ocr.layout import PageGeometry, lines_to_blocks, plain_text

HAS_CV2 = importlib.util.find_spec("cv2") is not None
needs_cv2 = pytest.mark.skipif(not HAS_CV2, reason="OpenCV comes with the [ocr] extra")

H = 30.0  # line height in pixels
GEO = PageGeometry(scale_x=0.5, scale_y=0.5)  # 144 dpi: 1 px = 0.5 pt


def line(text: str, x0: float, top: float, x1: float | None = None, conf: float = 0.98,
         char_x: list[tuple[float, float]] | None = None) -> OcrLine:
    width = 30.0 * len(text) if x1 is None else x1 - x0
    return OcrLine(text=text, confidence=conf, box=(x0, top, x0 + width, top + H), char_x=char_x)


def test_paragraph_lines_join_with_newline_and_keep_line_boxes() -> None:
    # First line indented two characters, full lines to the right margin at x=1000, last line short.
    lines = [
        line("公司于2021年上线用友U8Cloud，覆", 160, 100, 1000),
        line("盖采购、销售、库存、财务全流程，实现业财一体", 100, 145, 1000),
        line("化管理。", 100, 190, 220),
    ]
    blocks, next_table = lines_to_blocks(lines, page=3, geometry=GEO)
    assert next_table == 0
    assert len(blocks) == 1
    block = blocks[0]
    assert block.kind == "paragraph" and block.source == "ocr" and block.page == 3
    assert block.text == "公司于2021年上线用友U8Cloud，覆\n盖采购、销售、库存、财务全流程，实现业财一体\n化管理。"
    # every line span covers exactly its visual line; boxes are in points (× 0.5)
    assert [block.text[s.start:s.end] for s in block.lines] == [ln.text for ln in lines]
    assert block.lines[0].bbox.model_dump() == {"x0": 80.0, "top": 50.0, "x1": 500.0, "bottom": 65.0}
    assert block.bbox is not None and block.bbox.bottom == pytest.approx(110.0)
    assert block.ocr_confidence == pytest.approx(0.98)


def test_short_line_ends_paragraph_and_indented_line_starts_one() -> None:
    lines = [
        line("第一段只有一行。", 160, 100, 400),
        line("第二段首行缩进两个字符并且写满整行的文字内容", 160, 145, 1000),
        line("第二段的第二行。", 100, 190, 400),
        line("第三段首行缩进但上一行已写满所以靠缩进判断", 160, 235, 1000),
    ]
    blocks, _ = lines_to_blocks(lines, page=1, geometry=GEO)
    assert [b.text.split("\n")[0][:3] for b in blocks] == ["第一段", "第二段", "第三段"]
    assert blocks[1].text.count("\n") == 1


def test_headings_by_size_and_by_numbering() -> None:
    big = OcrLine(text="数字化转型总体情况", confidence=0.99, box=(100, 40, 500, 85))
    lines = [
        big,
        line("一、企业基本情况", 100, 120, 340),
        line("公司成立于2006年，注册资本5800万元，位于昆明经济技术开发区信息产业", 160, 170, 1000),
        line("基地，占地面积86亩。", 100, 215, 400),
        line("1.2 设备联网", 100, 260, 300),
        line("公司建成了覆盖办公区和生产车间的千兆工业以太网，车间实现无线网络", 160, 305, 1000),
        line("全覆盖。", 100, 350, 220),
    ]
    blocks, _ = lines_to_blocks(lines, page=1, geometry=GEO)
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "数字化转型总体情况"),
        ("heading", "一、企业基本情况"),
        ("paragraph", "公司成立于2006年，注册资本5800万元，位于昆明经济技术开发区信息产业\n基地，占地面积86亩。"),
        ("heading", "1.2 设备联网"),
        ("paragraph", "公司建成了覆盖办公区和生产车间的千兆工业以太网，车间实现无线网络\n全覆盖。"),
    ]


def test_letter_page_title_closing_line_signature_and_running_heads() -> None:
    # An attachment page: running head, centred title, body, a one-line closing paragraph that is
    # indented like the full line before it, a right-aligned signature, a page-number footer.
    lines = [
        line("昆明滇铜精密材料有限公司“小灯塔”企业申报书", 300, 40, 900),
        OcrLine(text="关于设备联网及能耗监测项目的情况说明", confidence=0.99, box=(178, 200, 922, 238)),
        line("我公司于2022年3月至2023年6月实施了关键设备联网上云及能耗在线监测", 160, 280, 1000),
        line("项目，项目总投资860万元。项目完成熔铸炉、热轧机、冷轧机等86台设备", 100, 325, 1000),
        line("的联网改造。", 100, 370, 280),
        line("2024年11月，经第三方机构评测，公司中小企业数字化水平达到二级。", 160, 415, 1000),
        line("特此说明。", 160, 460, 310),
        line("昆明滇铜精密材料有限公司（盖章）", 520, 545, 1000),
        line("第 5 页，共 5 页", 430, 1500, 640),
    ]
    blocks, _ = lines_to_blocks(lines, page=5, geometry=GEO, page_height=1600)
    assert [(b.kind, b.text.split("\n")[0][:4], b.text.count("\n")) for b in blocks] == [
        ("header", "昆明滇铜", 0),
        ("heading", "关于设备", 0),
        ("paragraph", "我公司于", 2),
        ("paragraph", "2024", 0),
        ("paragraph", "特此说明", 0),
        ("paragraph", "昆明滇铜", 0),
        ("footer", "第 5 ", 0),
    ]
    # without page_height (a screenshot or photo) there are no running heads
    plain, _ = lines_to_blocks(lines, page=1, geometry=GEO)
    assert {"header", "footer"}.isdisjoint(b.kind for b in plain)


def test_aligned_multi_cell_rows_become_table_cells_with_row_and_col() -> None:
    cols = [100, 400, 700]
    rows = [("系统名称", "供应商", "状态"), ("制造执行系统", "鼎捷MES", "已上线"), ("仓库管理系统", "待选型", "规划中")]
    lines = [line(text, cols[c], 300 + r * 50) for r, row in enumerate(rows) for c, text in enumerate(row)]
    lines.insert(0, line("表2 信息系统建设清单", 300, 240))
    blocks, next_table = lines_to_blocks(lines, page=2, geometry=GEO, first_table=4)
    assert blocks[0].kind == "paragraph" and blocks[0].text == "表2 信息系统建设清单"
    cells = blocks[1:]
    assert all(b.kind == "table_cell" and b.table == 4 for b in cells)
    assert [(b.row, b.col, b.text) for b in cells] == [
        (r, c, text) for r, row in enumerate(rows) for c, text in enumerate(row)
    ]
    assert next_table == 5


def test_title_bar_with_right_note_is_not_a_table() -> None:
    # Two cells that do not line up with the table columns below stay one "ocr_line" block.
    lines = [
        line("鼎晟数字工厂管理平台", 24, 10),
        line("管理员 周建明", 1100, 10),
        line("系统名称", 48, 100), line("状态", 600, 100),
        line("钉钉", 48, 150), line("已上线", 600, 150),
    ]
    blocks, _ = lines_to_blocks(lines, page=1, geometry=GEO)
    assert blocks[0].kind == "ocr_line"
    assert blocks[0].text == "鼎晟数字工厂管理平台  管理员 周建明"
    # one line span per cell, pointing at exactly that cell's text
    assert [blocks[0].text[s.start:s.end] for s in blocks[0].lines] == ["鼎晟数字工厂管理平台", "管理员 周建明"]
    assert {b.kind for b in blocks[1:]} == {"table_cell"}


def test_rotated_geometry_maps_boxes_back_to_the_stored_page() -> None:
    # A 1000×600 px image turned 90° counter-clockwise to read it: an upright box maps back.
    geo = PageGeometry(scale_x=1.0, scale_y=1.0, rotation=90, width=1000, height=600)
    box = geo.bbox(10, 20, 110, 50)  # in the upright (600×1000) frame
    assert box.model_dump() == {"x0": 950.0, "top": 10.0, "x1": 980.0, "bottom": 110.0}
    geo180 = PageGeometry(scale_x=1.0, scale_y=1.0, rotation=180, width=1000, height=600)
    assert geo180.bbox(10, 20, 110, 50).model_dump() == {"x0": 890.0, "top": 550.0, "x1": 990.0, "bottom": 580.0}


def test_plain_text_is_visual_order() -> None:
    lines = [line("右边", 600, 100), line("第二行", 100, 160), line("左边", 100, 102)]
    assert plain_text(lines) == "左边 右边\n第二行"


def test_no_lines_no_blocks() -> None:
    assert lines_to_blocks([], page=1, geometry=GEO) == ([], 0)


# --------------------------------------------------------------------------- ruled tables


def _grid_image(cols: list[int], rows: list[int], size=(1200, 800), merge_row: int | None = None) -> Image.Image:
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    for y in rows:
        d.line([cols[0], y, cols[-1], y], fill=0, width=2)
    for x in cols:
        for r, (top, bottom) in enumerate(zip(rows, rows[1:])):
            if merge_row == r and x not in (cols[0], cols[-1]):
                continue  # a merged row: no inner vertical rules
            d.line([x, top, x, bottom], fill=0, width=2)
    return img


@pytest.mark.ocr
@needs_cv2
def test_find_tables_reads_rows_columns_and_merged_cells() -> None:
    from xdt_rules.ocr.grid import find_tables

    cols, rows = [100, 400, 700, 1000], [100, 160, 220, 280]
    tables = find_tables(_grid_image(cols, rows, merge_row=2), text_height=H)
    assert len(tables) == 1
    table = tables[0]
    layout = sorted((c.row, c.col) for c in table.cells)
    assert layout == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]  # last row merged
    assert table.cell_at(550, 190).col == 1


@pytest.mark.ocr
@needs_cv2
def test_a_frame_is_not_a_table() -> None:
    from xdt_rules.ocr.grid import find_tables

    img = Image.new("L", (1200, 800), 255)
    ImageDraw.Draw(img).rectangle([40, 40, 1160, 760], outline=0, width=8)  # certificate border
    assert find_tables(img, text_height=H) == []


@pytest.mark.ocr
@needs_cv2
def test_line_read_across_rules_is_split_into_cells() -> None:
    from xdt_rules.ocr.grid import find_tables

    cols, rows = [100, 400, 700, 1000], [100, 160, 220]
    grids = find_tables(_grid_image(cols, rows), text_height=H)
    # The detector read row 2 as one line across both rules: "2019年6月 采购 已上线".
    text = "2019年6月 采购 已上线"
    xs = []
    x = 120.0
    for ch in text:
        if ch == " ":
            x += 150 if x < 400 else 230  # the jump over a rule
            continue
        xs.append((x, x + 20))
        x += 22
    crossing = OcrLine(text=text, confidence=0.97, box=(120, 175, xs[-1][1], 205), char_x=xs)
    header = [line("上线时间", 120, 115), line("覆盖环节", 420, 115), line("状态", 720, 115)]
    blocks, next_table = lines_to_blocks(header + [crossing], page=1, geometry=GEO, grids=grids)
    assert [(b.kind, b.row, b.col, b.text) for b in blocks] == [
        ("table_cell", 0, 0, "上线时间"), ("table_cell", 0, 1, "覆盖环节"), ("table_cell", 0, 2, "状态"),
        ("table_cell", 1, 0, "2019年6月"), ("table_cell", 1, 1, "采购"), ("table_cell", 1, 2, "已上线"),
    ]
    assert next_table == 1
