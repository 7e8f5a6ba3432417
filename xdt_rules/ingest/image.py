"""Images (PNG/JPEG/TIFF/BMP): no text layer; one page per frame, each flagged for OCR."""

from __future__ import annotations

import warnings as _warnings
from pathlib import Path

from ..errors import IngestError
from ..models import PageInfo

REASON_IMAGE = "需要OCR"
# Multi-page TIFFs of more frames than this are refused (a scan of a whole package is ~100).
MAX_FRAMES = 2000


def extract_image(path: Path, file: str, options) -> tuple[int, list[PageInfo]]:
    from PIL import Image

    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                frames = getattr(image, "n_frames", 1) or 1
                width, height = image.size
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IngestError("图片像素过多（疑似解压炸弹）", f"image too large in pixels ({exc})", file=file,
                          code="too_large") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise IngestError("图片文件已损坏，无法打开", f"the image is damaged ({type(exc).__name__}: {exc})", file=file,
                          code="corrupt") from exc
    if frames > min(MAX_FRAMES, options.max_pages):
        raise IngestError(f"图片共 {frames} 帧，超过上限", f"{frames} frames exceed the limit", file=file, code="too_large")
    # Width/height are pixels here (an image has no points); the OCR stage reads the pixels.
    pages = [PageInfo(number=k + 1, width=float(width), height=float(height), status="no_text_layer",
                      reason=REASON_IMAGE, chars=0) for k in range(frames)]
    return frames, pages
