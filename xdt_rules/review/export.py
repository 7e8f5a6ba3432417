"""What the review hands on: the final workbook and the reviewers' decisions as gold labels.

``final.xlsx``: 汇总 (per application preliminary vs confirmed totals and progress), 逐项 (every
item: preliminary status and score, the decision, its reviewer, time and comment), 审核记录 (the
whole append-only log) and 说明.

``labels.csv`` is the format ``xdt audit --gold`` reads (:mod:`xdt_rules.audit.labels`):
``application,item,label,note`` with the label the reviewer's status means (met/partial →
implemented, planned, negated, not_found → absent — the mapping the audit itself uses), so
``xdt audit --results OUT --gold labels.csv`` measures the rules against the reviewers. Items in
unsettled conflict are left out (two reviewers disagree: there is no label yet).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..audit.agreement import STATUS_TO_LABEL
from ..fsutil import atomic_write_bytes
from ..report.html import STATUS_ZH
from .store import format_time

if TYPE_CHECKING:
    from .service import ReviewService

ACTION_ZH = {"confirm": "确认", "override": "改判", "settle": "裁定"}


def write_final_xlsx(path: str | Path, service: ReviewService) -> Path:
    """The final workbook, from one consistent state of the log and OUT."""
    with service.exclusive():
        return _final_xlsx(Path(path), service)


def write_gold_csv(path: str | Path, service: ReviewService) -> tuple[Path, int, int]:
    """The current decisions as gold labels for ``xdt audit --gold``, from one consistent state."""
    with service.exclusive():
        return _gold_csv(Path(path), service)


def _zh(status: str | None) -> str | None:
    return None if status is None else STATUS_ZH.get(status, status)


def _final_xlsx(path: Path, service: ReviewService) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="D9E1F2")
    warn_fill = PatternFill("solid", fgColor="FFEB9C")
    wrap = Alignment(wrap_text=True, vertical="top")

    def sheet(title: str, widths: list[float]):
        ws = wb.create_sheet(title)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "C2"
        return ws

    def header(ws, values: list[str]) -> None:
        cells = []
        for value in values:
            c = WriteOnlyCell(ws, value=value)
            c.font, c.fill = bold, head_fill
            cells.append(c)
        ws.append(cells)

    def number(ws, value, fill=None):
        c = WriteOnlyCell(ws, value=value)
        c.number_format = "0.00"
        if fill is not None:
            c.fill = fill
        return c

    ledger = service.ledger
    entries = [service.out.entries[name] for name in service.out.order]

    ws = sheet("汇总", [8, 30, 9, 10, 10, 9, 10, 10, 9, 9, 20, 20])
    header(ws, ["初评排名", "申报", "审核状态", "初评总分", "确认总分", "差值", "已确认项", "待确认标记", "证据已变化",
                "分歧", "审核人", "最后审核（北京时间）"])
    for entry in entries:
        if not entry.done:
            ws.append([None, entry.name, entry.row.state, None, None, None, None, None, None, None, None,
                       entry.row.reason])
            continue
        p = service.progress(entry)
        diff = round((p.confirmed_total or 0) - (p.preliminary_total or 0), 4)
        ws.append([entry.row.rank, entry.name, p.state, number(ws, p.preliminary_total), number(ws, p.confirmed_total),
                   number(ws, diff, warn_fill if abs(diff) > 1e-9 else None), f"{p.decided}/{p.items}", p.flags_left,
                   p.changed, p.conflicts, "、".join(p.reviewers), format_time(p.last_ms) if p.last_ms else None])

    wi = sheet("逐项", [28, 8, 26, 7, 10, 8, 9, 10, 8, 22, 12, 20, 60])
    header(wi, ["申报", "评价项", "名称", "满分", "初评状态", "初评得分", "需人工确认", "确认状态", "确认得分", "审核结论",
                "审核人", "时间（北京时间）", "意见"])
    for entry in entries:
        if not entry.done:
            continue
        for item_id, state in ledger.item_states(entry).items():
            d = state.latest
            snap = state.snap
            fill = warn_fill if (state.changed or state.conflict) else None
            label = WriteOnlyCell(wi, value=state.label)
            if fill is not None:
                label.fill = fill
            wi.append([entry.name, item_id, snap.name, number(wi, snap.max_score), _zh(snap.status),
                       number(wi, snap.score), "是" if snap.needs_confirmation else "",
                       _zh(d.to_status) if d else None, number(wi, d.to_score) if d else None, label,
                       d.reviewer if d else None, format_time(d.at_ms) if d else None,
                       WriteOnlyCell(wi, value=d.comment if d and d.comment else None)])

    wl = sheet("审核记录", [7, 20, 12, 28, 8, 7, 10, 8, 10, 8, 50, 10, 8, 8, 18, 18, 8])
    header(wl, ["序号", "时间（北京时间）", "审核人", "申报", "评价项", "操作", "原状态", "原得分", "新状态", "新得分", "意见",
                "当时初评状态", "当时初评得分", "满分", "规则版本", "证据哈希", "基于记录"])
    for d in service.store.decisions():
        comment = WriteOnlyCell(wl, value=d.comment or None)
        comment.alignment = wrap
        wl.append([d.seq, format_time(d.at_ms), d.reviewer, d.application, d.item, ACTION_ZH.get(d.action, d.action),
                   _zh(d.from_status), d.from_score, _zh(d.to_status), d.to_score, comment, _zh(d.prelim_status),
                   d.prelim_score, d.max_score, d.rules_version, d.evidence_hash, d.base_seq or None])

    wn = wb.create_sheet("说明")
    wn.column_dimensions["A"].width = 110
    notes = [
        "审核确认结果 / reviewer-confirmed scores (xdt review)",
        f"输出目录 / batch output: {service.out.path}",
        f"评价框架 / framework: {service.framework_id}",
        "确认总分：已确认的项按审核结论计分，尚未确认的项按初评得分计入；审核状态为“已完成”的申报全部评价项均已确认。",
        "审核结论“证据或初评已变化，请复核”：该项作出决定后重新预审，初评状态或证据发生变化，原决定保留但需复核。",
        "审核结论“有分歧待裁定”：两位审核人对该项的结论不同，需在“一致性”页面裁定。",
        "审核记录为只追加的完整日志（从不修改或删除），时间均为北京时间（UTC+8）。",
    ]
    first = WriteOnlyCell(wn, value=notes[0])
    first.font = Font(bold=True)
    wn.append([first])
    for line in notes[1:]:
        wn.append([line])
    buffer = io.BytesIO()
    wb.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _gold_csv(path: Path, service: ReviewService) -> tuple[Path, int, int]:
    """The current decisions as ``application,item,label,note`` (UTF-8 with BOM). Returns the
    path, the rows written and the items left out for an unsettled conflict."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["application", "item", "label", "note"])
    written = skipped = 0
    from .ledger import conflicting

    for (app, item), history in sorted(service.ledger.by_item.items(), key=lambda kv: (kv[0][0], _id_key(kv[0][1]))):
        if not history:
            continue
        if conflicting(history):
            skipped += 1
            continue
        d = history[-1]
        note = f"{d.reviewer}：{d.comment}" if d.comment else d.reviewer
        writer.writerow([app, item, STATUS_TO_LABEL[d.to_status], note.replace("\r", " ").replace("\n", " ")])
        written += 1
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))
    return path, written, skipped


def _id_key(dotted: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in dotted.split("."))
