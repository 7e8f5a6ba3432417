"""需人工确认 decided by the learned confirmation model (rules/kunming-xdt/confirmation.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xdt_rules.cli import main
from xdt_rules.datapaths import framework_dir
from xdt_rules.framework import load_framework
from xdt_rules.models import ApplicationResult, EvidenceRef, ItemResult, Reading
from xdt_rules.scoring import validate_rules_file
from xdt_rules.scoring.confirm import RISK_REASON, ConfirmationModel, confirm_items, features, risk

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "pdf"
RISK_WORDS = RISK_REASON.split("{")[0]


def _item(item_id: str, status: str, rules: list[str], evidence: list[EvidenceRef] = ()) -> ItemResult:
    return ItemResult(id=item_id, name=item_id, status=status, score=0.0, max_score=1.0, needs_confirmation=False,
                      reasons=["规则理由"], rules_fired=rules, evidence=list(evidence))


def _hint(share: str) -> EvidenceRef:
    return EvidenceRef(file="a.pdf", page=1, block=0, start=0, end=2, text="某句", matched="某句", polarity="generic",
                       reading=Reading(actor="nobody", mode="general", reason="model_hint", words=share),
                       term="描述", kind="model")


def test_shipped_model_flags_the_risky_items_of_a_real_application_and_says_why(tmp_path, capsys):
    out = tmp_path / "out"
    app = SAMPLES / "01_strong_manufacturer"
    assert main(["screen", str(app), "--out", str(out), "--no-crops", "--ocr", "off"]) == 0
    result = ApplicationResult.model_validate_json((out / f"{app.name}.json").read_text(encoding="utf-8"))
    model = load_framework().rules.confirmation
    assert model is not None
    for item in result.items:
        said = any(r.startswith(RISK_WORDS) for r in item.reasons)
        assert said == item.needs_confirmation  # no OCR here: the model alone decides, and says so
        rest = [r for r in item.reasons if not r.startswith(RISK_WORDS)]
        assert not any("需人工确认" in r for r in rest)  # no rule reason claims a confirmation that is not asked
    assert 0 < sum(i.needs_confirmation for i in result.items) < 36
    assert "同类判断约" in (out / f"{app.name}.html").read_text(encoding="utf-8")


def test_risk_follows_the_weights_and_the_threshold():
    model = ConfirmationModel(intercept=-3.0, threshold=0.5, weights={"rule=systems:thin": 4.0, "hint": 2.0})
    thin = _item("1.3.1", "partial", ["systems:thin"])
    strong = _item("1.3.2", "met", ["systems:several_passages"])
    hinted = _item("1.3.3", "not_found", ["systems:nothing"], [_hint("0.9")])
    flagged = confirm_items([thin, strong, hinted], model)
    assert [i.needs_confirmation for i in flagged] == [True, False, False]
    assert flagged[0].reasons == ["规则理由", RISK_REASON.format(percent=73)]
    assert flagged[1].reasons == ["规则理由"]
    assert features(hinted, 0.0)["hint"] == 0.9 and features(hinted, 0.0)["evidence"] == 0.0
    assert round(risk(model, features(hinted, 0.0)), 3) == round(1 / (1 + 2.718281828 ** 1.2), 3)


def test_a_verdict_that_must_always_be_confirmed_stays_flagged_when_the_model_is_sure():
    model = ConfirmationModel(intercept=-9.0, threshold=0.5, weights={})
    items = confirm_items([_item("1.3.1", "met", ["systems:several_passages"])] * 2, model, always=[True, False])
    assert [i.needs_confirmation for i in items] == [True, False]


def _rules_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(framework_dir(), folder, ignore=shutil.ignore_patterns("tests"))
    return folder


def test_a_missing_confirmation_model_is_a_clear_error_naming_it(tmp_path):
    folder = _rules_copy(tmp_path)
    (folder / "confirmation.json").unlink()
    book, report = validate_rules_file(folder / "rules.yaml", load_framework().catalogue)
    assert book is None
    error = next(i for i in report.errors if i.code == "confirmation_model")
    assert "confirmation.json" in error.message_zh and error.line is not None


def test_a_malformed_confirmation_model_is_a_clear_error(tmp_path):
    folder = _rules_copy(tmp_path)
    (folder / "confirmation.json").write_text(json.dumps({"intercept": 0.0, "threshold": 2.0, "weights": {}}),
                                              encoding="utf-8")
    book, report = validate_rules_file(folder / "rules.yaml", load_framework().catalogue)
    assert book is None
    assert any(i.code == "confirmation_model" and "格式错误" in i.message_zh for i in report.errors)
