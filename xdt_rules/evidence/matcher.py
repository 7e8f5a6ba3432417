"""Exact multi-pattern matching of keywords on normalised text (Aho-Corasick).

- every spelling of every term/entity, their OCR-confusion variants (kind ``fuzzy``) and the
  words of co-occurrence patterns are keys of one automaton;
- Latin edges only match on ASCII word boundaries, checked on the ORIGINAL text (MES not inside
  MESSAGE, CAD not in CADENCE);
- a space between two Latin letters inside a match is accepted only where the term itself is
  written with a space ("U8 Cloud"); line breaks are always closed up (PDF wraps);
- short Chinese terms are rejected where they cut a jieba word (京东 in 北京东路);
- where matches overlap, the longest wins (财务机器人 over 机器人, 5G专网 over 5G); a look-alike phrase
  listed under a term's ``not_within`` (驾驶员状态监测) wins like a term and matches nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import ahocorasick

from .keywords import KeywordSet, TermEntry
from .normalize import NormText, is_ascii_alnum, normalize_key
from .tokens import cuts_word


@dataclass(frozen=True)
class KeyInfo:
    key: str
    term: TermEntry | None  # None: a pattern word only (or a blocker)
    pattern_word: bool
    blocker: bool = False  # a look-alike phrase that hides the term inside it


@dataclass(frozen=True)
class Hit:
    """A match in normalised coordinates [start, end)."""

    start: int
    end: int
    info: KeyInfo


class Matcher:
    def __init__(self, keywords: KeywordSet):
        self.keywords = keywords
        infos: dict[str, KeyInfo] = {}
        for entry in keywords.entries:
            infos[entry.key] = KeyInfo(entry.key, entry, False)
        for variant in _confusion_variants(keywords):
            infos.setdefault(variant.key, KeyInfo(variant.key, variant, False))
        for key in keywords.blockers:
            infos[key] = KeyInfo(key, None, False, True)
        words = {w for p in keywords.patterns for g in p.groups for w in g.words}
        for word in words:
            known = infos.get(word)
            infos[word] = KeyInfo(word, known.term if known else None, True, known.blocker if known else False)
        self.infos = infos
        self.automaton = ahocorasick.Automaton()
        for key, info in infos.items():
            self.automaton.add_word(key, info)
        self.automaton.make_automaton()

    def scan(self, nt: NormText) -> tuple[list[Hit], list[Hit]]:
        """(term hits: longest, non-overlapping; pattern-word hits not inside a term hit)."""
        text = nt.text
        if not text:
            return [], []
        candidates: list[Hit] = []
        for end_idx, info in self.automaton.iter(text):
            start = end_idx - len(info.key) + 1
            hit = Hit(start, end_idx + 1, info)
            if self.valid(nt, hit):
                candidates.append(hit)
        if not candidates:
            return [], []
        terms = [h for h in candidates if h.info.term is not None or h.info.blocker]
        terms.sort(key=lambda h: (-(h.end - h.start), h.start))
        taken = bytearray(len(text))
        selected: list[Hit] = []
        for hit in terms:
            if taken.find(1, hit.start, hit.end) != -1:
                continue
            if hit.info.term is None:  # a look-alike phrase: its span is no term's
                taken[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
                continue
            if hit.info.term is not None and hit.info.term.whole_word and cuts_word(self.keywords, text, hit.start, hit.end):
                continue
            taken[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
            selected.append(hit)
        chosen = set(selected)
        spans = sorted((h.start, h.end) for h in selected)
        starts = [a for a, _ in spans]
        words = []
        for h in candidates:
            if not h.info.pattern_word:
                continue
            if h not in chosen and taken.find(1, h.start, h.end) != -1:
                # a pattern word inside a longer selected term is masked (机器人 inside 财务机器人)
                i = bisect_right(starts, h.start) - 1
                if i >= 0 and spans[i][1] >= h.end:
                    continue
            words.append(h)
        selected.sort(key=lambda h: h.start)
        words.sort(key=lambda h: (h.start, h.end))
        return selected, words

    def valid(self, nt: NormText, hit: Hit) -> bool:
        text = nt.text
        entry = hit.info.term
        key = hit.info.key
        latin_start = is_ascii_alnum(key[0])
        latin_end = is_ascii_alnum(key[-1])
        original = nt.original
        if latin_start or latin_end:
            o_start, o_end = nt.span(hit.start, hit.end)
            if latin_start and o_start > 0 and is_ascii_alnum(original[o_start - 1]):
                return False
            if latin_end and o_end < len(original) and is_ascii_alnum(original[o_end]):
                return False
        if not nt.spaced:
            return True
        breaks = entry.breaks if entry is not None else frozenset()
        i = bisect_right(nt.spaced, hit.start)
        while i < len(nt.spaced) and nt.spaced[i] < hit.end:
            pos = nt.spaced[i]
            if is_ascii_alnum(text[pos - 1]) and is_ascii_alnum(text[pos]) and (pos - hit.start) not in breaks:
                return False
            i += 1
        return True


def _confusion_variants(keywords: KeywordSet) -> list[TermEntry]:
    """Spellings as OCR misreads them (金蝶 → 金碟), as lower-confidence fuzzy keys."""
    pairs = [(normalize_key(c.correct), normalize_key(c.ocr)) for c in keywords.confusions]
    existing = {e.key for e in keywords.entries}
    out: list[TermEntry] = []
    seen: set[str] = set()
    for entry in keywords.entries:
        if not entry.fuzzy_ok:
            continue
        for correct, wrong in pairs:
            start = entry.key.find(correct)
            while start != -1:
                variant = entry.key[:start] + wrong + entry.key[start + len(correct) :]
                if variant not in existing and variant not in seen:
                    seen.add(variant)
                    out.append(
                        TermEntry(
                            item_id=entry.item_id, canonical=entry.canonical, spelling=variant, key=variant,
                            kind="fuzzy", confidence=round(entry.confidence * 0.8, 3), breaks=entry.breaks,
                            whole_word=entry.whole_word, fuzzy_ok=False, latin_start=entry.latin_start,
                            latin_end=entry.latin_end, file=entry.file, line=entry.line,
                        )
                    )
                start = entry.key.find(correct, start + 1)
    return out
