"""Evidence spans on whole words.

A keyword pattern's span runs from its first part to its last, and a part written as a regular
expression (``[\u4e00-\u9fff]{1,4}程序``, ``…机``) starts or ends wherever the expression stopped:
a reviewer saw ``成的加工程序经审核后由DNC系统统一下发到机`` highlighted. The span a result shows
is widened to the words it cuts (``生成的…下发到机床``), a few characters at most.

Words come from jieba's own dictionary, not the project's keyword dictionary: a span must not
depend on the keyword set, nor on whether this process has run the evidence stage (the batch
re-scores from cached evidence). The tokenizer is made once per process, when first needed.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from functools import lru_cache

MAX_WIDEN = 4  # characters a span may grow on each side
_WINDOW = 10  # characters segmented on each side of an edge (more than MAX_WIDEN: a boundary found is real)
_lock = threading.Lock()
_tokenizer = None


def _jieba():  # noqa: ANN202 - a jieba.Tokenizer
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.ERROR)
            logging.getLogger("jieba").setLevel(logging.ERROR)
            tokenizer = jieba.Tokenizer()
            tokenizer.tmp_dir = tempfile.gettempdir()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


@lru_cache(maxsize=65536)
def _boundaries(window: str) -> frozenset[int]:
    bounds = {0}
    pos = 0
    for token in _jieba().cut(window, HMM=False):
        pos += len(token)
        bounds.add(pos)
    return frozenset(bounds)


def _is_wordish(ch: str) -> bool:
    return ch.isalnum()


def _edge(text: str, at: int, direction: int, soft_breaks: bool) -> int:
    """The word boundary at or next to ``at`` (toward ``direction``: -1 left, +1 right), within MAX_WIDEN."""
    if at <= 0 or at >= len(text):
        return at
    # a boundary without a letter or digit on one side is a word boundary whatever jieba says
    left, right = text[at - 1], text[at]
    if not (_is_wordish(left) or (soft_breaks and left == "\n")) or not (_is_wordish(right) or (soft_breaks and right == "\n")):
        return at
    lo, hi = max(0, at - _WINDOW), min(len(text), at + _WINDOW)
    # PDF line breaks are no word breaks: segment the window without them and map back
    keep = [i for i in range(lo, hi) if not (soft_breaks and text[i] == "\n")]
    compact = "".join(text[i] for i in keep)
    positions = keep + [hi]  # compact index → text index
    bounds = sorted(positions[b] for b in _boundaries(compact) if 0 < b < len(compact) or positions[b] in (0, len(text)))
    if at in bounds:
        return at
    if direction < 0:
        found = [b for b in bounds if at - MAX_WIDEN <= b < at]
        return max(found) if found else at
    found = [b for b in bounds if at < b <= at + MAX_WIDEN]
    return min(found) if found else at


def whole_words(text: str, start: int, end: int, *, soft_breaks: bool = False) -> tuple[int, int]:
    """``(start, end)`` widened to the words it cuts in ``text`` (each edge by MAX_WIDEN at most).

    ``soft_breaks``: line breaks in ``text`` are where a PDF line wrapped, not between words."""
    if not 0 <= start < end <= len(text):
        return start, end
    new_start = _edge(text, start, -1, soft_breaks)
    new_end = _edge(text, end, +1, soft_breaks)
    # a widened edge never lands on a line break
    while soft_breaks and new_start < start and text[new_start] == "\n":
        new_start += 1
    while soft_breaks and new_end > end and text[new_end - 1] == "\n":
        new_end -= 1
    return new_start, new_end
