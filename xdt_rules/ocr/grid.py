"""Ruled tables on a page image: the grid of horizontal and vertical rules, as cells.

The text detector happily reads one line across a table rule ("2019年6月 采购、销售 已上线"), and
a cell whose text wraps looks like a new row. A scanned system list is the most valuable evidence
in a package, so ruled tables are found from the rules themselves: long thin dark strokes are
isolated by morphological opening (OpenCV, which the [ocr] extra brings), rules that touch form a
table, horizontal rules give the row bands, and the vertical rules crossing a band split it into
cells (so merged cells stay merged). OCR characters are then assigned to cells by position.

Only real grids count: at least two row bands and a band with two cells. A decorative frame
around a certificate (one cell) is not a table; a three-line table (no vertical rules) is left
to the gap-based layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

H_RULE_MIN = 4.0  # × text height: shortest horizontal rule (longer than a dash "——")
V_RULE_MIN = 1.3  # × text height: shortest vertical rule (longer than any glyph stroke)
RULE_MAX_THICKNESS = 0.5  # × text height
JOIN_TOL = 0.35  # × text height: rules this close count as touching
CROSS_SHARE = 0.6  # a vertical rule must cover this share of a band to split it
MIN_BAND = 0.8  # × text height: thinner bands (double rules) are not rows


@dataclass
class GridCell:
    row: int
    col: int
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass
class GridTable:
    x0: float
    top: float
    x1: float
    bottom: float
    cells: list[GridCell] = field(default_factory=list)

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.top <= y <= self.bottom

    def cell_at(self, x: float, y: float) -> GridCell | None:
        for cell in self.cells:
            if cell.x0 <= x <= cell.x1 and cell.top <= y <= cell.bottom:
                return cell
        # On a rule or in a rounding gap: the nearest cell of the band holding y.
        band = [c for c in self.cells if c.top <= y <= c.bottom]
        if not band:
            return None
        return min(band, key=lambda c: min(abs(x - c.x0), abs(x - c.x1)))


@dataclass
class _Seg:
    x0: float
    y0: float
    x1: float
    y1: float
    horizontal: bool


def _segments(dark: Any, text_h: float) -> list[_Seg]:
    import cv2

    segs: list[_Seg] = []
    thick = max(2.0, RULE_MAX_THICKNESS * text_h)
    for horizontal in (True, False):
        length = int(max(8, (H_RULE_MIN if horizontal else V_RULE_MIN) * text_h))
        bridge = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1) if horizontal else (1, 5))
        closed = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, bridge)  # mend scanner dropouts in a rule
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
        opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, kernel)
        count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(opened, connectivity=8)
        for i in range(1, count):
            x, y, w, h = (float(v) for v in stats[i][:4])
            # A slightly skewed rule is a thin diagonal staircase: its box is long and flat.
            if horizontal and w >= length and h <= thick + w * 0.02:
                segs.append(_Seg(x, y, x + w, y + h, True))
            elif not horizontal and h >= length and w <= thick + h * 0.02:
                segs.append(_Seg(x, y, x + w, y + h, False))
    return segs


def _touch(a: _Seg, b: _Seg, tol: float) -> bool:
    return (a.x0 - tol <= b.x1 and b.x0 - tol <= a.x1 and a.y0 - tol <= b.y1 and b.y0 - tol <= a.y1)


def _clusters(segs: list[_Seg], tol: float) -> list[list[_Seg]]:
    parent = list(range(len(segs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(segs):
        for j in range(i + 1, len(segs)):
            if a.horizontal != segs[j].horizontal and _touch(a, segs[j], tol):
                parent[find(i)] = find(j)
    groups: dict[int, list[_Seg]] = {}
    for i, seg in enumerate(segs):
        groups.setdefault(find(i), []).append(seg)
    return list(groups.values())


def _levels(values: list[float], tol: float) -> list[float]:
    """Merge positions closer than ``tol`` (both edges of one thick rule) into one level."""
    levels: list[list[float]] = []
    for v in sorted(values):
        if levels and v - levels[-1][-1] <= tol:
            levels[-1].append(v)
        else:
            levels.append([v])
    return [sum(group) / len(group) for group in levels]


def _table(group: list[_Seg], text_h: float) -> GridTable | None:
    hs = [s for s in group if s.horizontal]
    vs = [s for s in group if not s.horizontal]
    if len(hs) < 2 or not vs:
        return None
    tol = JOIN_TOL * text_h
    x0 = min(s.x0 for s in group)
    x1 = max(s.x1 for s in group)
    rows_y = _levels([(s.y0 + s.y1) / 2 for s in hs], tol)
    cols_x = _levels([x0, x1] + [(s.x0 + s.x1) / 2 for s in vs], tol)
    table = GridTable(x0=x0, top=rows_y[0], x1=x1, bottom=rows_y[-1])
    row = 0
    widest = 0
    for top, bottom in zip(rows_y, rows_y[1:]):
        if bottom - top < MIN_BAND * text_h:
            continue
        crossing = [(s.x0 + s.x1) / 2 for s in vs
                    if min(s.y1, bottom) - max(s.y0, top) >= CROSS_SHARE * (bottom - top)]
        # Rules along the table's outer edge are the edges themselves.
        edges = _levels([x0, x1] + [x for x in crossing if x0 + tol < x < x1 - tol], tol)
        cells = []
        for left, right in zip(edges, edges[1:]):
            col = min(range(len(cols_x)), key=lambda k: abs(cols_x[k] - left))
            cells.append(GridCell(row=row, col=col, x0=left, top=top, x1=right, bottom=bottom))
        table.cells.extend(cells)
        widest = max(widest, len(cells))
        row += 1
    if row < 2 or widest < 2:
        return None
    return table


def find_tables(image: Any, text_height: float) -> list[GridTable]:
    """Ruled tables on a grayscale PIL image, top to bottom. [] when OpenCV is missing."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        return []
    if text_height <= 0:
        return []
    gray = np.asarray(image.convert("L"))
    # Otsu separates ink from paper on tinted scans; the cap keeps grey header shading (which Otsu
    # may count as ink) from swallowing the rules that border it.
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _thr, dark = cv2.threshold(gray, min(float(otsu), 160.0), 255, cv2.THRESH_BINARY_INV)
    segs = _segments(dark, text_height)
    if len(segs) < 3:
        return []
    tables = [t for g in _clusters(segs, JOIN_TOL * text_height) if (t := _table(g, text_height))]
    tables.sort(key=lambda t: (t.top, t.x0))
    return tables
