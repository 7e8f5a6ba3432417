"""OCR of scanned pages and images (the ``xdt-rules[ocr]`` extra: rapidocr-onnxruntime 1.4.x,
Chinese PP-OCRv4 models inside its wheel, nothing downloaded at run time).

Ingestion calls :func:`apply_ocr` at the end of ``extract()`` when ``options.ocr != "off"``.
This package imports without the extra; only running the engine needs it.
"""

from __future__ import annotations

from .apply import (DEFAULT_DPI, DOCX_LITTLE_TEXT_CHARS, MISSING_EXTRA_ZH, OcrWork, apply_ocr, ocr_fingerprint,
                    ocr_image, ocr_left_undone, ocr_work_done)
from .cache import OcrCache, default_cache_dir
from .engine import OcrLine, OcrUnavailable, engine_version, get_engine, ocr_available

__all__ = [
    "DEFAULT_DPI",
    "DOCX_LITTLE_TEXT_CHARS",
    "MISSING_EXTRA_ZH",
    "OcrCache",
    "OcrLine",
    "OcrUnavailable",
    "OcrWork",
    "apply_ocr",
    "default_cache_dir",
    "engine_version",
    "get_engine",
    "ocr_available",
    "ocr_fingerprint",
    "ocr_image",
    "ocr_left_undone",
    "ocr_work_done",
]
