"""Text normalisation for matching, with a map back to the original offsets.

Matching runs on a normalised copy of a block's text: NFKC (ＥＲＰ → ERP, full-width
punctuation → ASCII), Latin case-folded, whitespace and invisible characters removed so that
terms broken by a PDF line wrap ("制造执\\n行系统") or written with a space ("U8 Cloud") close up.
Every normalised character remembers the index of the original character it came from, so a
match found in the normalised text maps back to ``block.text[start:end]`` exactly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import chain

# Characters that vanish: whitespace (incl. ideographic space, NBSP after NFKC) and invisibles
# that Word/PDF producers sprinkle into text (zero-width space/joiners, BOM, soft hyphen).
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_CACHE: dict[str, str] = {}


def _norm_char(ch: str) -> str:
    """The normalised form of one character ('' when it disappears)."""
    cached = _CACHE.get(ch)
    if cached is not None:
        return cached
    if ch in _INVISIBLE or ch.isspace():
        out = ""
    else:
        out = "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if not c.isspace())
    _CACHE[ch] = out
    return out


@dataclass(frozen=True)
class NormText:
    """A normalised text: ``text[i]`` came from ``original[src[i]]``.

    ``gaps[i]`` is the original whitespace skipped just before normalised char ``i`` (only
    positions that had some), used to tell a line break from a space inside a Latin term.
    """

    original: str
    text: str
    src: list[int]
    gaps: dict[int, str]
    spaced: tuple[int, ...] = ()  # positions whose gap holds a space but no line break (checked per match)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the normalised span [start, end) (end > start)."""
        # One original char can expand to several normalised chars (㎏ → kg); the original
        # span ends after the original char the last normalised char came from.
        return self.src[start], self.src[end - 1] + 1


# Runs that are their own normal form (CJK ideographs, lower-case ASCII letters, digits) are
# copied in bulk; everything else goes through the per-character table.
_PLAIN = re.compile(r"[\u4e00-\u9fffa-z0-9]+")


def normalize(text: str) -> NormText:
    """Normalise ``text`` keeping the offset map."""
    out: list[str] = []
    src: list[int] = []
    gaps: dict[int, str] = {}
    pending = ""
    pos = 0  # next original index to look at
    n = 0  # normalised length so far
    # Runs of plain characters are copied whole; the characters between them one by one. The
    # None at the end stands for the characters after the last run (trailing spaces make no gap).
    for m in chain(_PLAIN.finditer(text), (None,)):
        for i in range(pos, len(text) if m is None else m.start()):
            ch = text[i]
            norm = _norm_char(ch)
            if not norm:
                if ch.isspace():
                    pending += ch
                continue
            if pending:
                gaps[n] = pending
                pending = ""
            out.append(norm)
            src.extend([i] * len(norm))
            n += len(norm)
        if m is None:
            break
        if pending:
            gaps[n] = pending
            pending = ""
        out.append(m.group())
        src.extend(range(m.start(), m.end()))
        n += m.end() - m.start()
        pos = m.end()
    spaced = tuple(sorted(i for i, g in gaps.items() if "\n" not in g and "\r" not in g))
    return NormText(text, "".join(out), src, gaps, spaced)


def normalize_key(term: str) -> str:
    """The normalised form of a keyword (no offset map needed)."""
    return "".join(_norm_char(ch) for ch in term)


def latin_breaks(term: str) -> frozenset[int]:
    """Normalised positions where the written term has a space between two Latin/digit chars.

    "U8 Cloud" → {2}: a space at that point of a match is part of the term; elsewhere a space
    between two Latin letters means two words ("CA D" is not "CAD").
    """
    breaks: set[int] = set()
    pos = 0
    pending_space = False
    for ch in term:
        norm = _norm_char(ch)
        if not norm:
            pending_space = pending_space or ch.isspace()
            continue
        if pending_space and pos > 0:
            breaks.add(pos)
        pending_space = False
        pos += len(norm)
    return frozenset(breaks)


def is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
