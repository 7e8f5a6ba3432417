"""Crops of PDF pages around an evidence span, with the span's box drawn, as inline PNG data URIs.

The box comes from the block's ``lines`` (visual lines with their block-text offsets and bbox in
PDF points, top-left origin): on each line the span overlaps, the span's part is located exactly
with pdfium's text search inside that line's box (an estimate from character widths when the
search finds nothing, e.g. on OCR'd pages). Pages are rendered once
(pypdfium2 through ``xdt_rules.ingest.pdf.render_pdf_page``) and kept in a small LRU, and crops
are capped per item and per report so a report stays fast and small.
"""

from __future__ import annotations

import base64
import io
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import BBox, Block, Document, EvidenceRef

DPI = 110  # enough to read Chinese text; an A4 page is ~910×1290 px
MAX_WIDTH_PX = 720
MARGIN_Y_PT = 30.0
MARGIN_X_PT = 14.0
PAGE_CACHE = 6


COLOURS = 16  # crops of text need few colours; a palette PNG is ~4× smaller than RGB


@dataclass(frozen=True)
class CropLimits:
    per_item: int = 2
    per_report: int = 48


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
    boxes: list[BBox] = []
    for ln in block.lines:
        a, b = max(start, ln.start), min(end, ln.end)
        if a >= b:
            continue
        text = block.text[ln.start:ln.end]
        total = sum(_width(c) for c in text) or 1.0
        left = sum(_width(c) for c in text[: a - ln.start]) / total
        right = sum(_width(c) for c in text[: b - ln.start]) / total
        w = ln.bbox.x1 - ln.bbox.x0
        boxes.append(BBox(x0=ln.bbox.x0 + w * left, top=ln.bbox.top, x1=ln.bbox.x0 + w * right, bottom=ln.bbox.bottom))
    if not boxes and not block.lines and block.bbox is not None:
        boxes.append(block.bbox)
    return boxes


def union(boxes: Sequence[BBox]) -> BBox:
    return BBox(x0=min(b.x0 for b in boxes), top=min(b.top for b in boxes),
                x1=max(b.x1 for b in boxes), bottom=max(b.bottom for b in boxes))


class CropRenderer:
    """Renders evidence crops for one report."""

    def __init__(self, documents: Sequence[Document], *, password: str | None = None, dpi: int = DPI,
                 limits: CropLimits | None = None):
        self._docs = {d.name: d for d in documents}
        self._blocks = {d.name: {b.index: b for b in d.blocks} for d in documents}
        self._password = password
        self._dpi = dpi
        self.limits = limits or CropLimits()
        self._pages: OrderedDict[tuple[str, int], object] = OrderedDict()
        self._failed: set[str] = set()
        self._pdfs: dict[str, object] = {}
        self.made = 0
        self.renders = 0
        self.exact_boxes = 0

    def close(self) -> None:
        for pdf in self._pdfs.values():
            try:
                pdf.close()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001
                pass
        self._pdfs.clear()
        self._pages.clear()

    def _located(self, doc: Document, page_no: int, text: str, line: BBox, estimate: BBox) -> BBox:
        """The exact box of ``text`` on the page inside ``line`` (pdfium search); the estimate otherwise."""
        needle = text.strip()
        if not needle:
            return estimate
        try:
            import pypdfium2 as pdfium

            pdf = self._pdfs.get(doc.path)
            if pdf is None:
                pdf = self._pdfs[doc.path] = pdfium.PdfDocument(doc.path, password=self._password)
            page = pdf[page_no - 1]  # type: ignore[index]
            textpage = page.get_textpage()
            height = page.get_height()
            best: tuple[float, BBox] | None = None
            searcher = textpage.search(needle, match_case=True)
            while (found := searcher.get_next()) is not None:
                index, count = found
                rects = [textpage.get_rect(i) for i in range(textpage.count_rects(index, count))]
                if not rects:
                    continue
                box = BBox(x0=min(r[0] for r in rects), top=height - max(r[3] for r in rects),
                           x1=max(r[2] for r in rects), bottom=height - min(r[1] for r in rects))
                middle = (box.top + box.bottom) / 2
                if not (line.top - 2 <= middle <= line.bottom + 2 and box.x0 >= line.x0 - 2 and box.x1 <= line.x1 + 2):
                    continue
                distance = abs(box.x0 - estimate.x0)
                if best is None or distance < best[0]:
                    best = (distance, box)
            searcher.close()
            textpage.close()
            page.close()
        except Exception:  # noqa: BLE001 - the estimate is good enough when pdfium cannot help
            return estimate
        if best is None:
            return estimate
        self.exact_boxes += 1
        return best[1]

    def available(self, ev: EvidenceRef) -> bool:
        doc = self._docs.get(ev.file)
        return (doc is not None and doc.file_type == "pdf" and ev.page is not None and doc.path not in self._failed
                and ev.block in self._blocks[ev.file])

    def _page(self, doc: Document, page: int):
        key = (doc.path, page)
        if key in self._pages:
            self._pages.move_to_end(key)
            return self._pages[key]
        from ..ingest.pdf import render_pdf_page

        image = render_pdf_page(doc.path, page, self._dpi, password=self._password)
        self.renders += 1
        self._pages[key] = image
        if len(self._pages) > PAGE_CACHE:
            self._pages.popitem(last=False)
        return image

    def crop(self, evidence: EvidenceRef | Sequence[EvidenceRef]) -> str | None:
        """A data URI of the page region around the evidence (one sentence, or cells of one table row) with boxes drawn."""
        evs = [evidence] if isinstance(evidence, EvidenceRef) else list(evidence)
        if not evs or self.made >= self.limits.per_report or not self.available(evs[0]):
            return None
        ev = evs[0]
        doc = self._docs[ev.file]
        if ev.page is None:
            return None
        # Spans of the same page of the same file (one sentence, or the cells of one table row).
        same = [one for one in evs if one.file == ev.file and one.page == ev.page and one.block in self._blocks[ev.file]]
        blocks = [self._blocks[ev.file][one.block] for one in same]
        boxes: list[BBox] = []
        for one, block in zip(same, blocks):
            segments = span_segments(block, one.start, one.end)
            if segments:
                boxes += [self._located(doc, ev.page, text, line, estimate) for text, line, estimate in segments]
            else:
                boxes += span_boxes(block, one.start, one.end)
        if not boxes:
            return None
        try:
            image = self._page(doc, ev.page)
        except Exception:  # noqa: BLE001 - a page that cannot be rendered just has no crop
            self._failed.add(doc.path)
            return None
        from PIL import ImageDraw

        scale = self._dpi / 72.0
        width, height = image.size  # type: ignore[attr-defined]
        box = union(boxes)
        # Show the paragraph's width (a whole table row for a cell) and a few lines around the span.
        area = union([box] + [b.bbox for b in blocks if b.bbox is not None])
        if any(b.table is not None for b in blocks):
            x0, x1 = 0, width
        else:
            x0 = max(0, int((area.x0 - MARGIN_X_PT) * scale))
            x1 = min(width, int((area.x1 + MARGIN_X_PT) * scale))
        y0 = max(0, int((box.top - MARGIN_Y_PT) * scale))
        y1 = min(height, int((box.bottom + MARGIN_Y_PT) * scale))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        region = image.crop((x0, y0, x1, y1)).convert("RGB")  # type: ignore[attr-defined]
        draw = ImageDraw.Draw(region)
        for b in boxes:
            padx = 3
            draw.rectangle((b.x0 * scale - x0 - padx, b.top * scale - y0 - 2,
                            b.x1 * scale - x0 + padx, b.bottom * scale - y0 + 2), outline=(220, 30, 30), width=2)
        if region.width > MAX_WIDTH_PX:
            region = region.resize((MAX_WIDTH_PX, max(1, round(region.height * MAX_WIDTH_PX / region.width))))
        region = region.quantize(colors=COLOURS)
        buf = io.BytesIO()
        region.save(buf, format="PNG", optimize=True)
        self.made += 1
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
