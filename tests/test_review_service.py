"""The review's logic without a browser: progress, re-screen marking, validation, agreement (κ),
conflicts and settling, export to the workbook and to gold labels that ``xdt audit`` reads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from support import CATALOGUE
from test_review_support import synthetic_out, synthetic_result, write_result
from xdt_rules.batch.resume import load_manifest
from xdt_rules.batch.summary import collect
from xdt_rules.cli import main
from xdt_rules.review.agreement import cohen_kappa
from xdt_rules.review.ledger import CHANGED, CONFLICT, STATE_ACTIVE, STATE_DONE, STATE_NEW
from xdt_rules.review.service import ReviewError, ReviewService
from xdt_rules.review.store import StaleWrite


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return synthetic_out(tmp_path / "out", count=3)


def decide(service: ReviewService, reviewer: str, app: str, item: str, action: str = "confirm", **kw) -> object:
    service.sync()
    entry, _, prints = service._current(app)
    latest = service.ledger.latest(app, item)
    return service.decide(reviewer, app, item, action=action, base_seq=latest.seq if latest else 0,
                          evidence_hash=prints[item]["hash"], **kw)


def test_the_list_has_the_numbers_of_the_summary(out: Path) -> None:
    service = ReviewService(out)
    summary = collect(out, load_manifest(out))
    rows = service.rows()
    assert [r.entry.name for r in rows] == [r.application for r in summary.rows]
    for row, expected in zip(rows, summary.rows):
        assert row.entry.row.rank == expected.rank
        assert row.progress.preliminary_total == expected.total
        assert row.progress.flags_left == expected.needs_confirmation
        assert row.progress.state == STATE_NEW and row.progress.decided == 0
    assert [r.entry.name for r in service.rows(q="a01")] == ["A01"]
    assert [r.entry.name for r in service.rows(sort="preliminary")] == ["A02", "A01", "A00"]


def test_confirm_and_override_update_progress_and_the_confirmed_total(out: Path) -> None:
    service = ReviewService(out)
    entry = service.out.entries["A00"]
    before = service.progress(entry).confirmed_total
    decide(service, "张三", "A00", "1.1.1")
    d = decide(service, "张三", "A00", "1.1.2", "override", status="not_found", score="0", comment="只有宣传册")
    progress = service.progress(service.out.entries["A00"])
    assert progress.decided == 2 and progress.state == STATE_ACTIVE and progress.reviewers == ["张三"]
    points = CATALOGUE.item("1.1.2").points
    assert progress.confirmed_total == pytest.approx(before - points, abs=1e-4)
    assert d.from_status == "met" and d.to_status == "not_found" and d.comment == "只有宣传册"
    assert d.prelim_status == "met" and d.max_score == pytest.approx(points, abs=1e-4)
    for item in entry.items:  # the rest: confirm everything
        if service.ledger.latest("A00", item) is None:
            decide(service, "张三", "A00", item)
    assert service.progress(service.out.entries["A00"]).state == STATE_DONE


@pytest.mark.parametrize(("fields", "message"), [
    ({"status": "met", "score": "1", "comment": ""}, "意见"),
    ({"status": "excellent", "score": "1", "comment": "x"}, "状态"),
    ({"status": "met", "score": "99", "comment": "x"}, "之间"),
    ({"status": "met", "score": "-1", "comment": "x"}, "之间"),
    ({"status": "met", "score": "abc", "comment": "x"}, "数字"),
    ({"status": "met", "score": "nan", "comment": "x"}, "之间"),
])
def test_an_override_is_validated(out: Path, fields: dict, message: str) -> None:
    service = ReviewService(out)
    with pytest.raises(ReviewError, match=message):
        decide(service, "张三", "A00", "1.1.1", "override", **fields)
    assert service.store.decisions() == []


def test_a_stale_view_is_refused_and_nothing_is_overwritten(out: Path) -> None:
    service = ReviewService(out)
    _, _, prints = service._current("A00")
    service.decide("张三", "A00", "1.3.1", action="confirm", base_seq=0, evidence_hash=prints["1.3.1"]["hash"])
    with pytest.raises(StaleWrite, match="张三"):  # 李四 still sees the item undecided
        service.decide("李四", "A00", "1.3.1", action="override", base_seq=0, evidence_hash=prints["1.3.1"]["hash"],
                       status="planned", score=0, comment="只是计划")
    assert [d.reviewer for d in service.store.decisions()] == ["张三"]


def test_rescreening_keeps_decisions_and_marks_what_changed(out: Path) -> None:
    service = ReviewService(out)
    for item in ("1.1.1", "1.1.2", "1.1.3"):
        decide(service, "张三", "A00", item)
    # the batch is re-run with edited rules: 1.1.2's status changes, 1.1.3's evidence changes, 1.1.1 stays
    old = synthetic_result("A00")
    statuses = {i.id: (i.status, i.score) for i in ReviewService(out).out.read("A00")[0].items}
    statuses["1.1.2"] = ("partial", round(CATALOGUE.item("1.1.2").points / 2, 4))
    new = synthetic_result("A00", statuses=statuses, rules_version="rules-2")
    changed_evidence = new.items[2].evidence[0].model_copy(update={"text": "我公司上线了 ERP 并完成验收。", "start": 7, "end": 10})
    new.items[2].evidence = [changed_evidence]
    assert old.items[2].id == "1.1.3"
    write_result(out, new)
    service.sync()
    states = service.ledger.item_states(service.out.entries["A00"])
    assert states["1.1.1"].decided and not states["1.1.1"].changed
    assert states["1.1.2"].changed and states["1.1.2"].label == CHANGED and not states["1.1.2"].decided
    assert states["1.1.3"].changed  # same status, other evidence
    progress = service.progress(service.out.entries["A00"])
    assert progress.decided == 1 and progress.changed == 2
    # deciding again on the new evidence closes it; the old decision stays in the log
    decide(service, "张三", "A00", "1.1.2")
    assert service.ledger.item_states(service.out.entries["A00"])["1.1.2"].decided
    assert len(service.store.decisions(application="A00")) == 4


def test_a_restart_reads_fingerprints_from_the_snapshot_cache(out: Path) -> None:
    first = ReviewService(out)
    decide(first, "张三", "A00", "1.1.1")
    first.close()
    second = ReviewService(out)
    assert second.out.entries["A00"].hashes is not None  # from the database, not the JSON file
    assert second.ledger.item_states(second.out.entries["A00"])["1.1.1"].decided


def test_a_write_after_a_rescreen_the_reviewer_did_not_see_is_refused(out: Path) -> None:
    service = ReviewService(out)
    _, _, prints = service._current("A01")
    seen = prints["1.1.1"]["hash"]
    result = synthetic_result("A01", statuses={"1.1.1": ("partial", 1.0)}, evidence_text="另一段证据：ERP 已上线。")
    write_result(out, result)
    with pytest.raises(StaleWrite, match="重新评分"):
        service.decide("张三", "A01", "1.1.1", action="confirm", base_seq=0, evidence_hash=seen)


def test_cohen_kappa_matches_the_textbook_value() -> None:
    pairs = [("met", "met")] * 5 + [("not_found", "not_found")] * 3 + [("met", "not_found"), ("not_found", "met")]
    k = cohen_kappa(pairs)
    assert k.n == 10 and k.observed == 0.8 and k.expected == 0.52
    assert k.kappa == pytest.approx((0.8 - 0.52) / 0.48, abs=1e-4)
    assert cohen_kappa([]).kappa is None
    assert cohen_kappa([("met", "met")] * 4).kappa is None  # p_e = 1: undefined, although they agree
    assert cohen_kappa([("met", "partial"), ("partial", "met")]).kappa == pytest.approx(-1.0)


def test_two_reviewers_agreement_conflicts_and_settling(out: Path) -> None:
    service = ReviewService(out)
    items = [i.id for i in CATALOGUE.items]
    # 张三 decides ten items of A00; 李四 then decides the same ten, agreeing on eight
    for item in items[:10]:
        decide(service, "张三", "A00", item)
    for index, item in enumerate(items[:10]):
        if index < 8:
            decide(service, "李四", "A00", item)
        else:
            decide(service, "李四", "A00", item, "override", status="planned", score="0", comment="只是规划")
    report = service.agreement()
    assert report.overall.n == 10 and report.overall.observed == 0.8
    assert report.reviewers == ["张三", "李四"]
    assert [(c.item, sorted(d.reviewer for d in c.decisions)) for c in report.conflicts] == \
        [(items[8], ["张三", "李四"]), (items[9], ["张三", "李四"])]
    element_one = next(k for eid, _, k in report.elements if eid == "1")
    assert element_one.n == 10
    progress = service.progress(service.out.entries["A00"])
    assert progress.conflicts == 2 and progress.decided == 8
    state = service.ledger.item_states(service.out.entries["A00"])[items[8]]
    assert state.label == CONFLICT and not state.decided
    with pytest.raises(ReviewError, match="意见"):
        decide(service, "王五", "A00", items[8], "settle", status="met", score="1", comment="")
    decide(service, "王五", "A00", items[8], "settle", status="planned", score="0", comment="合同未签，按规划计")
    report = service.agreement()
    assert [c.item for c in report.conflicts] == [items[9]]
    assert report.overall.n == 10  # a settlement is not a rating
    last = service.store.decisions()[-1]
    assert last.action == "settle" and last.reviewer == "王五"
    with pytest.raises(ReviewError, match="分歧"):
        decide(service, "王五", "A00", items[0], "settle", status="met", score="1", comment="x")


def test_export_workbook_and_gold_labels_feed_the_audit(out: Path, tmp_path: Path, capsys) -> None:
    service = ReviewService(out)
    decide(service, "张三", "A00", "1.1.1")
    decide(service, "张三", "A00", "1.1.2", "override", status="planned", score="0", comment="只是规划，合同未签")
    decide(service, "张三", "A01", "1.3.1", "override", status="negated", score="0", comment="申报书写明尚未使用")
    decide(service, "李四", "A01", "1.3.1", "override", status="met", score=str(round(CATALOGUE.item("1.3.1").points, 4)),
           comment="附件有合同")  # a conflict: left out of the labels
    service.close()
    xlsx, gold = tmp_path / "final.xlsx", tmp_path / "labels.csv"
    assert main(["review", "export", str(out), "--xlsx", str(xlsx), "--gold", str(gold)]) == 0
    printed = capsys.readouterr().out
    assert "1 项两位审核人结论不同" in printed and "xdt audit --results" in printed

    from openpyxl import load_workbook

    wb = load_workbook(xlsx, read_only=True)
    assert wb.sheetnames == ["汇总", "逐项", "审核记录", "说明"]
    summary = list(wb["汇总"].iter_rows(values_only=True))
    assert summary[0][:5] == ("初评排名", "申报", "审核状态", "初评总分", "确认总分")
    a00 = next(r for r in summary if r[1] == "A00")
    assert a00[2] == STATE_ACTIVE and a00[6] == "2/36" and a00[10] == "张三"
    per_item = list(wb["逐项"].iter_rows(values_only=True))
    row = next(r for r in per_item if r[0] == "A00" and r[1] == "1.1.2")
    assert row[4] == "已具备" and row[7] == "仅有规划" and row[8] == 0 and row[9] == "已改判" and row[10] == "张三"
    assert row[12] == "只是规划，合同未签" and row[11]
    assert len(per_item) == 1 + 3 * 36
    log = list(wb["审核记录"].iter_rows(values_only=True))
    assert len(log) == 1 + 4 and log[4][2] == "李四" and log[4][5] == "改判"

    with open(gold, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["application", "item", "label", "note"]
    assert rows[1:] == [["A00", "1.1.1", "implemented", "张三"], ["A00", "1.1.2", "planned", "张三：只是规划，合同未签"]]

    # the rule owner's loop: the rules measured against what the reviewers decided
    assert main(["audit", "--results", str(out), "--gold", str(gold), "--json", "--no-vocabulary"]) == 0
    import json

    audit = json.loads(capsys.readouterr().out)
    agreement = audit["agreement"]
    assert agreement["pairs"] == 2 and agreement["fp"] == 1 and agreement["tp"] == 1
    row = next(i for i in agreement["items"] if i["id"] == "1.1.2")
    assert row["fp"] == 1 and row["precision"] == 0.0


def test_export_needs_an_existing_database(out: Path, tmp_path: Path, capsys) -> None:
    assert main(["review", "export", str(out), "--gold", str(tmp_path / "g.csv")]) == 1
    assert "review.sqlite3" in capsys.readouterr().err
    assert not (out / "review.sqlite3").exists()


def test_a_failed_application_is_listed_but_cannot_be_reviewed(out: Path) -> None:
    (out / "A09.json").write_text("{ broken", encoding="utf-8")
    service = ReviewService(out)
    names = [r.entry.name for r in service.rows()]
    assert "A00" in names  # the broken file is no result: `collect` reads results only
    with pytest.raises(ReviewError):
        service.page("nope")


def test_rescreening_a_real_batch_keeps_decisions_and_marks_what_changed(tmp_path: Path) -> None:
    """`xdt batch --resume` after an application's material changed: the decisions stay on their
    items; the item whose preliminary outcome changed is marked and open again, the others stay decided."""
    from test_batch_support import make_pdf
    from test_review_support import real_batch

    batch, out = real_batch(tmp_path)
    service = ReviewService(out)
    before = service.out.entries["乙公司"].items
    assert before["1.3.1"].status in ("negated", "not_found", "planned")  # "尚未使用ERP系统"
    for item in ("1.3.1", "1.3.3", "1.1.1"):
        decide(service, "张三", "乙公司", item)
    make_pdf(batch / "乙公司" / "申报书.pdf", [
        "公司目前尚未使用ERP系统，财务采用手工记账。",
        "我公司已部署WMS仓储管理系统，实现条码出入库。",
        "2023年公司上线金蝶云星空ERP系统，采购、销售和财务实现一体化管理。"])
    assert main(["batch", str(batch), "--out", str(out), "--jobs", "1", "--ocr", "off", "--resume"]) == 0
    service.sync()
    entry = service.out.entries["乙公司"]
    assert entry.items["1.3.1"].status != before["1.3.1"].status
    states = service.ledger.item_states(entry)
    assert states["1.3.1"].changed and states["1.3.1"].label == CHANGED
    assert states["1.3.3"].decided and states["1.1.1"].decided
    assert service.progress(entry).decided == 2 and service.progress(entry).changed == 1
    assert len(service.store.decisions()) == 3  # nothing rewritten or dropped
