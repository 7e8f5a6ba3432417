"""Is a sentence a near copy of the official criteria text?

Applicants often paste an item's 评价内容 back ("采用计算机辅助设计（CAD）等技术，实现产品数字化
设计。") as if it were an answer. Such a sentence is not evidence of anything. A sentence counts
as a copy when, ignoring punctuation and spaces, rapidfuzz's partial_ratio against one official
sentence (item texts, section and element descriptions) reaches the threshold and the two have
comparable lengths (a short statement that merely reuses an official noun phrase is not a copy).
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from ..catalogue import Catalogue
from .keywords import RestateSpec

_KEEP = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_SPLIT = re.compile(r"[。；;]")


def squash(text: str) -> str:
    """Lower-case letters, digits and CJK only (input already normalised)."""
    return _KEEP.sub("", text.casefold())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


class Restater:
    def __init__(self, catalogue: Catalogue, spec: RestateSpec):
        self.spec = spec
        texts: list[tuple[str, str]] = []
        for item in catalogue.items:
            texts.append((item.id, item.text))
        for element in catalogue.spec.elements:
            if element.description:
                texts.append((element.id, element.description))
            for section in element.sections:
                if section.description:
                    texts.append((section.id, section.description))
        self.corpus: list[tuple[str, str, set[str]]] = []
        for source_id, text in texts:
            pieces = [text, *_SPLIT.split(text)]
            for piece in dict.fromkeys(squash(p) for p in pieces):
                if len(piece) >= spec.min_chars:
                    self.corpus.append((source_id, piece, _bigrams(piece)))
        self._cache: dict[str, str | None] = {}

    def source_of(self, sentence: str) -> str | None:
        """The catalogue ID whose text the (normalised) sentence copies, or None."""
        s = squash(sentence)
        if s in self._cache:
            return self._cache[s]
        found = None
        if len(s) >= self.spec.min_chars:
            grams = _bigrams(s)
            best = 0.0
            for source_id, text, text_grams in self.corpus:
                shorter, longer = (len(s), len(text)) if len(s) <= len(text) else (len(text), len(s))
                if shorter / longer < self.spec.min_coverage:
                    continue
                if len(grams & text_grams) < 0.5 * min(len(grams), len(text_grams)):
                    continue
                score = fuzz.partial_ratio(s, text)
                if score >= self.spec.threshold and score > best:
                    best, found = score, source_id
        self._cache[s] = found
        return found
