"""Static audit: the framework, keywords and rules on their own, no applications needed.

What it answers for the rule owner:

* per item — how many keywords (terms, entities, co-occurrence patterns, outcome indicators)
  and how many rules (decide rules + flags) can apply to it;
* errors — items with no keyword or no rule, rules or keywords naming unknown items or facts,
  the same keyword claimed twice;
* dead rules — rules that can never fire: shadowed by an earlier rule, contradictory conditions
  (both from the rule validator), or needing a fact the item's keywords can never produce
  (``entity >= 1`` for an item without vendor products, ``quantities >= 1`` without indicators);
* ambiguity — keywords that could serve more than one item, with the item that wins and why.
  The matcher resolves them in two ways (see :mod:`xdt_rules.evidence.matcher`): a spelling
  belongs to exactly one item (the YAML says which, and why, with ``contested_by``), and where
  two matches overlap the longest wins (财务机器人 3.2.3 over 机器人 3.1.1);
* the context cue lists (planned / negated / pseudo-negation / generic …) in numbers, with
  pseudo cues that mask no cue at all.

Every data file is checked by its one validator (:func:`~xdt_rules.catalogue.check_catalogue_file`,
:func:`~xdt_rules.evidence.keywords.check_keyword_folder`, :func:`~xdt_rules.scoring.validate_rules_file`),
which collects every problem; loading stops at the first of the same list, so the audit shows exactly
what would stop a run, and all of it at once.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Literal

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from ..catalogue import Catalogue, check_catalogue_file
from ..datacheck import DataProblem
from ..errors import XdtError
from ..evidence.keywords import CUE_LISTS, KeywordSet, TermEntry, check_keyword_folder
from ..evidence.normalize import is_ascii_alnum, normalize_key
from ..framework import CATALOGUE_FILE, RULES_FILE, FrameworkRef, framework_fingerprint, framework_paths
from ..scoring import RuleBook, ValidationIssue, validate_rules_file
from ..scoring.ruleset import Rule
from ..yamlio import load_yaml
from .findings import Finding, sort_findings

# Facts whose value only certain keyword kinds can make non-zero (see xdt_rules.scoring.facts):
# an entity mention needs an ``entities`` list, a quantified outcome needs ``indicators``.
FACT_NEEDS = {"entity": "entities", "quantities": "indicators"}
FACT_NEEDS_ZH = {"entity": "厂商/产品名称（entities）", "quantities": "成效指标（indicators）"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemCoverage(_Model):
    id: str
    name: str
    group: str | None = Field(None, description="rule group the item belongs to")
    keyword_file: str | None = None
    terms: int = 0
    spellings: int = Field(0, description="terms, entities and all their aliases (distinct normalised)")
    entities: int = 0
    patterns: int = 0
    indicators: int = 0
    decide_rules: int = 0
    flags: int = 0
    usable_rules: int = Field(0, description="decide rules and flags that can fire for this item")
    dead_rules: list[str] = Field(default_factory=list, description="rule keys that can never fire here")

    @property
    def keywords(self) -> int:
        return self.terms + self.entities + self.patterns + self.indicators


class Ambiguity(_Model):
    keyword: str = Field(description="the keyword two items could claim")
    winner: str = Field(description="the item whose evidence it becomes")
    others: dict[str, str] = Field(description="other item → why it does not win")
    how: Literal["declared", "longest_match"]
    longer: str | None = Field(None, description="for longest_match: the longer keyword that contains it")
    declared: bool = Field(True, description="for longest_match: whether a contested_by note records the choice")
    file: str | None = None
    line: int | None = None


class CueSummary(_Model):
    file: str
    counts: dict[str, int] = Field(description="cue list → number of cues")
    regex: dict[str, int] = Field(default_factory=dict, description="regular-expression cues per polarity")
    quantities: dict[str, int] = Field(default_factory=dict)
    ocr_confusions: int = 0
    restate: dict[str, float] = Field(default_factory=dict, description="thresholds, and sizes of word lists")
    dead_pseudo: list[str] = Field(default_factory=list, description="pseudo cues that contain no cue to mask")


class StaticAudit(_Model):
    framework: str
    rules_file: str
    keywords_dir: str
    rules_version: str | None = None
    items: list[ItemCoverage]
    ambiguities: list[Ambiguity] = Field(default_factory=list)
    cues: CueSummary | None = None
    findings: list[Finding] = Field(default_factory=list)


# --------------------------------------------------------------------------- keywords


def finding_of(problem: DataProblem) -> Finding:
    """A data file's problem as the audit lists it (the loader stops at the first of the same list)."""
    return Finding(level=problem.level, code=problem.code, message_zh=problem.message_zh, message_en=problem.message_en,
                   file=problem.file, line=problem.line, items=list(problem.items), rule=problem.rule,
                   keyword=problem.keyword)


def _coverage_counts(keywords: KeywordSet) -> dict[str, dict[str, int]]:
    """Per item: terms, entities, patterns, indicators and distinct spellings, as compiled."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    named: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for entry in keywords.entries:
        named[entry.item_id]["terms" if entry.kind == "term" else "entities"].add(entry.canonical)
        named[entry.item_id]["spellings"].add(entry.key)
    for indicator in keywords.indicators:
        named[indicator.item_id]["indicators"].add(indicator.canonical)
    for item_id, kinds in named.items():
        for kind, names in kinds.items():
            counts[item_id][kind] = len(names)
    for pattern in keywords.patterns:
        counts[pattern.item_id]["patterns"] += 1
    return counts


def _latin_ok(short: str, long: str, at: int) -> bool:
    """Whether ``short`` found at ``long[at:]`` is a real match (Latin edges on word boundaries)."""
    end = at + len(short)
    cut_start = is_ascii_alnum(short[0]) and at > 0 and is_ascii_alnum(long[at - 1])
    cut_end = is_ascii_alnum(short[-1]) and end < len(long) and is_ascii_alnum(long[end])
    return not (cut_start or cut_end)


def _ambiguities(keywords: KeywordSet) -> list[Ambiguity]:
    """Declared contests (contested_by) and cross-item containments resolved by longest match."""
    out = [Ambiguity(keyword=a.term, winner=a.winner, others=dict(a.others), how="declared", file=a.file, line=a.line)
           for a in keywords.ambiguities]
    contested: dict[tuple[str, str], dict[str, str]] = {(a.winner, a.term): a.others for a in keywords.ambiguities}
    automaton = ahocorasick.Automaton()
    by_key: dict[str, TermEntry] = {}
    for entry in keywords.entries:  # indicators only count next to a number; they never compete with terms
        if entry.key not in by_key:
            by_key[entry.key] = entry
            automaton.add_word(entry.key, entry.key)
    if not by_key:
        return out
    automaton.make_automaton()
    seen: set[tuple[str, str]] = set()
    for long_key, long in by_key.items():
        for end, short_key in automaton.iter(long_key):
            short = by_key[short_key]
            if short_key == long_key or short.item_id == long.item_id:
                continue
            if not _latin_ok(short_key, long_key, end - len(short_key) + 1) or (short_key, long_key) in seen:
                continue
            seen.add((short_key, long_key))
            declared = (long.item_id in contested.get((short.item_id, short.canonical), {})
                        or short.item_id in contested.get((long.item_id, long.canonical), {}))
            out.append(Ambiguity(
                keyword=short.spelling, winner=long.item_id, longer=long.spelling, how="longest_match",
                others={short.item_id: f"“{short.spelling}”属于 {short.item_id}，但出现在更长的“{long.spelling}”"
                                       f"（{long.item_id}）之中时按最长匹配归 {long.item_id}"},
                declared=declared, file=long.file, line=long.line))
    out.sort(key=lambda a: (a.how != "declared", a.winner, a.keyword))
    return out


# --------------------------------------------------------------------------- cues


def _live_pseudo(pseudo: str, cues: list[str]) -> bool:
    """A pseudo cue only matters where it hides a real cue: one starting inside it (leftmost-longest
    scanning skips it) or a shorter one at its own start."""
    for cue in cues:
        if len(cue) < len(pseudo) and pseudo.startswith(cue):
            return True
        for k in range(1, len(pseudo)):
            tail = pseudo[k:]
            if tail.startswith(cue) or cue.startswith(tail):
                return True
    return False


def _cue_summary(keywords: KeywordSet, findings: list[Finding]) -> CueSummary:
    context, folder = keywords.context, Path(keywords.folder)
    context_file = str(folder / "_context.yaml")
    lines = load_yaml(context_file)
    # Every word list of the context file is counted, so new lists show up without a code change.
    counts = {name: len(value) for name, value in context if isinstance(value, list)
              and all(isinstance(v, str) for v in value)}
    real = [normalize_key(c) for name in CUE_LISTS if name != "pseudo" for c in getattr(context, name)]
    dead = []
    for n, pseudo in enumerate(context.pseudo):
        if not _live_pseudo(normalize_key(pseudo), real):
            dead.append(pseudo)
            findings.append(Finding(
                level="info", code="dead_pseudo", file=context_file, line=lines.line_of(("pseudo", n)), keyword=pseudo,
                message_zh=f"伪提示词“{pseudo}”目前不遮住任何提示词（现有提示词都不在其中），只起预防作用",
                message_en=f"pseudo cue '{pseudo}' masks none of the current cues (preventive only)"))
    quantities = keywords.quantities
    return CueSummary(
        file=context_file, counts=counts, regex={k: len(v) for k, v in sorted(context.regex.items())},
        quantities={"up": len(quantities.up), "down": len(quantities.down), "units": len(quantities.units)},
        ocr_confusions=len(keywords.confusions), restate=_numbers(context.restate.model_dump()), dead_pseudo=dead)


def _numbers(values: dict) -> dict[str, float]:
    """Thresholds as they are, word lists by their size."""
    return {k: (len(v) if isinstance(v, (list, tuple, dict)) else float(v)) for k, v in values.items()
            if isinstance(v, (int, float, list, tuple, dict)) and not isinstance(v, bool)}


# --------------------------------------------------------------------------- rules


def _needs_missing(rule: Rule, missing: set[str]) -> str | None:
    """The fact this rule needs above zero that the item's keywords can never produce."""
    for c in rule.conditions:
        if c.fact not in missing:
            continue
        if ((c.op == ">=" and c.value >= 1) or (c.op == ">" and c.value >= 0) or (c.op == "==" and c.value >= 1)
                or (c.op == "!=" and c.value == 0)):
            return c.fact
    return None


def _rule_findings(book: RuleBook | None, issues: list[ValidationIssue], catalogue: Catalogue) -> tuple[list[Finding], dict[str, set[str]]]:
    """The validator's issues as findings, and per item the rule keys it proved dead."""
    findings = []
    dead: dict[str, set[str]] = defaultdict(set)
    for issue in issues:
        findings.append(finding_of(issue))
        if issue.code in ("unreachable", "unsatisfiable") and issue.rule:
            for item_id in issue.items:
                dead[item_id].add(issue.rule)
    if book is not None:
        for item_id in catalogue.item_ids:
            rules = book.items.get(item_id)
            if rules is not None and not rules.decide:
                findings.append(Finding(level="error", code="no_rules", file=book.source, items=[item_id],
                                        message_zh=f"评价项 {item_id} 没有任何判定规则（全部被 drop 去掉）",
                                        message_en=f"item {item_id} has no decide rule left (all dropped)"))
    return findings, dead


def static_audit(ref: FrameworkRef | None = None) -> StaticAudit:
    """Audit a framework's rules and its keywords folder (default: the shipped ones). Unlike
    loading, this goes on past errors: it lists every problem it can find."""
    ref = ref or FrameworkRef()
    framework_folder, folder = framework_paths(ref)
    catalogue, catalogue_problems = check_catalogue_file(framework_folder / CATALOGUE_FILE)
    if catalogue is None:  # nothing else can be checked without the items
        raise catalogue_problems[0].as_error()
    rules_file = framework_folder / RULES_FILE
    if not folder.is_dir():
        raise XdtError("关键词目录不存在", "keywords folder not found", file=str(folder))
    checked = check_keyword_folder(folder, catalogue)
    findings = [finding_of(p) for p in [*catalogue_problems, *checked.problems]]
    keywords = checked.keywords
    counts = _coverage_counts(keywords) if keywords is not None else {}
    cues = _cue_summary(keywords, findings) if keywords is not None else None

    if rules_file.is_file():
        book, report = validate_rules_file(rules_file, catalogue)
        rule_findings, dead = _rule_findings(book, report.issues, catalogue)
        findings += rule_findings
    else:
        book, dead = None, {}
        findings.append(Finding(level="error", code="no_rules_file", file=str(rules_file),
                                message_zh="评价框架没有评分规则文件", message_en="the framework has no rules file"))

    items: list[ItemCoverage] = []
    needs: dict[tuple[str, str], tuple[int | None, list[str]]] = {}
    for item in catalogue.items:
        item_counts = counts.get(item.id, {})
        cov = ItemCoverage(id=item.id, name=item.name, terms=item_counts.get("terms", 0),
                           spellings=item_counts.get("spellings", 0), entities=item_counts.get("entities", 0),
                           patterns=item_counts.get("patterns", 0), indicators=item_counts.get("indicators", 0),
                           keyword_file=keywords.item_files.get(item.id, (None,))[0] if keywords is not None else None)
        rules = book.items.get(item.id) if book is not None else None
        if rules is not None:
            cov.group = rules.group
            cov.decide_rules, cov.flags = len(rules.decide), len(rules.flags)
            item_dead = set(dead.get(item.id, set()))
            missing = {fact for fact, kind in FACT_NEEDS.items() if item_counts.get(kind, 0) == 0}
            for rule in rules.all_rules():
                fact = _needs_missing(rule, missing) if rule.key not in item_dead else None
                if fact:
                    item_dead.add(rule.key)
                    needs.setdefault((rule.key, fact), (rule.line, []))[1].append(item.id)
            cov.dead_rules = [r.key for r in rules.all_rules() if r.key in item_dead]
            cov.usable_rules = len(rules.all_rules()) - len(cov.dead_rules)
        elif book is not None:  # (without a book the validator's issues already name the uncovered items)
            findings.append(Finding(level="error", code="no_rules", file=str(rules_file), items=[item.id],
                                    message_zh=f"评价项 {item.id} {item.name} 没有适用的规则",
                                    message_en=f"item {item.id} has no rules"))
        items.append(cov)

    for (key, fact), (line, ids) in needs.items():
        findings.append(Finding(
            level="info", code="needs_keyword_kind", file=str(rules_file), line=line, items=ids, rule=key,
            message_zh=f"规则“{key}”对评价项 {', '.join(ids)} 不会命中：条件需要 {fact}，而这些项没有{FACT_NEEDS_ZH[fact]}",
            message_en=f"rule '{key}' cannot fire for items {', '.join(ids)}: it needs {fact}, "
                       f"and they have no {FACT_NEEDS[fact]}"))
    version = framework_fingerprint(ref)
    return StaticAudit(framework=catalogue.id, rules_file=str(rules_file), keywords_dir=str(folder),
                       rules_version=version, items=items, ambiguities=_ambiguities(keywords) if keywords is not None else [], cues=cues,
                       findings=sort_findings(_dedupe(findings)))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = (f.level, f.code, f.file, f.line, f.message_en)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
