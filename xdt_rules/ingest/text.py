"""TXT / MD: encoding detection without extra dependencies, paragraphs on blank lines.

Chinese Windows tools still save GBK/GB18030; Notepad saves UTF-8 with a BOM or UTF-16.
Strict UTF-8 first (GB18030 would accept most UTF-8 byte sequences as mojibake), then GB18030
(a superset of GBK and GB2312).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IngestError
from ..models import BlockKind
from .limits import TEXT_MAX_BYTES
from .structure import BlockSink, classify_text

MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
MD_FENCE = re.compile(r"^\s*(```|~~~)")


# A UTF-8 file with a few broken bytes (a copy cut short, a bad sector) is still UTF-8 when at most
# this share of its bytes do not decode; a GBK file read as UTF-8 fails on most of its Chinese.
UTF8_MAX_BAD_SHARE = 0.005


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Return (text, encoding name). A UTF-8 text cut in the middle of a character, or with a
    few damaged bytes, is read (the broken bytes become U+FFFD, and the caller warns) instead
    of being refused whole."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", errors="replace") + "\ufffd", "utf-8"
    # before GB18030, which would read damaged UTF-8 as plausible-looking 乱码
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(8, UTF8_MAX_BAD_SHARE * len(data)):
        return text, "utf-8"
    del text
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    raise IngestError("文本文件编码无法识别（不是 UTF-8 或 GBK/GB18030）", "unknown text encoding (not UTF-8 or GBK/GB18030)",
                      file=file, code="unsupported")


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; a file without blank lines has one paragraph per line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"\n[ \t\u3000]*\n", text):
        chunks = re.split(r"\n[ \t\u3000]*\n+", text)
        return [c.strip("\n") for c in chunks if c.strip()]
    return [line for line in text.split("\n") if line.strip()]


def extract_text(path: Path, file: str, kind: str, sink: BlockSink) -> list[str]:
    size = path.stat().st_size
    if size > TEXT_MAX_BYTES:
        raise IngestError(f"文本文件过大（{size / 1048576:.1f} MB，文本文件上限 {TEXT_MAX_BYTES // 1048576} MB）",
                          f"text file too large ({size / 1048576:.1f} MB, the limit for text files is "
                          f"{TEXT_MAX_BYTES // 1048576} MB)", file=file, code="too_large")
    data = path.read_bytes()
    text, encoding = decode_text(data, file)
    del data
    warnings: list[str] = []
    bad = text.count("\ufffd")
    if bad:
        where = "（文件末尾的字符不完整，文件可能被截断）" if text.endswith("\ufffd") and bad == 1 else ""
        where_en = ", at the very end: the file may be cut short" if where else ""
        warnings.append(f"文本含 {bad} 处无法解码的字符{where}（按 {encoding} 读取，已用 � 代替）/ "
                        f"{bad} undecodable bytes ({encoding}{where_en}), shown as �")
    if kind == "md":
        _markdown(text, sink)
    else:
        for para in split_paragraphs(text):
            sink.add(classify_text(para), para.strip())
    return warnings


def _markdown(text: str, sink: BlockSink) -> None:
    """Headings (#), list items and paragraphs; a heading or list line is its own block."""
    buffer: list[str] = []
    in_fence = False

    def flush() -> None:
        if buffer:
            para = "\n".join(buffer).strip()
            sink.add(classify_text(para), para)
            buffer.clear()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if MD_FENCE.match(line):
            in_fence = not in_fence
            flush()
            continue
        if in_fence:
            buffer.append(line)
            continue
        heading = MD_HEADING.match(line)
        kind: BlockKind | None = None
        if heading:
            flush()
            sink.add("heading", heading.group(2))
            continue
        if MD_LIST.match(line):
            kind = "list_item"
        if kind:
            flush()
            sink.add(kind, line.strip())
        elif line.strip():
            buffer.append(line.strip())
        else:
            flush()
    flush()
