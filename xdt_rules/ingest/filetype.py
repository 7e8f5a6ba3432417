"""File type by content (magic bytes), never by extension alone.

The extension is only consulted to tell apart formats that share one container: ``.md`` vs
``.txt`` (both plain text) and ``.wps`` vs ``.doc`` (both OLE compound files).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import IngestError
from .limits import SNIFF_BYTES

Kind = Literal["pdf", "docx", "xlsx", "txt", "md", "image", "doc", "wps", "xls"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
)
MARKDOWN_SUFFIXES = {".md", ".markdown"}


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    detail: str = ""  # e.g. image format, or the encoding guess for text


def sniff(path: Path, head: bytes, file: str) -> Sniffed:
    """Decide the type from the first bytes (and, for ZIP/OLE, the container's directory)."""
    # PDF readers accept a header anywhere in the first 1 KB (some generators prepend junk).
    if b"%PDF-" in head[:1024]:
        return Sniffed("pdf")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Sniffed(_sniff_zip(path, file))
    if head.startswith(OLE_MAGIC):
        return Sniffed(_sniff_ole(path, file))
    for magic, fmt in IMAGE_MAGIC:
        if head.startswith(magic):
            # "BM" is also the start of ordinary text; require the BMP header's size field to fit.
            if fmt == "bmp" and not _plausible_bmp(head, path):
                continue
            return Sniffed("image", fmt)
    if looks_like_text(head):
        return Sniffed("md" if path.suffix.lower() in MARKDOWN_SUFFIXES else "txt")
    raise IngestError("无法识别的文件类型（不是 PDF、Word、Excel、图片或文本）",
                      "unrecognised file type (not PDF, Word, Excel, image or text)", file=file, code="unsupported")


def _plausible_bmp(head: bytes, path: Path) -> bool:
    if len(head) < 26:
        return False
    declared = int.from_bytes(head[2:6], "little")
    header_size = int.from_bytes(head[14:18], "little")
    try:
        actual = path.stat().st_size
    except OSError:
        return False
    return header_size in (12, 40, 52, 56, 64, 108, 124) and abs(declared - actual) <= 1024


def _sniff_zip(path: Path, file: str) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestError("压缩包结构损坏（DOCX/XLSX 文件不完整？）", f"damaged ZIP container ({exc})", file=file,
                          code="corrupt") from exc
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        raise IngestError("不支持 PowerPoint 演示文稿，请导出为 PDF 后提交", "PowerPoint files are not supported; export to PDF",
                          file=file, code="unsupported")
    if any(n.startswith("word/") for n in names) or "[Content_Types].xml" in names:
        raise IngestError("Office 文件缺少主文档部件，文件已损坏", "Office file without its main document part (corrupt)",
                          file=file, code="corrupt")
    raise IngestError("ZIP 压缩包不是 Word/Excel 文件，请解压后分别提交", "a ZIP archive that is not a Word/Excel file; unpack it",
                      file=file, code="unsupported")


def _ole_stream_names(path: Path) -> bytes:
    # Directory entries store stream names in UTF-16LE; scanning the first MBs for them is
    # enough to tell Word, Excel, PowerPoint and encrypted OOXML apart without an OLE parser.
    with path.open("rb") as fh:
        return fh.read(4 * 1024 * 1024)


def _sniff_ole(path: Path, file: str) -> Kind:
    data = _ole_stream_names(path)

    def has(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has("EncryptedPackage"):
        raise IngestError("文件已加密（设置了打开密码），请取消密码后重新提交",
                          "the Office file is password-protected; remove the password", file=file, code="encrypted")
    if has("WordDocument"):
        return "wps" if path.suffix.lower() == ".wps" else "doc"
    if has("Workbook") or has("Book"):
        return "xls"
    if has("PowerPoint Document"):
        raise IngestError("不支持 PowerPoint 演示文稿，请导出为 PDF 后提交", "PowerPoint files are not supported; export to PDF",
                          file=file, code="unsupported")
    # Kingsoft WPS writes some files with its own stream names; the extension is the best hint left.
    if path.suffix.lower() in (".wps", ".doc"):
        return "wps" if path.suffix.lower() == ".wps" else "doc"
    raise IngestError("无法识别的 OLE 复合文档（旧版 Office 文件）", "unrecognised OLE compound file", file=file,
                      code="unsupported")


def looks_like_text(head: bytes) -> bool:
    """Plain text in UTF-8, UTF-16 (with BOM) or GB18030, with few control characters."""
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    sample = head[:SNIFF_BYTES]
    for encoding in ("utf-8", "gb18030", "utf-8-damaged"):
        if encoding == "utf-8-damaged":
            # UTF-8 with a byte or two damaged is still text (the reader marks the bad bytes)
            text = sample.decode("utf-8", errors="replace")
            if text.count("\ufffd") > max(8, len(sample) // 200):
                continue
        else:
            try:
                text = sample.decode(encoding)
            except UnicodeDecodeError as exc:
                # The sample may cut a multi-byte character at its end.
                if exc.start < len(sample) - 4:
                    continue
                text = sample[: exc.start].decode(encoding)
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        return controls <= max(2, len(text) // 100)
    return False
