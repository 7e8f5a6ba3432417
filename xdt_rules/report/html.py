"""The per-application HTML report: one self-contained Chinese file (inline CSS, JS and images).

Everything from the documents is escaped by Jinja2's autoescape; highlights are built here as
plain-text segments so the template escapes each part and every ``<mark>`` lands on exactly its
evidence's characters (``data-start``/``data-end`` carry the block offsets; ``data-spans`` each
match's own when overlapping matches share one mark). An item's matches in one sentence are shown
together in that sentence, once (a table cell with its whole row); a PDF's line wraps are taken
out of what is shown, never out of the offsets. Each passage says where it stands in terms a
reviewer can find: page, heading path and paragraph, table row and column, sheet and cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from ..catalogue import Catalogue
from ..evidence.reading import ACTOR_ZH, MODE_ZH, REASON_ZH
from ..models import ApplicationResult, Block, Document, EvidenceRef, ItemResult, Reading
from .crops import Crop, CropLimits, CropRenderer, CropStore

if TYPE_CHECKING:
    from ..framework import Framework

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONTEXT_CHARS = 90  # characters of the sentence shown on each side of a match
MAX_PASSAGES_SHOWN = 10  # per item; the JSON has them all

STATUS_ZH = {"met": "已具备", "partial": "证据较弱", "planned": "仅有规划", "negated": "明确未具备", "not_found": "未找到"}
POLARITY_ZH = {"implemented": "已实施", "planned": "规划", "negated": "否定", "generic": "泛泛/他方",
               "restates_criteria": "照抄评价内容"}
POLARITY_RANK = {p: i for i, p in enumerate(POLARITY_ZH)}  # strongest first, as the scorer sorts them
KIND_ZH = {"term": "关键词", "entity": "厂商产品", "quantity": "量化数据", "fuzzy": "模糊匹配", "cue": "提示语",
           "model": "按描述识别"}


@dataclass
class Segment:
    """A piece of a passage: ``text[lo:hi]`` of the passage text, a mark when ``ev`` is set.

    A mark covers one match, or several that overlap (a pattern and the keywords inside it):
    ``members`` are all of them, ``ev`` the first, ``start``/``end`` their union in block offsets,
    and ``keywords`` the stretches (passage positions) that a keyword or product name matched."""

    text: str
    ev: EvidenceRef | None = None
    title: str = ""
    lo: int = 0
    hi: int = 0
    members: list[EvidenceRef] = field(default_factory=list)
    start: int = 0
    end: int = 0
    keywords: list[tuple[int, int]] = field(default_factory=list)


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def unwrap(text: str, lo: int, hi: int) -> str:
    """``text[lo:hi]`` with its PDF line wraps taken out: a wrap between two Latin letters or
    digits was a space (U8 Cloud), anywhere else nothing (Chinese runs on)."""
    lo, hi = max(0, lo), min(hi, len(text))
    piece = text[lo:hi]
    if "\n" not in piece:
        return piece
    out = []
    for i in range(lo, hi):
        ch = text[i]
        if ch == "\n":
            before, after = text[i - 1] if i > 0 else "", text[i + 1] if i + 1 < len(text) else ""
            out.append(" " if _latin(before) and _latin(after) else "")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class PassageView:
    """One sentence (or table row) of a document with all of an item's matches in it marked."""

    where: str
    segments: list[Segment]
    evidence: list[EvidenceRef]
    polarities: list[tuple[str, str]]
    kinds: list[str]
    ocr: bool
    row: bool
    cut_before: bool = False
    cut_after: bool = False
    inexact: list[str] = field(default_factory=list)
    crop: Crop | None = None
    readings: list[str] = field(default_factory=list)
    text: str = ""
    soft_breaks: bool = False
    block_label: str = ""
    crop_note: str = ""
    also: list[str] = field(default_factory=list)  # other places in the file with the same words and marks
    also_evidence: list[EvidenceRef] = field(default_factory=list)

    def _shown(self, lo: int, hi: int) -> str:
        return unwrap(self.text, lo, hi) if self.soft_breaks else self.text[lo:hi]

    @property
    def quote(self) -> Markup:
        """The passage as HTML: every piece of document text escaped, each match in a ``<mark>``
        carrying its block offsets (``data-spans``: each match's own, when a mark holds several).
        PDF line wraps are taken out of what is shown; the offsets stay those of the block.
        Built here rather than in the template: it is the report's innermost loop, and Jinja's
        per-attribute lookups made it the most expensive part."""
        parts = ["…"] if self.cut_before else []
        for seg in self.segments:
            if seg.ev is None:
                parts.append(escape(self._shown(seg.lo, seg.hi)))
                continue
            spans = " ".join(f"{m.start}-{m.end}" for m in seg.members)
            parts.append(f'<mark class="p-{escape(seg.ev.polarity)}" title="{escape(seg.title)}" '
                         f'data-start="{seg.start}" data-end="{seg.end}" data-spans="{spans}">')
            cursor = seg.lo
            for a, b in seg.keywords:
                if a > cursor:
                    parts.append(escape(self._shown(cursor, a)))
                parts.append(f'<span class="kw">{escape(self._shown(a, b))}</span>')
                cursor = b
            if seg.hi > cursor:
                parts.append(escape(self._shown(cursor, seg.hi)))
            parts.append("</mark>")
        if self.cut_after:
            parts.append("…")
        return Markup("".join(parts))


@dataclass
class ItemView:
    result: ItemResult
    status_zh: str
    rules: list[tuple[str, str]]
    evidence_html: Markup = field(default_factory=Markup)


class TableRows:
    """Table rows of the documents, so a table-cell match is shown with its whole row."""

    def __init__(self, documents: Sequence[Document]):
        cells: dict[tuple[str, int, int], list[Block]] = {}
        self._row_of: dict[tuple[str, int], tuple[str, int, int]] = {}
        for doc in documents:
            for block in doc.blocks:
                if block.table is not None and block.row is not None and block.kind == "table_cell":
                    key = (doc.name, block.table, block.row)
                    cells.setdefault(key, []).append(block)
                    self._row_of[(doc.name, block.index)] = key
        self._rows: dict[tuple[str, int, int], tuple[str, dict[int, int]]] = {}
        for key, blocks in cells.items():
            blocks.sort(key=lambda b: (b.col if b.col is not None else 0, b.index))
            parts, offsets, pos = [], {}, 0
            for b in blocks:
                offsets[b.index] = pos
                parts.append(b.text)
                pos += len(b.text) + len(ROW_SEPARATOR)
            self._rows[key] = (ROW_SEPARATOR.join(parts), offsets)

    def row(self, file: str, block: int) -> tuple[tuple[str, int, int], str, int] | None:
        """(row key, row text, offset of the block's text in it), or None when the block is no table cell."""
        key = self._row_of.get((file, block))
        if key is None:
            return None
        text, offsets = self._rows[key]
        return key, text, offsets[block]


ROW_SEPARATOR = " │ "


def _label(ev: EvidenceRef, row: bool = False) -> str:
    """Where in its file: 第 5 页 / 标题路径 · 第 2 段 / 表 2 第 3 行第 2 列 / 工作表“设备” · C5; a passage
    shown as its table row is located by the row (表 2 第 3 行)."""
    location = ev.location
    label = location.label if location is not None else ""
    if row and location is not None and location.table is not None and location.column is not None:
        label = label.replace(f"第 {location.row} 行第 {location.column} 列", f"第 {location.row} 行")
    if not label:  # a result without locations (written by an older version)
        label = f"第 {ev.page} 页" if ev.page is not None else f"文本块 {ev.block}"
    return label


def _where(ev: EvidenceRef, row: bool = False) -> str:
    return f"{ev.file} · {_label(ev, row)}"


def reading_text(reading: Reading | None) -> str:
    """How a sentence was read, for a reviewer: "本企业 · 规划（规划章节：“下一步”）"."""
    if reading is None:
        return ""
    why = REASON_ZH.get(reading.reason, reading.reason)
    if reading.words:
        why += f"：“{reading.words.replace(chr(10), '')}”"  # words from a PDF may hold its line wraps
    return f"{ACTOR_ZH.get(reading.actor, reading.actor)} · {MODE_ZH.get(reading.mode, reading.mode)}（{why}）"


def _title(ev: EvidenceRef) -> str:
    bits = [KIND_ZH.get(ev.kind or "", ev.kind or ""), POLARITY_ZH.get(ev.polarity, ev.polarity), reading_text(ev.reading)]
    if ev.term and ev.term != ev.matched:
        bits.append(f"规范词：{ev.term}")
    return " · ".join(b for b in bits if b)


def _place(ev: EvidenceRef, text: str, shift: int) -> tuple[int, bool]:
    """Where ev.matched starts in ``text`` (block offset ``ev.start`` moved by ``shift``); exact or found."""
    pos = ev.start + shift
    if 0 <= pos and text[pos:pos + len(ev.matched)] == ev.matched and ev.end - ev.start == len(ev.matched):
        return pos, True
    return text.find(ev.matched) if ev.matched else -1, False


def passages(evidence: Sequence[EvidenceRef], rows: TableRows | None = None,
             context: int = CONTEXT_CHARS) -> list[PassageView]:
    """Group an item's evidence by sentence (table cells by row), each passage shown once."""
    return passage_views(evidence, rows, context)[0]


# Kinds whose match is a keyword or a product name as written: inside a merged mark they are set
# off, so the reviewer still sees which words matched within a pattern's span.
_KEYWORD_KINDS = ("term", "entity", "fuzzy")


def _marks(placed: list[tuple[int, EvidenceRef, bool]]) -> list[tuple[int, int, list[EvidenceRef]]]:
    """Overlapping matches merged: (passage start, passage end, the matches), in passage order.

    Each passage is shown once: overlapping matches used to get copies of the sentence of their own
    (one sentence three times under one item)."""
    merged: list[tuple[int, int, list[EvidenceRef]]] = []
    for pos, ev, _ in sorted(placed, key=lambda p: (p[0], -len(p[1].matched))):
        end = pos + len(ev.matched)
        if merged and pos < merged[-1][1]:
            lo, hi, members = merged[-1]
            merged[-1] = (lo, max(hi, end), members + [ev])
        else:
            merged.append((pos, end, [ev]))
    return merged


def _keyword_stretches(lo: int, hi: int, members: list[tuple[int, EvidenceRef]]) -> list[tuple[int, int]]:
    """Where keywords matched inside a mark of several matches (merged where they touch)."""
    if len(members) < 2:
        return []
    spans = sorted((pos, pos + len(ev.matched)) for pos, ev in members if ev.kind in _KEYWORD_KINDS)
    if not spans or spans == [(lo, hi)]:
        return []
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class _Group(NamedTuple):
    """An item's matches in one sentence or row, placed in its text."""

    members: list[tuple[EvidenceRef, str, int, bool]]
    text: str
    row: bool
    placed: list[tuple[int, EvidenceRef, bool]]
    lost: list[str]


def passage_views(evidence: Sequence[EvidenceRef], rows: TableRows | None = None, context: int = CONTEXT_CHARS,
                  limit: int | None = None) -> tuple[list[PassageView], int]:
    """The first ``limit`` passages (all when None) and how many there are in all. Passages past
    the limit are only counted: an item can have a hundred, and the report shows ten."""
    groups: dict[tuple, list[tuple[EvidenceRef, str, int, bool]]] = {}
    for ev in evidence:
        row = rows.row(ev.file, ev.block) if rows is not None else None
        if row is not None:
            key, text, offset = row
            if _place(ev, text, offset)[1]:
                groups.setdefault(("row",) + key, []).append((ev, text, offset, True))
                continue
        sentence_shift = -(ev.sentence_start or 0)
        groups.setdefault((ev.file, ev.block, ev.sentence_start, ev.text), []).append(
            (ev, ev.text, sentence_shift, False))
    # The same words with the same marks in two places of a file (a heading in the table of
    # contents and in the body, a sentence repeated) are shown once, with both places.
    shown: dict[tuple, list[_Group]] = {}
    for members in groups.values():
        text, is_row = members[0][1], members[0][3]
        placed: list[tuple[int, EvidenceRef, bool]] = []
        lost: list[str] = []
        for ev, _, shift, _ in members:
            pos, exact = _place(ev, text, shift)
            if pos < 0:
                lost.append(ev.matched)
            else:
                placed.append((pos, ev, exact))
        group = _Group(members, text, is_row, placed, lost)
        key = (members[0][0].file, text, tuple(sorted((pos, ev.matched, ev.polarity) for pos, ev, _ in placed)))
        shown.setdefault(key if placed else (id(group),), []).append(group)
    views: list[PassageView] = []
    for same in shown.values():
        if limit is not None and len(views) >= limit:
            break
        members, text, is_row, placed, lost = same[0]
        position = {id(ev): pos for pos, ev, _ in placed}
        marks = _marks(placed)
        first = marks[0][0] if marks else 0
        last = marks[-1][1] if marks else min(len(text), 2 * context)
        b0, a1 = max(0, first - context), min(len(text), last + context)
        segments: list[Segment] = []
        cursor = b0
        for lo, hi, covered in marks:
            if lo > cursor:
                segments.append(Segment(text[cursor:lo], lo=cursor, hi=lo))
            strongest = min(covered, key=lambda e: POLARITY_RANK.get(e.polarity, 9))
            segments.append(Segment(
                text[lo:hi], strongest, "；".join(dict.fromkeys(_title(e) for e in covered)), lo=lo, hi=hi,
                members=covered, start=min(e.start for e in covered), end=max(e.end for e in covered),
                keywords=_keyword_stretches(lo, hi, [(position[id(e)], e) for e in covered])))
            cursor = hi
        if a1 > cursor:
            segments.append(Segment(text[cursor:a1], lo=cursor, hi=a1))
        evs = [ev for _, ev, _ in placed] or [m[0] for m in members]
        polarities = sorted(dict.fromkeys(ev.polarity for ev in evs), key=lambda p: POLARITY_RANK.get(p, 9))
        kinds = list(dict.fromkeys(KIND_ZH.get(ev.kind or "", ev.kind or "") for ev in evs))
        views.append(PassageView(
            where=_where(evs[0], is_row), segments=segments, evidence=evs,
            polarities=[(p, POLARITY_ZH.get(p, p)) for p in polarities], kinds=[k for k in kinds if k],
            ocr=any(ev.ocr for ev in evs), row=is_row, cut_before=b0 > 0, cut_after=a1 < len(text),
            readings=list(dict.fromkeys(r for r in map(lambda ev: reading_text(ev.reading), evs) if r)),
            inexact=[ev.matched for _, ev, exact in placed if not exact] + lost, text=text,
            soft_breaks=any(ev.page is not None or ev.ocr for ev in evs), block_label=f"文本块 {evs[0].block}",
            also=[_label(g.members[0][0], g.row) for g in same[1:]],
            also_evidence=[m[0] for g in same[1:] for m in g.members]))
    return views, len(shown)


def evidence_sections(result: ApplicationResult, documents: Sequence[Document] = (),
                      crops: CropRenderer | None = None) -> list[str]:
    """Each item's evidence as HTML (passages, marks, crops), in the result's item order.

    This is the bulk of a report and depends only on the items' evidence and the documents, not
    on the rules' verdicts, so the batch caches it (:class:`SectionCache`). Crops go to passages
    read by OCR first, then to the strongest (evidence is sorted implemented-first), a few per
    item, in item order until the report's cap.
    """
    rows = TableRows(documents) if documents else None
    template = _templates()[1]
    sections = []
    for item in result.items:
        shown, total = passage_views(item.evidence, rows, limit=MAX_PASSAGES_SHOWN)
        seen = {id(ev) for p in shown for ev in p.evidence + p.also_evidence}
        made = 0
        # text read by OCR is what most needs its picture beside it: its passages come first
        for passage in sorted(shown, key=lambda p: not p.ocr):
            if crops is None or made >= crops.limits.per_item:
                break
            if passage.polarities[0][0] in ("implemented", "planned", "negated"):
                passage.crop = crops.crop(passage.evidence)
                made += passage.crop is not None
                if passage.crop is not None:
                    passage.crop_note = crops.note(passage.evidence[0])
        sections.append(template.render(passages=shown, more_passages=total - len(shown),
                                        more_evidence=sum(1 for ev in item.evidence if id(ev) not in seen)))
    return sections


def _tree(catalogue: Catalogue, items: dict[str, ItemView]) -> list[dict]:
    tree = []
    for element in catalogue.spec.elements:
        sections = []
        for section in element.sections:
            sections.append({"id": section.id, "name": section.name,
                             "items": [items[i.id] for i in section.items if i.id in items]})
        tree.append({"id": element.id, "name": element.name, "holistic": element.holistic, "weight": element.weight,
                     "sections": sections})
    return tree


@lru_cache(maxsize=1)
def _templates() -> tuple[Template, Template]:
    """The report and evidence-section templates, compiled once per process (compiling took
    longer than rendering)."""
    env = _environment()
    return env.get_template("report.html.j2"), env.get_template("evidence.html.j2")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pts"] = lambda x: f"{x:.2f}".rstrip("0").rstrip(".") if x else "0"
    env.filters["pct"] = lambda part, whole: 0 if not whole else max(0.0, min(100.0, 100.0 * part / whole))
    return env


def render_report(result: ApplicationResult, framework: Framework, documents: Sequence[Document] = (), *,
                  crops: bool = True, password: str | None = None, limits: CropLimits | None = None,
                  crop_cache: CropStore | None = None) -> str:
    """The HTML report of a result: crops drawn from ``documents`` (PDFs only) when asked,
    through ``crop_cache`` when given (a re-score then renders no page)."""
    renderer = (CropRenderer(documents, password=password, limits=limits or CropLimits(), cache=crop_cache)
                if crops and documents else None)
    try:
        sections = evidence_sections(result, documents, renderer)
    finally:
        if renderer is not None:
            renderer.close()
    catalogue = framework.catalogue
    rule_names = framework.rule_names
    views = [ItemView(result=item, status_zh=STATUS_ZH.get(item.status, item.status),
                      rules=[(k, rule_names.get(k, "")) for k in item.rules_fired], evidence_html=Markup(html))
             for item, html in zip(result.items, sections)]
    by_id = {v.result.id: v for v in views}
    counts = {status: sum(1 for i in result.items if i.status == status) for status in STATUS_ZH}
    confirm = sum(1 for i in result.items if i.needs_confirmation)
    elements = [(e, catalogue.element_max(e.id)) for e in result.elements]
    return _templates()[0].render(result=result, tree=_tree(catalogue, by_id), items=views, counts=counts,
                                  confirm=confirm, elements=elements, status_zh=STATUS_ZH,
                                  framework_name=catalogue.spec.name)
