"""Parsed-document and evidence caches, keyed by the file's sha256.

Re-screening a batch after a keyword or rule edit must not parse a single PDF again: parsing is
where the time goes (a 150-page 申报书 takes seconds), scoring is cheap. Each entry is one file
``<root>/<sha[:2]>/<sha256>.<key>.json.gz`` holding a small header line and the Document as JSON,
gzip-compressed (dense Chinese text compresses ~3×).

``key`` is a digest of what changes extraction output: ``EXTRACTOR_VERSION`` and the relevant
``ExtractOptions`` (OCR mode and resolution, page limit, and — hashed, never stored — the
password). A new extractor version or other options therefore miss the old entries instead of
reading stale ones. Entries are written atomically; a corrupt or foreign entry is ignored,
removed and rebuilt by the caller. The same content under another path (one contract in two
applications) is one entry: ``get`` gives the Document its caller's path and name.

:class:`EvidenceCache` keeps, per document, the mentions evidence detection found and the small
part of the document that scoring and the report still read. A rules edit then re-scores
without parsing or matching anything; a keyword or evidence-code change re-runs the matching on
cached documents (see :func:`evidence_key`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .batch.fsutil import atomic_write_bytes, walk_files
from .models import Document, Mention

CACHE_FORMAT = 1
_Entry = TypeVar("_Entry", bound=BaseModel)


class CacheMiss(Exception):
    """Raised by a cache opened for cached-only work (the batch re-scoring in its main process)
    where the work would otherwise parse a file or render a page."""
# ExtractOptions fields whose value changes what extract() returns for the same bytes.
RELEVANT_OPTIONS = ("ocr", "ocr_dpi", "max_pages", "password")
# Level 3: nearly the size of level 9 on Chinese JSON at a fraction of the time.
_GZIP_LEVEL = 3


def cache_key(extractor_version: str, options: BaseModel | Mapping[str, Any] | None = None) -> str:
    """A short digest of the extractor version and the extraction options that matter."""
    if options is None:
        values: Mapping[str, Any] = {}
    elif isinstance(options, BaseModel):
        values = options.model_dump()
    else:
        values = options
    relevant = {name: values.get(name) for name in RELEVANT_OPTIONS if name in values}
    material = json.dumps({"format": CACHE_FORMAT, "extractor": extractor_version, "options": relevant},
                          sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    writes: int = 0


class _GzipEntries:
    """Reading a cache's gzip entries: a missing one is a miss, a damaged one is deleted (and
    counted) so the next run rebuilds it."""

    stats: CacheStats

    def _read(self, entry: Path) -> bytes | None:
        try:
            return gzip.decompress(entry.read_bytes())
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except (OSError, EOFError, zlib.error):
            return self._discard(entry)

    def _read_model(self, entry: Path, model: type[_Entry]) -> _Entry | None:
        """The entry validated as ``model``; a damaged one is discarded."""
        raw = self._read(entry)
        if raw is None:
            return None
        try:
            return model.model_validate_json(raw)
        except (ValueError, ValidationError):
            return self._discard(entry)

    def _discard(self, entry: Path) -> None:
        self.stats.corrupt += 1
        self.stats.misses += 1
        try:
            entry.unlink()
        except OSError:
            pass


class DocumentCache(_GzipEntries):
    """A folder of parsed documents. Safe for several processes at once: every write is a rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.stats = CacheStats()

    def entry_path(self, sha256: str, key: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{key}.json.gz"

    def get(self, sha256: str, key: str, *, path: str | None = None, name: str | None = None) -> Document | None:
        """The cached Document for these bytes and this key, or None (missing, corrupt, foreign)."""
        entry = self.entry_path(sha256, key)
        raw = self._read(entry)
        if raw is None:
            return None
        header_line, _, body = raw.partition(b"\n")
        try:
            header = json.loads(header_line)
            if header.get("format") != CACHE_FORMAT or header.get("sha256") != sha256 or header.get("key") != key:
                return self._discard(entry)
            document = Document.model_validate_json(body)
        except (ValueError, ValidationError):  # json errors are ValueErrors
            return self._discard(entry)
        if document.sha256 != sha256:
            return self._discard(entry)
        self.stats.hits += 1
        update = {k: v for k, v in (("path", path), ("name", name)) if v is not None}
        return document.model_copy(update=update) if update else document

    def put(self, document: Document, key: str) -> Path:
        header = json.dumps({"format": CACHE_FORMAT, "sha256": document.sha256, "key": key,
                             "extractor_version": document.extractor_version}).encode("utf-8")
        body = document.model_dump_json(exclude_defaults=True).encode("utf-8")
        data = gzip.compress(header + b"\n" + body, compresslevel=_GZIP_LEVEL, mtime=0)
        self.stats.writes += 1
        return atomic_write_bytes(self.entry_path(document.sha256, key), data, durable=False)



# --------------------------------------------------------------------------- evidence (mentions) cache

EVIDENCE_FORMAT = 1
# What evidence detection runs: its own code and the models it fills. Sources, not a version
# constant, because that code changes often and a stale cache would silently keep old mentions.
_EVIDENCE_CODE = ("evidence", "models.py")
_EVIDENCE_LIBRARIES = ("jieba", "rapidfuzz", "pyahocorasick")
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass
class _Digests:
    """File digests remembered by (path, size, mtime): the key is re-checked for every
    application (a keyword edited mid-batch must not hit old entries) without re-reading files."""

    by_stat: dict[str, tuple[tuple[int, int], str]]

    def of(self, root: Path, suffix: str = "") -> str:
        """A digest of the files under ``root`` (or ``root`` itself) whose names end with ``suffix``."""
        digest = hashlib.sha256()
        for rel, path, stat in walk_files(str(root), suffix):
            mark = (stat.st_size, stat.st_mtime_ns)
            known = self.by_stat.get(path)
            if known is None or known[0] != mark:
                try:
                    with open(path, "rb") as fh:
                        known = (mark, hashlib.sha256(fh.read()).hexdigest())
                except OSError:
                    continue
                self.by_stat[path] = known
            digest.update(f"{rel}\0{known[1]}\0".encode())
        return digest.hexdigest()


_DIGESTS = _Digests({})




def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in _EVIDENCE_LIBRARIES:
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=-")
    return ",".join(found)


_LIBRARIES: list[str] = []


def evidence_key(catalogue_material: str) -> str:
    """A digest of everything the mentions of a document depend on besides the document itself:
    the evidence code (``xdt_rules/evidence/*.py`` and the models), the keyword data (every file
    under ``keywords/``), the criteria catalogue (``catalogue_material``: its content as text),
    the tool and matching-library versions. Rules are not in it: a rules edit keeps the mentions.
    """
    from . import __version__
    from .datapaths import keywords_dir

    if not _LIBRARIES:
        _LIBRARIES.append(_library_versions())
    code = "".join(_DIGESTS.of(_PACKAGE_DIR / name, ".py") for name in _EVIDENCE_CODE)
    keywords = _DIGESTS.of(keywords_dir())
    material = json.dumps({"format": EVIDENCE_FORMAT, "tool": __version__, "libraries": _LIBRARIES[0], "code": code,
                           "keywords": keywords, "catalogue": hashlib.sha256(catalogue_material.encode()).hexdigest()},
                          sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


class EvidenceEntry(BaseModel):
    """One document's evidence: the document's evidence view (its metadata and only the blocks
    the mentions need, see :func:`xdt_rules.screen.evidence_view`), whether it had any text,
    and its mentions. ``get`` replaces the stored paths and names with the caller's."""

    format: int = EVIDENCE_FORMAT
    sha256: str
    document_key: str
    evidence_key: str
    has_text: bool
    document: Document
    mentions: list[Mention]


class EvidenceCache(_GzipEntries):
    """Mentions per document, so a rules-only change re-scores without parsing or matching.

    ``<root>/<sha[:2]>/<sha256>.<document_key>.<evidence_key>.ev.gz``; the document key is
    the parsed-document cache key (extractor version and options), the evidence key
    :func:`evidence_key`. Written atomically; a damaged entry is dropped and rebuilt.
    """

    def __init__(self, root: str | os.PathLike[str], document_key: str, evidence_key: str):
        self.root = Path(root)
        self.document_key = document_key
        self.evidence_key = evidence_key
        self.stats = CacheStats()

    def entry_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{self.document_key}.{self.evidence_key}.ev.gz"

    def get(self, sha256: str, *, path: str, name: str) -> EvidenceEntry | None:
        entry = self.entry_path(sha256)
        found = self._read_model(entry, EvidenceEntry)
        if found is None:
            return None
        if (found.format != EVIDENCE_FORMAT or found.sha256 != sha256 or found.document.sha256 != sha256
                or found.document_key != self.document_key or found.evidence_key != self.evidence_key):
            return self._discard(entry)
        self.stats.hits += 1
        found.document.path, found.document.name = path, name
        for mention in found.mentions:
            mention.file = path
        return found

    def put(self, document: Document, mentions: list[Mention], *, has_text: bool) -> Path | None:
        """Store a document's evidence view and mentions (None when they do not belong to it)."""
        if any(m.file != document.path or m.sha256 != document.sha256 for m in mentions):
            return None  # mentions of another document: never cache what get() could not give back
        # stored with this caller's path and names; get() gives every caller its own
        entry = EvidenceEntry(sha256=document.sha256, document_key=self.document_key, evidence_key=self.evidence_key,
                              has_text=has_text, document=document, mentions=mentions)
        data = gzip.compress(entry.model_dump_json(exclude_defaults=True).encode("utf-8"),
                             compresslevel=_GZIP_LEVEL, mtime=0)
        self.stats.writes += 1
        return atomic_write_bytes(self.entry_path(document.sha256), data, durable=False)
