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
from .structure import BlockSink, classify_text

MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
MD_FENCE = re.compile(r"^\s*(```|~~~)")


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """Return (text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
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
    data = path.read_bytes()
    text, encoding = decode_text(data, file)
    warnings: list[str] = []
    if "\ufffd" in text:
        warnings.append(f"文本含无法解码的字符（按 {encoding} 读取）/ undecodable bytes ({encoding})")
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
