"""OCR cache (keys, atomic writes, corrupt entries) and the OCR confusion data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from xdt_rules.errors import DataFileError
from xdt_rules.ocr.cache import CachedPage, OcrCache, cache_key, default_cache_dir, image_digest
from xdt_rules.ocr.engine import OcrLine


def _page(key: str) -> CachedPage:
    return CachedPage(key=key, engine="test-engine", dpi=200, width=10, height=5,
                      lines=[OcrLine(text="制造执行系统", confidence=0.99, box=(1, 1, 9, 4))])


def test_key_depends_on_pixels_engine_and_dpi() -> None:
    white = Image.new("L", (20, 10), 255)
    grey = Image.new("L", (20, 10), 254)
    rgb = Image.new("RGB", (20, 10), (255, 255, 255))
    assert image_digest(white) == image_digest(white.copy())
    assert len({image_digest(white), image_digest(grey), image_digest(rgb)}) == 3
    base = cache_key(image_digest(white), "e1", 200)
    assert base != cache_key(image_digest(white), "e2", 200)
    assert base != cache_key(image_digest(white), "e1", 150)


def test_round_trip_atomic_and_no_temporary_files(tmp_path: Path) -> None:
    cache = OcrCache(tmp_path)
    key = cache_key("a" * 64, "e", 200)
    assert cache.get(key) is None
    assert cache.put(_page(key))
    assert cache.get(key) == _page(key)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{key}.json"]  # the temporary file was renamed, none left


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"format": 2, "key": "x"}', b"\xff\xfe\x00"])
def test_corrupt_entry_is_a_miss(tmp_path: Path, garbage: bytes) -> None:
    cache = OcrCache(tmp_path)
    key = cache_key("b" * 64, "e", 200)
    cache.put(_page(key))
    next(tmp_path.rglob("*.json")).write_bytes(garbage)
    assert cache.get(key) is None
    assert cache.put(_page(key)) and cache.get(key) == _page(key)  # and it heals on the next write


def test_entry_under_another_key_is_a_miss(tmp_path: Path) -> None:
    cache = OcrCache(tmp_path)
    key, other = cache_key("c" * 64, "e", 200), cache_key("d" * 64, "e", 200)
    cache.put(_page(key))
    path = next(tmp_path.rglob("*.json"))
    moved = tmp_path / other[:2] / f"{other}.json"
    moved.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, moved)
    assert cache.get(other) is None


def test_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = OcrCache(blocker / "ocr")  # cannot create a folder under a file
    assert cache.put(_page(cache_key("e" * 64, "e", 200))) is False


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "xdt-rules" / "ocr"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "xdt-rules" / "ocr"
