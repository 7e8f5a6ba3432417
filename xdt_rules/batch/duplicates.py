"""Near-duplicate passages across applications — how consultant-written boilerplate shows.

Text is normalised (NFKC, case-folded, whitespace, punctuation, symbols and control characters
removed) so that re-flowed or re-punctuated copies still match. Two applications share a passage
when the same normalised run of at least ``min_chars`` (default 80) characters occurs in both.

How, efficiently (hundreds of applications × tens of thousands of characters):

1. In each worker, every application's normalised text is *winnowed* (Schleimer et al., MOSS):
   hash every k-character shingle (k = 25, a 64-bit polynomial hash), keep the minimum hash of each window of w = 40
   consecutive shingles. Any common run of ≥ w + k − 1 = 64 characters is guaranteed to share a
   kept fingerprint, and only ~2/(w+1) ≈ 5 % of positions are kept. The text and fingerprints are
   stored in ``OUT/.xdt-batch/passages/<application>.json.gz``.
2. In the summary, one sorted list of (hash, application, position) is an inverted index: equal
   hashes in different applications are candidate seeds for that pair.
3. Each seed is verified on the texts and extended left and right while the characters agree,
   giving maximal common runs; runs of ≥ ``min_chars`` are reported with their original text,
   file and page in both applications.

The official criteria text (item texts and element/section descriptions from the catalogue) is
masked out: applicants quoting the criteria is expected (the evidence stage flags it separately)
and is not boilerplate. A shingle also found in more than ``max_apps_per_passage`` applications
is treated as the application form's own template and not reported either.
"""

from __future__ import annotations

import gzip
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from pydantic import BaseModel, Field

from ..models import Document
from ..fsutil import atomic_write_bytes
from .resume import state_dir

PASSAGES_FORMAT = 2  # 2: polynomial shingle hash
K = 25  # shingle length in normalised characters
W = 40  # winnowing window, in shingles: guarantees detection of runs >= W + K - 1 = 64 chars
MIN_CHARS = 80
_DROP_CATEGORIES = ("P", "Z", "C", "S")  # punctuation, separators (spaces), control/format, symbols


def _keep(ch: str) -> bool:
    return not unicodedata.category(ch).startswith(_DROP_CATEGORIES)


def _char_normal(ch: str) -> str:
    """What one source character becomes: NFKC, case-folded, only letters/digits/marks kept."""
    return "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if _keep(c))


# Per-character translation table, filled for the characters met so far: str.translate then
# normalises a whole document at C speed (a Python loop per character took ~1 µs each).
_TABLE: dict[int, str | None] = {}


def normalise(text: str) -> str:
    """NFKC, case-folded, without whitespace, punctuation or symbols (character by character, so
    that offsets map back exactly: see :func:`normalise_with_map`)."""
    _learn(text)
    return text.translate(_TABLE)


def _learn(text: str) -> None:
    for ch in [c for c in set(text) if ord(c) not in _TABLE]:
        _TABLE[ord(ch)] = _char_normal(ch) or None


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index in ``text`` it came from."""
    _learn(text)
    table = _TABLE
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        norm = table[ord(ch)]
        if norm is None:
            continue
        out.append(norm)
        origin.extend([index] * len(norm))
    return "".join(out), origin


# Shingle hash: a polynomial over the code points modulo 2**64 (Horner form), then multiplied by
# the 64-bit golden ratio and cut to its top 32 bits so that the minima winnowing picks are well
# spread. Deterministic across processes (unlike ``hash``), and the same value whether computed
# by the pure-Python rolling loop or by numpy (used when installed: ~6x faster).
_BASE = 0x100000001B3
_MIX = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def _numpy():
    try:
        import numpy
    except ImportError:  # numpy comes with the [ocr] extra; without it the pure-Python path runs
        return None
    return numpy


def shingle_hashes(norm: str, k: int = K) -> list[int]:
    """The 32-bit hash of every k-character shingle of ``norm``."""
    np = _numpy()
    if np is not None:
        return _shingle_hashes_np(np, norm, k).tolist()
    return _shingle_hashes_py(norm, k)


def _shingle_hashes_py(norm: str, k: int) -> list[int]:
    codes = list(map(ord, norm))
    if len(codes) < k:
        return []
    h = 0
    for code in codes[:k]:
        h = (h * _BASE + code) & _MASK64
    top = pow(_BASE, k, 1 << 64)  # removes the code leaving the window after the next multiply
    out = [((h * _MIX) & _MASK64) >> 32]
    append = out.append
    for leaving, entering in zip(codes, codes[k:]):
        h = (h * _BASE - leaving * top + entering) & _MASK64
        append(((h * _MIX) & _MASK64) >> 32)
    return out


def _shingle_hashes_np(np, norm: str, k: int):  # noqa: ANN001, ANN202 - numpy module and array
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = len(codes) - k + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    base = np.uint64(_BASE)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        for j in range(k):
            h = h * base + codes[j:j + m]
        return (h * np.uint64(_MIX)) >> np.uint64(32)


def fingerprints_and_runs(norm: str, excluded: frozenset[int] | set[int] = frozenset(), *,
                          k: int = K, w: int = W) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Winnowed fingerprints of ``norm`` and the runs covered by excluded shingles, in one pass."""
    np = _numpy()
    if np is None or len(norm) < k + w:
        hashes = shingle_hashes(norm, k)
        return winnow(hashes, w), _runs(hashes, excluded)
    hashes = _shingle_hashes_np(np, norm, k)
    m = len(hashes)
    # The same block sliding minimum as winnow(), on packed (hash << 32 | position) keys: about
    # five arrays of m integers, where an argmin over a (m, w) window view would copy m × w of them
    # (150 MB for a 300-page document).
    keys = (hashes << np.uint64(32)) | np.arange(m, dtype=np.uint64)
    padded = np.full(-(-m // w) * w, np.iinfo(np.uint64).max, dtype=np.uint64)
    padded[:m] = keys
    blocks = padded.reshape(-1, w)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    minima = np.minimum(suffix[: m - w + 1], prefix[w - 1: m])
    positions = np.unique(minima & np.uint64(0xFFFFFFFF)).astype(np.int64)
    picked = list(zip(hashes[positions].tolist(), positions.tolist()))
    runs: list[tuple[int, int]] = []
    if excluded:
        hits = np.flatnonzero(np.isin(hashes, np.fromiter(excluded, dtype=np.uint64, count=len(excluded))))
        runs = _merge_runs(hits.tolist(), k)
    return picked, runs


def winnow(hashes: Sequence[int], w: int = W) -> list[tuple[int, int]]:
    """(hash, position) of the minimum of every window of ``w`` hashes (leftmost on ties), each once.

    Sliding minimum by blocks (van Herk / Gil-Werman): prefix minima and suffix minima of each
    block of w, combined per window by a C-level ``map(min, …)``; keys pack hash and position so
    that one integer comparison picks both.
    """
    n = len(hashes)
    if n == 0:
        return []
    keys = [(h << 32) | i for i, h in enumerate(hashes)]
    if n <= w:
        best = min(keys)
        return [(best >> 32, best & 0xFFFFFFFF)]
    prefix: list[int] = []
    suffix: list[int] = []
    for start in range(0, n, w):
        block = keys[start:start + w]
        prefix.extend(accumulate(block, min))
        block.reverse()
        backwards = list(accumulate(block, min))
        backwards.reverse()
        suffix.extend(backwards)
    minima = map(min, suffix[: n - w + 1], prefix[w - 1:])
    # a window minimum (unique by its packed position) repeats only in consecutive windows, so
    # dict.fromkeys keeps exactly one of each, in order, at C speed
    return [(key >> 32, key & 0xFFFFFFFF) for key in dict.fromkeys(minima)]


# --------------------------------------------------------------------------- per application

class Segment(BaseModel):
    """One block of a document: where its text starts in the application's normalised text."""

    start: int
    file: str
    page: int | None = None
    text: str


class AppPassages(BaseModel):
    format: int = PASSAGES_FORMAT
    application: str
    k: int = K
    w: int = W
    norm: str
    segments: list[Segment] = Field(default_factory=list)
    fingerprints: list[tuple[int, int]] = Field(default_factory=list)
    masked: list[tuple[int, int]] = Field(default_factory=list, description="[start, end) runs of criteria text")


def build_passages(application: str, documents: Iterable[Document], *,
                   excluded_texts: Sequence[str] = ()) -> AppPassages:
    """Normalised text, block provenance, winnowed fingerprints, and where the official criteria
    text (``excluded_texts``) is quoted — computed here, in the worker, where every shingle is
    hashed anyway."""
    pieces: list[str] = []
    segments: list[Segment] = []
    length = 0
    documents = list(documents)
    _learn("".join(block.text for document in documents for block in document.blocks))  # once, not per block
    for document in documents:
        for block in document.blocks:
            norm = block.text.translate(_TABLE)
            if not norm:
                continue
            # built from validated Documents: model_construct skips re-validating thousands of blocks
            segments.append(Segment.model_construct(start=length, file=document.name, page=block.page, text=block.text))
            pieces.append(norm)
            length += len(norm)
    norm_text = "".join(pieces)
    fingerprints, masked = fingerprints_and_runs(norm_text, _criteria_shingles(tuple(excluded_texts)))
    return AppPassages.model_construct(
        format=PASSAGES_FORMAT, application=application, k=K, w=W, norm=norm_text, segments=segments,
        fingerprints=fingerprints, masked=masked)


def _runs(hashes: Sequence[int], excluded: frozenset[int] | set[int]) -> list[tuple[int, int]]:
    """Merged [start, end) character runs covered by shingles whose hash is excluded."""
    runs: list[tuple[int, int]] = []
    if not excluded:
        return runs
    return _merge_runs([i for i, h in enumerate(hashes) if h in excluded], K)


def _merge_runs(starts: list[int], k: int) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in starts:
        if runs and i <= runs[-1][1]:
            runs[-1] = (runs[-1][0], i + k)
        else:
            runs.append((i, i + k))
    return runs


def passages_path(out_dir: str | Path, application: str) -> Path:
    """Named as the application's outputs are (``output_stem``): safe characters, a bounded length."""
    from ..screen import output_stem

    return state_dir(out_dir) / "passages" / f"{output_stem(application)}.json.gz"


def passages_key_path(out_dir: str | Path, application: str) -> Path:
    """The sidecar that says which documents the passages file was built from."""
    path = passages_path(out_dir, application)
    return path.with_name(path.name[: -len(".json.gz")] + ".key")


def passages_key(documents: Sequence[Document], excluded_texts: Sequence[str]) -> str:
    """What an application's passages file depends on: its documents' content and names, the
    criteria text and this module's parameters — not the rules, so a re-score skips the work."""
    import hashlib

    digest = hashlib.sha256(f"{PASSAGES_FORMAT}|{K}|{W}".encode())
    for text in excluded_texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    for document in documents:
        digest.update(f"|{document.sha256}|{document.extractor_version}|{document.name}".encode("utf-8"))
    return digest.hexdigest()[:24]


def passages_up_to_date(out_dir: str | Path, application: str, documents: Sequence[Document], *,
                        excluded_texts: Sequence[str] = ()) -> bool:
    """The application's passages file in OUT was built from these documents (identity only)."""
    path = passages_path(out_dir, application)
    try:
        return path.is_file() and passages_key_path(out_dir, application).read_text(encoding="ascii") == passages_key(
            documents, excluded_texts)
    except (OSError, UnicodeDecodeError):
        return False


def update_passages(out_dir: str | Path, application: str, documents: Sequence[Document], *,
                    excluded_texts: Sequence[str] = (),
                    whole: Callable[[], Sequence[Document]] | None = None) -> bool:
    """Write the application's passages file unless the one in OUT was built from the same
    documents (a sidecar ``.key`` file says which). Returns True when it was (re)built.

    The key needs only each document's identity, so ``documents`` may be evidence views (a
    re-score from the evidence cache); ``whole()`` then gives the full documents, called only
    when the file must be rebuilt."""
    path = passages_path(out_dir, application)
    key_file = passages_key_path(out_dir, application)
    key = passages_key(documents, excluded_texts)
    if passages_up_to_date(out_dir, application, documents, excluded_texts=excluded_texts):
        return False
    if whole is not None:
        documents = whole()
    write_passages(path, build_passages(application, documents, excluded_texts=excluded_texts))
    atomic_write_bytes(key_file, key.encode("ascii"), durable=False)  # after the data it vouches for
    return True


def write_passages(path: Path, passages: AppPassages) -> Path:
    data = gzip.compress(passages.model_dump_json().encode("utf-8"), compresslevel=3, mtime=0)
    return atomic_write_bytes(path, data, durable=False)


def read_passages(path: Path) -> AppPassages | None:
    try:
        passages = AppPassages.model_validate_json(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, zlib.error, ValueError):
        return None
    if passages.format != PASSAGES_FORMAT or passages.k != K or passages.w != W:
        return None
    return passages


# --------------------------------------------------------------------------- across applications

class SharedPassage(BaseModel):
    app_a: str
    app_b: str
    chars: int = Field(description="normalised characters")
    text: str = Field(description="the passage as written in application A")
    file_a: str
    page_a: int | None = None
    file_b: str
    page_b: int | None = None


class DuplicateReport(BaseModel):
    passages: list[SharedPassage] = Field(default_factory=list)
    applications: int = 0
    template_fingerprints: int = Field(0, description="fingerprints in too many applications: the form's template")

    def count_by_application(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for passage in self.passages:
            counts[passage.app_a] += 1
            counts[passage.app_b] += 1
        return dict(counts)


def criteria_texts(catalogue) -> list[str]:  # noqa: ANN001 - a Catalogue
    texts = [item.text for item in catalogue.items]
    for element in catalogue.spec.elements:
        texts += [t for t in (element.description,) if t]
        for section in element.sections:
            texts += [t for t in (section.description,) if t]
    return texts


@lru_cache(maxsize=4)
def _criteria_shingles(texts: tuple[str, ...]) -> frozenset[int]:
    found: set[int] = set()
    for text in texts:
        found.update(shingle_hashes(normalise(text)))
    return frozenset(found)


def _mask(passages: AppPassages, template: set[int]) -> bytearray:
    """1 for each normalised character of quoted criteria text or of the form's template."""
    mask = bytearray(len(passages.norm))
    runs = list(passages.masked)
    if template:
        runs += [(pos, pos + K) for h, pos in passages.fingerprints if h in template]
    for start, end in runs:
        end = min(end, len(mask))
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _locate(passages: AppPassages, start: int, end: int, *, text: bool = True) -> tuple[str, int | None, str]:
    """File, page and (if ``text``) original text of the normalised span [start, end)."""
    import bisect

    starts = [s.start for s in passages.segments]
    first = max(0, bisect.bisect_right(starts, start) - 1)
    if not text:
        return passages.segments[first].file, passages.segments[first].page, ""
    pieces: list[str] = []
    index = first
    while index < len(passages.segments) and passages.segments[index].start < end:
        segment = passages.segments[index]
        norm, origin = normalise_with_map(segment.text)
        lo = max(start - segment.start, 0)
        hi = min(end - segment.start, len(norm))
        if lo < hi:
            pieces.append(segment.text[origin[lo]: origin[hi - 1] + 1])
        index += 1
    segment = passages.segments[first]
    return segment.file, segment.page, " … ".join(p.strip() for p in pieces)


def find_duplicates(apps: Sequence[AppPassages], *, min_chars: int = MIN_CHARS,
                    max_apps_per_passage: int | None = None, max_seeds_per_hash: int = 4) -> DuplicateReport:
    """Passages of ≥ ``min_chars`` normalised characters shared by two applications, outside the
    criteria text each application quotes (``AppPassages.masked``) and the form's template."""
    report = DuplicateReport(applications=len(apps))
    if len(apps) < 2:
        return report
    if max_apps_per_passage is None:
        # boilerplate of one consultancy spans a handful to a few dozen applications; a passage in
        # most of the batch is the application form itself
        max_apps_per_passage = max(8, len(apps) // 2)
    # inverted index as one sorted list: hash << 52 | app << 32 | position
    keys: list[int] = []
    for app_index, app in enumerate(apps):
        for h, pos in app.fingerprints:
            keys.append((h << 52) | (app_index << 32) | pos)
    keys.sort()
    seeds: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    template: set[int] = set()
    i = 0
    while i < len(keys):
        h = keys[i] >> 52
        j = i
        while j < len(keys) and keys[j] >> 52 == h:
            j += 1
        by_app: dict[int, list[int]] = defaultdict(list)
        for key in keys[i:j]:
            positions = by_app[(key >> 32) & 0xFFFFF]
            if len(positions) < max_seeds_per_hash:
                positions.append(key & 0xFFFFFFFF)
        if len(by_app) > max_apps_per_passage:
            template.add(h)
        elif len(by_app) > 1:
            members = sorted(by_app)
            for x, a in enumerate(members):
                for b in members[x + 1:]:
                    for pa in by_app[a]:
                        for pb in by_app[b]:
                            seeds[(a, b)].append((pa, pb))
        i = j

    report.template_fingerprints = len(template)
    # Template fingerprints are masked like the criteria text: a seed found next to the template
    # (where winnowing picked a different fingerprint in some applications) must not extend through
    # it. Between two masked fingerprints at most W - 1 characters stay open, well under min_chars.
    masks: dict[int, bytearray] = {}

    def mask_of(index: int) -> bytearray:
        if index not in masks:
            masks[index] = _mask(apps[index], template)
        return masks[index]

    for (a, b), pair_seeds in sorted(seeds.items()):
        text_a, text_b = apps[a].norm, apps[b].norm
        mask_a, mask_b = mask_of(a), mask_of(b)
        found: list[tuple[int, int, int]] = []  # (start_a, end_a, start_b)
        for pa, pb in sorted(pair_seeds):
            if any(sa <= pa < ea and pa - sa == pb - sb for sa, ea, sb in found):
                continue  # inside a run already found on this diagonal
            if text_a[pa:pa + K] != text_b[pb:pb + K] or any(mask_a[pa:pa + K]) or any(mask_b[pb:pb + K]):
                continue  # a hash collision, or criteria text
            lo_a, lo_b = pa, pb
            while lo_a > 0 and lo_b > 0 and text_a[lo_a - 1] == text_b[lo_b - 1] \
                    and not mask_a[lo_a - 1] and not mask_b[lo_b - 1]:
                lo_a -= 1
                lo_b -= 1
            hi_a, hi_b = pa + K, pb + K
            while hi_a < len(text_a) and hi_b < len(text_b) and text_a[hi_a] == text_b[hi_b] \
                    and not mask_a[hi_a] and not mask_b[hi_b]:
                hi_a += 1
                hi_b += 1
            found.append((lo_a, hi_a, lo_b))
        for start_a, end_a, start_b in sorted(found):
            length = end_a - start_a
            if length < min_chars:
                continue
            file_a, page_a, original = _locate(apps[a], start_a, end_a)
            file_b, page_b, _ = _locate(apps[b], start_b, start_b + length, text=False)
            report.passages.append(SharedPassage(
                app_a=apps[a].application, app_b=apps[b].application, chars=length, text=original,
                file_a=file_a, page_a=page_a, file_b=file_b, page_b=page_b))
    report.passages.sort(key=lambda p: (p.app_a, p.app_b, -p.chars, p.text))
    return report


def load_all_passages(out_dir: str | Path, applications: Iterable[str]) -> list[AppPassages]:
    loaded = []
    for name in applications:
        passages = read_passages(passages_path(out_dir, name))
        if passages is not None:
            loaded.append(passages)
    return loaded
