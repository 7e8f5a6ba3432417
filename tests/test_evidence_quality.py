"""How detection is scored against gold: strongest polarity, weak hints, scan-only items."""

from __future__ import annotations

from pathlib import Path

import pytest

from xdt_rules.evidence import find_evidence
from xdt_rules.evidence.quality import MIN_CONFIDENCE, detected_labels, evaluate
from xdt_rules.models import Block, Document
from support import RULES

IDS = ["1.1.3", "1.3.1", "1.3.2", "2.1.1", "3.2.2"]


def labels(*texts: str) -> dict[str, str]:
    document = Document(path="a.txt", name="a.txt", sha256="0" * 64, size=1, file_type="txt", extractor_version="t",
                        blocks=[Block(index=i, kind="paragraph", text=t) for i, t in enumerate(texts)])
    return detected_labels(find_evidence([document]), IDS)


def test_strongest_polarity_wins():
    got = labels("下一步计划建设MES系统。", "MES系统已于2023年上线。", "公司尚未建立PLM系统。")
    assert got["1.3.2"] == "implemented" and got["1.1.3"] == "negated" and got["1.3.1"] == "absent"


def test_weak_hints_are_not_achievements():
    # bookkeeping software, a bare BOM, office chat tools: shown as evidence, not counted as implemented
    got = labels("公司使用金蝶KIS记账王进行财务核算。", "设备BOM在表格中维护。", "日常办公使用钉钉进行考勤和审批。")
    assert got["1.3.1"] != "implemented" and got["1.1.3"] != "implemented" and got["2.1.1"] != "implemented"
    assert MIN_CONFIDENCE == 0.6


def test_scan_only_items_left_out_without_ocr():
    samples = Path(__file__).resolve().parents[1] / "samples"
    if not (samples / "gold").is_dir():
        pytest.skip("samples not built")
    report = evaluate(samples, "pdf", ocr=False)
    total = sum(sum(row.values()) for row in report.confusion.values())
    assert total + report.skipped_scan_only == 36 * len(report.applications)


def test_weak_hints_are_not_scored_as_achievements_or_plans():
    # the scoring facts apply the same floor as detection (rules.yaml facts.min_confidence)
    from xdt_rules.scoring import build_item_facts

    options = RULES.fact_options
    assert options.min_confidence == MIN_CONFIDENCE
    document = Document(path="a.txt", name="a.txt", sha256="0" * 64, size=1, file_type="txt", extractor_version="t",
                        blocks=[Block(index=0, kind="paragraph", text="日常审批、考勤用钉钉。"),
                                Block(index=1, kind="paragraph", text="下一步计划引入AGV小车。"),
                                Block(index=2, kind="paragraph", text="车间尚未使用钉钉。")])
    mentions = find_evidence([document])
    dingtalk = build_item_facts([m for m in mentions if m.item_id == "2.1.1"], options=options)
    assert (dingtalk.implemented, dingtalk.generic, dingtalk.negated) == (0, 1, 1)  # a stated lack still counts
    agv = build_item_facts([m for m in mentions if m.item_id == "1.3.3"], options=options)
    assert (agv.planned, agv.generic) == (0, 1)
