"""Crops of PDF pages around an evidence span, as small inline PNGs with the span's box as a CSS overlay.

The box comes from the block's ``lines`` (visual lines with their block-text offsets and bbox in
PDF points, top-left origin): on each line the span overlaps, the span's part is located exactly
with pdfium's text search inside that line's box (an estimate from character widths when the
search finds nothing, e.g. on OCR'd pages).

Why it is shaped like this (a report used to spend most of its time here):

- each PDF is opened once per report and each page once (page + text page kept while the report
  is built), instead of once per crop;
- only the region around the span is rendered (``page.render(crop=…)``), in grayscale, at a
  modest resolution, and encoded as a 16-grey, 4-bit PNG (lossless for text, ~1 ms, ~14 KB);
- the evidence box is NOT drawn into the pixels: :class:`Crop` carries it as percentages of the
  image, and the report draws it as an absolutely positioned frame over the image, so the
  pixels are the page as it is and the highlight lands exactly on the box at any zoom;
- pages are rendered by pdfium restarted with the package's own CJK font (``ingest/pdfium_fonts``),
  so a PDF without embedded fonts shows its Chinese on every machine, not blank boxes;
- crops are capped per item and per report, and cached on disk (:class:`xdt_rules.cache.CropCache`, keyed by
  the file's sha256, the page, the spans' blocks, the resolution and this module's code), so a
  re-score renders none again;
- Word documents (DOCX, and .doc/.wps) have pages only once laid out: where LibreOffice is
  installed they are laid out as PDF once per report and the spans found there by their text
  (:mod:`.docx_pages`); without it they have no crops.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import BBox, Block, Document, EvidenceRef
from .docx_pages import WORD_TYPES, WordPages, row_text

DPI = 96  # Chinese body text (10.5–12 pt) is 14–16 px high: readable, and small
MAX_WIDTH_PX = 720  # wider regions (a whole table row) are rendered at a lower resolution to fit
MARGIN_Y_PT = 30.0  # lines shown above and below the span
MARGIN_X_PT = 14.0
MARK_PAD_X_PT = 2.0  # the frame sits just outside the glyphs, not on them
MARK_PAD_Y_PT = 1.5
PNG_LEVEL = 3  # zlib's fast levels: level 9 is 10× slower for 3 % smaller crops
OPEN_PAGES = 32  # pages kept open while a report is built (a report crops at most 48 spans)

# 256 grey levels → 16 (4 bits): text keeps its anti-aliased edges and the PNG is half the size.
_TO_16 = [v >> 4 for v in range(256)]
_GREY_PALETTE = [level * 17 for level in range(16) for _ in range(3)]


@dataclass(frozen=True)
class CropLimits:
    per_item: int = 2
    per_report: int = 48


@dataclass(frozen=True)
class Crop:
    """A rendered region: PNG bytes, pixel size, and the evidence boxes as (left, top, width,
    height) in percent of the image, for the CSS overlay; ``region`` is where the image sits on
    the page (x0, top, x1, bottom in points), so a mark maps back to page coordinates."""

    png: bytes
    width: int
    height: int
    marks: tuple[tuple[float, float, float, float], ...]
    region: tuple[float, float, float, float]

    def mark_boxes(self) -> list[BBox]:
        """The marks in page points (the evidence boxes plus the frame's padding)."""
        x0, top, x1, bottom = self.region
        sx, sy = (x1 - x0) / 100, (bottom - top) / 100
        return [BBox(x0=x0 + left * sx, top=top + t * sy, x1=x0 + (left + w) * sx, bottom=top + (t + h) * sy)
                for left, t, w, h in self.marks]

    @property
    def src(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _width(ch: str) -> float:
    """Rough advance of a character relative to a CJK character (Latin and digits are narrower)."""
    if ch == " ":
        return 0.3
    return 0.6 if ord(ch) < 0x2E80 else 1.0


def span_segments(block: Block, start: int, end: int) -> list[tuple[str, BBox, BBox]]:
    """Per visual line the span touches: (its text on that line, the line box, the estimated box)."""
    out: list[tuple[str, BBox, BBox]] = []
    for ln in block.lines:
        a, b = max(start, ln.start), min(end, ln.end)
        if a >= b:
            continue
        text = block.text[ln.start:ln.end]
        total = sum(_width(c) for c in text) or 1.0
        left = sum(_width(c) for c in text[: a - ln.start]) / total
        right = sum(_width(c) for c in text[: b - ln.start]) / total
        w = ln.bbox.x1 - ln.bbox.x0
        estimate = BBox(x0=ln.bbox.x0 + w * left, top=ln.bbox.top, x1=ln.bbox.x0 + w * right, bottom=ln.bbox.bottom)
        out.append((block.text[a:b], ln.bbox, estimate))
    return out


def span_boxes(block: Block, start: int, end: int) -> list[BBox]:
    """Boxes of block.text[start:end], one per visual line it touches.

    A line's box is known; where the span sits inside the line is estimated from the character
    widths before it (CJK full width, Latin about half), which is close for typeset Chinese.
    Without lines the whole block box is used.
    """
    boxes = [estimate for _, _, estimate in span_segments(block, start, end)]
    if not boxes and not block.lines and block.bbox is not None:
        boxes.append(block.bbox)
    return boxes


def union(boxes: Sequence[BBox]) -> BBox:
    return BBox(x0=min(b.x0 for b in boxes), top=min(b.top for b in boxes),
                x1=max(b.x1 for b in boxes), bottom=max(b.bottom for b in boxes))


def merged_spans(spans: Sequence[tuple[Block, int, int]]) -> list[tuple[Block, int, int]]:
    """Overlapping spans of one block as one (a pattern and the keywords inside it): one frame
    per line, as the report's text shows them under one highlight, not a frame in a frame."""
    out: list[tuple[Block, int, int]] = []
    for block, start, end in sorted(spans, key=lambda s: (s[0].index, s[1], -s[2])):
        if out and out[-1][0].index == block.index and start < out[-1][2]:
            out[-1] = (block, out[-1][1], max(out[-1][2], end))
        else:
            out.append((block, start, end))
    return out


def crop_key(doc: Document, page: int, spans: Sequence[tuple[Block, int, int]], dpi: int) -> str:
    """What a crop depends on: the file's bytes, the page, each span with its block's text and
    layout and the resolution (the cache adds the crop code's version). Block numbering may change
    between extractor versions, so the block's content (not its index) enters the key."""
    digest = hashlib.sha256(f"{dpi}|{MAX_WIDTH_PX}|{doc.sha256}|{page}".encode())
    for block, start, end in spans:
        lines = ";".join(f"{ln.start},{ln.end},{ln.bbox.x0},{ln.bbox.top},{ln.bbox.x1},{ln.bbox.bottom}"
                         for ln in block.lines)
        box = block.bbox
        frame = f"{box.x0},{box.top},{box.x1},{box.bottom}" if box is not None else "-"
        digest.update(f"|{start},{end},{block.table is not None},{frame},{lines}|".encode())
        digest.update(block.text.encode("utf-8"))
    return digest.hexdigest()[:32]


def word_crop_key(doc: Document, spans: Sequence[tuple[Block, int, int]], dpi: int) -> str:
    """What a Word document's crop depends on: the file's bytes, the spans with their blocks'
    text and the resolution (the layout is LibreOffice's: the crop code's version covers the rest)."""
    digest = hashlib.sha256(f"word|{dpi}|{MAX_WIDTH_PX}|{doc.sha256}".encode())
    for block, start, end in spans:
        digest.update(f"|{start},{end},{block.table},{block.row},{block.col}|".encode())
        digest.update(block.text.encode("utf-8"))
    return digest.hexdigest()[:32]


WORD_CROP_NOTE = "（按 LibreOffice 排版截取，分页可能与 Word 中不同）"


def no_crop() -> Crop:
    """What the cache keeps for a span that has no crop (a Word passage not found on the laid-out
    pages): an empty crop without marks, so the next report does not lay the document out again."""
    from PIL import Image

    return Crop(png=encode_png16(Image.new("L", (1, 1), 255)), width=1, height=1, marks=(), region=(0.0, 0.0, 0.0, 0.0))


def is_no_crop(crop: Crop) -> bool:
    return not crop.marks and crop.region == (0.0, 0.0, 0.0, 0.0)


class CropStore(Protocol):
    """Where rendered crops are kept between runs (the batch's crop cache)."""

    def get(self, key: str) -> Crop | None: ...

    def put(self, key: str, crop: Crop) -> None: ...


@dataclass
class _OpenPage:
    page: Any
    textpage: Any
    width: float
    height: float

    def close(self) -> None:
        for obj in (self.textpage, self.page):
            try:
                obj.close()
            except Exception:  # noqa: BLE001
                pass


def encode_png16(image: Any) -> bytes:
    """A grayscale PIL image as a 4-bit (16-grey) palette PNG."""
    from PIL import Image

    levels = image.point(_TO_16)
    paletted = Image.frombytes("P", levels.size, levels.tobytes())
    paletted.putpalette(_GREY_PALETTE)
    buf = io.BytesIO()
    paletted.save(buf, format="PNG", bits=4, compress_level=PNG_LEVEL)
    return buf.getvalue()


@dataclass
class CropRenderer:
    """Renders evidence crops for one report; ``close()`` releases the PDFs it opened."""

    documents: Sequence[Document]
    password: str | None = None
    dpi: int = DPI
    limits: CropLimits = field(default_factory=CropLimits)
    cache: CropStore | None = None
    made: int = 0
    renders: int = 0
    page_loads: int = 0
    exact_boxes: int = 0

    def __post_init__(self) -> None:
        self._docs = {d.name: d for d in self.documents}
        self._blocks = {d.name: {b.index: b for b in d.blocks} for d in self.documents}
        self._pdfs: dict[str, Any] = {}
        self._shared: set[str] = set()  # documents whose opening belongs to documents_kept_open()
        self._pages: OrderedDict[tuple[str, int], _OpenPage] = OrderedDict()
        self._failed: set[str] = set()
        self._words = WordPages(self.documents)
        self._can_lay_out: bool | None = None

    def close(self) -> None:
        for page in self._pages.values():
            page.close()
        self._pages.clear()
        self._words.close()
        for path, pdf in self._pdfs.items():
            if path in self._shared:
                continue
            try:
                pdf.close()
            except Exception:  # noqa: BLE001
                pass
        self._pdfs.clear()
        self._shared.clear()

    def __enter__(self) -> CropRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pages

    def _open(self, doc: Document, page_no: int) -> _OpenPage:
        return self._open_path(doc.path, page_no)

    def _open_path(self, path: str, page_no: int, pdf: Any = None) -> _OpenPage:
        """A page of the PDF at ``path`` (``pdf``: an opening owned elsewhere, e.g. a laid-out Word file)."""
        key = (path, page_no)
        opened = self._pages.get(key)
        if opened is not None:
            self._pages.move_to_end(key)
            return opened
        if pdf is None:
            pdf = self._pdfs.get(path)
        if pdf is None:
            from ..ingest.pdf import shared_pdf

            # the opening text extraction used, when the caller keeps documents open
            pdf, shared = shared_pdf(path, self.password)
            self._pdfs[path] = pdf
            if shared:
                self._shared.add(path)
        page = pdf[page_no - 1]
        width, height = page.get_size()  # the rendered frame (crop box, rotation applied), like block boxes
        opened = _OpenPage(page, page.get_textpage(), width, height)
        self.page_loads += 1
        self._pages[key] = opened
        if len(self._pages) > OPEN_PAGES:
            self._pages.popitem(last=False)[1].close()
        return opened

    def _located(self, doc: Document, page_no: int, text: str, line: BBox, estimate: BBox) -> BBox:
        """The exact box of ``text`` on the page inside ``line`` (pdfium search); the estimate otherwise."""
        needle = text.strip()
        if not needle:
            return estimate
        try:
            opened = self._open(doc, page_no)
            textpage, height = opened.textpage, opened.height
            best: tuple[float, BBox] | None = None
            searcher = textpage.search(needle, match_case=True)
            try:
                while (found := searcher.get_next()) is not None:
                    index, count = found
                    rects = [textpage.get_rect(i) for i in range(textpage.count_rects(index, count))]
                    if not rects:
                        continue
                    box = BBox(x0=min(r[0] for r in rects), top=height - max(r[3] for r in rects),
                               x1=max(r[2] for r in rects), bottom=height - min(r[1] for r in rects))
                    middle = (box.top + box.bottom) / 2
                    if not (line.top - 2 <= middle <= line.bottom + 2 and box.x0 >= line.x0 - 2
                            and box.x1 <= line.x1 + 2):
                        continue
                    distance = abs(box.x0 - estimate.x0)
                    if best is None or distance < best[0]:
                        best = (distance, box)
            finally:
                searcher.close()
        except Exception:  # noqa: BLE001 - the estimate is good enough when pdfium cannot help
            return estimate
        if best is None:
            return estimate
        self.exact_boxes += 1
        return best[1]

    def available(self, ev: EvidenceRef) -> bool:
        doc = self._docs.get(ev.file)
        if doc is None or doc.path in self._failed or ev.block not in self._blocks[ev.file]:
            return False
        if doc.file_type in WORD_TYPES:
            return not ev.ocr  # text read from an embedded picture is not on the laid-out pages
        return doc.file_type == "pdf" and ev.page is not None

    def note(self, ev: EvidenceRef) -> str:
        """What the reader should know about a crop of this evidence (a Word file's is LibreOffice's layout)."""
        doc = self._docs.get(ev.file)
        return WORD_CROP_NOTE if doc is not None and doc.file_type in WORD_TYPES else ""

    # -- crops

    def crop(self, evidence: EvidenceRef | Sequence[EvidenceRef]) -> Crop | None:
        """The page region around the evidence (one sentence, or cells of one table row) with its boxes."""
        evs = [evidence] if isinstance(evidence, EvidenceRef) else list(evidence)
        if not evs or self.made >= self.limits.per_report or not self.available(evs[0]):
            return None
        ev = evs[0]
        doc = self._docs[ev.file]
        if doc.file_type in WORD_TYPES:
            return self._word_crop(doc, evs)
        page_no = ev.page
        if page_no is None:
            return None
        blocks_of = self._blocks[ev.file]
        # Spans of the same page of the same file (one sentence, or the cells of one table row).
        spans = merged_spans([(blocks_of[one.block], one.start, one.end) for one in evs
                              if one.file == ev.file and one.page == page_no and one.block in blocks_of])
        if not any(span_boxes(block, start, end) for block, start, end in spans):
            return None
        key = crop_key(doc, page_no, spans, self.dpi) if self.cache is not None else ""
        return self._through_cache(key, doc, lambda: self._render(doc, page_no, spans))

    def _through_cache(self, key: str, doc: Document, make: Callable[[], Crop | None]) -> Crop | None:
        """The cached crop, else ``make()``'s (kept in the cache); None for a span known to have none."""
        if self.cache is not None and (cached := self.cache.get(key)) is not None:
            if is_no_crop(cached):
                return None
            self.made += 1
            return cached
        try:
            made = make()
        except Exception:  # noqa: BLE001 - a page that cannot be rendered just has no crop
            self._failed.add(doc.path)
            return None
        if made is None:
            return None
        if self.cache is not None:
            self.cache.put(key, made)
        self.made += 1
        return made

    def _word_crop(self, doc: Document, evs: Sequence[EvidenceRef]) -> Crop | None:
        """A crop of a Word document's page as LibreOffice lays it out (None without LibreOffice)."""
        blocks_of = self._blocks[doc.name]
        spans = merged_spans([(blocks_of[one.block], one.start, one.end) for one in evs
                              if one.file == doc.name and one.block in blocks_of and not one.ocr])
        if not spans:
            return None
        key = word_crop_key(doc, spans, self.dpi) if self.cache is not None else ""

        def make() -> Crop | None:
            if self._can_lay_out is None:
                self._can_lay_out = WordPages.available()
            layout = self._words.get(doc) if self._can_lay_out else None
            if layout is None:
                return None
            view = list(blocks_of.values())
            placed = [layout.place(block.text, start, end, row_text(block, view)) for block, start, end in spans]
            found = [p for p in placed if p is not None]
            if not found:
                # remembered, or every re-score would lay the document out again to find nothing
                if self.cache is not None:
                    self.cache.put(key, no_crop())
                return None
            on_page = [p for p in found if p.page == found[0].page]
            full_width = any(block.table is not None for block, _, _ in spans)
            return self._draw(str(layout.path), found[0].page, [box for p in on_page for box in p.boxes],
                              union([p.area for p in on_page]), full_width, pdf=layout.pdf)

        return self._through_cache(key, doc, make)

    def _render(self, doc: Document, page_no: int, spans: Sequence[tuple[Block, int, int]]) -> Crop | None:
        boxes: list[BBox] = []
        for block, start, end in spans:
            segments = span_segments(block, start, end)
            if segments:
                boxes += [self._located(doc, page_no, text, line, estimate) for text, line, estimate in segments]
            else:
                boxes += span_boxes(block, start, end)
        # Show the paragraph's width (a whole table row for a cell) and a few lines around the span.
        area = union([union(boxes)] + [b.bbox for b, _, _ in spans if b.bbox is not None])
        return self._draw(doc.path, page_no, boxes, area, any(b.table is not None for b, _, _ in spans))

    def _draw(self, path: str, page_no: int, boxes: Sequence[BBox], area: BBox, full_width: bool,
              pdf: Any = None) -> Crop | None:
        """Render the region around ``boxes`` (the width of ``area``, the page's for a table) with the boxes as marks."""
        opened = self._open_path(path, page_no, pdf)
        page_w, page_h = opened.width, opened.height
        box = union(boxes)
        if full_width:
            x0, x1 = 0.0, page_w
        else:
            x0, x1 = max(0.0, area.x0 - MARGIN_X_PT), min(page_w, area.x1 + MARGIN_X_PT)
        y0, y1 = max(0.0, box.top - MARGIN_Y_PT), min(page_h, box.bottom + MARGIN_Y_PT)
        scale = min(self.dpi / 72.0, MAX_WIDTH_PX / max(x1 - x0, 1.0))
        if (x1 - x0) * scale < 8 or (y1 - y0) * scale < 8:
            return None
        bitmap = opened.page.render(scale=scale, crop=(x0, page_h - y1, page_w - x1, y0), grayscale=True)
        try:
            image = bitmap.to_pil()
        finally:
            bitmap.close()
        self.renders += 1
        if image.mode != "L":
            image = image.convert("L")
        width, height = image.size
        # The bitmap is whole pixels: the region it really shows may end a fraction of a point
        # later than asked, and percentages are taken of what it shows.
        x1, y1 = x0 + width / scale, y0 + height / scale
        marks = []
        for b in boxes:
            left, right = b.x0 - MARK_PAD_X_PT - x0, b.x1 + MARK_PAD_X_PT - x0
            top, bottom = b.top - MARK_PAD_Y_PT - y0, b.bottom + MARK_PAD_Y_PT - y0
            marks.append((round(100 * left / (x1 - x0), 2), round(100 * top / (y1 - y0), 2),
                          round(100 * (right - left) / (x1 - x0), 2), round(100 * (bottom - top) / (y1 - y0), 2)))
        return Crop(png=encode_png16(image), width=width, height=height, marks=tuple(marks),
                    region=(round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)))


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (for tests and checks without decoding)."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


__all__ = [
    "Crop",
    "CropLimits",
    "CropRenderer",
    "CropStore",
    "crop_key",
    "encode_png16",
    "png_size",
    "span_boxes",
    "span_segments",
    "union",
]
