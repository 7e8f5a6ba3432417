"""Shared structure helpers: numbering patterns for headings and list items, and the block sink.

Chinese application forms number their outline as 一、 → （一） → 1. → （1） → ①. The first two
(and 第X章/节, 1.1, 1.1.1) open headings when they stand on a short line of their own; the
others mark list items. A numbered line that runs on into a long sentence is a paragraph.
"""

from __future__ import annotations

import re
from typing import Any

from ..models import BBox, Block, BlockKind, LineSpan

# Outline numbers that open a heading when the line is short.
HEADING_NUMBER = re.compile(
    r"^\s*(?:"
    r"第[一二三四五六七八九十百零〇\d]+[章节部篇]"      # 第一章 / 第3节
    r"|[一二三四五六七八九十]{1,3}\s*[、.．]"           # 一、
    r"|[（(]\s*[一二三四五六七八九十]{1,3}\s*[)）]"     # （一）
    r"|\d{1,2}(?:[.．]\d{1,2}){1,3}(?![.．\d%％万亿千百倍个元吨台套件家项人年月日天])"  # 1.1 / 2.3.1, not 1.8万
    r")"
)
# Markers of list items (and of low-level outline numbers).
LIST_MARKER = re.compile(
    r"^\s*(?:"
    r"[•●○◆◇■□▪▶►✓√\-–—*·]\s*"
    r"|\d{1,3}\s*[、.．)）](?!\d)"
    r"|[（(]\s*\d{1,3}\s*[)）]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]"
    r"|[a-zA-Z]\s*[.)）](?=\s|[\u4e00-\u9fff])"
    r")"
)
SENTENCE_END = "。！？!?；;：:…"
# A heading by numbering is at most this long (a short title, not a numbered sentence).
HEADING_MAX_CHARS = 40


def is_numbered_heading(text: str) -> bool:
    stripped = text.strip()
    if not stripped or len(stripped) > HEADING_MAX_CHARS or "\n" in stripped:
        return False
    if not HEADING_NUMBER.match(stripped):
        return False
    # "一、公司于2021年上线ERP系统。" is a numbered sentence, not a title.
    return stripped[-1] not in "。！？!?；;" and stripped.count("。") == 0


def is_list_item(text: str) -> bool:
    return bool(LIST_MARKER.match(text))


def classify_text(text: str) -> BlockKind:
    """Heading / list item / paragraph from the text alone (TXT, MD, PDF fallback)."""
    if is_numbered_heading(text):
        return "heading"
    if is_list_item(text):
        return "list_item"
    return "paragraph"


class BlockSink:
    """Collects blocks in reading order and gives each its ordinal."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def add(self, kind: BlockKind, text: str, *, lines: list[LineSpan] | None = None,
            bbox: BBox | None = None, **fields: Any) -> Block | None:
        if not text.strip():
            return None
        block = Block(index=len(self.blocks), kind=kind, text=text, lines=lines or [], bbox=bbox, **fields)
        self.blocks.append(block)
        return block


def union_bbox(boxes: list[BBox]) -> BBox | None:
    if not boxes:
        return None
    return BBox(x0=min(b.x0 for b in boxes), top=min(b.top for b in boxes),
                x1=max(b.x1 for b in boxes), bottom=max(b.bottom for b in boxes))
