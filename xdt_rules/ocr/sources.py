"""Where page images come from: rendered PDF pages, image files, images embedded in DOCX.

Every function here returns PIL images and raises :class:`ImageSourceError` (with a Chinese and an
English reason) for a page it cannot produce; the caller turns that into a per-page warning.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

# An embedded image larger than this (declared, uncompressed) is skipped: a scanned A4 page at
# 300 dpi is ~3 MB as JPEG, ~25 MB as raw BMP; beyond that it is a bomb or not a document scan.
MAX_EMBEDDED_IMAGE_BYTES = 40 * 1024 * 1024
MAX_EMBEDDED_IMAGES = 200
# Icons, logos, bullets and signature snippets are not worth an OCR pass.
MIN_EMBEDDED_IMAGE_SIDE = 120
MIN_EMBEDDED_IMAGE_AREA = 200 * 200
# Pillow refuses images above ~179 M pixels by default (decompression-bomb guard); we stay far below.
MAX_IMAGE_PIXELS = 60_000_000
_OCR_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


class ImageSourceError(Exception):
    def __init__(self, reason_zh: str, reason_en: str):
        super().__init__(f"{reason_zh} / {reason_en}")
        self.reason_zh = reason_zh
        self.reason_en = reason_en


def _pdfium_render(path: Path, page_number: int, dpi: int, password: str | None) -> Image.Image:
    """Fallback renderer (ingestion's ``render_pdf_page`` is preferred when it exists)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path), password=password)
    try:
        page = pdf[page_number - 1]
        try:
            bitmap = page.render(scale=dpi / 72.0, grayscale=True, may_draw_forms=True)
            return bitmap.to_pil().copy()
        finally:
            page.close()
    finally:
        pdf.close()


def render_pdf_page(path: Path, page_number: int, dpi: int, password: str | None = None) -> Image.Image:
    """A PDF page (1-based) as an image at ``dpi``, grayscale where the renderer allows."""
    try:
        from ..ingest.pdf import render_pdf_page as ingest_render  # type: ignore[attr-defined]
    except ImportError:
        ingest_render = None
    try:
        if ingest_render is not None:
            image = ingest_render(path, page_number, dpi, password=password)
        else:
            image = _pdfium_render(path, page_number, dpi, password)
    except Exception as exc:  # noqa: BLE001 - a renderer failure is one page's warning, never a crash
        raise ImageSourceError(f"页面渲染失败（{type(exc).__name__}）",
                               f"page could not be rendered ({type(exc).__name__}: {exc})") from exc
    return _normalise(image)


def _normalise(image: Image.Image) -> Image.Image:
    """Upright, 8-bit grayscale: scans are read in gray, and gray hashes and caches smaller."""
    if image.width * image.height > MAX_IMAGE_PIXELS:
        factor = (MAX_IMAGE_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent screenshots: flatten on white, or transparent text turns black on black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "L":
        image = image.convert("L")
    return image


def open_image(data: bytes | Path, frame: int = 0) -> Image.Image:
    """One frame of an image file or of embedded image bytes, upright (EXIF) and normalised."""
    import io

    try:
        source: Any = io.BytesIO(data) if isinstance(data, bytes) else data
        with Image.open(source) as image:
            if image.width * image.height > 4 * MAX_IMAGE_PIXELS:
                raise ImageSourceError("图片像素过多，疑似异常文件", "image has too many pixels")
            frames = getattr(image, "n_frames", 1)
            if frame >= frames:
                raise ImageSourceError(f"图片没有第 {frame + 1} 帧", f"image has no frame {frame + 1}")
            image.seek(frame)
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            return _normalise(upright.copy())
    except ImageSourceError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageSourceError(f"图片无法读取（{type(exc).__name__}）",
                               f"image cannot be read ({type(exc).__name__}: {exc})") from exc


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from an image's header (no decoding), or None if it is not an image."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def image_dpi(path: Path) -> float | None:
    """The resolution an image file declares (for pixel → point conversion), if plausible."""
    try:
        with Image.open(path) as image:
            dpi = image.info.get("dpi")
    except (OSError, ValueError):
        return None
    if dpi and isinstance(dpi, tuple) and dpi[0] and 50 <= float(dpi[0]) <= 1200:
        return float(dpi[0])
    return None


def read_docx_member(path: Path, name: str) -> bytes:
    """One embedded image's bytes, read only when it is OCR'd (never all images at once)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(name)
            if info.file_size > MAX_EMBEDDED_IMAGE_BYTES:
                raise ImageSourceError("嵌入图片过大", "embedded image too large")
            return archive.read(info)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImageSourceError("嵌入图片无法读取", f"embedded image cannot be read: {exc}") from exc


_RELS = "word/_rels/document.xml.rels"
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"[^>]*?/?>')
_REL_REVERSED = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"[^>]*?/?>')
_EMBED = re.compile(rb'r:(?:embed|id|link)="([^"]+)"')


def _media_order(archive: zipfile.ZipFile, members: list[str]) -> list[str]:
    """Media in the order the document body first references them; the rest (headers…) after."""
    order: list[str] = []
    try:
        rels = archive.read(_RELS)
        body = archive.read("word/document.xml")
    except KeyError:
        return sorted(members)
    targets: dict[bytes, str] = {}
    for rid, target in _REL.findall(rels):
        targets[rid] = target.decode("utf-8", "replace")
    for target, rid in _REL_REVERSED.findall(rels):
        targets.setdefault(rid, target.decode("utf-8", "replace"))
    for rid in _EMBED.findall(body):
        target = targets.get(rid)
        if not target:
            continue
        member = str(PurePosixPath("word") / target) if not target.startswith("/") else target.lstrip("/")
        member = str(PurePosixPath(member))  # no "..": media live under word/media
        if member in members and member not in order:
            order.append(member)
    return order + sorted(m for m in members if m not in order)


def docx_images(path: Path) -> tuple[list[str], list[str]]:
    """Zip members of the OCR-able images embedded in a DOCX (``word/media/*``), in document
    order, and the names of the media skipped (vector EMF/WMF, oversized) so the caller can say so."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImageSourceError("DOCX 无法打开以读取图片", f"DOCX cannot be opened for its images: {exc}") from exc
    with archive:
        infos = {i.filename: i for i in archive.infolist() if i.filename.startswith("word/media/") and not i.is_dir()}
        images: list[str] = []
        skipped: list[str] = []
        for name in _media_order(archive, list(infos)):
            info = infos[name]
            short = PurePosixPath(name).name
            if PurePosixPath(name).suffix.lower() not in _OCR_IMAGE_SUFFIXES:
                skipped.append(short)  # EMF/WMF/SVG: vector drawings, not scans
                continue
            if info.file_size > MAX_EMBEDDED_IMAGE_BYTES or len(images) >= MAX_EMBEDDED_IMAGES:
                skipped.append(short)
                continue
            images.append(name)
        return images, skipped


def big_enough(image: Image.Image) -> bool:
    return (min(image.size) >= MIN_EMBEDDED_IMAGE_SIDE
            and image.width * image.height >= MIN_EMBEDDED_IMAGE_AREA)
