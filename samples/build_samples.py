#!/usr/bin/env python3
"""Build the sample application packages from ``samples/sources/<app>.yaml``.

Each source file is the committed content of one application: the 申报书 and its 佐证材料, as
structured blocks (headings, paragraphs, tables, page breaks, a cover, a table of contents,
pages that exist only as a scanned image).  This script renders every application twice:

* ``samples/pdf/<app>/``  — the 申报书 and document attachments as PDF (reportlab, STSong-Light,
  so the text layer is real Chinese text), ``scan`` blocks as image-only pages;
* ``samples/docx/<app>/`` — the same documents as DOCX (python-docx: real heading styles,
  real Word tables, header/footer with page fields), ``scan`` blocks as pictures;

``.xlsx`` attachments (openpyxl) are written identically into both folders.

The PDF layout is done here, not by a flowable engine, so that it is explicit and reusable:
:func:`layout_file` turns a document into :class:`Page` objects (lists of text/line/rect/image
operations in points, origin top-left), :func:`draw_pdf` writes them with reportlab and
:func:`render_page_image` paints the same operations with Pillow and the WenQuanYi Zen Hei font.
``build_application(..., image_only=True)`` therefore makes an image-only (scanned-looking)
variant of any sample, which the OCR work uses.

Determinism: reportlab runs with ``rl_config.invariant = 1`` (fixed dates and document ID);
DOCX and XLSX are re-zipped with fixed timestamps and fixed core-property dates; scan noise is
seeded from the page content.  Re-running the script gives identical bytes with the same library
versions; a different reportlab / Pillow / libjpeg / python-docx version may change bytes (not
text), which is why the test compares extracted text when bytes differ.

Usage::

    python samples/build_samples.py                 # all sources → samples/pdf, samples/docx
    python samples/build_samples.py 07_scanned_page # one application
    python samples/build_samples.py --out /tmp/x    # somewhere else
    python samples/build_samples.py --image-only --out /tmp/scans 01_strong_manufacturer
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import re
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reportlab import rl_config

rl_config.invariant = 1  # fixed creation date and document ID → identical bytes on rebuild

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas as rl_canvas  # noqa: E402

SAMPLES = Path(__file__).resolve().parent
ROOT = SAMPLES.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere in a source checkout
    sys.path.insert(0, str(ROOT))

from xdt_rules.yamlio import load_model  # noqa: E402

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
SCAN_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

PAGE_W, PAGE_H = A4
MARGIN_L = MARGIN_R = 90.0  # 3.17 cm, Word's default for Chinese documents
MARGIN_T = 80.0
MARGIN_B = 78.0
TEXT_W = PAGE_W - MARGIN_L - MARGIN_R
BODY_SIZE, BODY_LEADING = 12.0, 22.0  # 小四, about 1.5 lines
TABLE_SIZE, TABLE_LEADING, CELL_PAD = 10.5, 15.0, 4.0  # 五号
MAX_CHAR_SPACE = 2.0  # justify lines only while pdfplumber (x_tolerance 3) still sees no space
FORCED_BREAK = "¦"  # in a paragraph: the PDF line must break here (the "wrap" sample)

FIXED_DATE = datetime(2025, 3, 18, 9, 30, 0)
ZIP_DATE = (2025, 3, 18, 9, 30, 0)


# =========================================================================== source models


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoverSpec(_Spec):
    title: list[str] = Field(min_length=1)
    fields: list[tuple[str, str]] = Field(default_factory=list)
    date: str
    issuer: str | None = None


class TableSpec(_Spec):
    caption: str | None = None
    header: list[str] = Field(min_length=1)
    rows: list[list[str | int | float]] = Field(min_length=1)
    widths: list[float] | None = Field(None, description="relative column widths")
    note: str | None = Field(None, description="a small-print line under the table")

    @model_validator(mode="after")
    def _shape(self) -> "TableSpec":
        n = len(self.header)
        for i, row in enumerate(self.rows):
            if len(row) != n:
                raise ValueError(f"第 {i + 1} 行有 {len(row)} 列，表头有 {n} 列 / row {i + 1} has {len(row)} cells, header {n}")
        if self.widths is not None and len(self.widths) != n:
            raise ValueError("widths 与表头列数不一致 / widths do not match the header")
        return self


class ScanSpec(_Spec):
    """Content that exists only as a scanned image (no text layer in the PDF, a picture in DOCX)."""

    blocks: list["BlockSpec"] = Field(min_length=1)
    stamp: str | None = Field(None, description="company name in a red seal under the text")
    rotate: float = Field(0.35, description="skew in degrees, as from a sheet fed slightly askew")


class BlockSpec(_Spec):
    """Exactly one of the fields is set (``- p: ...``, ``- h1: ...``, ``- table: {...}``, ...)."""

    h1: str | None = None
    h2: str | None = None
    h3: str | None = None
    p: str | None = None
    title: str | None = Field(None, description="big centred title (attachments)")
    center: str | None = None
    right: str | None = None
    table: TableSpec | None = None
    cover: CoverSpec | None = None
    toc: bool | None = None
    pagebreak: bool | None = None
    scan: ScanSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> "BlockSpec":
        set_fields = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(set_fields) != 1:
            raise ValueError(f"每个块只能有一种内容，实为 {set_fields} / a block holds exactly one kind")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)


class SheetSpec(_Spec):
    name: str
    header: list[str]
    rows: list[list[str | int | float | None]]
    widths: list[float] | None = None


class FileSpec(_Spec):
    name: str = Field(description="file stem; 申报书 → 申报书.pdf / 申报书.docx")
    kind: Literal["document", "xlsx"] = "document"
    header: str | None = Field(None, description="running header of the document pages")
    footer: bool = Field(True, description="page numbers in the footer")
    blocks: list[BlockSpec] = Field(default_factory=list)
    sheets: list[SheetSpec] = Field(default_factory=list)


class OriginSpec(_Spec):
    """A public source whose facts a corpus document keeps (rewritten, never copied)."""

    title: str
    url: str
    note: str | None = Field(None, description="which facts came from it")


class SourceSpec(_Spec):
    application: str
    company: str
    industry: str
    summary: str = Field(description="what the sample is and why it is hard")
    voice: Literal["application", "news", "form"] | None = Field(
        None, description="corpus documents: an applicant's 申报书, news/case-study third person, or a self-assessment form")
    region: str | None = Field(None, description="corpus documents: province and city of the enterprise")
    origin: list[OriginSpec] = Field(default_factory=list, description="corpus documents: the public sources of the facts")
    files: list[FileSpec] = Field(min_length=1)


ScanSpec.model_rebuild()


def load_source(path: str | Path) -> SourceSpec:
    spec, _ = load_model(SourceSpec, path)
    if spec.application != Path(path).stem:
        raise ValueError(f"{path}: application 应为文件名 {Path(path).stem}")
    return spec


def source_paths(names: list[str] | None = None, sources: Path | None = None) -> list[Path]:
    paths = sorted((sources or SAMPLES / "sources").glob("*.yaml"))
    if names:
        paths = [p for p in paths if p.stem in names]
        missing = set(names) - {p.stem for p in paths}
        if missing:
            raise SystemExit(f"没有这些样例 / no such samples: {', '.join(sorted(missing))}")
    return paths


def corpus_batch(name: str) -> int | None:
    """The corpus batch of a document name: <batch><nn>_<voice>_<short>, so 103_… is batch 1 and 1004_… batch 10."""
    number = name.split("_", 1)[0]
    return int(number[:-2]) if number.isdigit() and len(number) >= 3 else None


# =========================================================================== plain text of a source


@dataclass(frozen=True)
class TextUnit:
    """One paragraph, heading or table cell of a source, as a reader sees it."""

    file: str
    text: str
    kind: str  # p | h1 | h2 | h3 | title | center | right | cell | cover | sheet_cell
    scan: bool = False  # only on an image-only page


def _plain(text: str) -> str:
    return text.replace(FORCED_BREAK, "")


def _block_units(file: str, block: BlockSpec, scan: bool) -> list[TextUnit]:
    kind = block.kind
    if kind in ("h1", "h2", "h3", "p", "title", "center", "right"):
        return [TextUnit(file, _plain(getattr(block, kind)), kind, scan)]
    if kind == "table":
        t = block.table
        assert t is not None
        units = [TextUnit(file, t.caption, "center", scan)] if t.caption else []
        for row in [t.header, *t.rows]:
            units += [TextUnit(file, str(c), "cell", scan) for c in row]
        if t.note:
            units.append(TextUnit(file, t.note, "p", scan))
        return units
    if kind == "cover":
        c = block.cover
        assert c is not None
        units = [TextUnit(file, line, "cover", scan) for line in c.title]
        units += [TextUnit(file, f"{k}：{v}", "cover", scan) for k, v in c.fields]
        return units + [TextUnit(file, c.date, "cover", scan)]
    if kind == "scan":
        assert block.scan is not None
        units = [u for b in block.scan.blocks for u in _block_units(file, b, True)]
        if block.scan.stamp:
            units.append(TextUnit(file, block.scan.stamp, "right", True))
        return units
    return []


def source_units(spec: SourceSpec) -> list[TextUnit]:
    """Every piece of text of an application, in order; gold evidence is quoted from these."""
    units: list[TextUnit] = []
    for f in spec.files:
        if f.kind == "xlsx":
            for sheet in f.sheets:
                for row in [sheet.header, *sheet.rows]:
                    units += [TextUnit(f.name, str(c), "sheet_cell") for c in row if c is not None]
        else:
            for block in f.blocks:
                units += _block_units(f.name, block, False)
    return units


# =========================================================================== page model


@dataclass
class TextOp:
    x: float
    baseline: float  # from the top of the page
    text: str
    size: float
    char_space: float = 0.0
    color: tuple[float, float, float] = (0, 0, 0)


@dataclass
class LineOp:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.6


@dataclass
class RectOp:
    x: float
    y: float
    w: float
    h: float
    fill: float = 0.88  # grey level


@dataclass
class ImageOp:
    """A picture covering the whole page (a scanned sheet): the page then has no text layer."""

    jpeg: bytes


Op = Union[TextOp, LineOp, RectOp, ImageOp]


@dataclass
class Page:
    ops: list[Op] = field(default_factory=list)
    kind: Literal["text", "cover", "scan"] = "text"
    stamp: str | None = None
    rotate: float = 0.0
    stamp_y: float | None = None


def text_width(text: str, size: float, char_space: float = 0.0) -> float:
    return pdfmetrics.stringWidth(text, FONT, size) + char_space * len(text)


# =========================================================================== line breaking

# Latin words, numbers and product names never break inside (SolidWorks, U8, 2023年 keeps "2023").
_TOKENS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_/+%:]*|" + FORCED_BREAK + r"|.", re.S)
# 避头尾: punctuation that may not start a line, openers that may not end one.
_NO_START = set("，。、；：？！）》」』”’%,.;:!?)】…—·")
_NO_END = set("（《「『“‘(【")


@dataclass
class Line:
    text: str
    width: float
    last: bool  # last line of the paragraph: not stretched to the margin
    indent: float = 0.0
    forced: bool = False  # ends at a forced break (¦): stretched like a full line if it nearly is one


def wrap(text: str, size: float, width: float, first_indent: float = 0.0) -> list[Line]:
    """Greedy line filling by measured widths, with 避头尾 and forced breaks (¦)."""
    lines: list[Line] = []
    tokens = _TOKENS.findall(text)
    cur: list[str] = []
    cur_w = 0.0

    def avail() -> float:
        return width - (first_indent if not lines else 0.0)

    def flush(last: bool, forced: bool = False) -> None:
        nonlocal cur, cur_w
        lines.append(Line("".join(cur), cur_w, last, first_indent if not lines else 0.0, forced))
        cur, cur_w = [], 0.0

    for tok in tokens:
        if tok == FORCED_BREAK:
            flush(last=False, forced=True)
            continue
        if tok == "\n":
            flush(last=True)
            continue
        w = text_width(tok, size)
        if cur and cur_w + w > avail():
            carry: list[str] = []
            # a closing mark takes the previous character with it; an opener moves down
            if tok[0] in _NO_START and len(cur) > 1:
                carry = [cur.pop()]
            while len(cur) > 1 and cur[-1][-1] in _NO_END:
                carry.insert(0, cur.pop())
            cur_w = text_width("".join(cur), size)
            flush(last=False)
            cur = carry
            cur_w = text_width("".join(cur), size)
        cur.append(tok)
        cur_w += w
    if cur or not lines:
        flush(last=True)
    return lines


def justify_space(line: Line, size: float, width: float) -> float:
    gap = width - line.indent - line.width
    if line.last or not line.text or gap <= 0:
        return 0.0
    cs = gap / len(line.text)
    return cs if cs <= MAX_CHAR_SPACE else 0.0


# =========================================================================== layout


@dataclass
class TocEntry:
    text: str
    page: int


class Layout:
    """Places blocks on A4 pages; top-left origin, points."""

    def __init__(self, header: str | None, footer: bool):
        self.header = header
        self.footer = footer
        self.pages: list[Page] = []
        self.y = 0.0
        self.toc: list[TocEntry] = []
        self.toc_page: int | None = None
        self.strict_breaks = True
        self._new_page()

    # -- pages
    def _new_page(self, kind: Literal["text", "cover", "scan"] = "text") -> Page:
        page = Page(kind=kind)
        self.pages.append(page)
        self.y = MARGIN_T
        return page

    @property
    def page(self) -> Page:
        return self.pages[-1]

    @property
    def bottom(self) -> float:
        return PAGE_H - MARGIN_B

    def _page_is_empty(self) -> bool:
        return not self.page.ops and self.page.kind == "text"

    def page_break(self) -> None:
        if not self._page_is_empty():
            self._new_page()

    def ensure(self, height: float) -> None:
        if self.y + height > self.bottom and not self._page_is_empty():
            self._new_page()

    # -- text
    def _emit_line(self, line: Line, x: float, size: float, leading: float, width: float, align: str) -> None:
        baseline = self.y + (leading - size) / 2 + size * 0.86
        if align == "center":
            x = x + (width - line.width) / 2
            cs = 0.0
        elif align == "right":
            x = x + width - line.width
            cs = 0.0
        else:
            x = x + line.indent
            cs = justify_space(line, size, width)
            if self.strict_breaks and line.forced and cs == 0.0:
                raise ValueError(f"强制断行处的行太短，排版不自然 / forced break leaves a short line: {line.text}")
        if line.text:
            self.page.ops.append(TextOp(x, baseline, line.text, size, cs))
        self.y += leading

    def paragraph(self, text: str, size: float = BODY_SIZE, leading: float = BODY_LEADING,
                  indent: float | None = None, align: str = "justify", before: float = 0.0,
                  after: float = 4.0, keep_next: float = 0.0) -> None:
        indent = 2 * size if indent is None else indent
        lines = wrap(text, size, TEXT_W, indent if align == "justify" else 0.0)
        if before and not self._page_is_empty():
            self.y += before
        # widow/orphan control: keep at least two lines together, and a heading with what follows
        self.ensure(min(len(lines), 2) * leading + keep_next)
        for i, line in enumerate(lines):
            if self.y + leading > self.bottom:
                self._new_page()
            self._emit_line(line, MARGIN_L, size, leading, TEXT_W, align)
        self.y += after

    def heading(self, text: str, level: int) -> None:
        size, leading, before = {1: (16.0, 30.0, 12.0), 2: (14.0, 26.0, 6.0), 3: (12.0, 22.0, 2.0)}[level]
        if level == 1:
            self.ensure(leading + 3 * BODY_LEADING + before)
            self.toc.append(TocEntry(text, len(self.pages)))
        self.paragraph(text, size, leading, indent=0.0, before=before, after=2.0, keep_next=2 * BODY_LEADING)

    # -- tables
    def table(self, t: TableSpec) -> None:
        n = len(t.header)
        rel = t.widths or [1.0] * n
        widths = [TEXT_W * w / sum(rel) for w in rel]
        xs = [MARGIN_L]
        for w in widths:
            xs.append(xs[-1] + w)

        def cells(row: list) -> tuple[list[list[Line]], float]:
            wrapped = [wrap(str(c), TABLE_SIZE, widths[i] - 2 * CELL_PAD) for i, c in enumerate(row)]
            height = max(len(w) for w in wrapped) * TABLE_LEADING + 2 * CELL_PAD
            return wrapped, height

        head_cells, head_h = cells(t.header)
        body = [cells(row) for row in t.rows]
        total = head_h + sum(h for _, h in body)
        cap_h = TABLE_LEADING + 9.0 if t.caption else 0.0
        # a short table is kept on one page with its caption; a long one starts with header + first row
        self.ensure(cap_h + (total if total < 0.45 * (self.bottom - MARGIN_T) else head_h + body[0][1]))
        if t.caption:
            self.paragraph(t.caption, TABLE_SIZE, TABLE_LEADING + 3, indent=0.0, align="center", before=4.0, after=2.0)

        def draw_row(wrapped: list[list[Line]], height: float, header: bool) -> None:
            top = self.y
            page = self.page
            if header:
                page.ops.append(RectOp(xs[0], top, xs[-1] - xs[0], height))
            page.ops.append(LineOp(xs[0], top, xs[-1], top))
            page.ops.append(LineOp(xs[0], top + height, xs[-1], top + height))
            for x in xs:
                page.ops.append(LineOp(x, top, x, top + height))
            for i, lines in enumerate(wrapped):
                self.y = top + CELL_PAD
                for line in lines:
                    align = "center" if header else "justify"
                    self._emit_line(Line(line.text, line.width, True), xs[i] + CELL_PAD, TABLE_SIZE,
                                    TABLE_LEADING, widths[i] - 2 * CELL_PAD, align)
            self.y = top + height

        self.ensure(head_h + body[0][1])
        draw_row(head_cells, head_h, True)
        for wrapped, height in body:
            if self.y + height > self.bottom:
                self._new_page()
                draw_row(head_cells, head_h, True)  # repeat the header on every page
            draw_row(wrapped, height, False)
        self.y += 6.0
        if t.note:
            self.paragraph(t.note, TABLE_SIZE, TABLE_LEADING, indent=0.0, after=4.0)
        self.y += 4.0

    # -- cover, contents
    def cover(self, c: CoverSpec) -> None:
        if not self._page_is_empty():
            self._new_page()
        self.page.kind = "cover"
        self.y = 150.0
        for line in c.title:
            self.paragraph(line, 22.0, 40.0, indent=0.0, align="center", after=0.0)
        self.y = 400.0
        label_x, value_x, line_end = 130.0, 245.0, PAGE_W - 120.0
        for label, value in c.fields:
            baseline = self.y + 20
            self.page.ops.append(TextOp(label_x, baseline, f"{label}：", 14.0))
            if value:
                self.page.ops.append(TextOp(value_x + 6, baseline, value, 14.0))
            self.page.ops.append(LineOp(value_x, baseline + 5, line_end, baseline + 5, 0.5))
            self.y += 36.0
        self.y = 680.0
        self.paragraph(c.date, 15.0, 26.0, indent=0.0, align="center", after=0.0)
        if c.issuer:
            self.paragraph(c.issuer, 15.0, 26.0, indent=0.0, align="center", after=0.0)
        self._new_page()

    def reserve_toc(self) -> None:
        if not self._page_is_empty():
            self._new_page()
        self.toc_page = len(self.pages)
        self.page.ops.append(TextOp(0, 0, "", 1))  # placeholder so the page is not "empty"
        self._new_page()

    def fill_toc(self) -> None:
        if self.toc_page is None:
            return
        page = self.pages[self.toc_page - 1]
        page.ops = []
        size = 14.0
        title = "目    录"
        page.ops.append(TextOp(MARGIN_L + (TEXT_W - text_width(title, 18.0)) / 2, MARGIN_T + 24, title, 18.0))
        y = MARGIN_T + 70
        for entry in self.toc:
            num = str(entry.page)
            page.ops.append(TextOp(MARGIN_L, y, entry.text, size))
            page.ops.append(TextOp(MARGIN_L + TEXT_W - text_width(num, size), y, num, size))
            dots_x0 = MARGIN_L + text_width(entry.text, size) + 6
            dots_x1 = MARGIN_L + TEXT_W - text_width(num, size) - 6
            ndots = max(0, int((dots_x1 - dots_x0) / text_width(".", size)))
            if ndots:
                page.ops.append(TextOp(dots_x1 - ndots * text_width(".", size), y, "." * ndots, size))
            y += 30

    # -- scanned pages
    def scan(self, s: ScanSpec) -> None:
        sub = Layout(header=None, footer=False)
        sub.y = MARGIN_T - 10
        for b in s.blocks:
            place(sub, b)
        if self._page_is_empty():
            self.pages.pop()
        for i, p in enumerate(sub.pages):
            p.kind = "scan"
            p.rotate = s.rotate
            if i == len(sub.pages) - 1 and s.stamp:
                p.stamp = s.stamp
                p.stamp_y = sub.y
            self.pages.append(p)
        self._new_page()

    # -- page furniture
    def finish(self) -> list[Page]:
        if self._page_is_empty() and len(self.pages) > 1:
            self.pages.pop()
        self.fill_toc()
        total = len(self.pages)
        for number, page in enumerate(self.pages, start=1):
            if page.kind != "text":
                continue
            if self.header:
                page.ops.append(TextOp(MARGIN_L + (TEXT_W - text_width(self.header, 9.0)) / 2, 52.0, self.header, 9.0))
                page.ops.append(LineOp(MARGIN_L, 58.0, MARGIN_L + TEXT_W, 58.0, 0.5))
            if self.footer:
                label = f"第 {number} 页，共 {total} 页"
                page.ops.append(TextOp(MARGIN_L + (TEXT_W - text_width(label, 9.0)) / 2, PAGE_H - 45.0, label, 9.0))
        return self.pages


def place(layout: Layout, block: BlockSpec) -> None:
    kind = block.kind
    if kind == "h1":
        layout.heading(block.h1 or "", 1)
    elif kind == "h2":
        layout.heading(block.h2 or "", 2)
    elif kind == "h3":
        layout.heading(block.h3 or "", 3)
    elif kind == "p":
        layout.paragraph(block.p or "")
    elif kind == "title":
        layout.paragraph(block.title or "", 18.0, 34.0, indent=0.0, align="center", before=6.0, after=10.0)
    elif kind == "center":
        layout.paragraph(block.center or "", indent=0.0, align="center")
    elif kind == "right":
        layout.paragraph(block.right or "", indent=0.0, align="right")
    elif kind == "table":
        assert block.table is not None
        layout.table(block.table)
    elif kind == "cover":
        assert block.cover is not None
        layout.cover(block.cover)
    elif kind == "toc":
        layout.reserve_toc()
    elif kind == "pagebreak":
        layout.page_break()
    elif kind == "scan":
        assert block.scan is not None
        layout.scan(block.scan)


def layout_file(f: FileSpec) -> list[Page]:
    """The pages of a document attachment or 申报书, ready for :func:`draw_pdf` or :func:`render_page_image`."""
    layout = Layout(f.header, f.footer)
    for block in f.blocks:
        place(layout, block)
    return layout.finish()


# =========================================================================== raster rendering

_font_cache: dict[int, object] = {}


def _pil_font(px: int):
    from PIL import ImageFont

    if px not in _font_cache:
        _font_cache[px] = ImageFont.truetype(str(SCAN_FONT), px, index=0)
    return _font_cache[px]


def render_page_image(page: Page, dpi: int = 200, scanned: bool | None = None):
    """Paint a laid-out page with Pillow (RGB).  ``scanned`` adds skew, noise and paper tone.

    Text is drawn glyph by glyph at the x positions reportlab would use, so an image page lines
    up with its text-layer twin.
    """
    from PIL import Image, ImageDraw

    k = dpi / 72.0
    w, h = round(PAGE_W * k), round(PAGE_H * k)
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    for op in page.ops:
        if isinstance(op, RectOp):
            g = round(op.fill * 255)
            draw.rectangle([op.x * k, op.y * k, (op.x + op.w) * k, (op.y + op.h) * k], fill=(g, g, g))
    for op in page.ops:
        if isinstance(op, LineOp):
            draw.line([op.x0 * k, op.y0 * k, op.x1 * k, op.y1 * k], fill="black", width=max(1, round(op.width * k)))
        elif isinstance(op, TextOp) and op.text:
            font = _pil_font(round(op.size * k))
            x = op.x
            for ch in op.text:
                draw.text((x * k, op.baseline * k), ch, font=font, fill="black", anchor="ls")
                x += text_width(ch, op.size) + op.char_space
    if page.stamp:
        # over the signature lines (the last two), as a seal is pressed, clear of the body text
        _draw_stamp(img, page.stamp, (PAGE_W - MARGIN_R - 70) * k, ((page.stamp_y or 600) - 16) * k, 46 * k)
    if scanned is None:
        scanned = page.kind == "scan"
    if scanned:
        img = _scan_effects(img, page, k)
    return img


def _draw_stamp(img, name: str, cx: float, cy: float, r: float) -> None:
    """A red company seal: ring, star and the name inside (simplified, but it reads as a seal)."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    red = (200, 30, 40, 170)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=red, width=max(3, round(r / 14)))
    star = []
    for i in range(10):
        rad = r * (0.28 if i % 2 == 0 else 0.11)
        a = -math.pi / 2 + i * math.pi / 5
        star.append((cx + rad * math.cos(a), cy - r * 0.05 + rad * math.sin(a)))
    d.polygon(star, fill=red)
    # the name along the upper arc, one glyph at a time
    n = len(name)
    font = _pil_font(max(10, round(r * 0.26)))
    span = math.radians(min(240, 22 * n))
    for i, ch in enumerate(name):
        a = -math.pi / 2 - span / 2 + span * (i + 0.5) / n
        px, py = cx + r * 0.72 * math.cos(a), cy + r * 0.72 * math.sin(a)
        glyph = Image.new("RGBA", (round(r * 0.34),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.BICUBIC)
        layer.alpha_composite(glyph, (round(px - glyph.width / 2), round(py - glyph.height / 2)))
    img.paste(layer, (0, 0), layer)


def _scan_effects(img, page: Page, k: float):
    """Slight skew, paper tone and sensor noise, seeded by the page so rebuilds are identical."""
    import numpy as np
    from PIL import Image, ImageFilter

    seed = int.from_bytes(hashlib.sha256("".join(op.text for op in page.ops if isinstance(op, TextOp)).encode()).digest()[:4], "big")
    rng = np.random.default_rng(seed)
    img = img.rotate(page.rotate, resample=Image.BICUBIC, fillcolor=(255, 255, 255))
    img = img.filter(ImageFilter.GaussianBlur(radius=0.6))
    arr = np.asarray(img).astype(np.float32)
    arr = arr * np.array([0.95, 0.94, 0.90], dtype=np.float32)  # a little yellow paper
    arr += rng.normal(0.0, 3.0, arr.shape[:2])[..., None].astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=72, optimize=False, progressive=False)
    return buf.getvalue()


# =========================================================================== PDF


def draw_pdf(pages: list[Page], path: Path | io.BytesIO, title: str, author: str,
             image_only: bool = False, dpi: int = 200) -> None:
    """Write pages with reportlab; ``scan`` pages (or all, with ``image_only``) as full-page JPEGs."""
    c = rl_canvas.Canvas(path if isinstance(path, io.BytesIO) else str(path), pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setAuthor(author)
    c.setCreator("xdt-rules samples/build_samples.py")
    for page in pages:
        if page.kind == "scan" or image_only:
            jpeg = _jpeg(render_page_image(page, dpi, scanned=True))
            c.drawImage(ImageReader(io.BytesIO(jpeg)), 0, 0, PAGE_W, PAGE_H)
            c.showPage()
            continue
        for op in page.ops:
            if isinstance(op, RectOp):
                c.setFillGray(op.fill)
                c.rect(op.x, PAGE_H - op.y - op.h, op.w, op.h, stroke=0, fill=1)
        c.setFillGray(0)
        c.setStrokeGray(0)
        for op in page.ops:
            if isinstance(op, LineOp):
                c.setLineWidth(op.width)
                c.line(op.x0, PAGE_H - op.y0, op.x1, PAGE_H - op.y1)
            elif isinstance(op, TextOp) and op.text:
                t = c.beginText(op.x, PAGE_H - op.baseline)
                t.setFont(FONT, op.size)
                t.setCharSpace(op.char_space)
                t.textOut(op.text)
                c.drawText(t)
        c.showPage()
    c.save()


# =========================================================================== DOCX / XLSX


def _normalised_zip(data: bytes) -> bytes:
    """Same members, fixed timestamps and core-property dates: identical bytes on every build."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp.encode() + m.group(3), blob)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, blob)
    return out.getvalue()


def _set_east_asian(run_or_style, name: str) -> None:
    from docx.oxml.ns import qn

    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def _field(paragraph, instr: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays out the pages."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instr} "
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    shown = OxmlElement("w:t")
    shown.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, code, sep, shown, end):
        run._r.append(el)


def _shade(cell, fill: str = "E0E0E0") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def write_docx(f: FileSpec, path: Path, title: str, author: str, scan_images: list[bytes]) -> None:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(BODY_SIZE)
    _set_east_asian(normal, "宋体")
    for level, size in ((1, 16), (2, 14), (3, 12)):
        st = doc.styles[f"Heading {level}"]
        st.font.size = Pt(size)
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.name = "Times New Roman"
        _set_east_asian(st, "黑体")
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(3.17)
    section.top_margin = section.bottom_margin = Cm(2.54)
    has_cover = any(b.kind == "cover" for b in f.blocks)
    section.different_first_page_header_footer = has_cover
    if f.header:
        hp = section.header.paragraphs[0]
        hp.text = f.header
        hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if f.footer:
        fp = section.footer.paragraphs[0]
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fp.add_run("第 ")
        _field(fp, "PAGE")
        fp.add_run(" 页，共 ")
        _field(fp, "NUMPAGES")
        fp.add_run(" 页")

    scans = iter(scan_images)
    headings: list[str] = [b.h1 for b in f.blocks if b.h1]

    def page_break() -> None:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def para(text: str, align=None, indent: bool = True, size: float | None = None):
        p = doc.add_paragraph()
        run = p.add_run(_plain(text))
        if size:
            run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        elif indent:
            p.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE)
        p.paragraph_format.line_spacing = 1.5
        return p

    for block in f.blocks:
        kind = block.kind
        if kind in ("h1", "h2", "h3"):
            doc.add_heading(getattr(block, kind), level=int(kind[1]))
        elif kind == "p":
            para(block.p or "")
        elif kind == "title":
            para(block.title or "", WD_ALIGN_PARAGRAPH.CENTER, size=18)
        elif kind == "center":
            para(block.center or "", WD_ALIGN_PARAGRAPH.CENTER)
        elif kind == "right":
            para(block.right or "", WD_ALIGN_PARAGRAPH.RIGHT)
        elif kind == "pagebreak":
            page_break()
        elif kind == "cover":
            c = block.cover
            assert c is not None
            for _ in range(4):
                doc.add_paragraph()
            for line in c.title:
                para(line, WD_ALIGN_PARAGRAPH.CENTER, size=22)
            for _ in range(5):
                doc.add_paragraph()
            for label, value in c.fields:
                p = doc.add_paragraph()
                p.paragraph_format.left_indent = Cm(2.0)
                p.add_run(f"{label}：").font.size = Pt(14)
                r = p.add_run(value or "        ")
                r.font.size = Pt(14)
                r.underline = True
            for _ in range(4):
                doc.add_paragraph()
            para(c.date, WD_ALIGN_PARAGRAPH.CENTER, size=15)
            if c.issuer:
                para(c.issuer, WD_ALIGN_PARAGRAPH.CENTER, size=15)
            page_break()
        elif kind == "toc":
            para("目    录", WD_ALIGN_PARAGRAPH.CENTER, size=18)
            for h in headings:
                para(h, indent=False, size=14)
            page_break()
        elif kind == "table":
            t = block.table
            assert t is not None
            if t.caption:
                para(t.caption, WD_ALIGN_PARAGRAPH.CENTER, size=TABLE_SIZE)
            table = doc.add_table(rows=1 + len(t.rows), cols=len(t.header))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            rel = t.widths or [1.0] * len(t.header)
            for r_i, row in enumerate([t.header, *t.rows]):
                for c_i, value in enumerate(row):
                    cell = table.cell(r_i, c_i)
                    cell.width = Cm(15.0 * rel[c_i] / sum(rel))
                    cell.text = str(value)
                    for p in cell.paragraphs:
                        for run in p.runs:
                            run.font.size = Pt(TABLE_SIZE)
                    if r_i == 0:
                        _shade(cell)
                        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _repeat_header(table.rows[0])
            if t.note:
                para(t.note, indent=False, size=TABLE_SIZE)
        elif kind == "scan":
            for jpeg in [next(scans) for _ in range(_scan_page_count(block))]:
                doc.add_picture(io.BytesIO(jpeg), width=Cm(14.6))
                page_break()

    props = doc.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(_normalised_zip(buf.getvalue()))


def _scan_page_count(block: BlockSpec) -> int:
    assert block.scan is not None
    layout = Layout(None, False)
    layout.scan(block.scan)
    return sum(1 for p in layout.pages if p.kind == "scan")


def write_xlsx(f: FileSpec, path: Path, author: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    for sheet in f.sheets:
        ws = wb.create_sheet(sheet.name)
        ws.append(sheet.header)
        for row in sheet.rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDDDDD")
            cell.alignment = Alignment(horizontal="center")
        for row in ws.iter_rows():
            for cell in row:
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        for i, w in enumerate(sheet.widths or [], start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = w
        ws.freeze_panes = "A2"
    wb.properties.creator = author
    wb.properties.created = FIXED_DATE
    wb.properties.modified = FIXED_DATE
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_normalised_zip(buf.getvalue()))


# =========================================================================== whole applications


def build_application(spec: SourceSpec, out_root: Path, image_only: bool = False,
                      variants: tuple[str, ...] = ("pdf", "docx")) -> list[Path]:
    """Render one application into ``out_root/pdf/<app>/`` and ``out_root/docx/<app>/``.

    ``image_only`` renders every PDF page as a scanned image (no text layer at all); DOCX is then
    skipped because a DOCX of pictures is not a realistic submission.
    """
    written: list[Path] = []
    if image_only:
        variants = tuple(v for v in variants if v == "pdf")
    for variant in variants:
        folder = out_root / variant / spec.application
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # a renamed attachment must not linger
            if old.is_file():
                old.unlink()
        for f in spec.files:
            if f.kind == "xlsx":
                path = folder / f"{f.name}.xlsx"
                write_xlsx(f, path, spec.company)
            elif variant == "pdf":
                path = folder / f"{f.name}.pdf"
                draw_pdf(layout_file(f), path, f"{spec.company} {f.name}", spec.company, image_only=image_only)
            else:
                path = folder / f"{f.name}.docx"
                pages = layout_file(f)
                scans = [_jpeg(render_page_image(p, 200)) for p in pages if p.kind == "scan"]
                write_docx(f, path, f"{spec.company} {f.name}", spec.company, scans)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="生成样例申报材料 / build the sample application packages")
    ap.add_argument("apps", nargs="*", help="样例名（默认全部） / sample names (default: all)")
    ap.add_argument("--out", type=Path, default=SAMPLES, help="输出根目录 / output root (default: samples/)")
    ap.add_argument("--image-only", action="store_true", help="PDF 全部页面为扫描图像 / every PDF page as a scanned image")
    ap.add_argument("--sources", type=Path, default=None,
                    help="源文件目录（默认 samples/sources；语料为 samples/corpus/sources）/ folder of source YAML files")
    args = ap.parse_args(argv)
    for path in source_paths(args.apps, args.sources):
        spec = load_source(path)
        files = build_application(spec, args.out, image_only=args.image_only)
        print(f"{spec.application}: {', '.join(p.name for p in files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
