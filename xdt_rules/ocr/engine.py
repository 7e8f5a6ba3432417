"""The OCR engine: rapidocr-onnxruntime 1.4.x with the Chinese PP-OCR models shipped in its wheel.

Why this package and this version range (``xdt-rules[ocr]`` pins ``>=1.4.4,<1.5``):
the 1.4 wheel carries ``models/ch_PP-OCRv4_det_infer.onnx``, ``ch_PP-OCRv4_rec_infer.onnx`` and
``ch_ppocr_mobile_v2.0_cls_infer.onnx`` and resolves them next to its own ``config.yaml``
(``update_model_path``); nothing in it opens a network connection. rapidocr 2.x/3.x instead look the
model up in ``default_models.yaml`` and fetch it from ModelScope on first use when the file is not
already present, which a government office machine behind a firewall cannot do.

The engine is created lazily, once per process, with few intra-op threads: batch screening runs one
worker process per core, and onnxruntime's default (one thread per core in every worker) would
oversubscribe the CPU. ``XDT_OCR_THREADS`` overrides the count.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENGINE_PACKAGE = "rapidocr_onnxruntime"
ENGINE_DISTRIBUTION = "rapidocr-onnxruntime"
THREADS_ENV = "XDT_OCR_THREADS"

# Parameters we pass to the engine. They change its output, so they are part of the cache key.
# text_score: rapidocr drops recognised lines below this score; 0.5 is its default and keeps
# genuinely faint text while rejecting noise from stamps and table rules.
# return_word_box: per-character x positions, so a line read across a table rule can be split.
ENGINE_PARAMS: dict[str, Any] = {"text_score": 0.5, "use_cls": True, "return_word_box": True}


class OcrUnavailable(RuntimeError):
    """The [ocr] extra is not installed (or its native parts cannot load)."""


class OcrLine(BaseModel):
    """One text line as the engine found it, in image pixels (origin top-left)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    box: tuple[float, float, float, float] = Field(description="x0, top, x1, bottom in pixels")
    char_x: list[tuple[float, float]] | None = Field(
        None, description="x0, x1 of every non-space character of text, in order (splits a line at table rules)"
    )


def default_threads() -> int:
    """1–2 intra-op threads: enough for one interactive file, polite to sibling batch workers."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
    return max(1, min(2, os.cpu_count() or 1))


def _import_engine_module() -> Any:
    try:
        return importlib.import_module(ENGINE_PACKAGE)
    except ImportError as exc:  # includes the module being blocked in sys.modules
        raise OcrUnavailable(str(exc)) from exc
    except OSError as exc:  # onnxruntime/opencv native library that fails to load
        raise OcrUnavailable(f"{type(exc).__name__}: {exc}") from exc


def ocr_available() -> bool:
    """True when the [ocr] extra can be imported. Not cached: tests simulate a missing extra."""
    try:
        _import_engine_module()
    except OcrUnavailable:
        return False
    return True


_version_lock = threading.Lock()
_version_cache: str | None = None


def engine_version() -> str:
    """Package version + hash of the model files + our parameters: the OCR cache key's model part.

    Hashing ~16 MB of models costs ~30 ms once per process; it makes a swapped model file (a
    patched wheel, a local override) invalidate old cache entries instead of serving stale text.
    """
    global _version_cache
    with _version_lock:
        if _version_cache is None:
            module = _import_engine_module()
            package_dir = Path(module.__file__).resolve().parent
            digest = hashlib.sha256()
            for model in sorted((package_dir / "models").glob("*.onnx")):
                digest.update(model.name.encode())
                with model.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
            digest.update(repr(sorted(ENGINE_PARAMS.items())).encode())
            try:
                version = importlib.metadata.version(ENGINE_DISTRIBUTION)
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
            _version_cache = f"{ENGINE_DISTRIBUTION}-{version}+{digest.hexdigest()[:12]}"
        return _version_cache


class OcrEngine:
    """A thin wrapper that turns rapidocr's nested lists into :class:`OcrLine` models."""

    def __init__(self, threads: int | None = None):
        module = _import_engine_module()
        self.threads = threads or default_threads()
        try:
            self._ocr = module.RapidOCR(
                intra_op_num_threads=self.threads,
                inter_op_num_threads=1,
                text_score=ENGINE_PARAMS["text_score"],
            )
        except (OSError, RuntimeError) as exc:
            raise OcrUnavailable(f"{type(exc).__name__}: {exc}") from exc
        # rapidocr mutates detector state inside __call__; one call at a time per engine.
        self._lock = threading.Lock()

    def recognise(self, image: Any) -> list[OcrLine]:
        """OCR one image (PIL image or numpy array). An image without text gives []."""
        with self._lock:
            # Passing any keyword resets rapidocr's thresholds to the values given, so all are given.
            result, _elapsed = self._ocr(
                image,
                use_cls=ENGINE_PARAMS["use_cls"],
                text_score=ENGINE_PARAMS["text_score"],
                return_word_box=ENGINE_PARAMS["return_word_box"],
            )
        lines: list[OcrLine] = []
        for entry in result or []:
            quad, raw_text, score = entry[0], str(entry[1]), entry[2]
            text = raw_text.strip()
            if not text:
                continue
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            lines.append(
                OcrLine(
                    text=text,
                    confidence=round(min(1.0, max(0.0, float(score))), 4),
                    box=(round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)),
                    char_x=_char_x(text, entry[3:5]) if len(entry) >= 5 else None,
                )
            )
        return lines


def _char_x(text: str, word_info: Any) -> list[tuple[float, float]] | None:
    """x-extent per non-space character, or None when rapidocr's boxes do not line up with text."""
    boxes, chars = word_info
    visible = [c for c in text if not c.isspace()]
    if not boxes or len(boxes) != len(chars) or "".join(chars).replace(" ", "") != "".join(visible):
        return None
    if len(chars) != len(visible):  # a multi-character entry: cannot place single characters
        return None
    extents = []
    for quad in boxes:
        xs = [float(p[0]) for p in quad]
        extents.append((round(min(xs), 1), round(max(xs), 1)))
    return extents


_engine_lock = threading.Lock()
_engine: OcrEngine | None = None


def get_engine() -> OcrEngine:
    """The process-wide engine, created on first use (model load ~0.2 s)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = OcrEngine()
        return _engine
