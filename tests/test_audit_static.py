"""Static audit (`xdt audit` without results): coverage per item, errors, dead rules, ambiguity, cues."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from xdt_rules.audit.static import static_audit
from xdt_rules.cli import main
from xdt_rules.datapaths import framework_dir, keywords_dir
from xdt_rules.framework import FrameworkRef
from support import CATALOGUE, KEYWORDS



@pytest.fixture(scope="module")
def shipped():
    return static_audit()


def _copy_framework(tmp_path: Path) -> Path:
    target = tmp_path / "fw"
    target.mkdir()
    source = framework_dir()
    for name in ("framework.yaml", "rules.yaml", "confirmation.json"):
        shutil.copy(source / name, target / name)
    return target


def _copy_keywords(tmp_path: Path) -> Path:
    target = tmp_path / "keywords"
    shutil.copytree(keywords_dir(), target)
    return target


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(f"{needle} not in {path}")


# ---------------------------------------------------------------- the shipped data


def test_shipped_data_has_no_errors_and_covers_every_item(shipped):
    errors = [f.one_line() for f in shipped.findings if f.level == "error"]
    assert errors == []
    assert [i.id for i in shipped.items] == CATALOGUE.item_ids
    for item in shipped.items:
        assert item.keywords > 0, item.id
        assert item.decide_rules > 0 and item.usable_rules > 0, item.id
        assert item.group in ("systems", "outcomes", "demonstration")


def test_keyword_counts_match_the_keyword_set(shipped):
    keywords = KEYWORDS
    by_id = {i.id: i for i in shipped.items}
    for item_id in CATALOGUE.item_ids:
        entries = keywords.terms_of(item_id)
        assert by_id[item_id].spellings == len({e.key for e in entries}), item_id
        assert by_id[item_id].patterns == sum(1 for p in keywords.patterns if p.item_id == item_id)
        assert by_id[item_id].entities == len({e.canonical for e in entries if e.kind == "entity"})


def test_ambiguity_lists_declared_contests_with_winner_and_reason(shipped):
    declared = {a.keyword: a for a in shipped.ambiguities if a.how == "declared"}
    robot = declared["工业机器人"]
    assert robot.winner == "1.2.1" and "3.1.1" in robot.others and robot.others["3.1.1"]
    assert robot.file and robot.file.endswith("1_2_equipment.yaml") and robot.line
    assert len(declared) == len(KEYWORDS.ambiguities)


def test_ambiguity_lists_containments_resolved_by_longest_match(shipped):
    longest = [a for a in shipped.ambiguities if a.how == "longest_match"]
    finance = next(a for a in longest if a.longer == "财务机器人")
    assert finance.keyword == "机器人" and finance.winner == "3.2.3" and "3.1.1" in finance.others
    # Latin keys only contain each other on word boundaries: "OA" is not inside "SOA"-like words
    assert all(not (a.keyword == "OA" and a.longer and "OA" in a.longer[1:-1]) for a in longest)


def test_dead_rules_for_items_without_entities_or_indicators(shipped):
    by_id = {i.id: i for i in shipped.items}
    # 5.1.1 has no outcome indicators: a rule on quantities can never fire for it
    assert "demonstration:quantified" in by_id["5.1.1"].dead_rules
    notes = [f for f in shipped.findings if f.code == "needs_keyword_kind" and f.rule == "demonstration:quantified"]
    assert notes and notes[0].items == ["5.1.1"] and notes[0].line


def test_cue_summary_counts_the_cue_lists(shipped):
    context = yaml.safe_load((keywords_dir() / "_context.yaml").read_text(encoding="utf-8"))
    cues = shipped.cues
    assert cues is not None
    for kind in ("implemented", "planned", "negated", "generic", "pseudo", "stages"):
        assert cues.counts[kind] == len(context[kind])
    assert cues.regex == {k: len(v) for k, v in context["regex"].items()}
    # pseudo cues that hide a real cue are not reported as preventive-only
    assert "生产计划" not in cues.dead_pseudo and "无纸化" in cues.dead_pseudo


def test_cli_static_audit_exit_zero_and_json(capsys):
    assert main(["audit", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["static"]["framework"] == "kunming-xdt"
    assert len(data["static"]["items"]) == 36
    assert data["summary"]["error"] == 0


# ---------------------------------------------------------------- seeded problems


def test_shadowed_and_contradictory_rules_are_found(tmp_path, capsys):
    fw = _copy_framework(tmp_path)
    rules_file = fw / "rules.yaml"
    data = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    systems = next(g for g in data["groups"] if g["id"] == "systems")
    systems["decide"].append({"id": "after_catch_all", "when": ["implemented >= 1"], "status": "met", "fraction": 1.0,
                              "reasons": ["永远轮不到"]})
    systems["flags"].append({"id": "never_both", "when": ["implemented >= 2", "implemented <= 1"],
                             "reasons": ["条件矛盾"]})
    rules_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    audit = static_audit(FrameworkRef(framework=str(fw)))
    shadowed = [f for f in audit.findings if f.code == "unreachable" and f.rule == "systems:after_catch_all"]
    assert len(shadowed) == 1
    assert shadowed[0].line == _line_of(rules_file, "id: after_catch_all")
    assert "systems:thin" in shadowed[0].message_zh  # the first earlier rule that already covers it
    contradictory = [f for f in audit.findings if f.code == "unsatisfiable" and f.rule == "systems:never_both"]
    assert contradictory and contradictory[0].line == _line_of(rules_file, "id: never_both")
    item = next(i for i in audit.items if i.id == "1.3.1")
    assert {"systems:after_catch_all", "systems:never_both"} <= set(item.dead_rules)

    # warnings only: exit 0, and 1 with --strict
    assert main(["audit", "--framework", str(fw)]) == 0
    out = capsys.readouterr().out
    assert "after_catch_all" in out and "永远不会命中" in out
    assert main(["audit", "--framework", str(fw), "--strict"]) == 1


def test_unknown_fact_and_unknown_item_are_errors_with_lines(tmp_path, capsys):
    fw = _copy_framework(tmp_path)
    rules_file = fw / "rules.yaml"
    text = rules_file.read_text(encoding="utf-8")
    text = text.replace("when: [entity >= 1, dated >= 1]", "when: [entity >= 1, launched >= 1]", 1)
    text = text.replace('items: ["5.*"]', 'items: ["5.*", "9.9.9"]', 1)
    rules_file.write_text(text, encoding="utf-8")
    audit = static_audit(FrameworkRef(framework=str(fw)))
    codes = {f.code: f for f in audit.findings if f.level == "error"}
    assert codes["unknown_fact"].line == _line_of(rules_file, "launched >= 1")
    assert "launched" in codes["unknown_fact"].message_zh
    assert codes["unknown_item"].line == _line_of(rules_file, '"9.9.9"')
    assert main(["audit", "--framework", str(fw)]) == 1
    assert "launched" in capsys.readouterr().out


def test_item_without_keywords_and_keyword_claimed_twice(tmp_path):
    kw = _copy_keywords(tmp_path)
    path = kw / "3_1_products.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["items"]["3.1.2"]
    data["items"]["3.1.4"]["terms"].append({"term": "ERP"})  # ERP belongs to 1.3.1
    data["items"]["3.1.4"]["terms"].append({"term": "CRM"})  # and CRM twice in one item
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    audit = static_audit(FrameworkRef(keywords=str(kw)))
    errors = [f for f in audit.findings if f.level == "error"]
    no_kw = [f for f in errors if f.code == "no_keywords"]
    assert [f.items for f in no_kw] == [["3.1.2"]]
    twice = next(f for f in errors if f.code == "claimed_twice")
    assert twice.keyword == "ERP" and set(twice.items) == {"1.3.1", "3.1.4"}
    assert twice.file == str(path) and twice.line == _line_of(path, "term: ERP")
    dup = next(f for f in errors if f.code == "duplicate_keyword")
    assert dup.keyword == "CRM" and dup.items == ["3.1.4"]
    assert next(i for i in audit.items if i.id == "3.1.2").keywords == 0
    assert main(["audit", "--keywords", str(kw)]) == 1


def test_unknown_item_in_keywords_and_broken_yaml_are_reported_not_raised(tmp_path):
    kw = _copy_keywords(tmp_path)
    (kw / "9_extra.yaml").write_text('items:\n  "7.7.7":\n    terms: [量子计算]\n', encoding="utf-8")
    (kw / "9_broken.yaml").write_text("items:\n  - [unclosed\n", encoding="utf-8")
    audit = static_audit(FrameworkRef(keywords=str(kw)))
    by_code = {f.code: f for f in audit.findings if f.level == "error"}
    assert by_code["unknown_item"].items == ["7.7.7"] and by_code["unknown_item"].line == 2
    assert by_code["yaml"].file.endswith("9_broken.yaml")


def test_item_without_rules_is_an_error(tmp_path):
    fw = _copy_framework(tmp_path)
    rules_file = fw / "rules.yaml"
    text = rules_file.read_text(encoding="utf-8").replace('items: ["5.*"]', 'items: ["5.9.*"]', 1)
    rules_file.write_text(text, encoding="utf-8")
    audit = static_audit(FrameworkRef(framework=str(fw)))
    uncovered = [f for f in audit.findings if f.code == "uncovered_item"]
    assert uncovered and uncovered[0].level == "error" and uncovered[0].items == ["5.1.1"]
    assert any(f.code == "unknown_item" and "5.9.*" in f.message_zh for f in audit.findings)


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["audit", "--gold", "samples/gold"]) == 1
    assert "--results" in capsys.readouterr().err
    assert main(["audit", "--results", str(tmp_path / "nowhere")]) == 1
    assert "结果目录不存在" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "summary.json").write_text("{}", encoding="utf-8")
    assert main(["audit", "--results", str(tmp_path / "empty")]) == 1
    assert "没有预审结果" in capsys.readouterr().err


def test_longest_match_list_agrees_with_the_keyword_sets_overlaps(shipped):
    """The audit scans the YAML itself (so it works when the set cannot load); it must find the same
    containments as KeywordSet.overlaps(), less those the matcher's Latin word boundaries rule out."""
    from xdt_rules.audit.static import _latin_ok

    mine = {(a.keyword, a.longer) for a in shipped.ambiguities if a.how == "longest_match"}
    theirs = set()
    for short, long in KEYWORDS.overlaps():
        starts = [i for i in range(len(long.key)) if long.key.startswith(short.key, i)]
        assert starts
        if any(_latin_ok(short.key, long.key, i) for i in starts):
            theirs.add((short.spelling, long.spelling))
    assert mine == theirs
