"""Visual lines → paragraph groups → headings / list items / paragraphs, and running heads.

The rules follow how Chinese reports are typeset: a paragraph starts with a two-character
first-line indent, ends on a short line, and is separated from the next by more than the line
pitch; headings are set larger or carry an outline number (一、（一）1.1). Vertical writing
(columns right to left) is handled by turning each column into a virtual horizontal line.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ..models import BBox, BlockKind, LineSpan
from .pdf_page import Box, VisualLine
from .structure import HEADING_MAX_CHARS, SENTENCE_END, is_list_item, is_numbered_heading

# Font sizes differing by more than this share start a new block.
SIZE_CHANGE = 0.12
# Lines set this much larger than the body text are headings (when short).
HEADING_SIZE_RATIO = 1.15
HEADING_MAX_LINES = 3
# A vertical distance between line tops above this many pitches separates paragraphs.
PARAGRAPH_GAP_PITCHES = 1.45
# First-line indent: at least this many character widths right of the text's left edge.
INDENT_CHARS = 1.2
# A line ending this many character widths before the right edge ends its paragraph.
SHORT_LINE_CHARS = 2.0
# Running heads/feet live in the top/bottom share of the page.
MARGIN_ZONE = 0.09
# "申报单位（盖章）：" — a short label and a colon opening a line.
FIELD_LABEL = re.compile(r"^[^，。；：:,.;！？!?\s]{1,12}[：:]")
PAGE_NUMBER = re.compile(
    r"^[\s\-–—_·•]*"
    r"(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|[Pp]age\s*\d+(?:\s*of\s*\d+)?|\d{1,4})"
    r"[\s\-–—_·•]*$"
)


@dataclass
class Group:
    """Consecutive lines that form one block."""

    lines: list[VisualLine] = field(default_factory=list)
    kind: BlockKind = "paragraph"

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def spans(self) -> tuple[str, list[LineSpan], BBox | None]:
        """The block text ("\\n" between visual lines) with one LineSpan per line."""
        parts: list[str] = []
        spans: list[LineSpan] = []
        offset = 0
        for k, line in enumerate(self.lines):
            if k:
                parts.append("\n")
                offset += 1
            text = line.text
            parts.append(text)
            x0, top, x1, bottom = line.bbox
            spans.append(LineSpan(start=offset, end=offset + len(text),
                                  bbox=BBox(x0=round(x0, 2), top=round(top, 2), x1=round(x1, 2), bottom=round(bottom, 2))))
            offset += len(text)
        bbox = None
        if spans:
            bbox = BBox(x0=min(s.bbox.x0 for s in spans), top=min(s.bbox.top for s in spans),
                        x1=max(s.bbox.x1 for s in spans), bottom=max(s.bbox.bottom for s in spans))
        return "".join(parts), spans, bbox

    @property
    def top(self) -> float:
        return min(line.bbox[1] for line in self.lines)

    @property
    def bottom(self) -> float:
        return max(line.bbox[3] for line in self.lines)


def _is_vertical(line: VisualLine) -> bool:
    x0, top, x1, bottom = line.bbox
    return len(line.chars) >= 2 and (bottom - top) > 2 * (x1 - x0)


def _frame(line: VisualLine, vertical: bool, page_width: float, right_to_left: bool = True) -> Box:
    """The line's box in a frame where text runs left→right and lines go top→bottom."""
    x0, top, x1, bottom = line.bbox
    if vertical:  # columns (usually right to left): the column's leading edge is its "top"
        if right_to_left:
            return (top, page_width - x1, bottom, page_width - x0)
        return (top, x0, bottom, x1)
    return (x0, top, x1, bottom)


@dataclass
class _Stats:
    body_size: float
    pitch: float
    left: list[float]   # per line: left edge of the column it belongs to
    right: list[float]  # per line: right edge of that column
    vertical: bool = False


def _columns(frames: list[Box], body: float) -> tuple[list[float], list[float]]:
    """Cluster lines by their left edge (a column, or a centred title) and measure each cluster.

    A first-line indent (two characters) stays inside its column's cluster; a second column of
    a two-column page starts its own.
    """
    order = sorted(range(len(frames)), key=lambda k: frames[k][0])
    cluster_of = [0] * len(frames)
    clusters: list[list[int]] = []
    start = None
    for k in order:
        if start is None or frames[k][0] > start + 4 * body:
            clusters.append([])
            start = frames[k][0]
        clusters[-1].append(k)
        cluster_of[k] = len(clusters) - 1
    edges = []
    for members in clusters:
        lefts = sorted(frames[k][0] for k in members)
        rights = sorted(frames[k][2] for k in members)
        edges.append((lefts[len(lefts) // 5], rights[min(len(rights) - 1, (len(rights) * 9) // 10)]))
    return [edges[c][0] for c in cluster_of], [edges[c][1] for c in cluster_of]


def _page_stats(frames: list[Box], lines: list[VisualLine], page_height: float) -> _Stats:
    # Running heads and feet are set small; they must not decide the body size of a short page.
    inner = [line for line in lines
             if MARGIN_ZONE * page_height < line.bbox[1] and line.bbox[3] < (1 - MARGIN_ZONE) * page_height] or lines
    weighted = [line.size for line in inner for _ in range(min(len(line.chars), 200)) if line.size > 0]
    body = statistics.median(weighted) if weighted else 10.0
    body_frames = [f for f, line in zip(frames, lines) if abs(line.size - body) <= SIZE_CHANGE * body] or frames
    pitches = []
    for a, b in zip(body_frames, body_frames[1:]):
        d = b[1] - a[1]
        if 0.5 * body < d < 3 * body:
            pitches.append(d)
    pitch = statistics.median(pitches) if pitches else body * 1.5
    left, right = _columns(frames, body)
    return _Stats(body, pitch, left, right)


def group_lines(lines: list[VisualLine], page_width: float, page_height: float) -> list[Group]:
    """Split a page's lines (reading order) into blocks and give each its kind."""
    if not lines:
        return []
    vertical = sum(_is_vertical(line) for line in lines) * 2 > len(lines)
    right_to_left = True
    if vertical:
        steps = [b.bbox[0] - a.bbox[0] for a, b in zip(lines, lines[1:])]
        right_to_left = not steps or statistics.median(steps) <= 0
    frames = [_frame(line, vertical, page_width, right_to_left) for line in lines]
    stats = _page_stats(frames, lines, page_height)
    stats.vertical = vertical
    groups: list[Group] = []
    current = Group()
    for k, line in enumerate(lines):
        if k and _breaks(k, lines, frames, stats, current):
            groups.append(current)
            current = Group()
        current.lines.append(line)
    groups.append(current)
    for group in groups:
        group.kind = _kind(group, stats)
    return groups


def _breaks(k: int, lines: list[VisualLine], frames: list[Box], s: _Stats, current: Group) -> bool:
    prev, line = lines[k - 1], lines[k]
    pf, f = frames[k - 1], frames[k]
    size = line.size or s.body_size
    if prev.size and line.size and abs(prev.size - line.size) > SIZE_CHANGE * max(prev.size, line.size):
        return True
    advance = f[1] - pf[1]
    if advance < -0.5 * size:  # went back up: another column or a floating element
        return True
    if advance > PARAGRAPH_GAP_PITCHES * max(s.pitch, size * 1.1):
        return True
    if s.left[k] != s.left[k - 1]:  # another column / alignment
        return True
    indented = line.lead_ws >= 2 or f[0] > s.left[k] + INDENT_CHARS * size
    # A hanging indent (a wrapped list item) continues its item; any other indent opens a paragraph.
    hanging = is_list_item(current.lines[0].text) and f[0] > frames[k - len(current.lines)][0] + 0.5 * size
    if indented and not hanging:
        return True
    room = s.right[k - 1] - pf[2]
    # A short line ends its paragraph, unless the next line's first word would not have fitted
    # (a long Latin word or number wrapped as a whole).
    if room > SHORT_LINE_CHARS * size and room > _first_word_width(line, vertical=s.vertical) + 0.5 * size:
        return True
    # The previous line is full: a number or label at the start of this line may just be where
    # the text wrapped ("…达到\n1.8万个…"), unless the previous line closed a sentence.
    closed = prev.text.rstrip()[-1:] in SENTENCE_END
    text = line.text
    if closed and (is_numbered_heading(text) or is_list_item(text)):
        return True
    if is_numbered_heading(prev.text) and len(current.lines) == 1:
        return True
    # Form fields on a cover page ("申报单位：…", "所属行业：…"), one under the other.
    if FIELD_LABEL.match(text) and FIELD_LABEL.match(prev.text):
        return True
    return False


def _first_word_width(line: VisualLine, vertical: bool) -> float:
    axis = (1, 3) if vertical else (0, 2)
    first = line.boxes[0] if line.boxes else None
    if first is None:
        return 0.0
    if ord(line.chars[0]) >= 0x2E80:  # CJK: a line can break before any character
        return first[axis[1]] - first[axis[0]]
    end = first[axis[1]]
    for ch, box in zip(line.chars, line.boxes):
        if box is None or ord(ch) >= 0x2E80:
            break
        end = box[axis[1]]
    return end - first[axis[0]]


def _kind(group: Group, s: _Stats) -> BlockKind:
    text = group.text.strip()
    size = max(line.size for line in group.lines)
    if (size >= HEADING_SIZE_RATIO * s.body_size and len(group.lines) <= HEADING_MAX_LINES
            and len(text) <= 2 * HEADING_MAX_CHARS):
        return "heading"
    if len(group.lines) == 1 and is_numbered_heading(text):
        return "heading"
    if is_list_item(text):
        return "list_item"
    return "paragraph"


def running_key(group: Group) -> str:
    """Digits normalised, so '第 3 页' and '第 4 页' are one running foot."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", group.text))


def margin_position(group: Group, page_height: float) -> str | None:
    if len(group.lines) > 2 or page_height <= 0:
        return None
    if group.bottom <= MARGIN_ZONE * page_height:
        return "header"
    if group.top >= (1 - MARGIN_ZONE) * page_height:
        return "footer"
    return None


def is_page_number(text: str) -> bool:
    return bool(PAGE_NUMBER.match(text.strip()))
