"""Builders for real test files (PDF, DOCX, XLSX, TXT, images), made at test time.

Used by the ingest tests and by ``bench/bench_pdf_text.py``. Everything is generated with
reportlab (built-in CID font STSong-Light: a real Chinese text layer without a font file),
python-docx (plus raw WordprocessingML for what python-docx cannot write), openpyxl and Pillow.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CJK_FONT = "STSong-Light"

# Sentences in the register of a 申报书; combined deterministically into dense pages.
SENTENCES = (
    "公司于2021年上线用友U8 ERP系统，实现采购、销售、库存和财务业务的一体化管理。",
    "生产车间部署制造执行系统（MES），实现计划排产、生产调度、质量追溯和设备管理。",
    "研发部门全面采用SolidWorks三维设计软件，产品设计周期缩短30%。",
    "通过设备联网采集数控机床运行数据，设备综合效率提升18%，能耗降低12%。",
    "建立仓库管理系统（WMS），实现原材料与成品的条码化出入库和库位精准管控。",
    "质量部门建立QMS质量管理体系，关键工序开展SPC分析，产品一次合格率达到99.2%。",
    "工厂内部建成千兆工业以太网和5G专网，车间无线网络覆盖率达到100%。",
    "公司开设天猫旗舰店并开展直播电商，线上销售额占比由8%提高到26%。",
    "引入财务机器人处理发票查验与对账，全面使用电子发票，财务结账时间缩短5天。",
    "与上下游企业通过供应链协同平台共享订单、库存与物流信息，实现五流合一。",
    "下一步计划建设数字孪生工厂，探索预测性维护等智能化应用。",
    "企业数字化转型经验已在行业协会交流会上推广，带动12家配套企业上线协同平台。",
)


def dense_paragraphs(n: int, seed: int = 0, sentences_per_paragraph: int = 4) -> list[str]:
    """``n`` paragraphs of realistic Chinese text, deterministic for a given seed."""
    rng = random.Random(seed)
    return ["".join(rng.choice(SENTENCES) for _ in range(sentences_per_paragraph)) for _ in range(n)]


# --------------------------------------------------------------------------- PDF


@dataclass
class PdfItem:
    """One flowable of a generated PDF page: heading, paragraph, table, image or page break."""

    kind: str  # "heading" | "para" | "table" | "image" | "break"
    text: str = ""
    rows: Sequence[Sequence[str]] = ()
    image: object | None = None  # a PIL.Image for kind="image"
    size: float = 10.5


@dataclass
class PdfSpec:
    items: list[PdfItem] = field(default_factory=list)
    encrypt_user_password: str | None = None


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10.5, leading=16, firstLineIndent=21, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=CJK_FONT, fontSize=16, leading=24, spaceBefore=6, spaceAfter=6,
                             wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName=CJK_FONT, fontSize=9, leading=12, wordWrap="CJK")
    return body, heading, cell


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    try:
        pdfmetrics.getFont(CJK_FONT)
    except KeyError:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def build_pdf(path: Path, items: Sequence[PdfItem], *, user_password: str | None = None) -> Path:
    """Lay out headings, paragraphs, grid tables and images with reportlab platypus."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    body, heading, cell = _styles()
    story: list = []
    for item in items:
        if item.kind == "heading":
            story.append(Paragraph(item.text, heading))
        elif item.kind == "para":
            story.append(Paragraph(item.text, body))
        elif item.kind == "table":
            data = [[Paragraph(c, cell) for c in row] for row in item.rows]
            ncols = max(len(r) for r in item.rows)
            table = Table(data, colWidths=[(170 * mm) / ncols] * ncols)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(Spacer(1, 4))
            story.append(table)
            story.append(Spacer(1, 4))
        elif item.kind == "image":
            buf = io.BytesIO()
            item.image.save(buf, format="PNG")  # type: ignore[union-attr]
            buf.seek(0)
            story.append(Image(buf, width=160 * mm, height=200 * mm))
        elif item.kind == "break":
            story.append(PageBreak())
        else:  # pragma: no cover - a typo in a test
            raise ValueError(item.kind)
    encrypt = None
    if user_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(user_password, ownerPassword=user_password + "-owner", strength=128)
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm, encrypt=encrypt,
                            title="test", author="xdt-rules tests")
    doc.build(story)
    return path


def build_dense_pdf(path: Path, pages: int, *, table_every: int = 0, seed: int = 0, paragraphs: int = 7) -> Path:
    """``pages`` dense Chinese pages (7 paragraphs ≈ 1,100 characters, 10 ≈ 1,500; a table may push
    text onto an extra page); a ruled grid table every ``table_every`` pages."""
    items: list[PdfItem] = []
    for p in range(pages):
        items.append(PdfItem("heading", text=f"{_cn_number(p + 1)}、第{p + 1}部分 数字化改造情况"))
        for para in dense_paragraphs(paragraphs, seed=seed * 1000 + p):
            items.append(PdfItem("para", text=para))
        if table_every and p % table_every == 0:
            items.append(PdfItem("table", rows=[["序号", "系统名称", "上线时间", "应用情况"],
                                               ["1", "ERP系统", "2021年3月", "覆盖采购销售库存财务"],
                                               ["2", "MES系统", "2022年6月", "覆盖三个生产车间"]]))
        items.append(PdfItem("break"))
    return build_pdf(path, items)


def _cn_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n - 10] if n > 10 else "")
    tens, ones = divmod(n, 10)
    return digits[tens] + "十" + (digits[ones] if ones else "")


def build_canvas_pdf(path: Path, draw) -> Path:
    """A one-page PDF drawn by ``draw(canvas)`` directly (for precise fake-bold, positions…)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    _register_font()
    canvas = Canvas(str(path), pagesize=A4)
    draw(canvas)
    canvas.showPage()
    canvas.save()
    return path


def scan_like_image(text_lines: Sequence[str] = ("扫描件",), size: tuple[int, int] = (800, 1000)):
    """A white page image with a few dark bars (a 'scan' without a text layer)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i, _ in enumerate(text_lines):
        draw.rectangle([60, 80 + i * 60, 700, 110 + i * 60], fill=(40, 40, 40))
    return image


# --------------------------------------------------------------------------- DOCX

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_replace_body_xml(src: Path, dst: Path, replacements: dict[str, str]) -> Path:
    """Copy a DOCX, replacing marker paragraphs' XML in word/document.xml by raw XML.

    A marker is a paragraph whose text is exactly the key; it is replaced by the value, a string
    of WordprocessingML (paragraphs, sdt, tables…) using the ``w:`` prefix.
    """
    import re

    with zipfile.ZipFile(src) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    xml = members["word/document.xml"].decode("utf-8")
    for marker, new_xml in replacements.items():
        pattern = re.compile(r"<w:p(?:\s[^>]*)?>(?:(?!</w:p>).)*?<w:t(?:\s[^>]*)?>" + re.escape(marker)
                             + r"</w:t>(?:(?!</w:p>).)*?</w:p>", re.S)
        xml, count = pattern.subn(lambda _m, new=new_xml: new, xml, count=1)
        if count != 1:
            raise ValueError(f"marker {marker!r} not found")
    members["word/document.xml"] = xml.encode("utf-8")
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return dst


def w_run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def w_para(*parts: str, style: str | None = None) -> str:
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{ppr}{''.join(parts)}</w:p>"


def w_textbox(text: str) -> str:
    """A paragraph holding a floating text box (VML, as Word writes for compatibility)."""
    return ('<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" style="width:200pt;height:50pt">'
            f'<v:textbox><w:txbxContent>{w_para(w_run(text))}</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>')


def w_sdt_block(text: str) -> str:
    return f'<w:sdt><w:sdtPr><w:alias w:val="field"/></w:sdtPr><w:sdtContent>{w_para(w_run(text))}</w:sdtContent></w:sdt>'


def w_sdt_inline(text: str) -> str:
    return f"<w:sdt><w:sdtPr/><w:sdtContent>{w_run(text)}</w:sdtContent></w:sdt>"


def w_ins(text: str) -> str:
    return f'<w:ins w:id="1" w:author="a" w:date="2024-01-01T00:00:00Z">{w_run(text)}</w:ins>'


def w_del(text: str) -> str:
    return (f'<w:del w:id="2" w:author="a" w:date="2024-01-01T00:00:00Z"><w:r><w:delText xml:space="preserve">'
            f"{text}</w:delText></w:r></w:del>")


def w_tc(inner: str, *, grid_span: int = 1, vmerge: str | None = None) -> str:
    props = ""
    if grid_span > 1:
        props += f'<w:gridSpan w:val="{grid_span}"/>'
    if vmerge == "restart":
        props += '<w:vMerge w:val="restart"/>'
    elif vmerge == "continue":
        props += "<w:vMerge/>"
    tcpr = f"<w:tcPr>{props}</w:tcPr>" if props else ""
    return f"<w:tc>{tcpr}{inner}</w:tc>"


def w_table(rows: Sequence[Sequence[str]], ncols: int) -> str:
    """Rows are lists of ``w_tc(...)`` strings."""
    grid = "".join('<w:gridCol w:w="2000"/>' for _ in range(ncols))
    body = "".join(f"<w:tr>{''.join(cells)}</w:tr>" for cells in rows)
    return f"<w:tbl><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>"


# --------------------------------------------------------------------------- archives


def build_zip_bomb(path: Path, *, member_mb: int = 300, docx_shaped: bool = True) -> Path:
    """A DOCX-shaped zip whose document.xml inflates to ``member_mb`` MB of zeros (~0.3 MB on disk)."""
    chunk = b"0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        if docx_shaped:
            zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                        'package/2006/content-types"/>')
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(member_mb):
                member.write(chunk)
    return path


def build_raw_pdf(path: Path, objects: Sequence[str]) -> Path:
    """A PDF from raw object bodies (1-based numbering) with a correct xref table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def build_zero_page_pdf(path: Path) -> Path:
    return build_raw_pdf(path, ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"])


def build_unmapped_font_pdf(path: Path) -> Path:
    """Two pages: Helvetica text, then text in a CID font without ToUnicode (and not embedded).

    pdfminer reads the second page as ``(cid:N)``; pdfium silently emits wrong Latin letters.
    """
    glyphs = "".join(f"{0x100 + i * 7:04X}" for i in range(40))
    good = "BT /F2 12 Tf 72 700 Td (Digital transformation report) Tj ET"
    bad = f"BT /F1 12 Tf 72 700 Td <{glyphs}> Tj ET"
    resources = "<< /Font << /F1 7 0 R /F2 10 0 R >> >>"
    return build_raw_pdf(path, [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} /Contents 4 0 R >>",
        f"<< /Length {len(good)} >>\nstream\n{good}\nendstream",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} /Contents 6 0 R >>",
        f"<< /Length {len(bad)} >>\nstream\n{bad}\nendstream",
        "<< /Type /Font /Subtype /Type0 /BaseFont /NoMap /Encoding /Identity-H /DescendantFonts [8 0 R] >>",
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NoMap /CIDSystemInfo << /Registry (Adobe) /Ordering "
        "(Identity) /Supplement 0 >> /FontDescriptor 9 0 R /DW 1000 >>",
        "<< /Type /FontDescriptor /FontName /NoMap /Flags 4 /FontBBox [0 -200 1000 800] /ItalicAngle 0 /Ascent 800 "
        "/Descent -200 /CapHeight 700 /StemV 80 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ])
