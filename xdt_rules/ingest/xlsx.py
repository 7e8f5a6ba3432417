"""XLSX: cell values (not formulas) as ``sheet_cell`` blocks with sheet, row and column.

openpyxl in read-only mode streams rows, so a large sheet does not load whole; ``data_only``
returns the values Excel cached for formulas. Rows and columns are 0-based like tables elsewhere
(A1 is row 0, col 0).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from ..errors import IngestError
from .limits import XLSX_MAX_CELLS, check_zip
from .structure import BlockSink


def format_value(value: object, number_format: str | None = None) -> str:
    """A cell value as a reviewer would read it in Excel."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{_number(value * 100)}%"
        return _number(value)
    return str(value).strip()


def _number(value: float) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def extract_xlsx(path: Path, file: str, sink: BlockSink) -> list[str]:
    check_zip(path, file).close()
    import openpyxl

    warnings: list[str] = []
    try:
        workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise IngestError("Excel 文件已损坏或不完整，无法解析", f"the XLSX is damaged ({type(exc).__name__}: {exc})",
                          file=file, code="corrupt") from exc
    cells = 0
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    value = getattr(cell, "value", None)
                    if value is None:
                        continue
                    cells += 1
                    if cells > XLSX_MAX_CELLS:
                        warnings.append(f"单元格超过 {XLSX_MAX_CELLS} 个，其余未读取 / "
                                        f"more than {XLSX_MAX_CELLS} cells; the rest was skipped")
                        return warnings
                    text = format_value(value, getattr(cell, "number_format", None))
                    sink.add("sheet_cell", text, sheet=sheet.title, row=cell.row - 1, col=cell.column - 1)
    finally:
        workbook.close()
    return warnings
