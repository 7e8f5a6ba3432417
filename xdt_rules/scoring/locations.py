"""Where a piece of evidence stands, in the terms a reviewer looks it up by.

A block number means nothing to a reviewer with the file open in Word or Excel: a DOCX passage is
found by its heading path and its paragraph under the nearest heading (or its table, row and
column), a worksheet cell by its sheet and A1 name, a PDF passage by its page. The block carries
what ingestion knew (``Block.headings``, ``paragraph``, ``table``/``row``/``col``, ``sheet``);
this module only turns it into a :class:`~xdt_rules.models.Location` with a Chinese label.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..models import Block, Location

HEADINGS_SHOWN = 3  # the innermost headings in the label; the JSON has the whole path
PATH_SEPARATOR = " › "
PART_ZH = {"header": "页眉", "footer": "页脚", "footnote": "脚注", "text_box": "文本框"}


def column_letters(col: int) -> str:
    """0-based column → Excel letters (0 → A, 25 → Z, 26 → AA)."""
    letters = ""
    n = col + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    """0-based row and column → A1 style (0, 2 → C1)."""
    return f"{column_letters(col)}{row + 1}"


def _cell_position(block: Block) -> str:
    return f"表 {block.table + 1} 第 {block.row + 1} 行第 {block.col + 1} 列"  # type: ignore[operator]


def locate(block: Block | None, *, page: int | None, file_type: str | None = None) -> Location:
    """The location of a block (``None`` when only the page is known, e.g. in rule tests)."""
    if block is None:
        return Location(label=f"第 {page} 页" if page is not None else "")
    in_table = block.table is not None and block.row is not None and block.col is not None
    table = dict(table=block.table + 1, row=block.row + 1, column=block.col + 1) if in_table else {}  # type: ignore[operator]
    if block.kind == "sheet_cell" and block.row is not None and block.col is not None:
        name = cell_name(block.row, block.col)
        return Location(label=f"工作表“{block.sheet}” · {name}", sheet=block.sheet, cell=name,
                        row=block.row + 1, column=block.col + 1)
    parts: list[str] = []
    if page is not None:
        parts.append(f"第 {page} 页")
    if block.kind in PART_ZH:
        parts.append(PART_ZH[block.kind])
    if block.image:
        parts.append(f"文档中的图片 {PurePosixPath(block.image).name}")
    if block.headings and block.kind not in ("header", "footer", "footnote"):
        shown = block.headings[-HEADINGS_SHOWN:]
        parts.append(("… › " if len(block.headings) > HEADINGS_SHOWN else "") + PATH_SEPARATOR.join(shown))
    if in_table:
        parts.append(_cell_position(block))
    elif block.paragraph is not None:
        parts.append(f"第 {block.paragraph} 段")
    elif block.kind == "heading" and page is None:
        parts.append("标题")
    if not parts:
        # text files: a block is a paragraph of the file
        parts.append(f"第 {block.index + 1} 段" if file_type in ("txt", "md") else f"文本块 {block.index}")
    return Location(label=" · ".join(parts), headings=list(block.headings), paragraph=block.paragraph, **table)
