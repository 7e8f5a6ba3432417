"""Rule tests beside the rules (`xdt test-rules`): every shipped case runs through the real pipeline,
the runner reports failures with expected vs actual and file:line, and measures rule coverage."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from support import FRAMEWORK
from xdt_rules.audit.ruletests import case_documents, load_case_file, run_rule_tests
from xdt_rules.audit.ruletests import tests_dir as case_folder  # (not a test function)
from xdt_rules.cli import main
from xdt_rules.errors import DataFileError

SHIPPED = sorted(case_folder(FRAMEWORK).glob("*.yaml"))
CASES = [(path.name, case.spec.name) for path in SHIPPED for case in load_case_file(path)]


@pytest.fixture(scope="module")
def shipped():
    return run_rule_tests(FRAMEWORK)


# ---------------------------------------------------------------- the shipped cases


@pytest.mark.parametrize(("file", "name"), CASES, ids=[f"{f}:{n}" for f, n in CASES])
def test_shipped_case(shipped, file, name):
    result = next(c for c in shipped.cases if Path(c.file).name == file and c.name == name)
    details = "; ".join(f"{c.item} {c.what}: expected {c.expected}, actual {c.actual}" for c in result.failed_checks)
    assert result.outcome != "error", result.error
    assert result.outcome != "fixed", f"{result.where} now passes: remove its known_failure"
    assert result.outcome in ("pass", "known_failure"), f"{result.where}: {details}"


def test_every_item_has_cases_and_the_hard_kinds_are_there(shipped):
    assert shipped.items_without_cases == []
    assert shipped.ok and not shipped.findings
    texts = " ".join(str(c.spec.text or "") + " ".join(b.text or b.heading or str(b.table) for b in c.spec.blocks or [])
                     for path in SHIPPED for c in load_case_file(path))
    for trap in ("无纸化", "无线", "无缝", "不断", "不良率", "计划", "拟", "预计", "正在建设", "供应商", "客户",
                 "行业普遍", "政策鼓励"):
        assert trap in texts, trap
    kinds = {b.table is not None for path in SHIPPED for c in load_case_file(path) for b in c.spec.blocks or []}
    assert True in kinds  # table rows


def test_known_failures_are_reported_with_reasons(shipped):
    known = [c for c in shipped.cases if c.outcome == "known_failure"]
    assert known, "the shipped cases document today's known matcher/rule failures"
    for case in known:
        assert case.known_failure and len(case.known_failure) > 10
        assert case.failed_checks  # it really fails today


def test_coverage_counts_rules_exercised_by_cases(shipped):
    cov = shipped.coverage
    assert cov.rules_total == len({r.rule for r in cov.rules})
    assert cov.rules_covered == sum(1 for r in cov.rules if r.exercised)
    assert cov.rules_covered / cov.rules_total >= 0.9
    assert cov.pairs_total == sum(i.rules for i in cov.items)
    assert cov.pairs_covered == sum(i.exercised for i in cov.items)
    # demonstration:quantified can never fire (5.1.1 has no indicators): no case can exercise it
    row = next(r for r in cov.rules if r.rule == "demonstration:quantified")
    assert row.exercised == []
    item = next(i for i in cov.items if i.id == "5.1.1")
    assert "demonstration:quantified" in item.missing and item.cases > 0


# ---------------------------------------------------------------- the runner on written cases


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_failing_case_prints_expected_actual_and_line(tmp_path, capsys):
    folder = tmp_path / "cases"
    _write(folder, "a.yaml", """\
        cases:
          - name: passes
            text: 公司于2021年上线用友U8 Cloud，覆盖采购、销售、库存、财务全流程。
            expect:
              "1.3.1": {status: met}
          - name: wrong_on_purpose
            text: MES系统正在建设，预计2025年12月上线。
            expect:
              "1.3.2": {status: met, polarity: implemented}
        """)
    assert main(["test-rules", "--cases", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "a.yaml:6 wrong_on_purpose" in out
    assert "1.3.2 status" in out and "expected met" in out and "planned" in out
    assert "pass 1, fail 1" in out


def test_known_failure_does_not_fail_the_run_and_a_fixed_one_is_flagged(tmp_path, capsys):
    folder = tmp_path / "cases"
    _write(folder, "k.yaml", """\
        cases:
          - name: still_wrong
            text: MES系统正在建设，预计2025年12月上线。
            expect:
              "1.3.2": {status: met}
            known_failure: 演示：期望故意写错
          - name: now_right
            text: MES系统正在建设，预计2025年12月上线。
            expect:
              "1.3.2": {status: planned}
            known_failure: 演示：其实已经对了
        """)
    assert main(["test-rules", "--cases", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "已知问题 KNOWN" in out and "演示：期望故意写错" in out
    assert "已修复 FIXED" in out and "now_right" in out and "删去 known_failure" in out


@pytest.mark.parametrize(("body", "words"), [
    ('cases:\n  - name: x\n    text: 公司上线ERP。\n    expect:\n      "9.9.9": {status: met}\n', "9.9.9"),
    ('cases:\n  - name: x\n    text: 公司上线ERP。\n    expect:\n      "1.3.1": {rule: systems:no_such_rule}\n',
     "no_such_rule"),
])
def test_case_naming_unknown_items_or_rules_is_an_error(tmp_path, capsys, body, words):
    folder = tmp_path / "cases"
    _write(folder, "bad.yaml", body)
    report = run_rule_tests(FRAMEWORK, folder=folder)
    assert [c.outcome for c in report.cases] == ["error"] and words in report.cases[0].error
    assert "第 5 行" in report.cases[0].error
    assert main(["test-rules", "--cases", str(folder)]) == 1
    assert "用例错误 ERROR" in capsys.readouterr().out


@pytest.mark.parametrize(("body", "line"), [
    ("cases:\n  - name: x\n    expect:\n      \"1.3.1\": {status: met}\n", 2),           # neither text nor blocks
    ("cases:\n  - name: x\n    text: a\n    expect:\n      \"1.3.1\": {}\n", 5),          # nothing expected
    ("cases:\n  - name: x\n    text: a\n    expect:\n      \"1.3.1\": {status: done}\n", 5),  # bad status
    (("cases:\n  - name: x\n    text: a\n    expect: {\"1.3.1\": {status: met}}\n"
      "  - name: x\n    text: b\n    expect: {\"1.3.1\": {status: met}}\n"), 5),             # duplicate name
])
def test_broken_case_files_name_the_line(tmp_path, body, line):
    path = _write(tmp_path, "broken.yaml", body)
    with pytest.raises(DataFileError) as err:
        load_case_file(path)
    assert err.value.line == line
    report = run_rule_tests(FRAMEWORK, folder=tmp_path)
    assert not report.ok and report.findings[0].line == line


def test_blocks_become_documents_headings_tables_files_and_ocr():
    path = case_folder(FRAMEWORK) / "rule_behaviour.yaml"
    case = next(c for c in load_case_file(path) if c.spec.name == "scanned_contract_only")
    docs = case_documents(case.spec, path.name)
    assert [d.name for d in docs] == ["MES采购合同（扫描件）"]
    assert docs[0].blocks[0].source == "ocr"
    table_case = next(c for c in load_case_file(case_folder(FRAMEWORK) / "language_traps.yaml")
                      if c.spec.name == "yes_no_column_says_no")
    cells = case_documents(table_case.spec, "x")[0].blocks
    assert {(b.row, b.col) for b in cells} == {(r, c) for r in range(3) for c in range(3)}
    assert all(b.kind == "table_cell" and b.table == 0 for b in cells)


def test_cli_coverage_and_json(tmp_path, capsys):
    folder = tmp_path / "cases"
    folder.mkdir()
    shutil.copy(case_folder(FRAMEWORK) / "4_1_outcomes.yaml", folder / "4_1_outcomes.yaml")
    assert main(["test-rules", "--cases", str(folder), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "coverage by rule" in out and "coverage by item" in out and "覆盖率" in out
    assert main(["test-rules", "--cases", str(folder), "--json", "--run", "4.1.1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cases"] and all("4.1.1" in c["actual"] for c in data["cases"])
    assert data["summary"]["ok"] is True
    assert 0 < data["coverage"]["rule_percent"] < 100
    assert data["items_without_cases"] and "1.3.1" in data["items_without_cases"]


def test_a_case_may_state_facts_and_test_the_rules_alone(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "facts.yaml").write_text(
        "cases:\n"
        "  - name: model_only\n"
        "    facts: {\"1.3.2\": {mentions: 1, model: 1}}\n"
        "    expect: {\"1.3.2\": {status: partial, rule: systems:described_only}}\n"
        "  - name: unknown_item\n"
        "    facts: {\"9.9.9\": {mentions: 1}}\n"
        "    expect: {\"1.3.2\": {status: not_found}}\n"
        "  - name: bad_fact\n"
        "    facts: {\"1.3.2\": {no_such_fact: 1}}\n"
        "    expect: {\"1.3.2\": {status: not_found}}\n", encoding="utf-8")
    report = run_rule_tests(FRAMEWORK, folder=folder)
    outcomes = {c.name: c.outcome for c in report.cases}
    assert outcomes == {"model_only": "pass", "unknown_item": "error", "bad_fact": "error"}
    bad_polarity = folder / "bad.yaml"
    bad_polarity.write_text("cases:\n  - name: x\n    facts: {}\n    expect: {\"1.3.2\": {polarity: implemented}}\n",
                            encoding="utf-8")
    with pytest.raises(DataFileError):
        load_case_file(bad_polarity)
