"""jieba word segmentation with a domain user dictionary built from ``keywords/``.

Matching itself runs on raw normalised text (see :mod:`.matcher`); tokens are used where they
help: to reject a short Chinese term found inside another word (京东 in 北京东路, 致远 in 宁静致远)
and to mine vocabulary for the audit. One tokenizer per process and keyword set; jieba's start-up
chatter is silenced, and its dictionary cache goes to the system temp folder only.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable

import jieba

from .keywords import KeywordSet

_LOCK = threading.Lock()
_TOKENIZERS: dict[str, jieba.Tokenizer] = {}


def _silence() -> None:
    jieba.setLogLevel(logging.ERROR)
    logging.getLogger("jieba").setLevel(logging.ERROR)


def tokenizer(keywords: KeywordSet) -> jieba.Tokenizer:
    """The tokenizer for a keyword set, initialised once per process."""
    with _LOCK:
        tok = _TOKENIZERS.get(keywords.content_hash)
        if tok is None:
            _silence()
            tok = jieba.Tokenizer()
            tok.tmp_dir = tempfile.gettempdir()
            tok.initialize()
            # freq=None lets jieba suggest a frequency that keeps the word whole without
            # overriding longer dictionary words around it (北京东路 stays 北京/东路).
            for word in keywords.jieba_words():
                tok.add_word(word)
            _TOKENIZERS[keywords.content_hash] = tok
        return tok


_CUTS: dict[tuple[str, str, int, int], bool] = {}


def cuts_word(keywords: KeywordSet, text: str, start: int, end: int, window: int = 6) -> bool:
    """True when ``text[start:end]`` begins or ends inside a longer jieba word.

    Only a window around the match is segmented; results are memoised per window, since the
    same phrases recur across the pages of an application and across applications.
    """
    lo = max(0, start - window)
    hi = min(len(text), end + window)
    key = (keywords.content_hash, text[lo:hi], start - lo, end - lo)
    cached = _CUTS.get(key)
    if cached is not None:
        return cached
    pos = lo
    bounds = {lo}
    for token in tokenizer(keywords).cut(text[lo:hi], HMM=False):
        pos += len(token)
        bounds.add(pos)
    result = start not in bounds or end not in bounds
    if len(_CUTS) > 100_000:
        _CUTS.clear()
    _CUTS[key] = result
    return result


def tokens(keywords: KeywordSet, text: str) -> list[str]:
    """Words of ``text`` (domain terms kept whole)."""
    return [t for t in tokenizer(keywords).cut(text, HMM=False) if t.strip()]


def mine_vocabulary(keywords: KeywordSet, texts: Iterable[str], *, min_count: int = 2,
                    min_length: int = 2, top: int = 200) -> list[tuple[str, int]]:
    """Frequent words of ``texts`` that are not yet keywords — candidates for ``keywords/``.

    The audit calls this over a batch of applications to find system names and phrasing the
    dictionaries miss. Pure punctuation, numbers and single characters are skipped.
    """
    known = {w.casefold() for w in keywords.jieba_words()}
    counts: Counter[str] = Counter()
    tok = tokenizer(keywords)
    for text in texts:
        for word in tok.cut(text, HMM=True):
            word = word.strip()
            if len(word) < min_length or word.casefold() in known:
                continue
            if not any(ch.isalpha() for ch in word):
                continue
            counts[word] += 1
    ranked = [(w, c) for w, c in counts.items() if c >= min_count]
    ranked.sort(key=lambda wc: (-wc[1], wc[0]))
    return ranked[:top]
