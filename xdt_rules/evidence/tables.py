"""Tables and worksheets of one document: rows, column headers and outcome-table columns.

A cell is read with its row (| MES系统 | 鼎捷 | 2022年6月 | 已上线 |) and the headers of the other
cells (计划上线时间). PDF/DOCX tables are keyed by their table number, XLSX cells by their sheet.

Outcome tables — | 指标 | 改造前 | 改造后 | 变化 | — state results without a sentence saying 提升/降低:
a row whose indicator cell names an outcome (人均产值（万元/人）) and whose other cells hold the
before/after figures or the change (+43.9%, 下降8.3%, 缩短35天, 新增) is a quantified outcome. Column
roles come from the header words in ``keywords/_quantities.yaml`` (``table_columns``); cells under a
"before" column describe the past and never give the row its polarity ("未评测" before, "二级" after).
A header with no such words but two or more bare years (| 指标 | 2021年 | 2024年 | 说明 |) compares the
earliest year (before) with the latest (after).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ..models import Block, Document
from .keywords import TableColumnsSpec
from .normalize import normalize_key

TableKey = tuple[str, object]  # ("t", table number) or ("s", sheet name)
_SIGNED = re.compile(r"^([+\-−－])\s*(\d+(?:,\d{3})*(?:\.\d+)?)\s*(%|个百分点|百分点)?")
_BARE = re.compile(r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)")
_FIGURE = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?%?")  # a cell that is nothing but a figure
_UNIT_IN_PARENS = re.compile(r"[(（]([^()（）]{1,10})[)）]\s*$")
# a header cell that is a bare year (| 指标 | 2021年 | 2024年 | 说明 |): the earlier year is "before", the later "after"
_YEAR_HEADER = re.compile(r"((?:19|20)\d\d)年?度?")


def table_key(block: Block) -> TableKey | None:
    if block.row is None:
        return None
    if block.kind == "table_cell" and block.table is not None:
        return ("t", block.table)
    if block.kind == "sheet_cell":
        return ("s", block.sheet)
    return None


@dataclass(frozen=True)
class Roles:
    before: frozenset[int | None]
    after: frozenset[int | None]
    change: frozenset[int | None]
    unit: frozenset[int | None] = frozenset()

    @property
    def comparison(self) -> bool:
        return bool(self.change or (self.before and self.after))

    def of(self, col: int | None) -> str | None:
        for name in ("before", "after", "change", "unit"):
            if col in getattr(self, name):
                return name
        return None


class Tables:
    def __init__(self, doc: Document, spec: TableColumnsSpec):
        self.rows: dict[tuple[TableKey, int], list[Block]] = defaultdict(list)
        self._key: dict[int, TableKey] = {}  # block index → its table or sheet (looked up per mention)
        first_row: dict[TableKey, int] = {}
        for block in doc.blocks:
            key = table_key(block)
            if key is not None:
                self._key[block.index] = key
                self.rows[(key, block.row)].append(block)  # type: ignore[index]
                first_row[key] = min(first_row.get(key, block.row), block.row)  # type: ignore[type-var]
        self.first_row = first_row
        self._norm: dict[int, str] = {}
        self._numeric: dict[tuple, bool] = {}
        self.headers: dict[TableKey, dict[int | None, str]] = defaultdict(dict)
        for (key, row), cells in self.rows.items():
            if first_row.get(key) == row:
                for cell in cells:
                    self.headers[key][cell.col] = self.normalised(cell)
        names = ("before", "after", "change", "unit")
        words = {name: [normalize_key(w) for w in getattr(spec, name)] for name in names}
        self.roles: dict[TableKey, Roles] = {}
        for key, head in self.headers.items():
            found: dict[str, set[int | None]] = {name: set() for name in names}
            for col, text in head.items():
                for name in names:  # 改造前 is checked before 改造后
                    if any(w in text for w in words[name]):
                        found[name].add(col)
                        break
            if not found["before"] and not found["after"]:
                years = sorted((int(m.group(1)), col) for col, text in head.items()
                               if (m := _YEAR_HEADER.fullmatch(text)) is not None and col not in found["change"])
                if len(years) >= 2 and years[0][0] < years[-1][0]:
                    found["before"].add(years[0][1])
                    found["after"].add(years[-1][1])
            self.roles[key] = Roles(*(frozenset(found[name]) for name in names))
        self._role: dict[int, str | None] = {}
        for index, key in self._key.items():
            roles = self.roles.get(key)
            block = doc.blocks[index] if index < len(doc.blocks) and doc.blocks[index].index == index else None
            if roles is not None and block is not None:
                self._role[index] = roles.of(block.col)

    def normalised(self, cell: Block) -> str:
        text = self._norm.get(cell.index)
        if text is None:
            text = self._norm[cell.index] = normalize_key(cell.text)
        return text

    def other_cells(self, block: Block) -> list[tuple[str | None, str]]:
        """(column role, normalised text) of the other cells of the block's row."""
        return [(self.role(c), self.normalised(c)) for c in self.row_of(block) if c.index != block.index]

    def row_of(self, block: Block) -> list[Block]:
        key = self._key.get(block.index)
        return self.rows.get((key, block.row), []) if key is not None else []  # type: ignore[arg-type]

    def is_header(self, block: Block) -> bool:
        key = self._key.get(block.index)
        return key is not None and self.first_row.get(key) == block.row

    def numeric_column(self, block: Block) -> bool:
        """The block heads a column of bare figures (| 其中NB-IoT | 2300 | 3900 | …): the header names what is
        counted, it states nothing itself."""
        key = self._key.get(block.index)
        if key is None or not self.is_header(block):
            return False
        cache_key = (key, block.col)
        if cache_key not in self._numeric:
            body = [c for (k, row), cells in self.rows.items() if k == key and row != self.first_row.get(key)
                    for c in cells if c.col == block.col]
            self._numeric[cache_key] = bool(body) and all(_FIGURE.fullmatch(self.normalised(c)) for c in body)
        return self._numeric[cache_key]

    def role(self, block: Block) -> str | None:
        role = self._role.get(block.index)
        if role is None and block.index not in self._role:
            key = self._key.get(block.index)
            roles = self.roles.get(key) if key is not None else None
            role = roles.of(block.col) if roles else None
        return role

    def roles_of(self, block: Block) -> Roles | None:
        key = self._key.get(block.index)
        return self.roles.get(key) if key is not None else None

    def header_of(self, cell: Block) -> str | None:
        key = self._key.get(cell.index)
        return self.headers.get(key, {}).get(cell.col) if key is not None else None

    def context_cells(self, block: Block) -> tuple[list[str], list[str]]:
        """(other cells of the row, the column headers of the row) that may give the row its
        polarity — cells under a "before" column describe the past and are left out."""
        key = self._key.get(block.index)
        if key is None:
            return [], []
        head = self.headers.get(key, {})
        roles = self.roles.get(key)
        cells: list[str] = []
        headers: list[str] = []
        for cell in self.rows.get((key, block.row), []):  # type: ignore[arg-type]
            if roles is not None and cell.col in roles.before:
                continue
            text = self.normalised(cell)
            if cell.index != block.index:
                cells.append(text)
            header = head.get(cell.col)
            if header is not None and text != header:
                headers.append(header)  # the cell's own column too: | 拟建系统 | → WMS
        return cells, headers


def signed_change(text: str) -> tuple[str, float, str] | None:
    """"+43.9%" → ("up", 43.9, "%")."""
    m = _SIGNED.match(text.strip())
    if not m:
        return None
    return ("up" if m.group(1) == "+" else "down", float(m.group(2).replace(",", "")), m.group(3) or "")


def bare_number(text: str) -> float | None:
    m = _BARE.search(text)
    return float(m.group(1).replace(",", "")) if m else None


def unit_in_parens(text: str) -> str:
    """"人均产值（万元/人）" → "万元/人"."""
    m = _UNIT_IN_PARENS.search(text)
    return m.group(1).strip() if m else ""
