"""Polarity of a mention from its clause, sentence, table row and section.

The cue lists are data (``keywords/_context.yaml``); this module only applies them:

1. a sentence that nearly copies the criteria text → ``restates_criteria``;
2. headings, page headers and footers → ``generic`` (a title states nothing);
3. cues in the mention's comma clause: a ``generic`` cue (企业应, 行业普遍, 供应商已…) wins;
   otherwise the cue nearest to the mention (ties: negated > planned > implemented).
   A plain implemented verb right after a plan/negation marker belongs to it
   (计划**建成**, 尚未**部署**) and is dropped; explicit 已… forms never are
   ("2022年计划建设的WMS**已于**2023年上线" is implemented);
4. no cue in the clause → the same over the sentence segment (up to ，但/，而…);
5. table cells → the other cells of the same row and the column headers
   (| MES系统 | 鼎捷 | 2022年6月 | 已上线 |);
6. still nothing → under a heading such as 下一步计划 the statement is a plan, otherwise a
   plain statement of fact → ``implemented``.
Cue words inside any matched term are ignored (企业资源**计划**, **无线**网络).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from ..catalogue import Catalogue
from .keywords import KeywordSet
from .normalize import normalize_key
from .restate import Restater
from .segment import Sentence

PRIORITY = {"negated": 0, "planned": 1, "generic": 2, "implemented": 3}
ABSORB_GAP = 8  # chars between a plan/negation marker and the verb it governs


@dataclass(frozen=True)
class Cue:
    start: int  # normalised coordinates of the block text
    end: int
    kind: str
    text: str


@dataclass(frozen=True)
class Decision:
    polarity: str
    cue: str | None


class ContextRules:
    def __init__(self, keywords: KeywordSet, catalogue: Catalogue):
        spec = keywords.context
        self.spec = spec
        self.automaton = ahocorasick.Automaton()
        for kind in ("implemented", "planned", "negated", "generic", "pseudo"):
            for cue in getattr(spec, kind):
                key = normalize_key(cue)
                self.automaton.add_word(key, (key, kind))
        self.automaton.make_automaton()
        self.regexes = [(kind, re.compile(p)) for kind, patterns in spec.regex.items() for p in patterns]
        self.heading_planned = [normalize_key(h) for h in spec.heading_planned]
        self.negated_cells = {normalize_key(c) for c in spec.table_negated_cells}
        self.restater = Restater(catalogue, spec.restate)

    # ------------------------------------------------------------------ cue scanning
    def cues(self, text: str, lo: int, hi: int, masks: list[tuple[int, int]]) -> list[Cue]:
        """Cues in ``text[lo:hi]`` (leftmost-longest, pseudo cues and masked spans removed)."""
        piece = text[lo:hi]
        found: list[tuple[int, int, str, str]] = []
        for end_idx, (key, kind) in self.automaton.iter(piece):
            found.append((end_idx - len(key) + 1, end_idx + 1, kind, key))
        found.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        out: list[Cue] = []
        last_end = -1
        for start, end, kind, key in found:
            if start < last_end:
                continue
            last_end = end
            if kind != "pseudo":
                out.append(Cue(lo + start, lo + end, kind, key))
        for kind, rx in self.regexes:
            for m in rx.finditer(piece):
                if m.end() > m.start():
                    out.append(Cue(lo + m.start(), lo + m.end(), kind, m.group()))
        if masks:
            out = [c for c in out if not any(c.start < b and a < c.end for a, b in masks)]
        out.sort(key=lambda c: (c.start, c.end))
        return out

    # ------------------------------------------------------------------ decisions
    @staticmethod
    def _absorb(cues: list[Cue]) -> list[Cue]:
        """Drop implemented verbs governed by a preceding plan/negation marker (计划建成, 未部署)."""
        kept: list[Cue] = []
        marker: Cue | None = None
        for cue in cues:
            if cue.kind in ("planned", "negated"):
                marker = cue
            elif cue.kind == "implemented":
                explicit = cue.text.startswith("已") or cue.text.startswith("现已") or cue.text.startswith("目前已")
                if marker is not None and not explicit and 0 <= cue.start - marker.end <= ABSORB_GAP:
                    continue
                marker = None
            kept.append(cue)
        return kept

    @staticmethod
    def _nearest(cues: list[Cue], start: int, end: int) -> Cue | None:
        best: tuple[int, int] | None = None
        chosen = None
        for cue in cues:
            if cue.end <= start:
                dist = start - cue.end
            elif cue.start >= end:
                dist = cue.start - end
            else:
                continue
            rank = (dist, PRIORITY[cue.kind])
            if best is None or rank < best:
                best, chosen = rank, cue
        return chosen

    def decide_in(self, cues: list[Cue], lo: int, hi: int, start: int, end: int) -> Decision | None:
        scope = self._absorb([c for c in cues if lo <= c.start and c.end <= hi])
        generic = [c for c in scope if c.kind == "generic"]
        if generic:
            return Decision("generic", generic[0].text)
        cue = self._nearest([c for c in scope if c.kind != "generic"], start, end)
        return Decision(cue.kind, cue.text) if cue else None

    def decide(self, sentence: Sentence, cues: list[Cue], start: int, end: int) -> Decision | None:
        """Polarity from the clause, then the sentence segment; None when no cue applies."""
        lo, hi = sentence.clause(start)
        decision = self.decide_in(cues, lo, hi, start, end)
        if decision is None:
            lo, hi = sentence.segment(start)
            decision = self.decide_in(cues, lo, hi, start, end)
        return decision

    def cell_polarity(self, text: str) -> Decision | None:
        """What one table cell says on its own (已上线 / 规划中 / 否)."""
        if text in self.negated_cells:
            return Decision("negated", text)
        cues = self._absorb(self.cues(text, 0, len(text), []))
        for kind in ("planned", "negated", "implemented"):
            for cue in cues:
                if cue.kind == kind:
                    return Decision(kind, cue.text)
        return None

    def row_polarity(self, cells: list[str], headers: list[str]) -> Decision | None:
        """A table row's polarity from its other cells and their column headers."""
        found: dict[str, str] = {}
        for text in cells:
            decision = self.cell_polarity(text)
            if decision:
                found.setdefault(decision.polarity, decision.cue or "")
        for text in headers:
            decision = self.cell_polarity(text)
            if decision and decision.polarity == "planned":
                found.setdefault("planned", f"表头：{decision.cue}")
        for kind in ("implemented", "planned", "negated"):
            if kind in found:
                return Decision(kind, f"同行：{found[kind]}" if not found[kind].startswith("表头") else found[kind])
        return None

    def heading_is_plan(self, heading: str | None) -> str | None:
        if not heading:
            return None
        for cue in self.heading_planned:
            if cue in heading:
                return cue
        return None
