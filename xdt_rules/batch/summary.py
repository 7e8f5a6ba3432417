"""The batch summary: ``summary.xlsx``, ``summary.csv`` (UTF-8 with BOM, opens right in Excel)
and ``index.html``, rebuilt from the per-application JSON files in OUT.

Rebuilding from OUT (not from what this process happened to screen) is what makes the summary
complete after ``--resume`` or an interruption: the manifest names the applications of the
batch and whether each finished or failed; each finished one's JSON is read back and validated
(the parts the summary shows: scores, statuses, file errors — not the evidence passages).

An application none of whose files could be read (a corrupt zip, only a damaged PDF) is not
ranked: its row says 无法评分 and why, below the ranked ones. Cells are written as text, never
as formulas: an application named ``=HYPERLINK(…)`` stays a name in Excel (the workbook stores
it as a string; the CSV prefixes ``'`` to a cell that starts with = + - @, as OWASP advises).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, Field, ValidationError

from ..models import ApplicationResult, ElementResult, FileRecord, Total
from .duplicates import DuplicateReport
from ..fsutil import atomic_write_bytes, atomic_write_text
from .resume import Manifest

STATUS_LABELS = {
    "met": "达标",
    "partial": "部分达标",
    "planned": "仅规划",
    "negated": "明确未实施",
    "not_found": "未找到",
}
STATUS_ORDER = list(STATUS_LABELS)
# Fill colours for the 明细 sheet and the HTML (light, print-friendly).
STATUS_COLOURS = {"met": "C6EFCE", "partial": "FFEB9C", "planned": "DDEBF7", "negated": "F8CBAD", "not_found": "EDEDED"}
CONFIRM_MARK = "（需确认）"
# index.html lists at most this many shared passages (a big batch can have thousands); the
# workbook's 重复段落 sheet has them all.
INDEX_PASSAGES = 500

ROW_DONE = "完成"
ROW_UNSCORABLE = "无法评分"
ROW_FAILED = "失败"
ROW_MISSING = "未处理"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The reason column of an unscorable row lists its files' errors up to this length.
REASON_CHARS = 400


class ElementColumn(BaseModel):
    id: str
    name: str
    max: float


class ItemColumn(BaseModel):
    id: str
    name: str
    max_score: float


class ItemStanding(BaseModel):
    """An item's outcome as the summary shows it."""

    id: str
    name: str
    status: str
    score: float
    max_score: float
    needs_confirmation: bool


class ResultStanding(BaseModel):
    """What the summary reads of an application's result: scores, statuses and problems. Its
    evidence passages, most of the file, are skipped: validating whole results took ~2 ms each,
    a fifth of re-scoring the application."""

    framework: str
    rules_version: str
    total: Total
    elements: list[ElementResult]
    items: list[ItemStanding]
    files: list[FileRecord]
    errors: list[str]


class SummaryRow(BaseModel):
    rank: int | None = None
    application: str
    state: str = Field(description="完成 / 无法评分 / 失败 / 未处理")
    reason: str | None = None
    total: float | None = None
    elements: dict[str, float] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)
    needs_confirmation: int = 0
    file_errors: int = 0
    duplicates: int = 0
    report: str | None = Field(None, description="HTML report file name in OUT")
    result: ResultStanding | None = None


class ErrorRow(BaseModel):
    application: str
    file: str
    reason: str


class SummaryData(BaseModel):
    rows: list[SummaryRow]
    elements: list[ElementColumn]
    items: list[ItemColumn]
    errors: list[ErrorRow]
    duplicates: DuplicateReport = Field(default_factory=DuplicateReport)
    framework: str | None = None
    rules_version: str | None = None
    rules_versions: list[str] = Field(default_factory=list, description="all versions seen; more than one is a warning")


class SummaryPaths(BaseModel):
    xlsx: str
    csv: str
    html: str


def _load_result(path: Path) -> ResultStanding | None:
    try:
        return ResultStanding.model_validate_json(path.read_bytes())
    except (OSError, ValueError, ValidationError):
        return None


def application_names(out_dir: Path, manifest: Manifest) -> list[str]:
    if manifest.order:
        return list(manifest.order)
    # No batch manifest (e.g. OUT of `xdt screen`): every valid result file in OUT.
    return sorted(p.stem for p in out_dir.glob("*.json") if _load_result(p) is not None)


def collect(out_dir: str | Path, manifest: Manifest, duplicates: DuplicateReport | None = None) -> SummaryData:
    """The summary's rows from the results in OUT."""
    from ..screen import output_stem

    out_dir = Path(out_dir)
    duplicates = duplicates or DuplicateReport()
    dup_counts = duplicates.count_by_application()
    rows: list[SummaryRow] = []
    errors: list[ErrorRow] = []
    elements: dict[str, ElementColumn] = {}
    items: dict[str, ItemColumn] = {}
    framework = rules_version = None
    versions: set[str] = set()
    for name in application_names(out_dir, manifest):
        record = manifest.applications.get(name)
        if record is not None and record.status == "failed":
            rows.append(SummaryRow(application=name, state=ROW_FAILED, reason=record.reason))
            errors.append(ErrorRow(application=name, file=Path(record.source).name, reason=record.reason or ""))
            continue
        if record is None and manifest.order:
            rows.append(SummaryRow(application=name, state=ROW_MISSING, reason="批次中断，尚未处理（可用 --resume 继续）"))
            continue
        stem = output_stem(name) if record is not None else name  # without a manifest, names are file stems
        json_name = next((o for o in (record.outputs if record else []) if o.endswith(".json")), f"{stem}.json")
        result = _load_result(out_dir / json_name)
        if result is None:
            reason = "结果文件缺失或损坏 / result file missing or invalid"
            rows.append(SummaryRow(application=name, state=ROW_FAILED, reason=reason))
            errors.append(ErrorRow(application=name, file=json_name, reason=reason))
            continue
        framework, rules_version = result.framework, result.rules_version
        versions.add(result.rules_version)
        for element in result.elements:
            elements.setdefault(element.id, ElementColumn(id=element.id, name=element.name, max=element.max))
        for item in result.items:
            items.setdefault(item.id, ItemColumn(id=item.id, name=item.name, max_score=item.max_score))
        counts = Counter(item.status for item in result.items)
        html_name = next((o for o in (record.outputs if record else []) if o.endswith(".html")), None)
        if html_name is None and (out_dir / f"{stem}.html").is_file():
            html_name = f"{stem}.html"
        file_errors = [f for f in result.files if f.error]
        for file in file_errors:
            errors.append(ErrorRow(application=name, file=file.path, reason=file.error or ""))
        listed = {f.error for f in file_errors}
        for message in result.errors:
            if message not in listed and not any(f.error and f.error in message for f in file_errors):
                errors.append(ErrorRow(application=name, file="", reason=message))
        if not any(not f.error for f in result.files):
            rows.append(SummaryRow(application=name, state=ROW_UNSCORABLE, reason=_unscorable_reason(result),
                                   file_errors=len(file_errors), report=html_name))
            continue
        rows.append(SummaryRow(
            application=name, state=ROW_DONE, total=result.total.score,
            elements={e.id: e.score for e in result.elements},
            counts={status: counts.get(status, 0) for status in STATUS_ORDER},
            needs_confirmation=sum(1 for item in result.items if item.needs_confirmation),
            file_errors=len(file_errors), duplicates=dup_counts.get(name, 0), report=html_name, result=result,
        ))
    done = sorted((r for r in rows if r.state == ROW_DONE), key=lambda r: (-(r.total or 0.0), r.application))
    for rank, row in enumerate(done, start=1):
        row.rank = rank
    rest = sorted((r for r in rows if r.state != ROW_DONE), key=lambda r: _REST_ORDER.index(r.state))  # stable
    return SummaryData(rows=done + rest, elements=sorted(elements.values(), key=lambda e: _id_key(e.id)),
                       items=sorted(items.values(), key=lambda i: _id_key(i.id)), errors=errors,
                       duplicates=duplicates, framework=framework, rules_version=rules_version,
                       rules_versions=sorted(versions))


_REST_ORDER = [ROW_UNSCORABLE, ROW_FAILED, ROW_MISSING]


def _unscorable_reason(result: ResultStanding) -> str:
    """Why nothing could be scored: each file's error, or that there was no file at all."""
    problems = [f"{f.path}：{f.error}" for f in result.files if f.error]
    if not problems:
        problems = [e for e in result.errors] or ["没有可读取的文件 / no file could be read"]
    text = "没有可读取的文件，未评分 / nothing could be read, not scored — " + "；".join(problems)
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def as_text(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _id_key(dotted: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in dotted.split("."))


# --------------------------------------------------------------------------- ranking columns (xlsx 排名 + csv)

def ranking_header(data: SummaryData) -> list[str]:
    return (["排名", "申报", "状态", "总分"]
            + [f"{e.id} {e.name}（{e.max:g}）" for e in data.elements]
            + [STATUS_LABELS[s] for s in STATUS_ORDER]
            + ["需人工确认项", "文件错误", "重复段落", "报告", "说明"])


def ranking_values(row: SummaryRow, data: SummaryData) -> list:
    return ([row.rank, row.application, row.state, row.total]
            + [row.elements.get(e.id) for e in data.elements]
            + [row.counts.get(s) if row.state == ROW_DONE else None for s in STATUS_ORDER]
            + [row.needs_confirmation if row.state == ROW_DONE else None,
               row.file_errors if row.state == ROW_DONE else None,
               row.duplicates if row.state == ROW_DONE else None,
               row.report, row.reason])


def write_csv(path: Path, data: SummaryData) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ranking_header(data))
    for row in data.rows:
        writer.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, float) else as_text(v))
                         for v in ranking_values(row, data)])
    # BOM: Excel on Chinese Windows opens BOM-less CSV as GBK and shows 乱码.
    return atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))


# --------------------------------------------------------------------------- xlsx

def write_xlsx(path: Path, data: SummaryData) -> Path:
    """The reviewer's workbook: 排名, 明细, 错误, 重复段落, 说明.

    Written in openpyxl's write-only mode (rows streamed, styles given per cell before the row is
    appended): half the time of the ordinary mode, which mattered once re-scoring a whole batch
    from the cache took about a second. Widths and frozen panes precede the rows there."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="D9E1F2")
    header_alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    failed_fill = PatternFill("solid", fgColor="F8CBAD")
    unscorable_fill = PatternFill("solid", fgColor="EDEDED")
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook(write_only=True)

    def sheet(title: str, column_widths: list[float], freeze: str):
        ws = wb.create_sheet(title)
        for index, width in enumerate(column_widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = freeze
        return ws

    def cell(ws, value, *, number_format: str | None = None, fill=None, alignment=None, font=None):
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and c.data_type == "f":
            # openpyxl stores a string starting with "=" as a formula: an application named
            # "=HYPERLINK(…)" would run in the reviewer's Excel. Stored as text, shown as typed.
            c.data_type = "s"
            c.quotePrefix = True
        if number_format:
            c.number_format = number_format
        if fill is not None:
            c.fill = fill
        if alignment is not None:
            c.alignment = alignment
        if font is not None:
            c.font = font
        return c

    def header_row(ws, values: list) -> list:
        return [cell(ws, v, font=header_font, fill=header_fill, alignment=header_alignment) for v in values]

    # 排名
    header = ranking_header(data)
    ws = sheet("排名", [6, 28, 8, 8] + [14] * len(data.elements) + [9] * len(STATUS_ORDER) + [11, 9, 9, 10, 50],
               "C2")
    ws.append(header_row(ws, header))
    report_col = header.index("报告")
    scored_cols = range(3, 4 + len(data.elements))  # 0-based: 总分 and the element scores
    for row in data.rows:
        fill = None if row.state == ROW_DONE else unscorable_fill if row.state == ROW_UNSCORABLE else failed_fill
        cells = []
        for col, value in enumerate(ranking_values(row, data)):
            if col == report_col and row.report:
                value = "打开报告"
            c = cell(ws, value, number_format="0.00" if col in scored_cols else None, fill=fill)
            if col == report_col and row.report:
                c.hyperlink = quote(row.report)
                c.style = "Hyperlink"
                if fill is not None:
                    c.fill = fill
            cells.append(c)
        ws.append(cells)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(data.rows) + 1}"

    # 明细: application × item, two columns per item (status, points), coloured by status
    wd = sheet("明细", [28, 8] + [13, 6] * len(data.items), "C3")
    wd.row_dimensions[1].height = 45
    top = ["申报", "总分"]
    sub = ["", ""]
    for item in data.items:
        top += [f"{item.id} {item.name}（{item.max_score:.4g}）", ""]
        sub += ["状态", "得分"]
    wd.append(header_row(wd, top))
    wd.append(header_row(wd, sub))
    for index in range(len(data.items)):
        col = 3 + 2 * index
        wd.merged_cells.add(f"{get_column_letter(col)}1:{get_column_letter(col + 1)}1")
    last_row = 2
    for row in data.rows:
        if row.result is None:
            continue
        by_id = {item.id: item for item in row.result.items}
        values: list = [cell(wd, row.application), cell(wd, row.total, number_format="0.00")]
        for column in data.items:
            item = by_id.get(column.id)
            if item is None:
                values += [None, None]
                continue
            label = STATUS_LABELS.get(item.status, item.status) + (CONFIRM_MARK if item.needs_confirmation else "")
            values += [label, cell(wd, item.score, number_format="0.00")]
        wd.append(values)
        last_row += 1
    last_row = max(last_row, 3)
    for index in range(len(data.items)):
        letter = get_column_letter(3 + 2 * index)
        cells = f"{letter}3:{letter}{last_row}"
        for status in STATUS_ORDER:
            label = STATUS_LABELS[status]
            # "部分达标" also starts with 部分; test the full label so 达标 does not colour it
            formula = f'LEFT({letter}3,{len(label)})="{label}"'
            wd.conditional_formatting.add(cells, FormulaRule(formula=[formula], fill=PatternFill(
                "solid", fgColor=STATUS_COLOURS[status], bgColor=STATUS_COLOURS[status])))

    # 错误
    we = sheet("错误", [28, 60, 70], "A2")
    we.append(header_row(we, ["申报", "文件", "原因"]))
    for error in data.errors:
        we.append([cell(we, error.application), cell(we, error.file), cell(we, error.reason)])

    # 重复段落
    wp = sheet("重复段落", [24, 24, 7, 28, 7, 28, 7, 90], "A2")
    wp.append(header_row(wp, ["申报A", "申报B", "字数", "A 文件", "A 页码", "B 文件", "B 页码", "重复段落（申报A原文）"]))
    for passage in data.duplicates.passages:
        wp.append([cell(wp, passage.app_a), cell(wp, passage.app_b), passage.chars, cell(wp, passage.file_a),
                   passage.page_a, cell(wp, passage.file_b), passage.page_b, cell(wp, passage.text, alignment=wrap)])

    # 说明
    wn = wb.create_sheet("说明")
    wn.column_dimensions["A"].width = 110
    notes = [
        "初步结果，须人工确认 / preliminary results: a reviewer must confirm",
        f"评价框架 / framework: {data.framework or '—'}",
        f"规则版本 / rules version: {', '.join(data.rules_versions) or '—'}"
        + (f"（注意：本批结果来自 {len(data.rules_versions)} 个不同的规则版本，请用 --resume 重新评分）"
           if len(data.rules_versions) > 1 else ""),
        f"申报数 {len(data.rows)}；完成 {sum(r.state == ROW_DONE for r in data.rows)}；"
        f"无法评分 {sum(r.state == ROW_UNSCORABLE for r in data.rows)}；"
        f"失败 {sum(r.state == ROW_FAILED for r in data.rows)}；未处理 {sum(r.state == ROW_MISSING for r in data.rows)}",
        "无法评分：申报的文件都无法读取（损坏、加密、格式不支持等），没有给出分数，原因见排名表的“说明”列与“错误”表",
        f"重复段落：两份申报共有 ≥ 80 字（去除空白与标点后）的相同段落，已排除评价要素原文；"
        f"{data.duplicates.template_fingerprints} 个片段出现在过多申报中，视为申报书模板，未列出",
        "明细表中“（需确认）”表示该项须人工确认",
    ]
    wn.append([cell(wn, notes[0], font=Font(bold=True, color="C00000"))])
    for line in notes[1:]:
        wn.append([cell(wn, line)])

    buffer = io.BytesIO()
    wb.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------- index.html

def write_index(path: Path, data: SummaryData) -> Path:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("xdt_rules.batch", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["url"] = lambda name: quote(name)
    first_dup: dict[str, int] = {}
    for index, passage in enumerate(data.duplicates.passages[:INDEX_PASSAGES], start=1):
        first_dup.setdefault(passage.app_a, index)
        first_dup.setdefault(passage.app_b, index)
    html = env.get_template("index.html.j2").render(
        first_dup=first_dup, shown_passages=data.duplicates.passages[:INDEX_PASSAGES],
        data=data, labels=STATUS_LABELS, order=STATUS_ORDER, colours=STATUS_COLOURS,
        done=[r for r in data.rows if r.state == ROW_DONE],
        not_done=[r for r in data.rows if r.state != ROW_DONE],
        unscorable=[r for r in data.rows if r.state == ROW_UNSCORABLE],
    )
    return atomic_write_text(path, html)


def write_summary(out_dir: str | Path, data: SummaryData) -> SummaryPaths:
    out_dir = Path(out_dir)
    return SummaryPaths(
        xlsx=str(write_xlsx(out_dir / "summary.xlsx", data)),
        csv=str(write_csv(out_dir / "summary.csv", data)),
        html=str(write_index(out_dir / "index.html", data)),
    )
