"""What crosses the network when a batch runs on a Dask cluster, and the checks that make a
result computed on another machine the same as one computed here.

- :class:`BatchSpec` is sent once per batch (every worker gets it once, as a task result Dask
  keeps): the pipeline, the framework's data files (a worker never needs this machine's
  ``rules/`` or ``keywords/``; a rules edit here is what the workers score with), the time and
  memory limits, and the fingerprint of the code.
- :class:`Shipment` is one application: its files as bytes (or as paths on a share every machine
  mounts) and the cache entries this machine already has for them.
- :class:`ShippedResult` comes back: the event the local pool would have reported (done, timeout,
  memory, died, error) and the files the work wrote — outputs, passages, cache entries — for
  this machine to write, as the one writer of OUT.

A worker with other code (another version of xdt-rules, or no OCR engine where this machine has
one) would give other results: :func:`tool_fingerprint` is compared before anything runs.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..framework import FrameworkRef, _data_files, framework_paths
from ..models import FileRecord
from .executor import TaskDone, TaskFailed
from .work import BatchPipeline

_PACKAGE = Path(__file__).resolve().parents[1]
# What the package's results are made of besides Python code: templates, the shipped font, data
# the code reads. _data is the framework (shipped with the batch instead).
_CODE_SUFFIXES = (".py", ".j2", ".css", ".js", ".ttc", ".ttf", ".otf", ".yaml", ".json")
# Libraries whose version changes what a document reads as, its evidence or its report.
_LIBRARIES = ("pdfplumber", "pdfminer.six", "pypdfium2", "python-docx", "openpyxl", "jieba", "rapidfuzz",
              "pyahocorasick", "durable-rules", "pydantic", "Jinja2", "Pillow", "numpy")

Area = Literal["out", "cache", "ocr"]
AREAS: tuple[Area, ...] = ("out", "cache", "ocr")


@lru_cache(maxsize=4)
def tool_fingerprint(ocr: bool) -> str:
    """A digest of this installation's code, the libraries it reads with and (OCR on) the engine."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        rel = path.relative_to(_PACKAGE)
        if rel.parts[0] == "_data" or "__pycache__" in rel.parts or path.suffix not in _CODE_SUFFIXES:
            continue
        if path.is_file():
            digest.update(f"{rel.as_posix()}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    for library in _LIBRARIES:
        try:
            digest.update(f"|{library}={version(library)}".encode())
        except PackageNotFoundError:
            digest.update(f"|{library}=-".encode())
    if ocr:
        from ..ocr import ocr_fingerprint

        digest.update(ocr_fingerprint().encode())
    return digest.hexdigest()[:16]


class FrameworkFiles(BaseModel):
    """A framework's data files by folder (``rules`` / ``keywords``) and relative POSIX path."""

    fingerprint: str
    rules: dict[str, bytes]
    keywords: dict[str, bytes]


def pack_framework(ref: FrameworkRef, fingerprint: str) -> FrameworkFiles:
    """Every data file the framework's fingerprint is made of (so the worker can check it)."""
    folder, keywords = framework_paths(ref)
    return FrameworkFiles(fingerprint=fingerprint,
                          rules={rel: (folder / rel).read_bytes() for rel in _data_files(folder)},
                          keywords={rel: (keywords / rel).read_bytes() for rel in _data_files(keywords)})


class BatchSpec(BaseModel):
    """Sent once per batch to each worker."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    batch_id: str
    tool: str = Field(description="tool_fingerprint() of the client")
    pipeline: BatchPipeline
    framework: FrameworkFiles
    file_timeout: float | None
    memory_limit_mb: float | None = Field(None, description="None: chosen on each worker from its memory; 0: none")
    passages: bool = True
    ocr_page_seconds: float = 20.0
    use_cache: bool = True
    ocr_cache: bool = Field(False, description="OCR pages come back into the client's OCR cache")


class ShippedFile(BaseModel):
    rel: str = Field(description="inside the application's root; the file name for a loose file")
    client_path: str = Field(description="the path on the client: what events and reasons name")
    sha256: str | None = None
    data: bytes | None = Field(None, description="the file's bytes, sent with the task (None: read on the share)")


class AreaFile(BaseModel):
    """A file under OUT (``out``), the cache folder (``cache``) or the OCR cache (``ocr``)."""

    area: Area
    rel: str
    data: bytes


class Shipment(BaseModel):
    """One application, as the worker needs it."""

    task_id: str
    name: str
    loose_file: bool = Field(False, description="the application is one file (its root is the file)")
    client_root: str = Field("", description="the application's root on the client")
    shared_root: str | None = Field(None, description="its root on the share, when files are read there")
    files: list[ShippedFile]
    file_errors: list[FileRecord] = Field(default_factory=list)
    seeds: list[AreaFile] = Field(default_factory=list, description="entries the client already has")


class ShippedResult(BaseModel):
    """What the local pool would have reported, and the files the work wrote."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    event: TaskDone | TaskFailed
    files: list[AreaFile] = Field(default_factory=list)
    worker: str = ""
    peak_rss_mb: float = 0.0


def safe_rel(rel: str) -> PurePosixPath | None:
    """A relative path that stays inside its folder, or None (a result names where it goes:
    a worker must not be able to write anywhere else on the client)."""
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or "\\" in rel or ":" in rel or any(p in ("", ".", "..") for p in path.parts):
        return None
    return path


def describe(value: Any) -> str:
    """A short one-line description of an exception for bilingual messages."""
    text = str(value).strip().splitlines()[0] if str(value).strip() else type(value).__name__
    return text[:200]
