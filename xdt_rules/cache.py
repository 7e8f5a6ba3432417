"""Parsed-document cache, keyed by the file's sha256.

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
from typing import Any

from pydantic import BaseModel, ValidationError

from .batch.fsutil import atomic_write_bytes
from .models import Document

CACHE_FORMAT = 1
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


class DocumentCache:
    """A folder of parsed documents. Safe for several processes at once: every write is a rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.stats = CacheStats()

    def entry_path(self, sha256: str, key: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{key}.json.gz"

    def get(self, sha256: str, key: str, *, path: str | None = None, name: str | None = None) -> Document | None:
        """The cached Document for these bytes and this key, or None (missing, corrupt, foreign)."""
        entry = self.entry_path(sha256, key)
        try:
            raw = gzip.decompress(entry.read_bytes())
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except (OSError, EOFError, zlib.error):
            return self._discard(entry)
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

    def _discard(self, entry: Path) -> None:
        self.stats.corrupt += 1
        self.stats.misses += 1
        try:
            entry.unlink()
        except OSError:
            pass
        return None
