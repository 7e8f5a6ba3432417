"""From OCR lines (boxes in pixels) to Blocks (text with line boxes in PDF points).

The engine returns one box per detected text run. Evidence needs sentences, and tables need their
rows, so runs are put back together the way a reader sees them:

* runs inside a **ruled table** (found on the image by :mod:`xdt_rules.ocr.grid`) are split at the
  rules by character position and become ``table_cell`` blocks of that grid;
* runs whose vertical extents overlap form a visual **row**; inside a row, runs separated by a
  wide gap (> ``CELL_GAP`` × line height) are separate **cells**, narrower gaps are word spacing;
* two or more consecutive multi-cell rows (no rules) are a **table**: each cell becomes a ``table_cell``
  block with ``table``/``row``/``col`` (columns aligned on the row with most cells), exactly like
  the table cells ingestion finds in text PDFs, so the matcher reads a system-list screenshot row
  (| MES系统 | 鼎捷 | 2022年6月 | 已上线 |) with the same row context;
* a lone multi-cell row (a form line such as 甲方…  乙方…) is one ``ocr_line`` block;
* single-cell rows are joined into **paragraphs** with "\\n" between visual lines (as ingestion
  does for text PDFs): a line continues the paragraph when the previous line runs to the right
  margin, the gap is line spacing, the heights match and the line starts at the body margin.
  A short line in larger type, numbered (一、 （二） 3.1) or centred, is a ``heading``;
* on document pages, a first line set off in the top band is the running ``header`` and a last
  line set off in the bottom band (or a page number) the ``footer``, as ingestion marks them.

Two-column page layouts are read row by row (as a table); scanned 申报书 pages are single-column.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ..models import BBox, Block, BlockKind, LineSpan
from .engine import OcrLine
from .grid import GridTable

# Bump when the blocks made from the same engine lines change (document caches key on it via
# xdt_rules.ocr.ocr_fingerprint()).
LAYOUT_VERSION = 3

CELL_GAP = 1.2  # × line height: a wider horizontal gap separates table cells / form fields
SPACE_GAP = 0.8  # × line height: a narrower gap inside a row is glued, a wider one gets a space
ROW_OVERLAP = 0.5  # share of the smaller height two runs must overlap vertically to share a row
PARA_GAP = 0.9  # × line height: a larger vertical gap ends a paragraph
FULL_LINE_SLACK = 2.0  # × line height: a line ending this close to the right margin is "full"
INDENT = 1.0  # × line height: a line starting further right than this is a new paragraph
HEADING_SCALE = 1.3  # × median line height: larger single lines are headings
HEADING_MAX_CHARS = 40
HEAD_BAND = 0.09  # share of the page height at the top/bottom where running heads live
HEAD_GAP = 1.2  # × line height: the gap that sets a running head off from the body
ALIGN_TOL = 0.4  # × line height: cells of two table rows line up within this distance
CELL_SEPARATOR = "  "  # between the cells of a lone multi-cell row (ocr_line)

# Numbering that opens a heading or a list item: 第三章 一、 （二） 1.2␣ 3、 4.␣ — but not a
# number that merely starts a wrapped line ("2.5万平方米", "23%").
_NUMBERED = re.compile(
    r"^\s*(第[一二三四五六七八九十百]+[章节部分条]|[一二三四五六七八九十]+[、．]|"
    r"[（(][一二三四五六七八九十\d]+[）)]|\d+(\.\d+)+\s+\S|\d+[、．]\s*\S|\d+\.\s+\S)"
)


@dataclass
class _Run:
    text: str
    confidence: float
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)


class _RunBox:
    """The bounding box of a group of runs (a cell, a row)."""

    runs: list[_Run]

    @property
    def x0(self) -> float:
        return min(r.x0 for r in self.runs)

    @property
    def x1(self) -> float:
        return max(r.x1 for r in self.runs)

    @property
    def top(self) -> float:
        return min(r.top for r in self.runs)

    @property
    def bottom(self) -> float:
        return max(r.bottom for r in self.runs)


@dataclass
class _Cell(_RunBox):
    runs: list[_Run]
    text: str = ""


@dataclass
class _Row(_RunBox):
    runs: list[_Run]
    cells: list[_Cell] = field(default_factory=list)

    @property
    def height(self) -> float:
        return statistics.median(r.height for r in self.runs)


@dataclass
class PageGeometry:
    """How image pixels map to the page's points (top-left origin on both).

    Layout runs on the upright image; ``rotation`` (counter-clockwise degrees, PIL's convention)
    and the original ``width``/``height`` in pixels map its boxes back onto the page as stored,
    so report crops draw on the page the reviewer sees.
    """

    scale_x: float
    scale_y: float
    rotation: int = 0
    width: float = 0.0
    height: float = 0.0

    def bbox(self, x0: float, top: float, x1: float, bottom: float) -> BBox:
        w, h = self.width, self.height
        if self.rotation == 90:  # upright (u, v) ← original (w - v, u)
            x0, top, x1, bottom = w - bottom, x0, w - top, x1
        elif self.rotation == 180:
            x0, top, x1, bottom = w - x1, h - bottom, w - x0, h - top
        elif self.rotation == 270:  # upright (u, v) ← original (v, h - u)
            x0, top, x1, bottom = top, h - x1, bottom, h - x0
        return BBox(
            x0=round(x0 * self.scale_x, 2),
            top=round(top * self.scale_y, 2),
            x1=round(x1 * self.scale_x, 2),
            bottom=round(bottom * self.scale_y, 2),
        )



def _join(left: str, right: str, gap: float, height: float) -> str:
    if not left:
        return right
    # Latin words split into two runs keep their space; CJK runs are glued unless far apart.
    latin_pair = left[-1].isascii() and left[-1].isalnum() and right[:1].isascii() and right[:1].isalnum()
    sep = " " if (gap > SPACE_GAP * height or latin_pair) else ""
    return left + sep + right


def _rows(lines: list[OcrLine]) -> list[_Row]:
    runs = [_Run(ln.text, ln.confidence, *ln.box) for ln in lines if ln.text.strip()]
    runs.sort(key=lambda r: ((r.top + r.bottom) / 2, r.x0))
    rows: list[_Row] = []
    for run in runs:
        # A run joins the row only if it shares the line with every run already there: comparing
        # with the row's growing extent would chain a tall title and the two small lines beside it.
        if rows and all(
            min(other.bottom, run.bottom) - max(other.top, run.top) >= ROW_OVERLAP * min(other.height, run.height)
            for other in rows[-1].runs
        ):
            rows[-1].runs.append(run)
            continue
        rows.append(_Row([run]))
    for row in rows:
        row.runs.sort(key=lambda r: r.x0)
        height = row.height
        cells: list[_Cell] = []
        for run in row.runs:
            if cells and run.x0 - cells[-1].x1 <= CELL_GAP * height:
                cell = cells[-1]
                cell.text = _join(cell.text, run.text, run.x0 - cell.x1, height)
                cell.runs.append(run)
            else:
                cells.append(_Cell([run], run.text))
        row.cells = cells
    return rows


def _confidence(runs: list[_Run]) -> float:
    chars = sum(len(r.text) for r in runs) or 1
    return round(sum(r.confidence * len(r.text) for r in runs) / chars, 4)


def _aligned_cells(a: _Row, b: _Row) -> int:
    """How many cells of ``b`` line up with a cell of ``a`` (left edge, right edge or centre)."""
    tol = ALIGN_TOL * max(a.height, b.height)
    count = 0
    for cell in b.cells:
        for other in a.cells:
            if (abs(cell.x0 - other.x0) <= tol or abs(cell.x1 - other.x1) <= tol
                    or abs((cell.x0 + cell.x1) - (other.x0 + other.x1)) / 2 <= tol):
                count += 1
                break
    return count


def _table_runs(rows: list[_Row]) -> list[tuple[int, int]]:
    """[start, end) ranges of rows that form tables: ≥ 2 multi-cell rows whose columns line up
    (≥ 2 aligned cells with the previous multi-cell row), allowing a single-cell continuation row
    (a wrapped cell) sandwiched between them. A title bar with a right-aligned note above a
    table does not line up with its columns and stays out."""
    multi = [len(r.cells) >= 2 for r in rows]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(rows):
        if not multi[i]:
            i += 1
            continue
        j = i + 1
        last_multi = i
        while j < len(rows):
            gap = rows[j].top - rows[j - 1].bottom
            if gap > 1.5 * max(rows[j].height, rows[j - 1].height):
                break
            if multi[j] and _aligned_cells(rows[last_multi], rows[j]) >= 2:
                last_multi = j
                j += 1
            elif (not multi[j] and j + 1 < len(rows) and multi[j + 1]
                  and _aligned_cells(rows[last_multi], rows[j + 1]) >= 2):
                j += 1  # continuation row inside the table
            else:
                break
        if sum(multi[i:j]) >= 2:
            spans.append((i, j))
        i = j
    return spans


def _table_blocks(rows: list[_Row], table: int, page: int | None, geo: PageGeometry) -> list[Block]:
    anchor = max(rows, key=lambda r: len(r.cells)).cells
    blocks: list[Block] = []
    for row_no, row in enumerate(rows):
        previous = -1
        for cell in row.cells:
            overlaps = [min(cell.x1, a.x1) - max(cell.x0, a.x0) for a in anchor]
            best = max(range(len(anchor)), key=lambda k: overlaps[k])
            if overlaps[best] <= 0:  # no overlap: nearest anchor by centre
                centre = (cell.x0 + cell.x1) / 2
                best = min(range(len(anchor)), key=lambda k: abs((anchor[k].x0 + anchor[k].x1) / 2 - centre))
            col = max(best, previous + 1)
            previous = col
            box = geo.bbox(cell.x0, cell.top, cell.x1, cell.bottom)
            blocks.append(
                Block(
                    index=0,
                    kind="table_cell",
                    text=cell.text,
                    page=page,
                    table=table,
                    row=row_no,
                    col=col,
                    bbox=box,
                    lines=[LineSpan(start=0, end=len(cell.text), bbox=box)],
                    source="ocr",
                    ocr_confidence=_confidence(cell.runs),
                )
            )
    return blocks


def _lone_row_block(row: _Row, page: int | None, geo: PageGeometry) -> Block:
    text = ""
    spans: list[LineSpan] = []
    for cell in row.cells:
        if text:
            text += CELL_SEPARATOR
        start = len(text)
        text += cell.text
        spans.append(LineSpan(start=start, end=len(text), bbox=geo.bbox(cell.x0, cell.top, cell.x1, cell.bottom)))
    return Block(
        index=0,
        kind="ocr_line",
        text=text,
        page=page,
        bbox=geo.bbox(row.x0, row.top, row.x1, row.bottom),
        lines=spans,
        source="ocr",
        ocr_confidence=_confidence(row.runs),
    )


@dataclass
class _Margins:
    """The body text column of a page: where full lines start and end, and the usual line height."""

    left: float
    right: float
    line_height: float

    @classmethod
    def of(cls, rows: list[_Row]) -> _Margins:
        single = [r for r in rows if len(r.cells) == 1] or rows
        height = statistics.median(r.height for r in rows)
        # The right margin is the furthest line end that another line also reaches: one overlong
        # line (a URL, a stamp read as text) does not move it.
        x1s = sorted((r.x1 for r in single), reverse=True)
        right = next((x for x in x1s if sum(1 for v in x1s if v >= x - height) >= 2), x1s[0])
        # Full lines are first lines (indented) and continuation lines (at the margin): the margin
        # is where the leftmost of them starts.
        full = [r.x0 for r in single if r.x1 >= right - FULL_LINE_SLACK * r.height]
        left = min(full) if full else min(r.x0 for r in single)
        return cls(left=left, right=right, line_height=height)


def _is_heading(row: _Row, text: str, m: _Margins) -> bool:
    """A single short line that is larger, numbered, or centred (titles), but not right-aligned
    (signatures and dates) and not running to the right margin (body text)."""
    if len(text) > HEADING_MAX_CHARS or row.x1 >= m.right - FULL_LINE_SLACK * row.height:
        return False
    if row.x0 - m.left > m.right - row.x1 + 4 * row.height:
        return False  # right-aligned: 盖章 lines, dates, signatures
    bigger = row.height >= HEADING_SCALE * m.line_height
    numbered = bool(_NUMBERED.match(text))
    indent = row.x0 - m.left
    centred = indent >= 1.5 * row.height and abs(indent - (m.right - row.x1)) <= 1.5 * row.height
    return bigger or numbered or (centred and (len(text) <= 20 or row.height >= 1.1 * m.line_height))


def _paragraph_blocks(rows: list[_Row], page: int | None, geo: PageGeometry,
                      m: _Margins) -> list[tuple[float, Block]]:
    """Paragraph/heading blocks, each with its top in upright pixels (the reading-order key)."""
    groups: list[list[_Row]] = []
    for row in rows:
        if groups:
            group = groups[-1]
            last = group[-1]
            h = max(last.height, row.height)
            continues = (
                row.top - last.bottom < PARA_GAP * h
                and max(last.height, row.height) / min(last.height, row.height) < 1.35
                and last.x1 >= m.right - FULL_LINE_SLACK * h
                # continuation lines go back to the body margin; an indented line opens a paragraph
                and row.x0 <= min(m.left, min(r.x0 for r in group)) + INDENT * h
                and not _NUMBERED.match(row.cells[0].text)  # a numbered line opens a new block
                and not (len(group) == 1 and _is_heading(last, last.cells[0].text, m))
            )
            if continues:
                group.append(row)
                continue
        groups.append([row])

    blocks: list[tuple[float, Block]] = []
    for group in groups:
        text = ""
        spans: list[LineSpan] = []
        for row in group:
            if text:
                text += "\n"
            start = len(text)
            text += row.cells[0].text
            spans.append(LineSpan(start=start, end=len(text), bbox=geo.bbox(row.x0, row.top, row.x1, row.bottom)))
        kind: BlockKind = "heading" if len(group) == 1 and _is_heading(group[0], text, m) else "paragraph"
        runs = [r for row in group for r in row.runs]
        blocks.append((group[0].top, Block(
            index=0,
            kind=kind,
            text=text,
            page=page,
            bbox=geo.bbox(min(r.x0 for r in group), group[0].top, max(r.x1 for r in group), group[-1].bottom),
            lines=spans,
            source="ocr",
            ocr_confidence=_confidence(runs),
        )))
    return blocks


_PAGE_NUMBER = re.compile(r"^\s*(第\s*\d+\s*页.*|[-—–]\s*\d+\s*[-—–]|\d+\s*/\s*\d+|\d+)\s*$")


def _running_heads(rows: list[_Row], page_height: float) -> tuple[set[int], set[int]]:
    """Rows of the running header (top band, set off by a gap) and footer (bottom band, set off
    by a gap, or a page number), as ingestion marks them on text pages."""
    headers: set[int] = set()
    footers: set[int] = set()
    if len(rows) < 2:
        return headers, footers
    first, second = rows[0], rows[1]
    if first.bottom <= HEAD_BAND * page_height and second.top - first.bottom >= HEAD_GAP * first.height:
        headers.add(0)
    last, before = rows[-1], rows[-2]
    text = " ".join(c.text for c in last.cells)
    in_band = last.top >= (1 - HEAD_BAND) * page_height
    if in_band and (last.top - before.bottom >= HEAD_GAP * last.height or _PAGE_NUMBER.match(text)):
        footers.add(len(rows) - 1)
    return headers, footers


def _grid_blocks(lines: list[OcrLine], grids: list[GridTable], page: int | None,
                 geo: PageGeometry) -> tuple[list[OcrLine], list[tuple[float, list[Block]]]]:
    """Lines inside ruled tables become cell text (split at the rules by character position);
    the other lines are returned for the row/paragraph layout."""
    outside: list[OcrLine] = []
    pieces: dict[int, dict[tuple[int, int], list[_Run]]] = {}
    for line in lines:
        x0, top, x1, bottom = line.box
        cy = (top + bottom) / 2
        grid_no = next((i for i, g in enumerate(grids) if g.contains((x0 + x1) / 2, cy)), None)
        if grid_no is None:
            outside.append(line)
            continue
        grid = grids[grid_no]
        cells = pieces.setdefault(grid_no, {})
        visible = [i for i, c in enumerate(line.text) if not c.isspace()]
        if line.char_x is None or len(line.char_x) != len(visible):
            cell = grid.cell_at((x0 + x1) / 2, cy)
            if cell is not None:
                cells.setdefault((cell.row, cell.col), []).append(_Run(line.text, line.confidence, *line.box))
            continue
        # Consecutive characters in the same cell form one piece (text sliced, spaces kept).
        current: tuple[int, int] | None = None
        start = end = 0
        px0 = px1 = 0.0
        for k, (cx0, cx1) in zip(visible, line.char_x):
            cell = grid.cell_at((cx0 + cx1) / 2, cy)
            where = (cell.row, cell.col) if cell else None
            if where != current:
                if current is not None:
                    cells.setdefault(current, []).append(
                        _Run(line.text[start:end].strip(), line.confidence, px0, top, px1, bottom))
                current, start, px0 = where, k, cx0
            end, px1 = k + 1, cx1
        if current is not None:
            cells.setdefault(current, []).append(
                _Run(line.text[start:end].strip(), line.confidence, px0, top, px1, bottom))

    units: list[tuple[float, list[Block]]] = []
    for grid_no, cells in pieces.items():
        blocks: list[Block] = []
        for (row, col), runs in sorted(cells.items()):
            runs = [r for r in runs if r.text]
            if not runs:
                continue
            visual = _rows([OcrLine(text=r.text, confidence=r.confidence, box=(r.x0, r.top, r.x1, r.bottom))
                            for r in runs])
            text = ""
            spans: list[LineSpan] = []
            for vrow in visual:
                if text:
                    text += "\n"
                start = len(text)
                joined = ""
                previous: _Run | None = None
                for run in vrow.runs:
                    joined = _join(joined, run.text, run.x0 - previous.x1 if previous else 0.0, vrow.height)
                    previous = run
                text += joined
                spans.append(LineSpan(start=start, end=len(text), bbox=geo.bbox(vrow.x0, vrow.top, vrow.x1, vrow.bottom)))
            blocks.append(
                Block(
                    index=0,
                    kind="table_cell",
                    text=text,
                    page=page,
                    table=grid_no,
                    row=row,
                    col=col,
                    bbox=geo.bbox(min(r.x0 for r in runs), min(r.top for r in runs),
                                  max(r.x1 for r in runs), max(r.bottom for r in runs)),
                    lines=spans,
                    source="ocr",
                    ocr_confidence=_confidence(runs),
                )
            )
        if blocks:
            units.append((grids[grid_no].top, blocks))
    return outside, units


def lines_to_blocks(lines: list[OcrLine], *, page: int | None, geometry: PageGeometry,
                    first_table: int = 0, grids: list[GridTable] | None = None,
                    page_height: float | None = None) -> tuple[list[Block], int]:
    """Blocks in reading order (index 0 — the caller re-indexes) and the next free table ordinal.

    ``grids`` are the ruled tables found on the image (:func:`xdt_rules.ocr.grid.find_tables`).
    ``page_height`` (upright pixels) turns on running header/footer detection: give it for
    document pages, not for screenshots or photos.
    """
    units: list[tuple[float, list[Block]]] = []
    if grids:
        lines, units = _grid_blocks(lines, grids, page, geometry)
    # Tables are numbered after layout, in reading order; until then -1-k marks the k-th one.
    units = [(top, [b.model_copy(update={"table": -1 - (b.table or 0)}) for b in blocks]) for top, blocks in units]
    gap_tables = len(grids or [])

    rows = _rows(lines)
    if rows and page_height:
        headers, footers = _running_heads(rows, page_height)
        for i in sorted(headers | footers):
            block = _lone_row_block(rows[i], page, geometry)
            units.append((rows[i].top, [block.model_copy(update={"kind": "header" if i in headers else "footer"})]))
        rows = [row for i, row in enumerate(rows) if i not in headers and i not in footers]
    if rows:
        margins = _Margins.of(rows)
        pending: list[_Row] = []  # consecutive single-cell rows, to be grouped into paragraphs

        def flush() -> None:
            if pending:
                for top, block in _paragraph_blocks(pending, page, geometry, margins):
                    units.append((top, [block]))
                pending.clear()

        spans = dict(_table_runs(rows))
        i = 0
        while i < len(rows):
            if i in spans:
                flush()
                table_rows = rows[i:spans[i]]
                blocks = _table_blocks(table_rows, -1 - gap_tables, page, geometry)
                gap_tables += 1
                units.append((table_rows[0].top, blocks))
                i = spans[i]
                continue
            row = rows[i]
            if len(row.cells) >= 2:
                flush()
                units.append((row.top, [_lone_row_block(row, page, geometry)]))
            else:
                pending.append(row)
            i += 1
        flush()

    units.sort(key=lambda unit: unit[0])
    numbering: dict[int, int] = {}
    out: list[Block] = []
    for _top, blocks in units:
        for block in blocks:
            if block.table is not None:
                if block.table not in numbering:
                    numbering[block.table] = first_table + len(numbering)
                block = block.model_copy(update={"table": numbering[block.table]})
            out.append(block)
    return out, first_table + len(numbering)


def plain_text(lines: list[OcrLine]) -> str:
    """The OCR lines as plain text in visual order: rows top to bottom, runs left to right.

    No table or paragraph structure: what character accuracy is measured on (the reference text
    of a rendered page is in the same order).
    """
    return "\n".join(" ".join(run.text for run in row.runs) for row in _rows(lines))
