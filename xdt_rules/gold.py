"""Gold labels: what a careful reviewer says each sample application really evidences.

One YAML file per application (``samples/gold/<application>.yaml``), all item IDs present::

    application: 01_strong_manufacturer
    description: 强制造企业，系统齐全，写明厂商产品
    items:
      "1.3.1":
        label: implemented          # implemented | planned | negated | absent
        evidence:                   # sentence(s) quoted verbatim from the application
          - 公司于2021年上线用友U8 Cloud，覆盖采购、销售、库存、财务全流程。
        scan_only: false            # true when the evidence is only on image-only pages (needs OCR)
        note: 可选说明

The labels describe the application, not what the tool finds; they are never tuned to the matcher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import Catalogue
from .errors import DataFileError
from .yamlio import load_model

GoldLabel = Literal["implemented", "planned", "negated", "absent"]


class GoldItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: GoldLabel
    evidence: list[str] = Field(default_factory=list)
    scan_only: bool = False
    note: str | None = None


class GoldApplication(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: str
    description: str | None = None
    items: dict[str, GoldItem]


def load_gold_file(path: str | Path, catalogue: Catalogue) -> GoldApplication:
    gold, loaded = load_model(GoldApplication, path)
    missing = [i for i in catalogue.item_ids if i not in gold.items]
    unknown = [i for i in gold.items if i not in catalogue]
    if unknown:
        raise DataFileError(loaded.path, loaded.line_of(("items", unknown[0])), f"未知评价项编号 {unknown[0]}",
                            f"unknown item ID {unknown[0]}")
    if missing:
        raise DataFileError(loaded.path, loaded.line_of(("items",)), f"缺少评价项 {', '.join(missing)}",
                            f"missing items {', '.join(missing)}")
    for item_id, item in gold.items.items():
        if item.label != "absent" and not item.evidence:
            raise DataFileError(loaded.path, loaded.line_of(("items", item_id)),
                                f"评价项 {item_id} 标为 {item.label} 但没有引用证据句",
                                f"item {item_id} is labelled {item.label} but quotes no evidence")
    return gold


def load_gold_dir(folder: str | Path, catalogue: Catalogue) -> dict[str, GoldApplication]:
    golds = [load_gold_file(p, catalogue) for p in sorted(Path(folder).glob("*.yaml"))]
    return {g.application: g for g in golds}
