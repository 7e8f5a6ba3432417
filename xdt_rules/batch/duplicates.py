"""Near-duplicate passages across applications — how consultant-written boilerplate shows.

Text is normalised (NFKC, case-folded, whitespace, punctuation, symbols and control characters
removed) so that re-flowed or re-punctuated copies still match. Two applications share a passage
when the same normalised run of at least ``min_chars`` (default 80) characters occurs in both.

How, efficiently (hundreds of applications × tens of thousands of characters):

1. In each worker, every application's normalised text is *winnowed* (Schleimer et al., MOSS):
   hash every k-character shingle (k = 25, crc32), keep the minimum hash of each window of w = 40
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
import json
import unicodedata
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from ..models import Document
from .fsutil import atomic_write_bytes
from .resume import state_dir

PASSAGES_FORMAT = 1
K = 25  # shingle length in normalised characters
W = 40  # winnowing window, in shingles: guarantees detection of runs >= W + K - 1 = 64 chars
MIN_CHARS = 80
_DROP_CATEGORIES = ("P", "Z", "C", "S")  # punctuation, separators (spaces), control/format, symbols


def _keep(ch: str) -> bool:
    return not unicodedata.category(ch).startswith(_DROP_CATEGORIES)


def normalise(text: str) -> str:
    """NFKC, case-folded, without whitespace, punctuation or symbols."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if _keep(ch))


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index in ``text`` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for norm in unicodedata.normalize("NFKC", ch).casefold():
            if _keep(norm):
                out.append(norm)
                origin.append(index)
    return "".join(out), origin


def shingle_hashes(norm: str, k: int = K) -> list[int]:
    """crc32 of every k-character shingle (deterministic across processes, unlike ``hash``)."""
    crc = zlib.crc32
    return [crc(norm[i:i + k].encode("utf-8")) for i in range(len(norm) - k + 1)]


def winnow(hashes: Sequence[int], w: int = W) -> list[tuple[int, int]]:
    """(hash, position) of the rightmost minimum of every window of ``w`` hashes, each kept once."""
    if not hashes:
        return []
    if len(hashes) <= w:
        pos = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return [(hashes[pos], pos)]
    picked: list[tuple[int, int]] = []
    window: deque[int] = deque()  # positions with increasing hashes
    last = -1
    for i, h in enumerate(hashes):
        while window and hashes[window[-1]] >= h:
            window.pop()
        window.append(i)
        if window[0] <= i - w:
            window.popleft()
        if i >= w - 1 and window[0] != last:
            last = window[0]
            picked.append((hashes[last], last))
    return picked


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


def build_passages(application: str, documents: Iterable[Document]) -> AppPassages:
    pieces: list[str] = []
    segments: list[Segment] = []
    length = 0
    for document in documents:
        for block in document.blocks:
            norm = normalise(block.text)
            if not norm:
                continue
            segments.append(Segment(start=length, file=document.name, page=block.page, text=block.text))
            pieces.append(norm)
            length += len(norm)
    norm_text = "".join(pieces)
    return AppPassages(application=application, norm=norm_text, segments=segments,
                       fingerprints=winnow(shingle_hashes(norm_text)))


def passages_path(out_dir: str | Path, application: str) -> Path:
    return state_dir(out_dir) / "passages" / f"{application}.json.gz"


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


def _mask(passages: AppPassages, excluded: frozenset[int] | set[int]) -> bytearray:
    """1 for each normalised character inside a shingle of the excluded (criteria) text."""
    mask = bytearray(len(passages.norm))
    if not excluded:
        return mask
    for i, h in enumerate(shingle_hashes(passages.norm)):
        if h in excluded:
            mask[i:i + K] = b"\x01" * len(mask[i:i + K])
    return mask


def _locate(passages: AppPassages, start: int, end: int) -> tuple[str, int | None, str]:
    """File, page and original text of the normalised span [start, end)."""
    starts = [s.start for s in passages.segments]
    import bisect

    first = max(0, bisect.bisect_right(starts, start) - 1)
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
                    excluded_texts: Sequence[str] = (), max_apps_per_passage: int | None = None,
                    max_seeds_per_hash: int = 4) -> DuplicateReport:
    """Passages of ≥ ``min_chars`` normalised characters shared by two applications."""
    report = DuplicateReport(applications=len(apps))
    if len(apps) < 2:
        return report
    if max_apps_per_passage is None:
        # boilerplate of one consultancy spans a handful to a few dozen applications; a passage in
        # most of the batch is the application form itself
        max_apps_per_passage = max(8, len(apps) // 2)
    excluded = _criteria_shingles(tuple(excluded_texts))

    # inverted index as one sorted list: hash << 52 | app << 32 | position
    keys: list[int] = []
    for app_index, app in enumerate(apps):
        for h, pos in app.fingerprints:
            if h not in excluded:
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
    # Template shingles are masked like the criteria text: a seed found next to the template (where
    # winnowing picked a different fingerprint in some applications) must not extend through it.
    masked = excluded | template
    masks: dict[int, bytearray] = {}

    def mask_of(index: int) -> bytearray:
        if index not in masks:
            masks[index] = _mask(apps[index], masked)
        return masks[index]

    for (a, b), pair_seeds in sorted(seeds.items()):
        text_a, text_b = apps[a].norm, apps[b].norm
        mask_a, mask_b = mask_of(a), mask_of(b)
        found: list[tuple[int, int, int]] = []  # (start_a, end_a, start_b)
        for pa, pb in sorted(pair_seeds):
            if any(sa <= pa < ea and pa - sa == pb - sb for sa, ea, sb in found):
                continue  # inside a run already found on this diagonal
            if text_a[pa:pa + K] != text_b[pb:pb + K] or any(mask_a[pa:pa + K]) or any(mask_b[pb:pb + K]):
                continue  # crc32 collision, or criteria text
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
            file_b, page_b, _ = _locate(apps[b], start_b, start_b + length)
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


def to_json(report: DuplicateReport) -> str:
    return json.dumps(report.model_dump(), ensure_ascii=False, indent=1)
