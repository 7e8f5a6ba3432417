"""Fuzzy matching of longer terms for OCR-like variants (制造执行糸统, 企业资源计刬).

Exact matching (and the OCR-confusion variants in :mod:`.matcher`) comes first; this pass only
looks at text not already matched. To stay fast it never scores every window. By the pigeonhole
principle a window within *k* edits of a spelling contains one of the spelling's *k*+1 disjoint
pieces unchanged, so the pieces go into an Aho-Corasick automaton, exact piece hits propose
alignments, and only those are scored with rapidfuzz's Levenshtein distance. Thresholds depend
on length (``keywords/_ocr_confusions.yaml``: ``fuzzy``): 1 differing character from 6 chars on,
2 from 10; never for short terms, and never for a spelling whose distinctive part (without
系统/平台…) is shorter than 4 chars.
"""

from __future__ import annotations

from collections import defaultdict

import ahocorasick
from rapidfuzz.distance import Levenshtein

from .keywords import KeywordSet, TermEntry
from .matcher import Hit, KeyInfo, Matcher
from .normalize import NormText, normalize_key

class FuzzyMatcher:
    def __init__(self, keywords: KeywordSet, matcher: Matcher):
        self.matcher = matcher
        spec = keywords.fuzzy
        suffixes = sorted({normalize_key(s) for s in spec.generic_suffixes}, key=len, reverse=True)
        self.entries: list[TermEntry] = []
        self.edits: list[int] = []
        for entry in keywords.entries:
            key = entry.key
            if not entry.fuzzy_ok or entry.kind == "fuzzy" or len(key) < spec.min_chars:
                continue
            head = key
            for suffix in suffixes:
                if head.endswith(suffix) and len(head) > len(suffix):
                    head = head[: -len(suffix)]
                    break
            if len(head) < spec.min_head_chars:
                continue
            self.entries.append(entry)
            self.edits.append(2 if len(key) >= spec.two_edits_from else 1)
        pieces: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for idx, entry in enumerate(self.entries):
            key, parts = entry.key, self.edits[idx] + 1
            size = len(key) // parts
            for n in range(parts):
                lo = n * size
                hi = len(key) if n == parts - 1 else lo + size
                pieces[key[lo:hi]].append((idx, lo))
        self.automaton = ahocorasick.Automaton()
        for piece, owners in pieces.items():
            self.automaton.add_word(piece, (piece, tuple(owners)))
        if pieces:
            self.automaton.make_automaton()

    def scan(self, nt: NormText, taken: list[Hit]) -> list[tuple[Hit, float]]:
        text = nt.text
        if not self.entries or len(text) < 4:
            return []
        blocked = bytearray(len(text) + 2)
        for hit in taken:
            blocked[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
        proposals: set[tuple[int, int]] = set()
        for end_idx, (piece, owners) in self.automaton.iter(text):
            start = end_idx - len(piece) + 1
            if blocked[start]:
                continue  # inside an exact match: nothing left to find there
            for idx, offset in owners:
                proposals.add((start - offset, idx))
        found: list[tuple[Hit, float]] = []
        for pos, idx in sorted(proposals):
            entry = self.entries[idx]
            key = entry.key
            edits = self.edits[idx]
            best: tuple[int, int, int, int] | None = None  # (distance, how far from the proposal, start, end)
            for shift in range(-edits, edits + 1):
                start = pos + shift
                if start < 0 or blocked[start]:
                    continue
                for delta in range(-edits, edits + 1):
                    end = min(start + len(key) + delta, len(text))
                    if end - start < len(key) - edits:
                        continue
                    window = text[start:end]
                    if window == key:
                        continue  # an exact match that the exact pass rejected (boundary) stays rejected
                    dist = Levenshtein.distance(window, key, score_cutoff=edits)
                    candidate = (dist, abs(shift) + abs(delta), start, end)
                    if dist <= edits and (best is None or candidate < best):
                        best = candidate
            if best is None:
                continue
            dist, _, start, end = best
            if any(blocked[start:end]) or text[start] != key[0] and text[end - 1] != key[-1]:
                continue  # an OCR slip keeps at least one end of the word intact
            hit = Hit(start, end, KeyInfo(key, entry, False))
            if not self.matcher.valid(nt, hit):
                continue
            blocked[start:end] = b"\x01" * (end - start)
            score = 1 - dist / max(len(key), end - start)
            found.append((hit, score))
        return found
