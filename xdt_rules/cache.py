"""Caches around the pipeline stages: parsed documents, each file's evidence, report crops.

Caching is a layer the stages do not know about: :class:`CachedReader` has the signature of a
plain file reader (``path → FileEvidence``) and answers from the caches when it can. Re-screening
a batch after a rules edit therefore parses, matches and renders nothing; after a keyword edit it
matches again but parses nothing.

Every entry is keyed by what it was made from, computed here and nowhere else:

- a parsed document by the file's sha256 and :func:`document_key` (the ingestion code, the
  OCR engine when OCR is on, and the extraction options that change the text);
- a file's evidence by the same plus :func:`evidence_key` (the evidence code and the
  framework's evidence fingerprint: its catalogue and keywords);
- a crop by the page, the spans' blocks and the report code (:func:`code_version`).

Entries are gzip (crops: PNG) files written atomically; a damaged or foreign entry is dropped and
made again. Several processes may share a cache folder: every write is a rename.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from .fsutil import atomic_write_bytes, sha256_file
from .models import Document, FileEvidence

if TYPE_CHECKING:
    from .framework import Framework
    from .ingest import ExtractOptions
    from .report.crops import Crop

CACHE_FORMAT = 2
_Entry = TypeVar("_Entry", bound=BaseModel)
_GZIP_LEVEL = 3  # nearly the size of level 9 on Chinese JSON at a fraction of the time
_PACKAGE_DIR = Path(__file__).resolve().parent
# The code each kind of entry is made by. Sources, not version constants: this code changes
# often, and a stale cache would silently keep old results.
_CODE = {
    "ingest": ("ingest", "ocr", "models.py"),
    "evidence": ("evidence", "models.py"),
    "report": ("report",),
}
_LIBRARIES = {
    "ingest": ("pdfplumber", "pdfminer.six", "pypdfium2", "python-docx", "openpyxl"),
    "evidence": ("jieba", "rapidfuzz", "pyahocorasick"),
    "report": ("pypdfium2", "Pillow", "Jinja2"),
}
# ExtractOptions fields whose value changes what extract() returns for the same bytes.
RELEVANT_OPTIONS = ("ocr", "ocr_dpi", "max_pages", "password")


@lru_cache(maxsize=None)
def code_version(part: str) -> str:
    """A digest of the source files (and library versions) that make one kind of entry."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    digest = hashlib.sha256(f"{CACHE_FORMAT}|{__version__}|{part}".encode())
    for name in _CODE[part]:
        root = _PACKAGE_DIR / name
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix in (".py", ".j2", ".yaml") and path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(_PACKAGE_DIR).as_posix()}\0".encode() + path.read_bytes())
    for library in _LIBRARIES[part]:
        try:
            digest.update(f"|{library}={version(library)}".encode())
        except PackageNotFoundError:
            digest.update(f"|{library}=-".encode())
    return digest.hexdigest()[:16]


def document_key(options: ExtractOptions) -> str:
    """What the parsed document of given bytes depends on: the ingestion code, the OCR engine
    (when OCR is on) and the options that change the text (the password only as a digest)."""
    values = options.model_dump()
    relevant = {name: values.get(name) for name in RELEVANT_OPTIONS}
    if relevant.get("password"):
        relevant["password"] = hashlib.sha256(str(relevant["password"]).encode()).hexdigest()
    engine = ""
    if options.ocr != "off":
        from .ocr import ocr_fingerprint

        engine = ocr_fingerprint()
    material = json.dumps({"code": code_version("ingest"), "ocr": engine, "options": relevant},
                          sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def evidence_key(framework: Framework) -> str:
    """What a document's evidence depends on besides the document: the evidence code and the
    framework's catalogue and keywords (not its rules: a rules edit keeps the evidence)."""
    return hashlib.sha256(f"{code_version('evidence')}|{framework.evidence_fingerprint}".encode()).hexdigest()[:16]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    writes: int = 0


class _GzipEntries:
    """A folder of gzip entries: a missing one is a miss, a damaged one is deleted (and counted)
    so the next run rebuilds it; a write that fails only costs time."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.stats = CacheStats()

    def _read_model(self, entry: Path, model: type[_Entry]) -> _Entry | None:
        try:
            raw = gzip.decompress(entry.read_bytes())
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except (OSError, EOFError, zlib.error):
            return self._discard(entry)
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

    def _write(self, entry: Path, model: BaseModel) -> Path | None:
        data = gzip.compress(model.model_dump_json(exclude_defaults=True).encode("utf-8"),
                             compresslevel=_GZIP_LEVEL, mtime=0)
        try:
            atomic_write_bytes(entry, data, durable=False)
        except OSError:
            return None
        self.stats.writes += 1
        return entry


class _DocumentEntry(BaseModel):
    sha256: str
    key: str
    document: Document


class DocumentCache(_GzipEntries):
    """Parsed documents: ``<root>/<sha[:2]>/<sha256>.<key>.json.gz``. The same bytes under
    another path (one contract in two applications) are one entry; ``get`` gives the document
    its caller's path and name."""

    def entry_path(self, sha256: str, key: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{key}.json.gz"

    def get(self, sha256: str, key: str, *, path: str | None = None, name: str | None = None) -> Document | None:
        entry = self.entry_path(sha256, key)
        found = self._read_model(entry, _DocumentEntry)
        if found is None:
            return None
        if found.sha256 != sha256 or found.key != key or found.document.sha256 != sha256:
            return self._discard(entry)
        self.stats.hits += 1
        update = {k: v for k, v in (("path", path), ("name", name)) if v is not None}
        return found.document.model_copy(update=update) if update else found.document

    def put(self, document: Document, key: str) -> Path | None:
        return self._write(self.entry_path(document.sha256, key), _DocumentEntry(sha256=document.sha256, key=key,
                                                                           document=document))


class _EvidenceEntry(BaseModel):
    sha256: str
    key: str
    evidence: FileEvidence


class EvidenceCache(_GzipEntries):
    """Each file's evidence (its evidence view and mentions):
    ``<root>/<sha[:2]>/<sha256>.<key>.ev.gz`` where the key joins the document and evidence keys.
    ``get`` gives the view and the mentions its caller's path and name."""

    def entry_path(self, sha256: str, key: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{key}.ev.gz"

    def get(self, sha256: str, key: str, *, path: str, name: str) -> FileEvidence | None:
        entry = self.entry_path(sha256, key)
        found = self._read_model(entry, _EvidenceEntry)
        if found is None:
            return None
        evidence = found.evidence
        if found.sha256 != sha256 or found.key != key or evidence.document.sha256 != sha256:
            return self._discard(entry)
        self.stats.hits += 1
        evidence.document.path, evidence.document.name = path, name
        for mention in evidence.mentions:
            mention.file = path
        return evidence

    def put(self, evidence: FileEvidence, key: str) -> Path | None:
        document = evidence.document
        if any(m.file != document.path or m.sha256 != document.sha256 for m in evidence.mentions):
            return None  # mentions of another document: never cache what get() could not give back
        return self._write(self.entry_path(document.sha256, key), _EvidenceEntry(sha256=document.sha256, key=key,
                                                                           evidence=evidence))


CROP_FORMAT = b"XDTCROP2"


class CropCache:
    """Rendered crops (``<root>/<code>/<key[:2]>/<key>.crop``): a header line with the size and
    marks, then the PNG. ``code`` is the report code's version, so changed crop code never
    reuses old crops. No fsync: a lost entry is only rendered again."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root) / code_version("report")
        self.stats = CacheStats()
        self._folders: set[Path] = set()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.crop"

    def get(self, key: str) -> Crop | None:
        from .report.crops import Crop

        try:
            raw = self._path(key).read_bytes()
        except OSError:
            self.stats.misses += 1
            return None
        header, _, png = raw.partition(b"\n")
        magic, _, meta = header.partition(b" ")
        try:
            if magic != CROP_FORMAT or not png.startswith(b"\x89PNG"):
                raise ValueError("not a crop")
            info = json.loads(meta)
            crop = Crop(png=png, width=int(info["w"]), height=int(info["h"]),
                        marks=tuple(tuple(float(v) for v in m) for m in info["marks"]),  # type: ignore[misc]
                        region=tuple(float(v) for v in info["region"]))  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            self.stats.corrupt += 1
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return crop

    def put(self, key: str, crop: Crop) -> None:
        meta = json.dumps({"w": crop.width, "h": crop.height, "marks": crop.marks, "region": crop.region},
                          separators=(",", ":"))
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            if path.parent not in self._folders:  # a report writes ~30 crops: one folder check each
                path.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(path.parent)
            with open(tmp, "wb") as fh:
                fh.write(CROP_FORMAT + b" " + meta.encode("ascii") + b"\n" + crop.png)
            os.replace(tmp, path)
            self.stats.writes += 1
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass


@dataclass
class ReadTimes:
    """Where a cached reader's time went (seconds)."""

    extract: float = 0.0  # parsing files not in the caches
    evidence: float = 0.0  # finding evidence in documents not in the evidence cache
    cache: float = 0.0  # hashing, reading and writing entries


class CachedReader:
    """A file reader (``path → FileEvidence``) answered from the caches where it can.

    ``extract(path) → Document`` parses a file (raises IngestError); ``find(document) →
    FileEvidence`` finds its evidence; the keys say what they depend on (:func:`document_key`,
    :func:`evidence_key`); ``ocr``: documents whose OCR was left undone are not cached.
    ``known_sha256`` saves hashing files whose digest the caller knows. ``document(path)`` gives the whole parsed document (the duplicate-passage
    check needs all of it, an evidence entry holds only the view)."""

    def __init__(self, root: str | os.PathLike[str], *, document_key: str, evidence_key: str, ocr: bool,
                 extract: Callable[[Path], Document], find: Callable[[Document], FileEvidence],
                 known_sha256: Mapping[str, str] | None = None):
        root = Path(root)
        self.documents = DocumentCache(root / "documents")
        self.evidence = EvidenceCache(root / "evidence")
        self.document_key = document_key
        self.evidence_key = f"{document_key}.{evidence_key}"
        self._ocr_off = not ocr
        self._extract = extract
        self._find = find
        self._known = dict(known_sha256 or {})
        self.times = ReadTimes()

    def _sha256(self, path: str) -> str | None:
        sha = self._known.get(path)
        if sha is None:
            try:
                sha = self._known[path] = sha256_file(path)
            except OSError:
                return None  # the extractor reports the problem in its own words
        return sha

    def __call__(self, path: str) -> FileEvidence:
        t0 = time.perf_counter()
        sha = self._sha256(path)
        name = Path(path).name
        if sha is not None:
            found = self.evidence.get(sha, self.evidence_key, path=path, name=name)
            if found is not None:
                self.times.cache += time.perf_counter() - t0
                return found
        self.times.cache += time.perf_counter() - t0
        document = self.document(path)
        t1 = time.perf_counter()
        evidence = self._find(document)
        t2 = time.perf_counter()
        self.times.evidence += t2 - t1
        self.evidence.put(evidence, self.evidence_key)
        self.times.cache += time.perf_counter() - t2
        return evidence

    def document(self, path: str) -> Document:
        t0 = time.perf_counter()
        sha = self._sha256(path)
        if sha is not None:
            found = self.documents.get(sha, self.document_key, path=path, name=Path(path).name)
            if found is not None:
                self.times.cache += time.perf_counter() - t0
                return found
        t1 = time.perf_counter()
        self.times.cache += t1 - t0
        document = self._extract(Path(path))
        t2 = time.perf_counter()
        self.times.extract += t2 - t1
        if document.sha256 and (self._ocr_off or _worth_caching(document)):
            self.documents.put(document, self.document_key)
        self.times.cache += time.perf_counter() - t2
        return document


def _worth_caching(document: Document) -> bool:
    """Not a document whose OCR should have run and did not (the [ocr] extra missing or broken,
    a page that failed): once OCR works, the file must be read again, not served flagged."""
    from .ocr import ocr_left_undone

    return not ocr_left_undone(document)


def peek_document(root: str | os.PathLike[str], sha256: str) -> Document | None:
    """The newest cached form of a file's document under a batch cache folder — its evidence view, else
    its parsed document — read only: never deleted or rewritten, whatever its keys (the review app shows
    a finished batch's evidence with the document it was screened from)."""
    root = Path(root)
    for kind, suffix, reader in (("evidence", ".ev.gz", _EvidenceEntry), ("documents", ".json.gz", _DocumentEntry)):
        try:
            with os.scandir(root / kind / sha256[:2]) as found:
                entries = sorted(((e.stat().st_mtime_ns, e.path) for e in found
                                  if e.name.startswith(sha256 + ".") and e.name.endswith(suffix)), reverse=True)
        except OSError:
            continue
        for _, path in entries:
            try:
                entry = reader.model_validate_json(gzip.decompress(Path(path).read_bytes()))
            except (OSError, EOFError, zlib.error, ValueError, ValidationError):
                continue
            document = entry.evidence.document if isinstance(entry, _EvidenceEntry) else entry.document
            if entry.sha256 == sha256 and document.sha256 == sha256:
                return document
    return None
