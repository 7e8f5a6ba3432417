"""Audit and rule-test reports for people: the rich terminal report and the self-contained HTML.

Both read the pydantic report models only; nothing here computes a figure. User text is always
escaped (rich markup escaped, Jinja2 autoescape on), since keywords, passages and file names come
from applications and data files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import display_path

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
POLARITY_ZH = {"implemented": "已实施", "planned": "规划", "negated": "缺失", "generic": "泛指",
               "restates_criteria": "照抄评价内容"}
CUE_ZH = {"implemented": "已实施", "planned": "规划", "negated": "缺失", "generic": "泛指", "pseudo": "伪提示词",
          "stages": "实施前阶段", "other_parties": "他方", "heading_planned": "规划标题", "table_negated_cells": "表示否的单元格"}
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


# --------------------------------------------------------------------------- audit: terminal


def _table(title: str, columns: list[str], **kwargs: Any):
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, **kwargs)
    for col in columns:
        justify = "right" if col.endswith(("#", "数", "率")) or col in ("P", "R", "F1") else "left"
        table.add_column(col.rstrip("#"), justify=justify, overflow="fold")
    return table


def _where(file: str | None, page: int | None, block: int | None = None) -> str:
    if not file:
        return "（未定位 / not located）"
    if page:
        return f"{file} 第{page}页"
    return f"{file} 第{block}段" if block is not None else file


def print_audit(report: AuditReport, *, show_all: bool = False, console: Console | None = None) -> None:
    con = _console(console)
    static = report.static
    con.print(f"[bold]规则审计 / rule audit[/] — {_e(static.framework)}（规则版本 / rules version {_e(static.rules_version)}）")
    con.print(f"规则 / rules: {_e(display_path(static.rules_file))}    "
              f"关键词 / keywords: {_e(display_path(static.keywords_dir))}")
    _print_findings(report, con, show_all)
    _print_items(report, con)
    _print_ambiguities(report, con, show_all)
    _print_cues(report, con)
    if report.dynamic is not None:
        _print_dynamic(report, con, show_all)
    if report.agreement is not None:
        _print_agreement(report, con, show_all)
    if report.vocabulary is not None:
        _print_vocabulary(report, con)
    levels = report.levels()
    style = "red bold" if levels["error"] else ("yellow" if levels["warning"] else "green")
    con.print(f"[{style}]错误 {levels['error']}，警告 {levels['warning']}，提示 {levels['info']} / "
              f"errors {levels['error']}, warnings {levels['warning']}, notes {levels['info']}[/]")


def _print_findings(report: AuditReport, con: Console, show_all: bool) -> None:
    findings = report.findings
    if not findings:
        con.print("[green]未发现问题 / no problems found[/]")
        return
    con.print("[bold]问题清单 / findings[/]")
    for f in findings:
        if f.level != "info" or show_all:
            con.print(f"  [{LEVEL_STYLE[f.level]}]{_e(f.one_line())}[/]")
    if show_all:
        return
    # Notes come in families (36 preventive pseudo cues…): one line per family.
    groups: dict[str, list] = {}
    for f in findings:
        if f.level == "info":
            groups.setdefault(f.code, []).append(f)
    for code, group in groups.items():
        if len(group) == 1:
            con.print(f"  [dim]{_e(group[0].one_line())}[/]")
            continue
        names = [f.keyword or f.rule or (", ".join(f.items)) for f in group]
        con.print(f"  [dim]提示 / note {code} ×{len(group)}：{_e(group[0].message_zh)} 等；"
                  f"{_e('、'.join(n for n in names[:12] if n))}{' …' if len(names) > 12 else ''}（--all 显示全部）[/]")


def _print_items(report: AuditReport, con: Console) -> None:
    dyn, agr = report.dynamic, report.agreement
    cols = ["编号", "评价项", "术语#", "产品#", "模式#", "指标#", "规则#"]
    if dyn:
        cols += ["已具备#", "较弱#", "规划#", "未具备#", "未找到#"]
    if agr:
        cols += ["P", "R", "F1"]
    table = _table("评价项覆盖 / coverage per item（规则：可命中/适用）", cols)
    usage = {i.id: i for i in dyn.items} if dyn else {}
    scores = {i.id: i for i in agr.items} if agr else {}
    for item in report.static.items:
        row = [item.id, _e(item.name), str(item.terms), str(item.entities), str(item.patterns), str(item.indicators),
               f"{item.usable_rules}/{item.decide_rules + item.flags}"]
        if dyn:
            row += [str(usage[item.id].statuses[s]) for s in ("met", "partial", "planned", "negated", "not_found")]
        if agr:
            s = scores[item.id]
            row += [_pct(s.precision), _pct(s.recall), _pct(s.f1)]
        style = "red" if item.keywords == 0 or item.decide_rules == 0 else ("yellow" if dyn and usage[item.id].evidenced == 0 else "")
        table.add_row(*row, style=style)
    con.print(table)


def _print_ambiguities(report: AuditReport, con: Console, show_all: bool) -> None:
    amb = report.static.ambiguities
    declared = [a for a in amb if a.how == "declared"]
    longest = [a for a in amb if a.how == "longest_match"]
    table = _table("可归多项的关键词 / keywords more than one item could claim（胜出项与理由）", ["关键词", "归属", "其他项：为何不归它"])
    for a in declared:
        table.add_row(_e(a.keyword), a.winner, _e("；".join(f"{k}：{v}" for k, v in a.others.items())))
    con.print(table)
    undeclared = [a for a in longest if not a.declared]
    con.print(f"按最长匹配归属的包含关系 / resolved by longest match: {len(longest)} 处，其中未在 contested_by 中说明 "
              f"{len(undeclared)} 处 / not documented")
    for a in (undeclared if show_all else undeclared[:10]):
        con.print(f"  [dim]{_e(a.keyword)}（{', '.join(a.others)}）⊂ {_e(a.longer)} → {a.winner}[/]")
    if not show_all and len(undeclared) > 10:
        con.print(f"  [dim]… 另有 {len(undeclared) - 10} 处（--all）[/]")


def _print_cues(report: AuditReport, con: Console) -> None:
    cues = report.static.cues
    if cues is None:
        return
    names = CUE_ZH
    parts = "，".join(f"{names.get(k, k)} {v}" for k, v in cues.counts.items())
    regex = "，".join(f"{names.get(k, k)} {v}" for k, v in cues.regex.items())
    con.print(f"[bold]语境提示词 / context cues[/]（{_e(cues.file)}）：{parts}；正则 {regex or '无'}；"
              f"成效方向词 上升 {cues.quantities.get('up', 0)} 下降 {cues.quantities.get('down', 0)}，单位 "
              f"{cues.quantities.get('units', 0)}；OCR 易混字 {cues.ocr_confusions}；"
              f"照抄判定阈值 {cues.restate.get('threshold')}")
    if cues.dead_pseudo:
        con.print(f"  [dim]目前不遮住任何提示词的伪提示词 / pseudo cues masking nothing: {len(cues.dead_pseudo)}[/]")


def _print_dynamic(report: AuditReport, con: Console, show_all: bool) -> None:
    dyn = report.dynamic
    assert dyn is not None
    con.print(f"[bold]命中统计 / hits[/]：{len(dyn.applications)} 份申报（{_e(dyn.results_dir)}）")
    if dyn.items_not_evidenced:
        con.print(f"  [yellow]没有任何申报具备的评价项 / items no application evidences:[/] {', '.join(dyn.items_not_evidenced)}")
    if dyn.items_without_evidence:
        con.print(f"  [yellow]没有任何证据的评价项 / items with no evidence at all:[/] {', '.join(dyn.items_without_evidence)}")
    live = sorted((k for k in dyn.keywords if k.applications), key=lambda k: (-k.applications, -k.mentions, k.item))
    table = _table("命中最多的关键词 / most matched keywords", ["评价项", "关键词", "类型", "申报数", "提及数", "已实施数"])
    for k in live if show_all else live[:15]:
        table.add_row(k.item, _e(k.keyword), KIND_ZH[k.kind], str(k.applications), str(k.mentions), str(k.implemented))
    con.print(table)
    dead = [k for k in dyn.keywords if not k.applications]
    con.print(f"[bold]未命中的关键词 / dead keywords[/]：{len(dead)}/{len(dyn.keywords)}（本批申报中一次也没有出现）")
    by_item: dict[str, list[str]] = {}
    for k in dead:
        by_item.setdefault(k.item, []).append(k.keyword)
    for item_id, words in by_item.items():
        shown = words if show_all else words[:8]
        more = f" …（共 {len(words)}）" if len(shown) < len(words) else ""
        con.print(f"  {item_id}：{_e('、'.join(shown))}{more}")
    table = _table("规则命中 / rule hits", ["规则", "类型", "命中#", "申报数", "适用项数"])
    for r in dyn.rules:
        table.add_row(_e(r.rule), "判定" if r.kind == "decide" else "标记", str(r.fired), str(r.applications),
                      str(len(r.items)), style="yellow" if not r.fired else "")
    con.print(table)
    if dyn.dead_rules:
        con.print(f"  [yellow]本批未命中的规则 / rules that never fired:[/] {_e(', '.join(dyn.dead_rules))}")


def _print_disagreements(title: str, rows: list, con: Console, show_all: bool) -> None:
    con.print(f"[bold]{title}[/]（{len(rows)}）")
    for d in rows:
        con.print(f"  [red]{_e(d.application)} {d.item} {_e(d.item_name)}[/]：标注 {LABEL_ZH.get(d.label, d.label)}，"
                  f"工具 {STATUS_ZH.get(d.status, d.status)}；判定规则 {_e(d.decided_by or '无')}"
                  f"{'；标记 ' + _e(', '.join(d.flags)) if d.flags else ''}；标注来源 {_e(d.label_source)}")
        if d.label_note:
            con.print(f"    [dim]标注说明：{_e(d.label_note)}[/]")
        limit = None if show_all else 3
        for p in d.tool_evidence[:limit]:
            con.print(f"    工具证据（{POLARITY_ZH.get(p.polarity or '', p.polarity)}，{_e(p.matched)}）"
                      f"{_e(_where(p.file, p.page, p.block))}：{_e(p.text)}")
        for p in d.label_evidence[:limit]:
            con.print(f"    标注引文 {_e(_where(p.file, p.page, p.block))}：{_e(p.text)}")
        hidden = max(0, len(d.tool_evidence) - 3) + max(0, len(d.label_evidence) - 3)
        if not show_all and hidden:
            con.print(f"    [dim]… 另有 {hidden} 处（--all）[/]")


def _print_agreement(report: AuditReport, con: Console, show_all: bool) -> None:
    agr = report.agreement
    assert agr is not None
    con.print(f"[bold]与标注比对 / agreement with labels[/]（{_e(agr.labels)}）：{len(agr.applications)} 份申报，"
              f"{agr.pairs} 个评价项，“已具备”P={_pct(agr.precision)} R={_pct(agr.recall)} F1={_pct(agr.f1)}，"
              f"状态与标注完全一致 {_pct(agr.label_agreement)}"
              + (f"；只在扫描页上的 {agr.skipped_scan_only} 项未计入（未 OCR）" if agr.skipped_scan_only else ""))
    if agr.labels_without_result:
        con.print(f"  [yellow]有标注无结果 / labels without a result:[/] {_e(', '.join(agr.labels_without_result))}")
    table = _table("状态混淆矩阵 / status confusion（行：标注，列：工具状态）",
                   ["标注 \\ 状态"] + [f"{STATUS_ZH[s]} {s}" for s in ("met", "partial", "planned", "negated", "not_found")])
    for label, row in agr.confusion.items():
        table.add_row(f"{LABEL_ZH[label]} {label}", *[str(row[s]) for s in ("met", "partial", "planned", "negated", "not_found")])
    con.print(table)
    _print_disagreements("误报 / false positives（工具认为已具备，标注不是）", agr.false_positives, con, show_all)
    _print_disagreements("漏报 / false negatives（标注已实现，工具没有认定）", agr.false_negatives, con, show_all)
    if agr.other:
        con.print(f"其他不一致 / other mismatches（规划与缺失等）：{len(agr.other)}（JSON/HTML 中有明细）")


def _print_vocabulary(report: AuditReport, con: Console) -> None:
    voc = report.vocabulary
    assert voc is not None
    table = _table(f"未被关键词覆盖的高频词语 / uncovered vocabulary（{voc.uncovered_sentences}/{voc.sentences} 句无关键词，"
                   f"其中 {voc.mined_sentences} 句谈及技术）", ["词语", "次数", "申报数", "权重", "例句"])
    for t in voc.terms:
        ex = t.examples[0] if t.examples else None
        table.add_row(_e(t.term), str(t.count), str(t.applications), f"{t.weight:.1f}",
                      _e(f"{ex.application} {_where(ex.file, ex.page)}：{ex.text}") if ex else "")
    con.print(table)


# --------------------------------------------------------------------------- audit: HTML


def render_audit_html(report: AuditReport) -> str:
    """One self-contained page (inline CSS, no scripts, no external resources); all text escaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = _pct
    env.filters["shown"] = lambda path: display_path(path) if path else ""
    env.filters["where"] = lambda p: _where(p.file, p.page, p.block)
    template = env.get_template("audit.html.j2")
    usage = {i.id: i for i in report.dynamic.items} if report.dynamic else {}
    scores = {i.id: i for i in report.agreement.items} if report.agreement else {}
    dead_by_item: dict[str, list[str]] = {}
    if report.dynamic:
        for k in report.dynamic.keywords:
            if not k.applications:
                dead_by_item.setdefault(k.item, []).append(k.keyword)
    info_groups: dict[str, list] = {}
    for finding in report.findings:
        if finding.level == "info":
            info_groups.setdefault(finding.code, []).append(finding)
    return template.render(r=report, findings=report.findings, levels=report.levels(), usage=usage, scores=scores,
                           info_groups=list(info_groups.items()), CUE_ZH=CUE_ZH,
                           dead_by_item=dead_by_item, STATUS_ZH=STATUS_ZH, POLARITY_ZH=POLARITY_ZH, LABEL_ZH=LABEL_ZH, KIND_ZH=KIND_ZH,
                           STATUSES=("met", "partial", "planned", "negated", "not_found"),
                           LEVEL_ZH={"error": "错误", "warning": "警告", "info": "提示"})
