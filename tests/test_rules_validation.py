"""Rule files are validated on load: every problem with its file and line, as data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from xdt_rules.errors import DataFileError
from xdt_rules.scoring import load_rulebook_file, validate_rules_file
from support import CATALOGUE, FRAMEWORK

RULES_FILE = FRAMEWORK.folder / "rules.yaml"

# A small but complete rule file: every item covered, a fallback per group.
BASE = textwrap.dedent("""\
    framework: kunming-xdt
    version: "t"
    groups:
      - id: all
        name: 全部
        items: ["*"]
        decide:
          - id: strong
            when: [implemented >= 2]
            status: met
            fraction: 1.0
            reasons: [多处]
          - id: weak
            when: [implemented >= 1]
            status: partial
            fraction: 0.5
            reasons: [证据单薄]
          - id: nothing
            status: not_found
            fraction: 0
            reasons: [未找到]
    """)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            count += 1
            if count == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def _issues(tmp_path: Path, text: str):
    book, report = validate_rules_file(_write(tmp_path, text), CATALOGUE)
    return book, report


def test_shipped_rules_have_no_errors_and_no_warnings():
    report = validate_rules_file(RULES_FILE, CATALOGUE)[1]
    assert report.ok, [i.one_line() for i in report.issues]
    assert report.warnings == [], [i.one_line() for i in report.warnings]
    book = FRAMEWORK.rules
    assert list(book.items) == CATALOGUE.item_ids
    for rules in book.items.values():
        assert rules.decide[-1].conditions == (), "every item ends with an unconditional fallback"


def test_base_file_is_valid(tmp_path):
    book, report = _issues(tmp_path, BASE)
    assert report.ok and book is not None and report.issues == []


@pytest.mark.parametrize(
    ("old", "new", "code", "needle", "words"),
    [
        ("implemented >= 2]", "implementd >= 2]", "unknown_fact", "implementd", "未知事实"),
        ("implemented >= 2]", "implemented => 2]", "bad_operator", "=> 2", "运算符"),
        ("implemented >= 2]", "implemented >= 两]", "bad_value", ">= 两", "非负整数"),
        ("implemented >= 2]", "fuzzy_only >= 1]", "bad_operator", "fuzzy_only >= 1", "只能用 == 或 !="),
        ("implemented >= 2]", "fuzzy_only == yes]", "bad_value", "fuzzy_only == yes", "true 或 false"),
        ("implemented >= 2]", "implemented]", "bad_operator", "when: [implemented]", "事实 运算符 数值"),
        ("status: met", "status: done", "bad_status", "status: done", "状态“done”无效"),
        ("fraction: 1.0", "fraction: 1.5", "bad_fraction", "fraction: 1.5", "0 到 1"),
        ("fraction: 0.5", "fraction: -0.1", "bad_fraction", "fraction: -0.1", "0 到 1"),
        ('items: ["*"]', 'items: ["*", "9.9.9"]', "unknown_item", 'items: ["*"', "不对应任何评价项"),
        ("reasons: [多处]", "reasons: [多处]\n        colour: red", "unknown_field", "colour: red", "未知字段"),
        ('version: "t"', 'version: "t"\nfacts:\n  plan_words: [计划]', "unknown_field", "plan_words: [计划]", "未知字段"),
    ],
)
def test_errors_name_the_line(tmp_path, old, new, code, needle, words):
    text = BASE.replace(old, new, 1)
    book, report = _issues(tmp_path, text)
    assert book is None and not report.ok
    errors = [i for i in report.errors if i.code == code]
    assert errors, [i.one_line() for i in report.issues]
    assert errors[0].line == _line(text, needle)
    assert words in errors[0].message_zh
    assert errors[0].file.endswith("rules.yaml")


def test_load_raises_first_error_with_file_and_line(tmp_path):
    text = BASE.replace("status: met", "status: done")
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError) as err:
        load_rulebook_file(path, CATALOGUE)
    assert err.value.line == _line(text, "status: done")
    assert str(path) in str(err.value) and "done" in str(err.value)


def test_unknown_item_in_overrides(tmp_path):
    text = BASE + textwrap.dedent("""\
        items:
          "1.9.9":
            drop: [weak]
        """)
    _, report = _issues(tmp_path, text)
    issue = next(i for i in report.errors if i.code == "unknown_item")
    assert issue.line == _line(text, '"1.9.9"') and issue.items == ["1.9.9"]


def test_uncovered_and_overlapping_items(tmp_path):
    _, report = _issues(tmp_path, BASE.replace('items: ["*"]', 'items: ["1.*", "2.*", "3.*", "4.*"]'))
    uncovered = [i for i in report.errors if i.code == "uncovered_item"]
    assert [i.items for i in uncovered] == [["5.1.1"]]
    text = BASE + BASE[BASE.index("  - id: all"):].replace("id: all", "id: again")
    _, report = _issues(tmp_path, text)
    overlap = [i for i in report.errors if i.code == "overlapping_groups"]
    assert len(overlap) == 36 and overlap[0].line == _line(text, 'items: ["*"]', 2)


def test_duplicate_rule_and_unknown_drop_or_after(tmp_path):
    text = BASE.replace("- id: weak", "- id: strong")
    _, report = _issues(tmp_path, text)
    dup = next(i for i in report.errors if i.code == "duplicate_rule")
    assert dup.line == _line(text, "- id: strong", 2)
    text = BASE + textwrap.dedent("""\
        items:
          "1.1.1":
            drop: [weakk]
            decide:
              - id: special
                after: strongg
                when: [entity >= 1]
                status: met
                fraction: 1
                reasons: [写明产品]
        """)
    _, report = _issues(tmp_path, text)
    lines = sorted(i.line for i in report.errors if i.code == "unknown_rule")
    assert lines == [_line(text, "drop: [weakk]"), _line(text, "after: strongg")]


def test_unreachable_rules_are_warnings_with_lines(tmp_path):
    # An unconditional rule before others: everything after it is dead.
    text = BASE.replace("      - id: weak\n", "      - id: early_fallback\n        status: not_found\n"
                        "        fraction: 0\n        reasons: [兜底]\n      - id: weak\n", 1)
    book, report = _issues(tmp_path, text)
    assert book is not None and report.ok  # warnings do not stop loading
    dead = {i.rule: i for i in report.warnings if i.code == "unreachable"}
    assert set(dead) == {"all:weak", "all:nothing"}
    assert dead["all:weak"].line == _line(text, "- id: weak")
    assert "all:early_fallback" in dead["all:weak"].message_zh and len(dead["all:weak"].items) == 36
    # A condition implied by an earlier rule's (weaker) condition, through fact relations too:
    # quantities >= 3 implies implemented >= 3, so the earlier implemented >= 2 always fires first.
    text = BASE.replace("reasons: [证据单薄]", "reasons: [证据单薄]\n"
                        "      - id: quantified\n        when: [quantities >= 3]\n        status: met\n"
                        "        fraction: 1\n        reasons: [量化]")
    _, report = _issues(tmp_path, text)
    dead = [i for i in report.warnings if i.code == "unreachable"]
    assert [i.rule for i in dead] == ["all:quantified"] and dead[0].line == _line(text, "- id: quantified")
    assert "all:strong" in dead[0].message_zh and "所有评价项" in dead[0].message_zh


def test_not_unreachable_when_only_partly_covered(tmp_path):
    text = BASE.replace("when: [implemented >= 1]", "when: [implemented >= 1, entity == 0]")
    _, report = _issues(tmp_path, text)
    assert report.issues == []


def test_unsatisfiable_and_no_fallback_warnings(tmp_path):
    text = BASE.replace("when: [implemented >= 1]", "when: [implemented >= 1, passages == 0]")
    _, report = _issues(tmp_path, text)
    unsat = [i for i in report.warnings if i.code == "unsatisfiable"]
    assert [i.rule for i in unsat] == ["all:weak"] and unsat[0].line == _line(text, "- id: weak")
    text = BASE.replace("      - id: nothing\n        status: not_found", "      - id: nothing\n        when: [mentions == 0]\n        status: not_found")
    _, report = _issues(tmp_path, text)
    assert [i.code for i in report.warnings] == ["no_fallback"]


def test_item_override_replaces_in_place_and_inserts(tmp_path):
    text = BASE + textwrap.dedent("""\
        items:
          "1.3.1":
            drop: [strong]
            decide:
              - id: weak
                when: [implemented >= 1]
                status: met
                fraction: 0.9
                reasons: [本项一处即可]
              - id: product
                when: [entity >= 1]
                status: met
                fraction: 1
                reasons: [写明产品]
          "1.3.2":
            decide:
              - id: after_weak
                after: weak
                when: [planned >= 2]
                status: planned
                fraction: 0
                reasons: [多处规划]
        """)
    book, report = _issues(tmp_path, text)
    assert report.ok, [i.one_line() for i in report.issues]
    assert [r.key for r in book.items["1.3.1"].decide] == ["1.3.1:product", "1.3.1:weak", "all:nothing"]
    assert [r.key for r in book.items["1.3.2"].decide] == ["all:strong", "all:weak", "1.3.2:after_weak", "all:nothing"]
    assert [r.key for r in book.items["1.1.1"].decide] == ["all:strong", "all:weak", "all:nothing"]


def test_validation_report_is_data():
    report = validate_rules_file(RULES_FILE, CATALOGUE)[1]
    dumped = report.model_dump()
    assert set(dumped) == {"file", "issues"} and dumped["file"].endswith("rules.yaml")


def test_framework_mismatch_and_yaml_error(tmp_path):
    _, report = _issues(tmp_path, BASE.replace("framework: kunming-xdt", "framework: other-city"))
    assert [i.code for i in report.errors] == ["framework_mismatch"] and report.errors[0].line == 1
    _, report = _issues(tmp_path, BASE.replace("reasons: [多处]", "reasons: [多处"))
    assert report.errors[0].code == "yaml" and report.errors[0].line is not None
    _, report = _issues(tmp_path, BASE + "framework: again\n")
    assert report.errors[0].code == "yaml" and "重复" in report.errors[0].message_zh


def test_shipped_file_lines_point_at_rules():
    book = FRAMEWORK.rules
    lines = RULES_FILE.read_text(encoding="utf-8").splitlines()
    for rules in book.items.values():
        for rule in rules.all_rules():
            assert rule.line is not None and f"id: {rule.id}" in lines[rule.line - 1]
