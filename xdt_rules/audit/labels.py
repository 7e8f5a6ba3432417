"""Reference labels to measure the rules against: the samples' gold YAML or reviewers' CSV.

Two formats, either as one file or a folder of them (``--gold LABELS``):

* gold YAML, one file per application (``samples/gold/<application>.yaml``, format in
  :mod:`xdt_rules.gold`): all 36 items, each with ``label``, quoted ``evidence`` and ``scan_only``;
* reviewer decisions as CSV (UTF-8 with or without BOM, or GBK as Excel saves it on Chinese
  Windows), one row per decision, a header row first::

      application,item,label,note
      01_strong_manufacturer,1.3.1,implemented,合同与验收单齐全
      02_weak_few_systems,1.3.2,absent,

  ``application`` is the application name as in the result JSON (the file stem or folder name),
  ``item`` an item ID, ``label`` one of implemented | planned | negated | absent (or 已实现 /
  已具备 / 规划 / 计划 / 缺失 / 未具备 / 无 / 未涉及), ``note`` optional. Chinese headers 申报 /
  评价项 / 标注 / 备注 are accepted too. Items a reviewer did not decide are simply not rows;
  a row for the same application and item twice is an error, as are unknown items and labels —
  every error names the file and line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..catalogue import Catalogue
from ..errors import DataFileError, XdtError
from ..gold import GoldLabel, load_gold_file
from ..yamlio import load_yaml

GOLD_LABELS: tuple[str, ...] = ("implemented", "planned", "negated", "absent")
LABEL_ALIASES = {
    "implemented": "implemented", "已实现": "implemented", "已具备": "implemented", "具备": "implemented", "有": "implemented",
    "planned": "planned", "规划": "planned", "计划": "planned", "仅有规划": "planned", "在建": "planned",
    "negated": "negated", "缺失": "negated", "未具备": "negated", "尚未具备": "negated", "否定": "negated",
    "absent": "absent", "无": "absent", "未涉及": "absent", "未找到": "absent", "没有证据": "absent",
}
HEADER_ALIASES = {
    "application": "application", "申报": "application", "申报名称": "application", "企业": "application",
    "item": "item", "评价项": "item", "评价项编号": "item", "编号": "item",
    "label": "label", "标注": "label", "结论": "label", "判定": "label",
    "note": "note", "备注": "note", "说明": "note",
}


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: GoldLabel
    evidence: list[str] = Field(default_factory=list, description="quoted sentences (gold YAML only)")
    scan_only: bool = False
    note: str | None = None
    file: str = Field(description="the file the label came from")
    line: int | None = None

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class LabelSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    files: list[str] = Field(default_factory=list)
    labels: dict[str, dict[str, Label]] = Field(default_factory=dict, description="application → item → label")


def _decode(data: bytes, file: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataFileError(file, None, "文件编码无法识别（应为 UTF-8 或 GBK）", "unknown encoding (expected UTF-8 or GBK)")


def load_label_csv(path: str | Path, catalogue: Catalogue) -> dict[str, dict[str, Label]]:
    """Reviewer decisions from a CSV file (format in the module docstring)."""
    shown = str(path)
    try:
        text = _decode(Path(path).read_bytes(), shown)
    except FileNotFoundError:
        raise DataFileError(shown, None, "文件不存在", "file not found") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DataFileError(shown, None, "文件为空", "file is empty")
    header = [HEADER_ALIASES.get(h.strip().lower(), HEADER_ALIASES.get(h.strip(), h.strip())) for h in rows[0]]
    for required in ("application", "item", "label"):
        if required not in header:
            raise DataFileError(shown, 1, f"表头缺少“{required}”列（应为 application,item,label[,note]）",
                                f"header lacks column '{required}' (expected application,item,label[,note])")
    col = {name: header.index(name) for name in ("application", "item", "label", "note") if name in header}
    out: dict[str, dict[str, Label]] = {}
    seen: dict[tuple[str, str], int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        app, item, raw = cell("application"), cell("item"), cell("label")
        if not app or not item or not raw:
            raise DataFileError(shown, n, "application、item、label 都不能为空", "application, item and label must not be empty")
        if item not in catalogue:
            raise DataFileError(shown, n, f"未知评价项编号 {item}", f"unknown item ID {item}")
        label = LABEL_ALIASES.get(raw.lower(), LABEL_ALIASES.get(raw))
        if label is None:
            raise DataFileError(shown, n, f"标注“{raw}”无效，应为 {' | '.join(GOLD_LABELS)}",
                                f"bad label '{raw}', expected one of {' | '.join(GOLD_LABELS)}")
        if (app, item) in seen:
            raise DataFileError(shown, n, f"{app} 的 {item} 已在第 {seen[(app, item)]} 行标注过",
                                f"{app} {item} is already labelled at line {seen[(app, item)]}")
        seen[(app, item)] = n
        out.setdefault(app, {})[item] = Label(label=label, note=cell("note") or None, file=shown, line=n)  # type: ignore[arg-type]
    return out


def _load_gold_yaml(path: Path, catalogue: Catalogue) -> tuple[str, dict[str, Label]]:
    gold = load_gold_file(path, catalogue)
    lines = load_yaml(path)
    labels = {item_id: Label(label=g.label, evidence=list(g.evidence), scan_only=g.scan_only, note=g.note,
                             file=str(path), line=lines.line_of(("items", item_id)))
              for item_id, g in gold.items.items()}
    return gold.application, labels


def load_labels(path: str | Path, catalogue: Catalogue) -> LabelSet:
    """Labels from a gold YAML file, a CSV file, or a folder of either (see the module docstring)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".yaml", ".yml", ".csv"))
    elif p.is_file():
        files = [p]
    else:
        raise XdtError("找不到标注文件或文件夹", "labels file or folder not found", file=str(p))
    if not files:
        raise XdtError("标注文件夹中没有 .yaml 或 .csv 文件", "no .yaml or .csv file in the labels folder", file=str(p))
    out = LabelSet(source=str(p), files=[str(f) for f in files])
    for file in files:
        if file.suffix.lower() == ".csv":
            found = load_label_csv(file, catalogue)
        else:
            app, labels = _load_gold_yaml(file, catalogue)
            found = {app: labels}
        for app, labels in found.items():
            target = out.labels.setdefault(app, {})
            for item_id, label in labels.items():
                if item_id in target:
                    raise DataFileError(label.file, label.line,
                                        f"{app} 的 {item_id} 已在 {target[item_id].source} 标注过",
                                        f"{app} {item_id} is already labelled at {target[item_id].source}")
                target[item_id] = label
    return out
