"""OCR results cached on disk, so re-screening a batch never OCRs the same page image twice.

Key = sha256 of the page image's raw pixels (mode and size included) + engine version (package,
model files, parameters) + render dpi. The raw engine output (lines in pixels, and the rotation
that made the page upright) is stored, not blocks: changing the layout code needs no new OCR pass.

Writes are atomic (temporary file in the same folder, then ``os.replace``), so a crashed or
parallel worker never leaves a half-written entry; an unreadable or invalid entry is a miss.
The cache is an optimisation: failing to write it never fails the extraction.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .engine import OcrLine

CACHE_FORMAT = 2


class CachedPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int = CACHE_FORMAT
    key: str
    engine: str
    dpi: int
    width: int
    height: int
    rotation: int = 0  # counter-clockwise degrees that turned the image upright; lines are in that frame
    lines: list[OcrLine]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xdt-rules" / "ocr"


def image_digest(image: Any) -> str:
    """sha256 over mode, size and raw pixels of a PIL image (independent of PNG encoder settings)."""
    digest = hashlib.sha256()
    digest.update(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def cache_key(pixels_sha256: str, engine_version: str, dpi: int) -> str:
    return hashlib.sha256(f"{pixels_sha256}|{engine_version}|{dpi}".encode()).hexdigest()


class OcrCache:
    def __init__(self, folder: str | os.PathLike[str] | None = None):
        self.folder = Path(folder) if folder else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedPage | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            page = CachedPage.model_validate(json.loads(raw))
        except (ValueError, ValidationError):  # corrupt, truncated or from another format
            return None
        if page.key != key or page.format != CACHE_FORMAT:
            return None
        return page

    def put(self, page: CachedPage) -> bool:
        """Store atomically; False (and nothing left behind) when the folder is not writable."""
        path = self._path(page.key)
        tmp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "wb", dir=path.parent, prefix=f".{page.key[:8]}.", suffix=".tmp", delete=False
            ) as tmp:
                tmp_name = tmp.name
                tmp.write(page.model_dump_json().encode("utf-8"))
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
            return True
        except OSError:
            if tmp_name:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass
            return False
