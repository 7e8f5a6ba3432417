"""Tables on PDF pages: pdfplumber's table finder on pdfium's ruling lines; pdfium's
characters fill the cells.

Only pages whose drawing objects show enough ruling lines (``PageObjects.may_hold_table``) are
looked at. pdfplumber's own ``find_tables`` would re-parse the page with pdfminer (~30× slower
than pdfium), so its table algorithm — snap and join edges, intersections, cells, tables; the
same functions with the same default tolerances — runs on the straight segments pdfium already
read. The cell boxes then claim the characters whose centres fall inside; those characters
leave the paragraph text, so nothing is emitted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .pdf_page import Box, VisualLine


@dataclass
class CellGeom:
    row: int
    col: int
    box: Box
    lines: list[VisualLine] = field(default_factory=list)


@dataclass
class TableGeom:
    box: Box
    cells: list[CellGeom]

    @property
    def top(self) -> float:
        return self.box[1]


def find_tables_from_edges(edges: list[Box]) -> list[TableGeom]:
    """Ruled tables from straight segments (x0, top, x1, bottom) with pdfplumber's algorithm."""
    from pdfplumber import table as pt
    from pdfplumber.utils import filter_edges

    settings = pt.TableSettings.resolve(None)
    objects = []
    for x0, top, x1, bottom in edges:
        horizontal = bottom - top < 0.01
        objects.append({"x0": x0, "x1": x1, "top": top, "bottom": bottom, "width": x1 - x0, "height": bottom - top,
                        "orientation": "h" if horizontal else "v", "object_type": "line"})
    merged = pt.merge_edges(filter_edges(objects, min_length=settings.edge_min_length_prefilter),
                            settings.snap_x_tolerance, settings.snap_y_tolerance,
                            settings.join_x_tolerance, settings.join_y_tolerance)
    merged = filter_edges(merged, min_length=settings.edge_min_length)
    intersections = pt.edges_to_intersections(merged, settings.intersection_x_tolerance,
                                              settings.intersection_y_tolerance)
    cells = pt.intersections_to_cells(intersections)
    return _geometries([pt.Table(None, group) for group in pt.cells_to_tables(cells)])  # type: ignore[arg-type]


def find_tables(plumber_page, dx: float = 0.0, dy: float = 0.0) -> list[TableGeom]:
    """Ruled tables of a pdfplumber page (full pdfminer parse), shifted by (dx, dy) into pdfium's
    frame. Slower; kept as the reference the edge-based finder is tested against."""
    return _geometries(plumber_page.find_tables(), dx, dy)


def _geometries(found, dx: float = 0.0, dy: float = 0.0) -> list[TableGeom]:
    tables: list[TableGeom] = []
    for table in found:
        cells: list[CellGeom] = []
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                if cell is None:  # covered by a merged cell that was already listed
                    continue
                x0, top, x1, bottom = cell
                cells.append(CellGeom(r, c, (x0 + dx, top + dy, x1 + dx, bottom + dy)))
        # A frame of one row or one column (a page border with a rule, a boxed note) is not a
        # table: its text stays paragraphs.
        if len({c.row for c in cells}) >= 2 and len({c.col for c in cells}) >= 2:
            x0, top, x1, bottom = table.bbox
            tables.append(TableGeom((x0 + dx, top + dy, x1 + dx, bottom + dy), cells))
    tables.sort(key=lambda t: (t.box[1], t.box[0]))
    return tables


def _overlaps(a: Box, b: Box, slack: float = 1.0) -> bool:
    return a[0] < b[2] + slack and b[0] < a[2] + slack and a[1] < b[3] + slack and b[1] < a[3] + slack


def _cell_of(box: Box, tables: list[TableGeom]) -> CellGeom | None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for table in tables:
        tx0, ttop, tx1, tbottom = table.box
        if not (tx0 <= cx <= tx1 and ttop <= cy <= tbottom):
            continue
        for cell in table.cells:
            x0, top, x1, bottom = cell.box
            if x0 <= cx <= x1 and top <= cy <= bottom:
                return cell
    return None


def split_by_tables(lines: list[VisualLine], tables: list[TableGeom]) -> list[VisualLine]:
    """Move characters inside table cells into the cells; return the lines left outside."""
    outside: list[VisualLine] = []
    for line in lines:
        if not any(_overlaps(line.bbox, t.box) for t in tables):
            outside.append(line)
            continue
        owner: list[CellGeom | None] = []
        last: CellGeom | None = None
        for box in line.boxes:
            if box is not None:
                last = _cell_of(box, tables)
            owner.append(last)  # whitespace goes with the character before it
        start = 0
        for k in range(1, len(owner) + 1):
            if k == len(owner) or owner[k] is not owner[start]:
                _emit_run(line, start, k, owner[start], outside)
                start = k
    return outside


def _emit_run(line: VisualLine, start: int, end: int, cell: CellGeom | None, outside: list[VisualLine]) -> None:
    chars, boxes = line.chars[start:end], line.boxes[start:end]
    while chars and boxes[0] is None:
        chars, boxes = chars[1:], boxes[1:]
    while chars and boxes[-1] is None:
        chars, boxes = chars[:-1], boxes[:-1]
    if not chars:
        return
    run = VisualLine(list(chars), list(boxes), line.size, 0)
    if cell is None:
        outside.append(run)
    else:
        cell.lines.append(run)
