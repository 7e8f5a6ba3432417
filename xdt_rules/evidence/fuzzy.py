"""Fuzzy matching of longer terms for OCR-like variants (制造执行糸统, 企业资源计刬).

Exact matching (and the OCR-confusion variants in :mod:`.matcher`) comes first; this pass only
looks at text not already matched. To stay fast it never scores every window: each eligible
spelling is indexed by its character bigrams, windows vote for (spelling, alignment) pairs by
shared bigrams, and only alignments with enough votes are scored with rapidfuzz's Levenshtein
distance. Thresholds depend on length (``keywords/_ocr_confusions.yaml``: ``fuzzy``):
1 differing character from 6 chars on, 2 from 10; never for short terms, and never for a
spelling whose distinctive part (without 系统/平台…) is shorter than 4 chars.
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz.distance import Levenshtein

from .keywords import KeywordSet, TermEntry
from .matcher import Hit, KeyInfo, Matcher
from .normalize import NormText, normalize_key

_COMMON_BIGRAM_SHARE = 0.05  # bigrams found in more than 5% of spellings do not vote


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
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for idx, entry in enumerate(self.entries):
            for off in range(len(entry.key) - 1):
                postings[entry.key[off : off + 2]].append((idx, off))
        limit = max(3, int(len(self.entries) * _COMMON_BIGRAM_SHARE))
        self.postings = {bg: p for bg, p in postings.items() if len({i for i, _ in p}) <= limit}
        self.needed: list[int] = []
        for idx, entry in enumerate(self.entries):
            voting = sum(1 for off in range(len(entry.key) - 1) if entry.key[off : off + 2] in self.postings)
            # each differing character can spoil two bigrams
            self.needed.append(max(1, voting - 2 * self.edits[idx]))

    def scan(self, nt: NormText, taken: list[Hit]) -> list[tuple[Hit, float]]:
        text = nt.text
        if not self.entries or len(text) < 4:
            return []
        votes: dict[tuple[int, int], int] = defaultdict(int)
        postings = self.postings
        for i in range(len(text) - 1):
            plist = postings.get(text[i : i + 2])
            if plist:
                for idx, off in plist:
                    votes[(idx, i - off)] += 1
        if not votes:
            return []
        blocked = bytearray(len(text) + 2)
        for hit in taken:
            blocked[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
        found: list[tuple[Hit, float]] = []
        for (idx, pos), count in sorted(votes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if count < self.needed[idx]:
                continue
            entry = self.entries[idx]
            key = entry.key
            best: tuple[int, int, int] | None = None
            for delta in (0, -1, 1):
                start = max(pos, 0)
                end = min(pos + len(key) + delta, len(text))
                if end - start < len(key) - self.edits[idx]:
                    continue
                window = text[start:end]
                if window == key:
                    continue  # an exact match that the exact pass rejected (boundary) stays rejected
                dist = Levenshtein.distance(window, key, score_cutoff=self.edits[idx])
                if dist <= self.edits[idx] and (best is None or dist < best[0]):
                    best = (dist, start, end)
            if best is None:
                continue
            dist, start, end = best
            if any(blocked[start:end]) or text[start] != key[0] and text[end - 1] != key[-1]:
                continue  # an OCR slip keeps at least one end of the word intact
            hit = Hit(start, end, KeyInfo(key, entry, False))
            if not self.matcher.valid(nt, hit):
                continue
            blocked[start:end] = b"\x01" * (end - start)
            score = 1 - dist / max(len(key), end - start)
            found.append((hit, score))
        return found
