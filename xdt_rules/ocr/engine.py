"""The OCR engine: rapidocr-onnxruntime 1.4.x with the Chinese PP-OCR models shipped in its wheel.

Why this package and this version range (``xdt-rules[ocr]`` pins ``>=1.4.4,<1.5``):
the 1.4 wheel carries ``models/ch_PP-OCRv4_det_infer.onnx``, ``ch_PP-OCRv4_rec_infer.onnx`` and
``ch_ppocr_mobile_v2.0_cls_infer.onnx`` and resolves them next to its own ``config.yaml``
(``update_model_path``); nothing in it opens a network connection. rapidocr 2.x/3.x instead look the
model up in ``default_models.yaml`` and fetch it from ModelScope on first use when the file is not
already present, which a government office machine behind a firewall cannot do.

The engine is created lazily, once per process, with 1–2 intra-op threads (see default_threads):
batch screening runs one worker process per core, and onnxruntime's default (one thread per core
in every worker) would oversubscribe the CPU. ``XDT_OCR_THREADS`` overrides the count.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENGINE_PACKAGE = "rapidocr_onnxruntime"
ENGINE_DISTRIBUTION = "rapidocr-onnxruntime"
THREADS_ENV = "XDT_OCR_THREADS"

# Parameters that change the engine's output, so they are part of the cache key.
# text_score: lines recognised with a lower score are dropped; 0.5 (rapidocr's default) keeps
#   faint text and rejects noise from stamps and table rules. The engine itself is asked for
#   every line (score ≥ 0) so that a page full of low scores can be recognised as turned.
# use_cls: rapidocr's per-line 180° classifier is OFF: on clean document lines it flips a correct
#   line now and then (measured: one line of a rendered 申报书 page read as empty), and document
#   scans are turned as whole pages, which upright_recognise() handles per page instead.
# return_word_box: per-character x positions, so a line read across a table rule can be split.
ENGINE_PARAMS: dict[str, Any] = {"text_score": 0.5, "use_cls": False, "return_word_box": True, "orient": 2}
# Orientation (see upright_recognise): a page reads "poorly" when fewer than POOR_SHARE of the
# detected boxes reach text_score, or their mean score is below POOR_MEAN; it is "turned by 90°"
# when at least POOR_SHARE of its boxes are taller than wide.
POOR_SHARE = 0.5
POOR_MEAN = 0.75
MIN_BOXES_TO_ORIENT = 3


class OcrUnavailable(RuntimeError):
    """The [ocr] extra is not installed (``installed`` False) or cannot load (native parts)."""

    def __init__(self, detail: str, *, installed: bool = True):
        super().__init__(detail)
        self.installed = installed


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
    """1–2 intra-op threads. Measured here (2 cores): a second thread gave ×1.27 on an idle
    machine and ×0.48 (slower) with the other core busy, so small machines get 1 and machines
    with ≥ 4 cores get 2; batch workers running one process per core should set 1."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value >= 1:
            return value
    return 2 if (os.cpu_count() or 1) >= 4 else 1


def _import_engine_module() -> Any:
    try:
        return importlib.import_module(ENGINE_PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name == ENGINE_PACKAGE:  # the extra is not installed
            raise OcrUnavailable(str(exc), installed=False) from exc
        raise OcrUnavailable(f"缺少 {exc.name} / missing {exc.name}") from exc  # a dependency of it is
    except (ImportError, OSError) as exc:  # e.g. OpenCV without libGL, a broken onnxruntime
        raise OcrUnavailable(f"{type(exc).__name__}: {exc}") from exc


def unavailable_reason() -> str | None:
    """None when the engine can be imported; "" when the [ocr] extra is not installed; otherwise
    why the installed extra cannot load. Not cached: tests simulate a missing extra."""
    try:
        _import_engine_module()
    except OcrUnavailable as exc:
        return str(exc) if exc.installed else ""
    return None


def ocr_available() -> bool:
    """True when the [ocr] extra can be imported."""
    return unavailable_reason() is None


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

    def read(self, image: Any) -> Recognition:
        """OCR one image (PIL image or numpy array) as it stands. An image without text gives no lines."""
        with self._lock:
            # Passing any keyword resets rapidocr's thresholds to the values given, so all are given.
            result, _elapsed = self._ocr(
                image,
                use_cls=ENGINE_PARAMS["use_cls"],
                text_score=0.0,
                return_word_box=ENGINE_PARAMS["return_word_box"],
            )
        recognition = Recognition()
        for entry in result or []:
            quad, raw_text, score = entry[0], str(entry[1]), float(entry[2])
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            recognition.detected += 1
            if max(ys) - min(ys) > 1.5 * (max(xs) - min(xs)):
                recognition.tall += 1
            text = raw_text.strip()
            if not text or score < ENGINE_PARAMS["text_score"]:
                continue
            recognition.lines.append(
                OcrLine(
                    text=text,
                    confidence=round(min(1.0, max(0.0, score)), 4),
                    box=(round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)),
                    char_x=_char_x(text, entry[3:5]) if len(entry) >= 5 else None,
                )
            )
        return recognition

    def recognise(self, image: Any) -> list[OcrLine]:
        """The lines of one image as it stands (no orientation check)."""
        return self.read(image).lines


@dataclass
class Recognition:
    lines: list[OcrLine] = field(default_factory=list)  # kept lines (score ≥ text_score)
    detected: int = 0  # text boxes the detector found
    tall: int = 0  # boxes taller than wide: text running vertically (a page turned by 90°)

    @property
    def score(self) -> float:
        return sum(line.confidence * len(line.text) for line in self.lines)

    @property
    def poor(self) -> bool:
        if self.detected < MIN_BOXES_TO_ORIENT:
            return False
        if len(self.lines) < POOR_SHARE * self.detected:
            return True
        chars = sum(len(line.text) for line in self.lines) or 1
        return self.score / chars < POOR_MEAN


def upright_recognise(engine: OcrEngine, image: Any) -> tuple[int, list[OcrLine]]:
    """The lines of a page read the right way up, and the counter-clockwise rotation (0, 90, 180,
    270 degrees, PIL's convention) that made it upright; lines are in the rotated image's pixels.

    A page whose text boxes mostly stand upright is turned by 90° (it reads well as it stands,
    because rapidocr turns tall crops itself, but then its lines come out as columns): it is read
    turned 90° and 270° and the better reading wins. A page that reads poorly as it stands is
    retried turned 180°. Well-read upright pages cost one pass.
    """
    first = engine.read(image)
    if first.detected >= MIN_BOXES_TO_ORIENT and first.tall >= POOR_SHARE * first.detected:
        readings = [(rotation, engine.read(image.rotate(rotation, expand=True))) for rotation in (90, 270)]
        rotation, best = max(readings, key=lambda pair: pair[1].score)
        if not best.poor and best.tall < POOR_SHARE * best.detected:
            return rotation, best.lines
        return 0, first.lines
    if first.poor:
        turned = engine.read(image.rotate(180, expand=True))
        if turned.score > first.score * 1.2 and not turned.poor:
            return 180, turned.lines
    return 0, first.lines


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
