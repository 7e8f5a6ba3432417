"""Audit and rule-test reports for people: the rich terminal report and the self-contained HTML.

Both read the pydantic report models only; nothing here computes a figure. User text is always
escaped (rich markup escaped, Jinja2 autoescape on), since keywords, passages and file names come
from applications and data files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from .report import AuditReport
    from .ruletests import RuleTestReport

OUTCOME_LABEL = {"pass": ("通过 PASS", "green"), "fail": ("失败 FAIL", "red bold"),
                 "known_failure": ("已知问题 KNOWN", "yellow"), "fixed": ("已修复 FIXED", "cyan bold"),
                 "error": ("用例错误 ERROR", "red bold")}
LEVEL_STYLE = {"error": "red bold", "warning": "yellow", "info": "dim"}
STATUS_ZH = {"met": "已具备", "partial": "较弱", "planned": "规划", "negated": "未具备", "not_found": "未找到"}
LABEL_ZH = {"implemented": "已实现", "planned": "规划", "negated": "缺失", "absent": "无"}
KIND_ZH = {"term": "术语", "entity": "产品", "pattern": "模式", "indicator": "指标"}


def _console(console: Console | None) -> Console:
    from rich.console import Console

    return console or Console(highlight=False, soft_wrap=True)


def _e(text: Any) -> str:
    from rich.markup import escape

    return escape(str(text))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


# --------------------------------------------------------------------------- rule tests


def print_rule_tests(report: RuleTestReport, *, verbose: bool = False, coverage: bool = False,
                     console: Console | None = None) -> None:
    con = _console(console)
    con.print(f"[bold]规则测试 / rule tests[/] — {_e(report.framework)}：{_e(report.folder)}，"
              f"{len(report.files)} 个文件 / files，{len(report.cases)} 个用例 / cases")
    for finding in report.findings:
        con.print(f"[red bold]文件错误 / file error[/] {_e(finding.one_line())}")
    for case in report.cases:
        if case.outcome == "pass" and not verbose:
            continue
        label, style = OUTCOME_LABEL[case.outcome]
        con.print(f"[{style}]{label}[/] {_e(case.where)} {_e(case.name)}")
        if case.outcome == "error":
            con.print(f"    {_e(case.error)}")
            continue
        if case.known_failure:
            con.print(f"    [yellow]已知原因 / known:[/] {_e(case.known_failure)}")
        if case.outcome == "fixed":
            con.print("    [cyan]该用例现已通过，请删去 known_failure / now passes: remove known_failure[/]")
        for check in case.failed_checks if case.outcome != "pass" else []:
            con.print(f"    {_e(check.item)} {_e(check.what)}：期望 / expected [green]{_e(check.expected)}[/]，"
                      f"实际 / actual [red]{_e(check.actual)}[/]")
        if case.outcome in ("fail", "known_failure"):
            for item_id, actual in case.actual.items():
                if any(c.item == item_id and not c.ok for c in case.checks) and actual.mentions:
                    con.print(f"    [dim]{_e(item_id)} 提及 / mentions: {_e('; '.join(actual.mentions[:6]))}[/]")
    counts = {o: report.count(o) for o in OUTCOME_LABEL}
    style = "green" if report.ok else "red"
    con.print(f"[{style} bold]{'通过' if report.ok else '未通过'} / {'OK' if report.ok else 'FAILED'}[/]："
              f"通过 {counts['pass']}，失败 {counts['fail']}，已知问题 {counts['known_failure']}，"
              f"已修复 {counts['fixed']}，用例错误 {counts['error']} / pass {counts['pass']}, fail {counts['fail']}, "
              f"known failures {counts['known_failure']}, fixed {counts['fixed']}, errors {counts['error']}")
    if report.items_without_cases:
        con.print(f"[yellow]没有用例的评价项 / items without cases:[/] {_e(', '.join(report.items_without_cases))}")
    if coverage:
        print_coverage(report, con)
    else:
        cov = report.coverage
        con.print(f"规则覆盖 / rule coverage：{cov.rules_covered}/{cov.rules_total} 条规则 "
                  f"({cov.rule_percent:.1f}%)，评价项×规则 {cov.pairs_covered}/{cov.pairs_total} ({cov.pair_percent:.1f}%)"
                  f"（--coverage 查看明细 / for details）")


def print_coverage(report: RuleTestReport, console: Console | None = None) -> None:
    from rich import box
    from rich.table import Table

    con = _console(console)
    cov = report.coverage
    table = Table(title="规则覆盖（按规则）/ coverage by rule", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("规则 rule", "类型", "适用项数", "已覆盖项", "未覆盖项"):
        table.add_column(col, overflow="fold")
    for row in cov.rules:
        missing = [i for i in row.items if i not in row.exercised]
        style = "red" if not row.exercised else ""
        table.add_row(_e(row.rule), "判定" if row.kind == "decide" else "标记", str(len(row.items)),
                      _e(_ids(row.exercised)) or "—", _e(_ids(missing)) or "—", style=style)
    con.print(table)
    table = Table(title="规则覆盖（按评价项）/ coverage by item", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("评价项", "名称", "规则组", "用例", "已覆盖/规则", "未被任何用例触发的规则"):
        table.add_column(col, overflow="fold")
    for item in cov.items:
        style = "red" if item.cases == 0 else ""
        table.add_row(item.id, _e(item.name), _e(item.group), str(item.cases), f"{item.exercised}/{item.rules}",
                      _e(", ".join(r.split(":", 1)[1] for r in item.missing)) or "—", style=style)
    con.print(table)
    con.print(f"[bold]覆盖率 / coverage[/]：规则 {cov.rules_covered}/{cov.rules_total} = {cov.rule_percent:.1f}%；"
              f"评价项×规则 {cov.pairs_covered}/{cov.pairs_total} = {cov.pair_percent:.1f}%")


def _ids(ids: list[str], limit: int = 12) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" …（共 {len(ids)}）"
