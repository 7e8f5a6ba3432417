"""Is a sentence a near copy of the official criteria text?

Applicants often paste an item's 评价内容 back ("采用计算机辅助设计（CAD）等技术，实现产品数字化
设计。") as if it were an answer. Such a sentence is not evidence of anything. A sentence counts
as a copy when, ignoring punctuation and spaces, rapidfuzz's partial_ratio against one official
sentence (item texts, section and element descriptions) reaches the threshold — checked for the
whole sentence and for the mention's comma clause (parrots paste clauses into longer sentences) —
and the sentence adds nothing specific: no vendor product, no number and no Latin name that the
official text does not already have. "公司采用供应链管理系统（SCM），实现…五流合一" is a copy;
"2021年上线用友U8，实现人、财、物管理" is not, however official its wording.

Consultants also write in the criteria's category language without pasting it: "公司高度重视研发设计环节的
数字化，积极采用计算机辅助设计（CAD）、计算机辅助工程（CAE）等先进技术，实现…". A sentence with such a
phrase (``restate.boilerplate``) that names no product and holds no figure, date or quoted name restates
the criteria as well.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from ..catalogue import Catalogue
from .keywords import RestateSpec
from .normalize import normalize_key

_KEEP = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_DIGITS = re.compile(r"\d+")
_LATIN = re.compile(r"[a-z]{2,}")
_SPLIT = re.compile(r"[。；;]")
# what makes a sentence in the criteria's category language a statement after all: a figure with its unit
# (86台, 2023年, 15%) or a quoted name (“感田云”)
_SPECIFIC = re.compile(r"\d+(?:\.\d+)?(?:%|个|台|套|家|人|名|项|万|亿|元|年|月|日|天|条|款|次|吨|倍|小时|分钟)|[“\"《「]")


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
        fillers = sorted({squash(normalize_key(w)) for w in spec.fillers} - {""}, key=len, reverse=True)
        self.fillers = re.compile("|".join(re.escape(w) for w in fillers)) if fillers else None
        # (source id, squashed text, its bigrams, normalised text — keeps "OA、ERP" apart for the specifics check)
        self.corpus: list[tuple[str, str, set[str], str]] = []
        for source_id, text in texts:
            for piece in dict.fromkeys([text, *_SPLIT.split(text)]):
                squashed = self._core(normalize_key(piece))
                if len(squashed) >= spec.min_chars:
                    self.corpus.append((source_id, squashed, _bigrams(squashed), normalize_key(piece)))
        self.union: set[str] = set().union(*(grams for _, _, grams, _ in self.corpus))
        self.boilerplate = [re.compile(p) for p in spec.boilerplate]
        self._cache: dict[str, tuple[str, str] | None] = {}
        self._copied: dict[tuple[str, ...], str | None] = {}

    def _core(self, text: str) -> str:
        """Squashed text without the filler words parrots add or drop ("公司积极推动…", "实现…")."""
        squashed = squash(text)
        return self.fillers.sub("", squashed) if self.fillers else squashed

    def match(self, sentence: str) -> tuple[str, str] | None:
        """(catalogue ID, official text) that the normalised text nearly copies, or None."""
        s = self._core(sentence)
        if s in self._cache:
            return self._cache[s]
        found = None
        grams = _bigrams(s) if len(s) >= self.spec.min_chars else set()
        # most sentences share little official wording at all: one intersection rules them out
        if grams and len(grams & self.union) >= 0.5 * len(grams):
            best = 0.0
            for source_id, text, text_grams, official in self.corpus:
                if len(s) > len(text) and len(text) / len(s) < self.spec.min_coverage:
                    continue  # the official text is only a small part of a longer statement
                shared = len(grams & text_grams)
                if shared < 0.5 * min(len(grams), len(text_grams)):
                    continue
                score = fuzz.partial_ratio(s, text)
                if len(s) <= len(text):
                    # pasted with words cut out ("在产业链内开展网络化协作，对接融入大企业供应链体系…"):
                    # nearly every bigram of the sentence is official wording
                    score = max(score, 100 * shared / len(grams) if shared / len(grams) >= self.spec.containment else 0)
                if score >= self.spec.threshold and score > best:
                    best, found = score, (source_id, official)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[s] = found
        return found

    @staticmethod
    def adds_specifics(sentence: str, official: str) -> bool:
        """Numbers or Latin names in the sentence that the official text does not have."""
        s = sentence.casefold()
        return bool(set(_DIGITS.findall(s)) - set(_DIGITS.findall(official))
                    or set(_LATIN.findall(s)) - set(_LATIN.findall(official)))

    def copied(self, sentence: str, clauses: list[str], *, names_entity: bool = False) -> str | None:
        """The catalogue ID whose text the sentence (or the mention's clause, alone or with a
        neighbour) pastes, unless the sentence adds specifics."""
        if names_entity:
            return None
        key = (sentence, *clauses)
        if key in self._copied:
            return self._copied[key]
        self._copied[key] = None
        if len(self._copied) > 50_000:
            self._copied.clear()
        for piece in (sentence, *clauses):
            found = self.match(piece)
            if found and not self.adds_specifics(sentence, found[1]):
                self._copied[key] = found[0]
                return found[0]
        boiler = self.boilerplate_of(sentence)
        if boiler is not None:
            self._copied[key] = f"套话：{boiler}"
        return self._copied[key]

    def boilerplate_of(self, sentence: str) -> str | None:
        """The category language a sentence is written in ("积极采用CAD、CAE等先进技术，实现…"), when it names
        nothing specific: an applicant who has a system names it, dates it or counts it."""
        if not self.boilerplate or _SPECIFIC.search(sentence):
            return None
        for rx in self.boilerplate:
            m = rx.search(sentence)
            if m:
                return m.group()
        return None
