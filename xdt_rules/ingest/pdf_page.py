"""Reading one PDF page with pdfium: characters with boxes → visual lines, and page objects.

pdfium gives the page's characters in content order with the line breaks it detected
(``\\r\\n``, also for vertical writing), removes fake-bold duplicates, and is ~30× faster than
pdfminer. Each character costs a few ctypes calls, so the loop is kept flat.

Coordinates: points, origin at the top-left of the page *as rendered* (crop box, /Rotate
applied), so a box maps to pixels of ``render_pdf_page`` by ``× dpi / 72``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .pdfium_fonts import use_package_fonts

# Before any page is read: pdfium's glyph boxes, and so the text it extracts, must come from the
# package's own font, not from whatever fonts this machine happens to have.
use_package_fonts()

Box = tuple[float, float, float, float]  # x0, top, x1, bottom

# Segments at least this long (points) count as table rules.
RULE_MIN_LENGTH = 8.0
# A page "may hold a table" with at least this many horizontal and vertical rules.
TABLE_MIN_RULES = 3


@dataclass(slots=True)
class VisualLine:
    """One visual line: its characters (whitespace has no box) and the dominant font size.

    Lines are built once and not changed afterwards (table splitting makes new ones), so the
    text and the box are computed on construction.
    """

    chars: list[str]
    boxes: list[Box | None]
    size: float
    lead_ws: int = 0  # whitespace characters stripped from its start (typed indentation)
    text: str = field(init=False)
    bbox: Box = field(init=False)

    def __post_init__(self) -> None:
        self.text = "".join(self.chars)
        real = [b for b in self.boxes if b]
        if not real:
            self.bbox = (0.0, 0.0, 0.0, 0.0)
        else:
            # one transpose and four C-level min/max: a generator per coordinate cost 4 Python loops
            x0s, tops, x1s, bottoms = zip(*real)
            self.bbox = (min(x0s), min(tops), max(x1s), max(bottoms))


@dataclass
class PageObjects:
    images: int = 0
    image_coverage: float = 0.0
    h_rules: int = 0
    v_rules: int = 0
    # Straight axis-parallel segments of all paths, in the rendered frame: (x0, top, x1, bottom).
    edges: list[Box] = field(default_factory=list)

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
    transform: Affine | None = None


Affine = tuple[float, float, float, float, float, float]  # X = a·x + b·y + e, Y = c·x + d·y + f


def make_transform(page: pdfium.PdfPage) -> tuple[Affine, float, float, int]:
    """User space → rendered top-left frame, as affine coefficients (inlined in the char loop);
    also returns the rendered width, height and rotation."""
    left, bottom, right, top = page.get_cropbox()
    w, h = right - left, top - bottom
    rotation = page.get_rotation() % 360
    if rotation == 90:    # X = h - (top - y), Y = x - left
        return (0.0, 1.0, 1.0, 0.0, h - top, -left), h, w, rotation
    if rotation == 180:   # X = w - (x - left), Y = h - (top - y)
        return (-1.0, 0.0, 0.0, 1.0, w + left, h - top), w, h, rotation
    if rotation == 270:   # X = top - y, Y = w - (x - left)
        return (0.0, -1.0, -1.0, 0.0, top, w + left), h, w, rotation
    return (1.0, 0.0, 0.0, -1.0, -left, top), w, h, 0


def apply(t: Affine, x: float, y: float) -> tuple[float, float]:
    return t[0] * x + t[1] * y + t[4], t[2] * x + t[3] * y + t[5]


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
        result.objects = _scan_objects(page, width * height, transform)
        return result
    finally:
        page.close()


class _Unchecked:
    """The two pdfium calls made for every character, without ctypes argument checking.

    pypdfium2 declares ``argtypes``, so ctypes converts and checks each argument on each call;
    for (text page pointer, int, pointer to a rect) the default conversions are the same, and
    calls take half the time (~0.6 ms less per dense page).
    """

    def __init__(self) -> None:
        prototype = ctypes.CFUNCTYPE(ctypes.c_int)
        self.box = prototype(ctypes.cast(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_void_p).value)
        self.map_error = prototype(ctypes.cast(pdfium_c.FPDFText_HasUnicodeMapError, ctypes.c_void_p).value)


_UNCHECKED = _Unchecked()


def _read_chars(textpage: pdfium.PdfTextPage, transform: Affine, result: PageRead) -> None:
    n = textpage.count_chars()
    if n <= 0:
        return
    text = textpage.get_text_range(0, n)
    aligned = len(text) == n  # pdfium may drop/insert chars in its text view (rare)
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box, map_error = _UNCHECKED.box, _UNCHECKED.map_error
    get_size = pdfium_c.FPDFText_GetFontSize
    get_matrix = pdfium_c.FPDFText_GetMatrix
    matrix = pdfium_c.FS_MATRIX()
    get_unicode = pdfium_c.FPDFText_GetUnicode

    handle = textpage.raw  # the raw handle skips pypdfium2's per-call parameter conversion
    handle_ptr = ctypes.cast(handle, ctypes.c_void_p)  # for the two per-character calls
    ta, tb, tc, td, te, tf = transform
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
        ch = text[i] if aligned else chr(get_unicode(handle, i) or 0xFFFD)
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
        if map_error(handle_ptr, i) == 1:
            map_errors += 1
        if not get_box(handle_ptr, i, rect_ref):
            continue
        left, top, right, bottom = rect.left, rect.top, rect.right, rect.bottom
        x0, y0 = ta * left + tb * top + te, tc * left + td * top + tf
        x1, y1 = ta * right + tb * bottom + te, tc * right + td * bottom + tf
        # Ordered already in the usual case: two comparisons instead of four builtin calls. Ties
        # (and NaN) take min/max, which pick between equal values (±0.0) exactly as before.
        if x0 < x1 and y0 < y1:
            box = (x0, y0, x1, y1)
        else:
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if not chars:
            # The nominal size (Tf) is often 1 with the real size in the text matrix.
            scale = 1.0
            if get_matrix(handle, i, matrix):
                scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5 or 1.0
            size = get_size(handle, i) * scale
        chars.append(ch)
        boxes.append(box)
    close_line()
    result.map_errors = map_errors
    result.visible_chars = visible


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    """Apply ``inner`` first, then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _scan_objects(page: pdfium.PdfPage, page_area: float, frame: Affine) -> PageObjects:
    """Images (count, coverage) and the straight segments of paths (table rules), descending
    into form XObjects with their matrices."""
    found = PageObjects()
    image_area = 0.0
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    fs_matrix = pdfium_c.FS_MATRIX()
    budget = Budget()
    # (container, count, getter, matrix from the container's space to page space, depth)
    stack = [(page.raw, pdfium_c.FPDFPage_CountObjects(page.raw), pdfium_c.FPDFPage_GetObject, IDENTITY, 0)]
    while stack and budget.objects > 0:
        parent, count, getter, to_page, depth = stack.pop()
        for k in range(count):
            budget.objects -= 1
            if budget.objects <= 0:
                break
            obj = getter(parent, k)
            if not obj:
                continue
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
                continue
            own = IDENTITY
            if pdfium_c.FPDFPageObj_GetMatrix(obj, fs_matrix):
                own = (fs_matrix.a, fs_matrix.b, fs_matrix.c, fs_matrix.d, fs_matrix.e, fs_matrix.f)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                if depth < 4:
                    stack.append((obj, pdfium_c.FPDFFormObj_CountObjects(obj), pdfium_c.FPDFFormObj_GetObject,
                                  _compose(own, to_page), depth + 1))
                continue
            if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                    found.images += 1
                    scale = abs(to_page[0] * to_page[3] - to_page[1] * to_page[2])
                    image_area += max(right.value - left.value, 0) * max(top.value - bottom.value, 0) * scale
                continue
            _path_edges(obj, _compose(own, to_page), frame, found, budget)
    found.h_rules = sum(1 for e in found.edges if e[3] - e[1] < 0.01 and e[2] - e[0] >= RULE_MIN_LENGTH)
    found.v_rules = sum(1 for e in found.edges if e[2] - e[0] < 0.01 and e[3] - e[1] >= RULE_MIN_LENGTH)
    if page_area > 0:
        found.image_coverage = min(image_area / page_area, 1.0)
    return found


@dataclass
class Budget:
    """Pathological pages (maps, charts of 100,000 segments) are only looked at this far."""

    objects: int = 20_000
    segments: int = 30_000


def _path_edges(path_obj, to_page: Matrix, frame: Affine, found: PageObjects, budget: Budget) -> None:
    """Axis-parallel straight segments of a path (rules, rectangles, grids) as page edges."""
    count = pdfium_c.FPDFPath_CountSegments(path_obj)
    if count <= 0 or budget.segments <= 0:
        return
    count = min(count, budget.segments)
    budget.segments -= count
    a, b, c, d, e, f = to_page
    ta, tb, tc, td, te, tf = frame
    x, y = ctypes.c_float(), ctypes.c_float()
    prev: tuple[float, float] | None = None
    start: tuple[float, float] | None = None
    for s in range(count):
        seg = pdfium_c.FPDFPath_GetPathSegment(path_obj, s)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, x, y):
            continue
        px, py = a * x.value + c * y.value + e, b * x.value + d * y.value + f
        point = (ta * px + tb * py + te, tc * px + td * py + tf)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            start = point
        elif kind == pdfium_c.FPDF_SEGMENT_LINETO and prev is not None:
            _add_edge(prev, point, found)
        if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
            _add_edge(point, start, found)
        prev = point


def _add_edge(p: tuple[float, float], q: tuple[float, float], found: PageObjects) -> None:
    dx, dy = abs(p[0] - q[0]), abs(p[1] - q[1])
    if dy <= 0.5 and dx >= 1.0:
        y = (p[1] + q[1]) / 2
        found.edges.append((min(p[0], q[0]), y, max(p[0], q[0]), y))
    elif dx <= 0.5 and dy >= 1.0:
        x = (p[0] + q[0]) / 2
        found.edges.append((x, min(p[1], q[1]), x, max(p[1], q[1])))
