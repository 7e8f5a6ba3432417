"""Reading one PDF page with pdfium: characters with boxes → visual lines, and page objects.

pdfium gives the page's characters in content order with the line breaks it detected
(``\\r\\n``, also for vertical writing), removes fake-bold duplicates, and is ~30× faster than
pdfminer. Each character costs a few ctypes calls, so the loop is kept flat.

Coordinates: points, origin at the top-left of the page *as rendered* (crop box, /Rotate
applied), so a box maps to pixels of ``render_pdf_page`` by ``× dpi / 72``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

Box = tuple[float, float, float, float]  # x0, top, x1, bottom
Transform = Callable[[float, float], tuple[float, float]]

# Path objects thinner than this (points) are rules (table borders, underlines).
RULE_THICKNESS = 3.0
RULE_MIN_LENGTH = 8.0
# A page "may hold a table" with at least this many horizontal and vertical rules.
TABLE_MIN_RULES = 3
# Complex paths are scanned segment by segment up to this many segments.
MAX_PATH_SEGMENTS = 4000


@dataclass(slots=True)
class VisualLine:
    """One visual line: its characters (whitespace has no box) and the dominant font size."""

    chars: list[str]
    boxes: list[Box | None]
    size: float
    lead_ws: int = 0  # whitespace characters stripped from its start (typed indentation)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    @property
    def bbox(self) -> Box:
        xs0 = [b[0] for b in self.boxes if b]
        if not xs0:
            return (0.0, 0.0, 0.0, 0.0)
        return (min(xs0), min(b[1] for b in self.boxes if b),
                max(b[2] for b in self.boxes if b), max(b[3] for b in self.boxes if b))


@dataclass
class PageObjects:
    images: int = 0
    image_coverage: float = 0.0
    h_rules: int = 0
    v_rules: int = 0

    @property
    def may_hold_table(self) -> bool:
        return self.h_rules >= TABLE_MIN_RULES and self.v_rules >= TABLE_MIN_RULES


@dataclass
class PageRead:
    number: int
    width: float
    height: float
    rotation: int
    lines: list[VisualLine] = field(default_factory=list)
    map_errors: int = 0
    visible_chars: int = 0
    objects: PageObjects = field(default_factory=PageObjects)
    transform: Transform | None = None


def make_transform(page: pdfium.PdfPage) -> tuple[Transform, float, float, int]:
    """User space → rendered top-left frame; also returns rendered width, height and rotation."""
    left, bottom, right, top = page.get_cropbox()
    w, h = right - left, top - bottom
    rotation = page.get_rotation() % 360

    if rotation == 90:
        return (lambda x, y: (h - (top - y), x - left)), h, w, rotation
    if rotation == 180:
        return (lambda x, y: (w - (x - left), h - (top - y))), w, h, rotation
    if rotation == 270:
        return (lambda x, y: (top - y, w - (x - left))), h, w, rotation
    return (lambda x, y: (x - left, top - y)), w, h, 0


def read_page(doc: pdfium.PdfDocument, index: int) -> PageRead:
    page = doc[index]
    try:
        transform, width, height, rotation = make_transform(page)
        result = PageRead(number=index + 1, width=width, height=height, rotation=rotation, transform=transform)
        textpage = page.get_textpage()
        try:
            _read_chars(textpage, transform, result)
        finally:
            textpage.close()
        result.objects = _scan_objects(page, width * height)
        return result
    finally:
        page.close()


def _read_chars(textpage: pdfium.PdfTextPage, transform: Transform, result: PageRead) -> None:
    n = textpage.count_chars()
    if n <= 0:
        return
    text = textpage.get_text_range(0, n)
    aligned = len(text) == n  # pdfium may drop/insert chars in its text view (rare)
    rect = pdfium_c.FS_RECTF()
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    map_error = pdfium_c.FPDFText_HasUnicodeMapError
    get_size = pdfium_c.FPDFText_GetFontSize
    get_matrix = pdfium_c.FPDFText_GetMatrix
    matrix = pdfium_c.FS_MATRIX()
    get_unicode = pdfium_c.FPDFText_GetUnicode

    lines = result.lines
    chars: list[str] = []
    boxes: list[Box | None] = []
    size = 0.0
    lead_ws = 0
    map_errors = visible = 0

    def close_line() -> None:
        nonlocal chars, boxes, size, lead_ws
        while chars and boxes[-1] is None:  # trailing whitespace
            chars.pop()
            boxes.pop()
        if chars:
            lines.append(VisualLine(chars, boxes, size, lead_ws))
        chars, boxes, size, lead_ws = [], [], 0.0, 0

    for i in range(n):
        ch = text[i] if aligned else chr(get_unicode(textpage, i) or 0xFFFD)
        if ch == "\n" or ch == "\r":
            close_line()
            continue
        if ch.isspace():
            if chars:
                chars.append(" " if ch != "\t" else "\t")
                boxes.append(None)
            else:
                lead_ws += 1
            continue
        cp = ord(ch)
        if cp < 0x20 or cp in (0xFFFE, 0xFFFF):
            # pdfium marks hyphenation points with control characters; they are not text.
            continue
        visible += 1
        if map_error(textpage, i) == 1:
            map_errors += 1
        if not get_box(textpage, i, rect):
            continue
        x0, y0 = transform(rect.left, rect.top)
        x1, y1 = transform(rect.right, rect.bottom)
        if not chars:
            # The nominal size (Tf) is often 1 with the real size in the text matrix.
            scale = 1.0
            if get_matrix(textpage, i, matrix):
                scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5 or 1.0
            size = get_size(textpage, i) * scale
        chars.append(ch)
        boxes.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    close_line()
    result.map_errors = map_errors
    result.visible_chars = visible


def _scan_objects(page: pdfium.PdfPage, page_area: float) -> PageObjects:
    """Count images (and their coverage) and ruling lines, descending into form XObjects."""
    found = PageObjects()
    image_area = 0.0
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    stack = [(page.raw, pdfium_c.FPDFPage_CountObjects(page.raw), pdfium_c.FPDFPage_GetObject, 0)]
    budget = 20_000  # objects inspected at most (pathological pages)
    while stack and budget > 0:
        parent, count, getter, depth = stack.pop()
        for k in range(count):
            budget -= 1
            if budget <= 0:
                break
            obj = getter(parent, k)
            if not obj:
                continue
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 4:
                stack.append((obj, pdfium_c.FPDFFormObj_CountObjects(obj), pdfium_c.FPDFFormObj_GetObject, depth + 1))
                continue
            if kind not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH):
                continue
            if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                continue
            w, h = right.value - left.value, top.value - bottom.value
            if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                found.images += 1
                image_area += max(w, 0) * max(h, 0)
                continue
            if h <= RULE_THICKNESS and w >= RULE_MIN_LENGTH:
                found.h_rules += 1
            elif w <= RULE_THICKNESS and h >= RULE_MIN_LENGTH:
                found.v_rules += 1
            elif w >= RULE_MIN_LENGTH and h >= RULE_MIN_LENGTH:
                _count_path_rules(obj, found)
    if page_area > 0:
        found.image_coverage = min(image_area / page_area, 1.0)
    return found


def _count_path_rules(path_obj, found: PageObjects) -> None:
    """Axis-parallel straight segments of a larger path (a grid drawn as one path, a rectangle)."""
    segments = min(pdfium_c.FPDFPath_CountSegments(path_obj), MAX_PATH_SEGMENTS)
    x, y = ctypes.c_float(), ctypes.c_float()
    prev: tuple[float, float] | None = None
    start: tuple[float, float] | None = None
    for s in range(segments):
        seg = pdfium_c.FPDFPath_GetPathSegment(path_obj, s)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, x, y):
            continue
        point = (x.value, y.value)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_LINETO and prev is not None:
            _count_segment(prev, point, found)
        elif kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            start = point
        if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
            _count_segment(point, start, found)
        prev = point


def _count_segment(a: tuple[float, float], b: tuple[float, float], found: PageObjects) -> None:
    dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
    if dy <= 0.5 and dx >= RULE_MIN_LENGTH:
        found.h_rules += 1
    elif dx <= 0.5 and dy >= RULE_MIN_LENGTH:
        found.v_rules += 1
