"""Rule tests: short application snippets with the expected outcome, kept beside the rules
(``rules/<framework>/tests/*.yaml``) and run through the real pipeline — like ``opa test``.

A case file::

    description: 1.3 生产管理数字化
    cases:
      - name: erp_product_and_year              # unique in the file
        text: 公司于2021年上线用友U8 Cloud，覆盖采购、销售、库存、财务全流程。
        expect:
          "1.3.1": {status: met, polarity: implemented, rule: systems:named_and_dated}
      - name: mes_only_planned_under_plan_heading
        blocks:                                 # instead of text: headings, paragraphs, tables
          - heading: 八、下一步工作计划
          - text: 引入MES系统，打通计划排产与车间报工。
          - table:                              # first row = header
              - [系统, 供应商, 上线时间, 状态]
              - [WMS, 富勒FLUX, 2022年6月, 已上线]
        expect:
          "1.3.2": {status: planned, polarity: planned}
          "1.3.3": {status: met}
          "3.1.4": {no_evidence: true}
        known_failure: "为什么现在失败（匹配器或规则的问题）"   # optional

``text`` is one paragraph or a list of paragraphs (classified heading / list item / paragraph by
the same rules as a TXT file). Expectations per item, all optional but at least one:
``status`` (one status or a list of acceptable ones), ``polarity`` (EVERY mention of the item has
this polarity, and there is one), ``not_polarity`` (no mention has any of these), ``no_evidence``
(the item has no mention at all), ``rule`` (the decide rule that set the status, as in
``rules_fired``) and ``flags`` (flags that must fire).

Each snippet becomes a :class:`~xdt_rules.models.Document`, goes through
:func:`xdt_rules.evidence.find_evidence` and :func:`xdt_rules.scoring.score_mentions` with the
framework's rule book — nothing is mocked. A case marked ``known_failure`` documents a wrong
behaviour of the matcher or the rules: it is reported separately and does not fail the run; if
it starts passing it is reported as *fixed* so the mark can be removed.

Coverage: a rule is *exercised* for an item when it fires on that item in a case that asserts
something about the item. Reported per rule (exercised on at least one item) and per item (which
of the rules that apply to it no case exercises).
"""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    model_validator,
)

from ..catalogue import Catalogue
from ..errors import DataFileError, XdtError
from ..framework import Framework
from ..models import Block, Document, ItemStatus, Mention, Polarity
from ..scoring import RuleBook
from ..yamlio import LoadedYaml, load_yaml, validation_error
from .findings import Finding

TESTS_DIR = "tests"
MAIN_FILE = "申报书"
OCR_CONFIDENCE = 0.9
STATUS_ZH = {"met": "已具备", "partial": "较弱", "planned": "规划", "negated": "未具备", "not_found": "未找到"}
POLARITY_ZH = {"implemented": "已实施", "planned": "规划", "negated": "缺失", "generic": "泛指",
               "restates_criteria": "照抄评价内容"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlockSpec(_Spec):
    text: str | None = None
    heading: str | None = None
    table: list[list[str]] | None = Field(None, description="rows of cells; the first row is the header")
    file: str = Field(MAIN_FILE, min_length=1, description="which file of the application the block is in")
    ocr: bool = Field(False, description="the text was read from a scan by OCR")

    @model_validator(mode="after")
    def _one(self) -> BlockSpec:
        if sum(x is not None for x in (self.text, self.heading, self.table)) != 1:
            raise ValueError("每个块只能是 text、heading、table 之一 / a block is exactly one of text, heading, table")
        if self.table is not None and (not self.table or not all(self.table)):
            raise ValueError("表格不能为空 / a table needs rows of cells")
        return self


class ExpectSpec(_Spec):
    status: ItemStatus | list[ItemStatus] | None = None
    polarity: Polarity | None = Field(None, description="every mention of the item has this polarity")
    not_polarity: list[Polarity] = Field(default_factory=list, description="no mention has any of these")
    no_evidence: bool = Field(False, description="the item has no mention at all (a model hint is no evidence)")
    rule: str | None = Field(None, description="the decide rule that sets the status")
    flags: list[str] = Field(default_factory=list, description="flags that must fire")
    confirm: bool | None = Field(None, description="whether the item asks a person to confirm it (需人工确认)")

    @model_validator(mode="after")
    def _something(self) -> ExpectSpec:
        if (self.status is None and self.polarity is None and not self.not_polarity and not self.no_evidence
                and self.rule is None and not self.flags and self.confirm is None):
            raise ValueError("至少写一项期望 / expect at least one thing")
        if self.no_evidence and (self.polarity is not None or self.not_polarity):
            raise ValueError("no_evidence 不能与 polarity 同用 / no_evidence excludes polarity expectations")
        return self

    def statuses(self) -> list[str]:
        if self.status is None:
            return []
        return [self.status] if isinstance(self.status, str) else list(self.status)


class CaseSpec(_Spec):
    name: str = Field(min_length=1)
    note: str | None = None
    text: str | list[str] | None = None
    blocks: list[BlockSpec] | None = None
    facts: dict[str, dict[str, int | bool]] | None = Field(
        None, description="the evidence facts of items given directly (others all zero): the rules alone, no matcher")
    expect: dict[str, ExpectSpec] = Field(min_length=1)
    known_failure: str | None = Field(None, description="why the case fails today (matcher/rules to fix)")

    @model_validator(mode="after")
    def _content(self) -> CaseSpec:
        if sum(x is not None for x in (self.text, self.blocks, self.facts)) != 1:
            raise ValueError("用 text、blocks 或 facts 之一给出申报文字或事实 / give the snippet as text or blocks, "
                             "or the facts (exactly one of them)")
        if self.facts is not None and any(self.expect[i].polarity or self.expect[i].not_polarity
                                          or self.expect[i].no_evidence for i in self.expect):
            raise ValueError("直接给出事实的用例没有提及，只能期望 status/rule/flags / a facts case has no mentions: "
                             "expect status, rule or flags only")
        if self.known_failure is not None and not self.known_failure.strip():
            raise ValueError("known_failure 须写明原因 / known_failure needs a reason")
        return self


class CaseFileSpec(_Spec):
    description: str | None = None
    cases: list[CaseSpec] = Field(min_length=1)


# --------------------------------------------------------------------------- results


Outcome = Literal["pass", "fail", "known_failure", "fixed", "error"]


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str
    what: Literal["status", "polarity", "not_polarity", "no_evidence", "rule", "flags", "confirm"]
    expected: str
    actual: str
    ok: bool


class ItemOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    rules_fired: list[str]
    mentions: list[str] = Field(default_factory=list, description="polarity: term “matched”")


class CaseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    line: int | None = None
    name: str
    outcome: Outcome
    known_failure: str | None = None
    note: str | None = None
    checks: list[Check] = Field(default_factory=list)
    actual: dict[str, ItemOutcome] = Field(default_factory=dict)
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class RuleCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    kind: Literal["decide", "flag"]
    line: int | None = None
    items: list[str]
    exercised: list[str] = Field(default_factory=list, description="items on which a case exercised it")


class ItemRuleCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    group: str
    cases: int = 0
    rules: int = 0
    exercised: int = 0
    missing: list[str] = Field(default_factory=list)


class Coverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleCoverage]
    items: list[ItemRuleCoverage]
    rules_covered: int
    rules_total: int
    pairs_covered: int
    pairs_total: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rule_percent(self) -> float:
        return round(100 * self.rules_covered / self.rules_total, 1) if self.rules_total else 100.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pair_percent(self) -> float:
        return round(100 * self.pairs_covered / self.pairs_total, 1) if self.pairs_total else 100.0


class RuleTestReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: str
    folder: str
    files: list[str]
    cases: list[CaseResult]
    coverage: Coverage
    items_without_cases: list[str]
    findings: list[Finding] = Field(default_factory=list, description="files that could not be loaded")

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)

    @property
    def ok(self) -> bool:
        """Like ``opa test``: no failing and no broken case, and every file loaded."""
        return not any(c.outcome in ("fail", "error") for c in self.cases) and not self.findings


# --------------------------------------------------------------------------- loading


class LoadedCase(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    file: str
    line: int | None
    spec: CaseSpec
    expect_lines: dict[str, int | None] = Field(default_factory=dict)


def shown_path(path: str | Path) -> str:
    """A path as the user would type it: relative to the working folder when under it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def tests_dir(framework: Framework) -> Path:
    return framework.folder / TESTS_DIR


def load_case_file(path: str | Path) -> list[LoadedCase]:
    """The cases of one file; a broken file raises DataFileError with its line."""
    loaded: LoadedYaml = load_yaml(shown_path(path))
    if loaded.data is None:
        raise DataFileError(loaded.path, None, "文件为空", "file is empty")
    try:
        spec = CaseFileSpec.model_validate(loaded.data)
    except ValidationError as exc:
        raise validation_error(loaded, exc) from None
    seen: dict[str, int | None] = {}
    out = []
    for n, case in enumerate(spec.cases):
        line = loaded.line_of(("cases", n))
        if case.name in seen:
            raise DataFileError(loaded.path, line, f"用例名“{case.name}”重复（第 {seen[case.name]} 行）",
                                f"duplicate case name '{case.name}' (line {seen[case.name]})")
        seen[case.name] = line
        out.append(LoadedCase(file=loaded.path, line=line, spec=case,
                              expect_lines={i: loaded.line_of(("cases", n, "expect", i)) for i in case.expect}))
    return out


# --------------------------------------------------------------------------- running


def case_documents(case: CaseSpec, source: str) -> list[Document]:
    """The snippet as Documents (one per ``file`` named in its blocks, 申报书 by default):
    paragraphs classified like a TXT file's, headings, table cells, OCR text."""
    from ..ingest.structure import classify_text

    specs = case.blocks if case.blocks is not None else [
        BlockSpec(text=t) for t in ([case.text] if isinstance(case.text, str) else case.text or [])]
    files: dict[str, list[Block]] = {}
    tables: dict[str, int] = {}

    def add(file: str, ocr: bool, **fields: object) -> None:
        blocks = files.setdefault(file, [])
        extra = {"source": "ocr", "ocr_confidence": OCR_CONFIDENCE} if ocr else {}
        blocks.append(Block(index=len(blocks), **fields, **extra))  # type: ignore[arg-type]

    for spec in specs:
        if spec.heading is not None:
            add(spec.file, spec.ocr, kind="heading", text=spec.heading)
        elif spec.text is not None:
            add(spec.file, spec.ocr, kind="ocr_line" if spec.ocr else classify_text(spec.text), text=spec.text)
        else:
            table = tables.get(spec.file, 0)
            for r, row in enumerate(spec.table or []):
                for c, cell in enumerate(row):
                    if str(cell).strip():
                        add(spec.file, spec.ocr, kind="table_cell", text=str(cell), table=table, row=r, col=c)
            tables[spec.file] = table + 1
    documents = []
    for name, blocks in files.items():
        body = "\n".join(b.text for b in blocks).encode("utf-8")
        documents.append(Document(path=f"{source}#{case.name}/{name}", name=name, sha256=hashlib.sha256(body).hexdigest(),
                                  size=len(body), file_type="txt", extractor_version="rule-test", blocks=blocks))
    return documents


def _mention_text(m: Mention) -> str:
    return f"{m.polarity}: {m.term} “{m.matched}”"


def _check(case: LoadedCase, book: RuleBook, scored_items: dict, mentions: list[Mention]) -> list[Check]:
    checks: list[Check] = []
    for item_id, exp in case.spec.expect.items():
        item = scored_items[item_id]
        mine = [m for m in mentions if m.item_id == item_id]
        pols = sorted({m.polarity for m in mine})
        seen = ", ".join(f"{p}×{sum(1 for m in mine if m.polarity == p)}" for p in pols) or "无提及 / none"
        if exp.statuses():
            checks.append(Check(item=item_id, what="status", expected=" | ".join(exp.statuses()),
                                actual=f"{item.status}（{', '.join(item.rules_fired) or '无规则'}）",
                                ok=item.status in exp.statuses()))
        if exp.polarity is not None:
            checks.append(Check(item=item_id, what="polarity", expected=f"全部 / all {exp.polarity}", actual=seen,
                                ok=bool(mine) and all(m.polarity == exp.polarity for m in mine)))
        if exp.not_polarity:
            bad = [m for m in mine if m.polarity in exp.not_polarity]
            checks.append(Check(item=item_id, what="not_polarity", expected=f"没有 / none of {', '.join(exp.not_polarity)}",
                                actual="; ".join(_mention_text(m) for m in bad) or seen, ok=not bad))
        if exp.no_evidence:
            # a model hint ("可能相关") is shown to the reviewer but is no evidence either way
            evidence = [m for m in mine if m.reading.reason != "model_hint"]
            checks.append(Check(item=item_id, what="no_evidence", expected="无提及 / no mention",
                                actual="; ".join(_mention_text(m) for m in evidence) or "无提及 / none", ok=not evidence))
        decide = item.rules_fired[0] if item.rules_fired and item.rules_fired[0] in {
            r.key for r in book.items[item_id].decide} else None
        if exp.rule is not None:
            checks.append(Check(item=item_id, what="rule", expected=exp.rule, actual=decide or "无 / none",
                                ok=decide == exp.rule))
        if exp.flags:
            fired = set(item.rules_fired)
            checks.append(Check(item=item_id, what="flags", expected=", ".join(exp.flags),
                                actual=", ".join(k for k in item.rules_fired if k != decide) or "无 / none",
                                ok=all(f in fired for f in exp.flags)))
        if exp.confirm is not None:
            checks.append(Check(item=item_id, what="confirm", expected="需人工确认" if exp.confirm else "不需确认",
                                actual="需人工确认" if item.needs_confirmation else "不需确认",
                                ok=item.needs_confirmation == exp.confirm))
    return checks


def _validate_case(case: LoadedCase, book: RuleBook, catalogue: Catalogue) -> str | None:
    """A problem of the case itself (unknown item or rule), or None."""
    for item_id in case.spec.facts or {}:
        if item_id not in catalogue:
            return f"未知评价项编号 {item_id}（facts）/ unknown item ID {item_id} in facts"
    for item_id, exp in case.spec.expect.items():
        line = case.expect_lines.get(item_id)
        where = f"第 {line} 行：" if line else ""
        if item_id not in catalogue:
            return f"{where}未知评价项编号 {item_id} / unknown item ID {item_id}"
        rules = book.items[item_id]
        decide = {r.key for r in rules.decide}
        flags = {r.key for r in rules.flags}
        if exp.rule is not None and exp.rule not in decide:
            return (f"{where}评价项 {item_id} 没有判定规则“{exp.rule}”（可用：{', '.join(sorted(decide))}）"
                    f" / item {item_id} has no decide rule '{exp.rule}'")
        for flag in exp.flags:
            if flag not in flags:
                return (f"{where}评价项 {item_id} 没有附加标记“{flag}”（可用：{', '.join(sorted(flags)) or '无'}）"
                        f" / item {item_id} has no flag '{flag}'")
    return None


def run_case(case: LoadedCase, framework: Framework) -> CaseResult:
    from ..evidence import find_evidence
    from ..scoring import score_mentions

    catalogue, book = framework.catalogue, framework.rules
    base = {"file": case.file, "line": case.line, "name": case.spec.name, "known_failure": case.spec.known_failure,
            "note": case.spec.note}
    problem = _validate_case(case, book, catalogue)
    if problem:
        return CaseResult(outcome="error", error=problem, **base)
    if case.spec.facts is not None:  # like opa test's `with input as`: the rules alone, on stated facts
        from ..scoring import ItemFacts, score_facts

        try:
            facts = {i: ItemFacts(**case.spec.facts.get(i, {})) for i in catalogue.item_ids}
        except ValueError as exc:
            return CaseResult(outcome="error", error=f"事实无效 / invalid facts: {exc}", **base)
        mentions: list[Mention] = []
        scored = score_facts(facts, {}, catalogue=catalogue, book=book, learned_confirmation=False)
    else:
        documents = case_documents(case.spec, Path(case.file).name)
        mentions = find_evidence(documents, framework)
        scored = score_mentions(mentions, catalogue=catalogue, book=book, learned_confirmation=False)
    items = {i.id: i for i in scored.items}
    checks = _check(case, book, items, mentions)
    actual = {item_id: ItemOutcome(status=items[item_id].status, rules_fired=items[item_id].rules_fired,
                                   mentions=[_mention_text(m) for m in mentions if m.item_id == item_id])
              for item_id in case.spec.expect}
    passed = all(c.ok for c in checks)
    if case.spec.known_failure:
        outcome: Outcome = "fixed" if passed else "known_failure"
    else:
        outcome = "pass" if passed else "fail"
    return CaseResult(outcome=outcome, checks=checks, actual=actual, **base)


def _coverage(results: list[CaseResult], cases: list[LoadedCase], book: RuleBook, catalogue: Catalogue) -> Coverage:
    exercised: dict[str, set[str]] = {}
    case_count: dict[str, int] = {}
    for result, case in zip(results, cases, strict=True):
        for item_id in case.spec.expect:
            case_count[item_id] = case_count.get(item_id, 0) + 1
        if result.outcome == "error":
            continue
        for item_id, outcome in result.actual.items():
            for key in outcome.rules_fired:
                exercised.setdefault(key, set()).add(item_id)
    rows: dict[str, RuleCoverage] = {}
    items = []
    pairs = covered_pairs = 0
    for item in catalogue.items:
        rules = book.items[item.id]
        missing = []
        for rule in rules.all_rules():
            row = rows.setdefault(rule.key, RuleCoverage(rule=rule.key, kind=rule.kind, line=rule.line, items=[]))
            row.items.append(item.id)
            pairs += 1
            if item.id in exercised.get(rule.key, set()):
                row.exercised.append(item.id)
                covered_pairs += 1
            else:
                missing.append(rule.key)
        total = len(rules.all_rules())
        items.append(ItemRuleCoverage(id=item.id, name=item.name, group=rules.group, cases=case_count.get(item.id, 0),
                                      rules=total, exercised=total - len(missing), missing=missing))
    ordered = sorted(rows.values(), key=lambda r: (r.line or 0, r.rule))
    return Coverage(rules=ordered, items=items, rules_covered=sum(1 for r in ordered if r.exercised),
                    rules_total=len(ordered), pairs_covered=covered_pairs, pairs_total=pairs)


def run_rule_tests(framework: Framework, *, folder: str | Path | None = None,
                   select: str | None = None) -> RuleTestReport:
    """Run every case of ``rules/<framework>/tests/*.yaml`` (or ``folder``); ``select`` is a glob on
    case names (``erp_*``) or an item ID (``1.3.1``) to run a subset."""
    catalogue, book = framework.catalogue, framework.rules
    where = Path(folder) if folder is not None else tests_dir(framework)
    if not where.is_dir():
        raise XdtError("没有规则测试用例目录", "no rule test folder", file=str(where))
    files = sorted(where.glob("*.yaml"))
    if not files:
        raise XdtError("规则测试目录中没有 .yaml 用例文件", "no .yaml case file in the rule test folder", file=str(where))
    cases: list[LoadedCase] = []
    findings: list[Finding] = []
    for path in files:
        try:
            cases += load_case_file(path)
        except DataFileError as exc:
            findings.append(Finding(level="error", code="case_file", message_zh=exc.reason_zh, message_en=exc.reason_en,
                                    file=exc.data_file, line=exc.line))
    if select:
        cases = [c for c in cases if select in c.spec.expect or fnmatch.fnmatchcase(c.spec.name, select)]
    results = [run_case(c, framework) for c in cases]
    covered_items = {i for c in cases for i in c.spec.expect}
    return RuleTestReport(
        framework=catalogue.id, folder=shown_path(where), files=[shown_path(f) for f in files], cases=results,
        coverage=_coverage(results, cases, book, catalogue),
        items_without_cases=[i for i in catalogue.item_ids if i not in covered_items], findings=findings)
