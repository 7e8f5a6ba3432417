"""Limits that keep a hostile or broken file from exhausting memory or time.

ZIP containers (DOCX, XLSX) are checked from their central directory BEFORE any member is
inflated: a zip bomb declares its huge uncompressed sizes there, and a member that lies about
its size is cut off while reading (zipfile verifies sizes and CRCs on read).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import IngestError

# One member may inflate to at most this many bytes (a 150-page DOCX body is ~10–30 MB of XML).
ZIP_MAX_MEMBER_BYTES = 256 * 1024 * 1024
# All members together.
ZIP_MAX_TOTAL_BYTES = 1024 * 1024 * 1024
# Deflated XML compresses 5–20×; 200× is only reached by padding, i.e. a bomb.
ZIP_MAX_RATIO = 200.0
# Ratios of tiny members are meaningless (a 2 KB file of spaces compresses 100×).
ZIP_RATIO_MIN_BYTES = 1024 * 1024
ZIP_MAX_MEMBERS = 20_000

# Legacy conversion (LibreOffice) may not take longer than this.
CONVERT_TIMEOUT_S = 180
# Spreadsheets: cells read at most (a sheet of a million empty-styled rows must not hang).
XLSX_MAX_CELLS = 500_000
# Text files are read whole. An application's text is well under 1 MB; a text file past this is
# a log, a data dump or an attack, and evidence finding on it would take minutes and gigabytes.
TEXT_MAX_BYTES = 20 * 1024 * 1024
# Any document: more text than this (a DOCX that inflates to a novel's worth a hundred times over)
# is refused with a clear reason rather than read for minutes.
MAX_DOCUMENT_CHARS = 20_000_000
SNIFF_BYTES = 8192


def check_zip(path: Path, file: str) -> zipfile.ZipFile:
    """Open a ZIP container after checking its declared sizes; raise IngestError(zip_bomb/corrupt)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise IngestError("压缩包结构损坏，无法打开", f"damaged ZIP container ({exc})", file=file, code="corrupt") from exc
    try:
        infos = archive.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            raise IngestError(f"压缩包内文件过多（{len(infos)} 个），疑似压缩炸弹",
                              f"too many members in the archive ({len(infos)}), suspected zip bomb", file=file,
                              code="zip_bomb")
        total = 0
        for info in infos:
            size = info.file_size
            total += size
            if size > ZIP_MAX_MEMBER_BYTES:
                raise IngestError(f"压缩包成员 {info.filename} 解压后达 {size // (1024 * 1024)} MB，疑似压缩炸弹",
                                  f"member {info.filename} inflates to {size // (1024 * 1024)} MB, suspected zip bomb",
                                  file=file, code="zip_bomb")
            if size >= ZIP_RATIO_MIN_BYTES and size > ZIP_MAX_RATIO * max(info.compress_size, 1):
                raise IngestError(f"压缩包成员 {info.filename} 压缩比异常（{size / max(info.compress_size, 1):.0f} 倍），疑似压缩炸弹",
                                  f"member {info.filename} has an implausible compression ratio, suspected zip bomb",
                                  file=file, code="zip_bomb")
        if total > ZIP_MAX_TOTAL_BYTES:
            raise IngestError(f"压缩包解压后共 {total // (1024 * 1024)} MB，超过上限，疑似压缩炸弹",
                              f"archive inflates to {total // (1024 * 1024)} MB in total, suspected zip bomb",
                              file=file, code="zip_bomb")
    except IngestError:
        archive.close()
        raise
    return archive

# A DOCX with less text than this that embeds pictures is taken for a wrapped scan: its pictures are
# OCR'd (auto), or the reader is told their text was not read (OCR off).
DOCX_LITTLE_TEXT_CHARS = 500
