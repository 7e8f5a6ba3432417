"""Document ingestion with provenance: any submitted file → ``Document`` of ordered blocks.

``extract(path, options)`` decides the type by content, runs the matching reader, applies the
per-page quality gate (PDF), and hands pages that need OCR to ``xdt_rules.ocr`` when that
stage is installed. Every failure is an ``IngestError`` with a Chinese + English reason and a
short code; no library exception escapes.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import IngestError, XdtError
from ..models import Document, PageInfo
from .filetype import Sniffed, sniff
from .limits import DOCX_LITTLE_TEXT_CHARS, MAX_DOCUMENT_CHARS, SNIFF_BYTES
from .quality import needs_ocr
from .structure import BlockSink

# Bump when the blocks produced for the same file change (batch caches are keyed on it).
EXTRACTOR_VERSION = "ingest-1.1"

__all__ = ["EXTRACTOR_VERSION", "ExtractOptions", "extract", "ocr_notice", "pages_needing_ocr"]


class ExtractOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = None
    max_file_mb: float = Field(200, gt=0, description="larger files are refused (too_large)")
    max_pages: int = Field(2000, gt=0)
    ocr: Literal["auto", "off", "force"] = "auto"  # consumed by xdt_rules.ocr
    ocr_dpi: int = Field(200, gt=0)
    cache_dir: str | None = None  # OCR results cache (used by xdt_rules.ocr)


def extract(path: str | Path, options: ExtractOptions | None = None) -> Document:
    """Read one file into a Document; raises IngestError for anything that cannot be read."""
    options = options or ExtractOptions()
    file = str(path)
    p = Path(path)
    size, sha256, head = _read_identity(p, file, options)
    sniffed = sniff(p, head, file)
    try:
        document = _dispatch(p, file, sniffed, size, sha256, options)
    except XdtError:
        raise
    except MemoryError as exc:
        raise IngestError("文件过大或结构异常，内存不足", "out of memory reading the file", file=file,
                          code="too_large") from exc
    except Exception as exc:  # noqa: BLE001 - never let a library exception escape
        raise IngestError("文件无法解析（可能已损坏）", f"cannot parse the file, possibly damaged ({type(exc).__name__}: "
                          f"{_short(exc)})", file=file, code="corrupt") from exc
    return _maybe_ocr(document, p, options)


RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")


def _docx_raster_images(path: Path) -> int:
    """Embedded photos/scans in word/media (counted from the ZIP directory only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for n in archive.namelist()
                       if n.startswith("word/media/") and n.lower().endswith(RASTER_SUFFIXES))
    except (zipfile.BadZipFile, OSError):
        return 0


def _docx_has_raster_images(path: Path) -> bool:
    return _docx_raster_images(path) > 0


_OCR_NOTICE: ContextVar[Callable[[int], None] | None] = ContextVar("xdt_ocr_notice", default=None)


@contextmanager
def ocr_notice(callback: Callable[[int], None]) -> Iterator[None]:
    """Within the block, ``callback(n)`` is called when ``extract()`` is about to run OCR on
    about ``n`` pages or images — the batch gives the file more time right then, instead of
    estimating beforehand. Only a notice: nothing that is read changes."""
    token = _OCR_NOTICE.set(callback)
    try:
        yield
    finally:
        _OCR_NOTICE.reset(token)


def _ocr_workload(document: Document, path: Path, options: ExtractOptions) -> int:
    """How many pages or images the OCR stage is about to read (an upper bound)."""
    if document.file_type == "docx":
        return _docx_raster_images(path)
    if options.ocr == "force" and document.file_type in ("pdf", "image"):
        return document.pages or len(document.page_info) or 1
    return len(pages_needing_ocr(document))


def pages_needing_ocr(document: Document) -> list[int]:
    """1-based pages whose text layer is missing or garbled."""
    return [info.number for info in document.page_info if needs_ocr(info.status)]


def _short(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def _read_identity(p: Path, file: str, options: ExtractOptions) -> tuple[int, str, bytes]:
    try:
        if not p.exists():
            raise IngestError("文件不存在", "file not found", file=file, code="not_found")
        if p.is_dir():
            raise IngestError("这是一个文件夹，不是文件", "this is a directory, not a file", file=file, code="not_a_file")
        if not p.is_file():
            raise IngestError("不是普通文件", "not a regular file", file=file, code="not_a_file")
        size = p.stat().st_size
        if size == 0:
            raise IngestError("文件为空（0 字节）", "the file is empty (0 bytes)", file=file, code="empty")
        limit = options.max_file_mb * 1024 * 1024
        if size > limit:
            raise IngestError(f"文件过大（{size / 1048576:.2f} MB，上限 {options.max_file_mb:g} MB）",
                              f"file too large ({size / 1048576:.2f} MB, limit {options.max_file_mb:g} MB)",
                              file=file, code="too_large")
        digest = hashlib.sha256()
        head = b""
        with p.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                if not head:
                    head = chunk[:SNIFF_BYTES]
                digest.update(chunk)
        return size, digest.hexdigest(), head
    except PermissionError as exc:
        raise IngestError("没有读取权限", "permission denied", file=file, code="unreadable") from exc
    except OSError as exc:
        raise IngestError("无法读取文件", f"cannot read the file ({exc.strerror or exc})", file=file,
                          code="unreadable") from exc


def _dispatch(p: Path, file: str, sniffed: Sniffed, size: int, sha256: str, options: ExtractOptions) -> Document:
    sink = BlockSink()
    pages: int | None = None
    page_info: list[PageInfo] = []
    warnings: list[str] = []
    file_type = sniffed.kind
    if sniffed.kind == "pdf":
        from .pdf import extract_pdf

        pages, page_info, warnings = extract_pdf(p, file, options, sink)
    elif sniffed.kind == "docx":
        from .docx import extract_docx

        warnings = extract_docx(p, file, sink)
    elif sniffed.kind == "xlsx":
        from .xlsx import extract_xlsx

        warnings = extract_xlsx(p, file, sink)
    elif sniffed.kind in ("txt", "md"):
        from .text import extract_text

        warnings = extract_text(p, file, sniffed.kind, sink)
    elif sniffed.kind == "image":
        from .image import extract_image

        pages, page_info = extract_image(p, file, options)
    elif sniffed.kind in ("doc", "wps", "xls"):
        from .legacy import extract_legacy

        converted_type, pages, page_info, warnings = extract_legacy(p, file, sniffed.kind, options, sink)
        file_type = sniffed.kind if sniffed.kind != "xls" else converted_type
    else:  # pragma: no cover - sniff() only returns the kinds above
        raise IngestError("不支持的文件类型", "unsupported file type", file=file, code="unsupported")
    chars = sum(len(block.text) for block in sink.blocks)
    if chars > MAX_DOCUMENT_CHARS:
        raise IngestError(f"文件文字过多（{chars / 10000:.0f} 万字，上限 {MAX_DOCUMENT_CHARS // 10000} 万字）",
                          f"too much text ({chars:,} characters, limit {MAX_DOCUMENT_CHARS:,})", file=file,
                          code="too_large")
    return Document(path=file, name=p.name, sha256=sha256, size=size, file_type=file_type,  # type: ignore[arg-type]
                    extractor_version=EXTRACTOR_VERSION, pages=pages, page_info=page_info, blocks=sink.blocks,
                    warnings=warnings)


def _maybe_ocr(document: Document, path: Path, options: ExtractOptions) -> Document:
    """The OCR seam: hand the document to xdt_rules.ocr when it is installed and pages need it.

    ``"auto"`` when some page is flagged, or a DOCX embeds raster images (a Word file wrapping
    scans: the OCR stage decides from the amount of text whether to read them); ``"force"``
    also for every PDF; ``"off"`` never.
    """
    if options.ocr == "off":
        if (document.file_type == "docx" and document.text_chars < DOCX_LITTLE_TEXT_CHARS
                and _docx_has_raster_images(path)):
            document.warnings.append(
                "文档主要由图片（扫描件）组成，未做OCR（--ocr off），图片中的文字未读取 / "
                "the document is mostly pictures (scans); OCR is off, so their text was not read")
        return document
    wanted = bool(pages_needing_ocr(document))
    if document.file_type == "docx":
        wanted = wanted or _docx_has_raster_images(path)
    if options.ocr == "force":
        wanted = wanted or document.file_type in ("pdf", "image")
    if not wanted or importlib.util.find_spec("xdt_rules.ocr") is None:
        return document
    notice = _OCR_NOTICE.get()
    if notice is not None:
        try:
            notice(_ocr_workload(document, path, options))
        except Exception:  # noqa: BLE001 - a notice must never cost the document
            pass
    try:
        ocr = importlib.import_module("xdt_rules.ocr")
        return ocr.apply_ocr(document, path, options)
    except Exception as exc:  # noqa: BLE001 - OCR is an add-on: its failure must not lose the text layer
        document.warnings.append(f"OCR 未能完成，被标记的页面保持原状 / OCR failed ({type(exc).__name__}: {_short(exc)})")
        return document
