"""Sentences and clauses of a normalised block text.

Sentences end at 。！？；(and their ASCII forms after NFKC); a PDF line break starts a new
sentence only where the next line begins with a list marker (1、 / (一) / 一、 / • …), since
ordinary visual lines of a paragraph are wrapped mid-sentence. Inside a sentence, *clauses* are
the comma/colon pieces and *segments* the pieces between contrastive joints (，但 / ，而 /
，然而 / ，不过 / ，却 …) where a cue stops applying to the other side.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from .normalize import NormText

_END = re.compile(r"[。!?;]+[\"'”’」』)\]]*")
# After NFKC: （一）→ (一), ①→1, full-width digits → ASCII.
# "99.5%" or "12.5万元" at the start of a wrapped line is a number, not the list marker "99.".
_LIST = re.compile(r"(?:\d{1,2}[、.)](?!\d+\s*(?:%|‰|倍|个百分点|[万亿]?元))|\(\s*[一二三四五六七八九十\d]{1,3}\s*\)|[一二三四五六七八九十]{1,3}[、.]|[•·●▪■◆◇○√□☑-])")
# A list marker opening a normalised sentence ("9.", "(三)", "●"), with what follows it.
LIST_MARKER = re.compile(r"(?:\d{1,3}[、.)](?!\d)|\([一二三四五六七八九十\d]{1,3}\)|[一二三四五六七八九十]{1,3}[、.]|[•·●▪■◆◇○√□☑★☆▶►➢➤-])")
_CLAUSE = re.compile(r"[,:]")
_CONTRAST = re.compile(r",(?=但是|但|而且|而|然而|不过|却|可是|只是)")


@dataclass(frozen=True)
class Sentence:
    start: int  # normalised coordinates
    end: int
    clause_bounds: tuple[int, ...]  # starts of clauses (first = start)
    segment_bounds: tuple[int, ...]

    def clause(self, pos: int) -> tuple[int, int]:
        bounds = self.clause_bounds
        i = bisect_right(bounds, pos) - 1
        if i < 0:
            i = 0
        return bounds[i], bounds[i + 1] if i + 1 < len(bounds) else self.end

    def segment(self, pos: int) -> tuple[int, int]:
        bounds = self.segment_bounds
        i = bisect_right(bounds, pos) - 1
        if i < 0:
            i = 0
        return bounds[i], bounds[i + 1] if i + 1 < len(bounds) else self.end


def sentences(nt: NormText) -> list[Sentence]:
    text = nt.text
    cuts = {0, len(text)}
    for m in _END.finditer(text):
        cuts.add(m.end())
    for i, gap in nt.gaps.items():
        if 0 < i < len(text) and ("\n" in gap or "\r" in gap) and _LIST.match(text, i):
            cuts.add(i)
    ordered = sorted(cuts)
    out: list[Sentence] = []
    for lo, hi in zip(ordered, ordered[1:]):
        if hi <= lo:
            continue
        piece = text[lo:hi]
        clauses = [lo] + [lo + m.end() for m in _CLAUSE.finditer(piece) if lo + m.end() < hi]
        segments = [lo] + [lo + m.start() + 1 for m in _CONTRAST.finditer(piece)]
        out.append(Sentence(lo, hi, tuple(clauses), tuple(segments)))
    return out


def sentence_index(starts: list[int], pos: int) -> int:
    """Index of the sentence holding ``pos``, given the sentences' start offsets."""
    return max(bisect_right(starts, pos) - 1, 0)
