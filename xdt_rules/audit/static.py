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

The keyword files are scanned one by one here (not only through the loader, which stops at the
first problem), so every duplicate and every item without keywords is listed at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from ..catalogue import Catalogue, load_catalogue_file
from ..errors import DataFileError, XdtError
from ..evidence.keywords import (
    SPECIAL_FILES,
    ConfusionFileSpec,
    ContextSpec,
    KeywordFileSpec,
    QuantitySpec,
    load_keyword_folder,
)
from ..evidence.normalize import is_ascii_alnum, normalize_key
from ..scoring import RuleBook, ValidationIssue, validate_rules_file
from ..framework import CATALOGUE_FILE, RULES_FILE, FrameworkRef, framework_fingerprint, framework_paths
from ..scoring.ruleset import Rule
from ..yamlio import LoadedYaml, load_model
from .findings import Finding, sort_findings

CUE_KINDS = ("implemented", "planned", "negated", "generic", "pseudo", "stages")
# Lists in the context file that are not cue words of their own (they qualify other cues).
NOT_CUE_LISTS = {"part_words", "name_suffixes", "upgrade_targets"}
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


# --------------------------------------------------------------------------- raw keyword scan


@dataclass
class _Term:
    item: str
    kind: str  # term | entity | indicator
    canonical: str
    keys: list[tuple[str, str, int | None]]  # (spelling, normalised key, line)
    contested_by: dict[str, str]
    file: str
    line: int | None


@dataclass
class _Scan:
    terms: list[_Term] = field(default_factory=list)
    patterns: dict[str, list[tuple[str, str | None, int | None]]] = field(default_factory=lambda: defaultdict(list))
    item_file: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    findings: list[Finding] = field(default_factory=list)


def _short(path: str) -> str:
    return Path(path).name


def _scan_keyword_file(path: Path, catalogue: Catalogue, scan: _Scan) -> None:
    try:
        spec, loaded = load_model(KeywordFileSpec, path)
    except DataFileError as exc:
        scan.findings.append(Finding(level="error", code="keyword_file", message_zh=exc.reason_zh,
                                     message_en=exc.reason_en, file=exc.data_file, line=exc.line))
        return
    for item_id, item in spec.items.items():
        loc: tuple[str | int, ...] = ("items", item_id)
        line = loaded.line_of(loc)
        if item_id not in catalogue:
            scan.findings.append(Finding(level="error", code="unknown_item", file=loaded.path, line=line,
                                         message_zh=f"关键词文件中有未知评价项编号 {item_id}",
                                         message_en=f"unknown item ID {item_id} in a keyword file", items=[item_id]))
            continue
        if item_id in scan.item_file:
            other = scan.item_file[item_id]
            scan.findings.append(Finding(
                level="error", code="item_twice", file=loaded.path, line=line, items=[item_id],
                message_zh=f"评价项 {item_id} 已在 {_short(other[0])}:{other[1]} 定义过关键词",
                message_en=f"item {item_id} already has keywords in {_short(other[0])}:{other[1]}"))
            continue
        scan.item_file[item_id] = (loaded.path, line)
        counts = scan.counts[item_id]
        for kind, specs, key_name in (("term", item.terms, "terms"), ("entity", item.entities, "entities")):
            counts[key_name] += len(specs)
            for n, term in enumerate(specs):
                tloc = loc + (key_name, n)
                keys = []
                for a, spelling in enumerate([term.term, *term.aliases]):
                    sloc = tloc + (("term",) if a == 0 else ("aliases", a - 1))
                    keys.append((spelling, normalize_key(spelling), loaded.line_of(sloc)))
                _check_contested(term.contested_by, catalogue, loaded, tloc, item_id, scan)
                scan.terms.append(_Term(item_id, kind, term.term, keys, dict(term.contested_by), loaded.path,
                                        loaded.line_of(tloc)))
        counts["indicators"] += len(item.indicators)
        for n, ind in enumerate(item.indicators):
            iloc = loc + ("indicators", n)
            keys = [(s, "ind:" + normalize_key(s), loaded.line_of(iloc)) for s in [ind.term, *ind.aliases]]
            scan.terms.append(_Term(item_id, "indicator", ind.term, keys, {}, loaded.path, loaded.line_of(iloc)))
        counts["patterns"] += len(item.patterns)
        for n, pattern in enumerate(item.patterns):
            ploc = loc + ("patterns", n)
            scan.patterns[item_id].append((pattern.name, loaded.path, loaded.line_of(ploc)))
            for g, group in enumerate(pattern.all_of):
                for other in group.terms_of:
                    if other not in catalogue:
                        scan.findings.append(Finding(
                            level="error", code="unknown_item", file=loaded.path,
                            line=loaded.line_of(ploc + ("all_of", g, "terms_of")), items=[item_id],
                            message_zh=f"模式“{pattern.name}”的 terms_of 引用未知评价项 {other}",
                            message_en=f"pattern '{pattern.name}': terms_of names unknown item {other}"))


def _check_contested(contested: dict[str, str], catalogue: Catalogue, loaded: LoadedYaml,
                     loc: tuple[str | int, ...], item_id: str, scan: _Scan) -> None:
    for other in contested:
        if other not in catalogue:
            scan.findings.append(Finding(
                level="error", code="unknown_item", file=loaded.path, line=loaded.line_of(loc + ("contested_by", other)),
                items=[item_id], message_zh=f"contested_by 引用未知评价项 {other}",
                message_en=f"contested_by names unknown item {other}"))


def _duplicates(scan: _Scan) -> None:
    """Every normalised spelling claimed twice: within one item (redundant) or by two items (conflict)."""
    owners: dict[str, list[tuple[_Term, str, int | None]]] = defaultdict(list)
    for term in scan.terms:
        seen_here: set[str] = set()
        for spelling, key, line in term.keys:
            if not key or key == "ind:":
                scan.findings.append(Finding(level="error", code="empty_keyword", file=term.file, line=line,
                                             items=[term.item], keyword=spelling,
                                             message_zh=f"“{spelling}”规范化后为空", message_en=f"'{spelling}' is empty"))
                continue
            if key in seen_here:
                continue  # ERP and ＥＲＰ in one term: one key, harmless (the loader accepts it too)
            seen_here.add(key)
            owners[key].append((term, spelling, line))
    for claims in owners.values():
        if len(claims) < 2:
            continue
        first_term, first_spelling, first_line = claims[0]
        for term, spelling, line in claims[1:]:
            where = f"{_short(first_term.file)}:{first_line}"
            if term.item == first_term.item:
                scan.findings.append(Finding(
                    level="error", code="duplicate_keyword", file=term.file, line=line, items=[term.item],
                    keyword=spelling,
                    message_zh=f"关键词“{spelling}”在评价项 {term.item} 中重复（{where} 已有“{first_spelling}”）",
                    message_en=f"keyword '{spelling}' is listed twice for item {term.item} (already at {where})"))
            else:
                scan.findings.append(Finding(
                    level="error", code="claimed_twice", file=term.file, line=line,
                    items=[first_term.item, term.item], keyword=spelling,
                    message_zh=f"关键词“{spelling}”同时属于 {first_term.item}（{where}）和 {term.item}；"
                               f"只保留在胜出的评价项下，并用 contested_by 写明另一项及理由",
                    message_en=f"keyword '{spelling}' is claimed by {first_term.item} ({where}) and {term.item}; "
                               f"keep it under the winning item and record the other with contested_by"))
    for item_id, patterns in scan.patterns.items():
        seen: dict[str, int | None] = {}
        for name, file, line in patterns:
            if name in seen:
                scan.findings.append(Finding(
                    level="warning", code="duplicate_pattern", file=file, line=line, items=[item_id], keyword=name,
                    message_zh=f"评价项 {item_id} 有两个同名模式“{name}”（第 {seen[name]} 行），报告中无法区分",
                    message_en=f"item {item_id} has two patterns named '{name}' (line {seen[name]})"))
            seen.setdefault(name, line)


def _latin_ok(short: str, long: str, at: int) -> bool:
    """Whether ``short`` found at ``long[at:]`` is a real match (Latin edges on word boundaries)."""
    end = at + len(short)
    cut_start = is_ascii_alnum(short[0]) and at > 0 and is_ascii_alnum(long[at - 1])
    cut_end = is_ascii_alnum(short[-1]) and end < len(long) and is_ascii_alnum(long[end])
    return not (cut_start or cut_end)


def _ambiguities(scan: _Scan) -> list[Ambiguity]:
    """Declared contests (contested_by) and cross-item containments resolved by longest match."""
    out: list[Ambiguity] = []
    for term in scan.terms:
        if term.contested_by:
            out.append(Ambiguity(keyword=term.canonical, winner=term.item, others=dict(term.contested_by),
                                 how="declared", file=term.file, line=term.line))
    automaton = ahocorasick.Automaton()
    by_key: dict[str, tuple[_Term, str]] = {}
    for term in scan.terms:
        if term.kind == "indicator":
            continue  # indicators only count next to a number; they never compete with terms
        for spelling, key, _ in term.keys:
            if key and key not in by_key:
                by_key[key] = (term, spelling)
                automaton.add_word(key, key)
    if not by_key:
        return out
    automaton.make_automaton()
    seen: set[tuple[str, str]] = set()
    for long_key, (long_term, long_spelling) in by_key.items():
        for end, short_key in automaton.iter(long_key):
            if short_key == long_key:
                continue
            short_term, short_spelling = by_key[short_key]
            if short_term.item == long_term.item:
                continue
            if not _latin_ok(short_key, long_key, end - len(short_key) + 1):
                continue
            pair = (short_key, long_key)
            if pair in seen:
                continue
            seen.add(pair)
            declared = (long_term.item in short_term.contested_by or short_term.item in long_term.contested_by)
            out.append(Ambiguity(
                keyword=short_spelling, winner=long_term.item, longer=long_spelling, how="longest_match",
                others={short_term.item: f"“{short_spelling}”属于 {short_term.item}，但出现在更长的“{long_spelling}”"
                                         f"（{long_term.item}）之中时按最长匹配归 {long_term.item}"},
                declared=declared, file=long_term.file, line=next((ln for s, _, ln in long_term.keys if s == long_spelling),
                                                                   long_term.line)))
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


def _cue_summary(folder: Path, findings: list[Finding]) -> CueSummary | None:
    try:
        context, loaded = load_model(ContextSpec, folder / "_context.yaml")
        quantities, _ = load_model(QuantitySpec, folder / "_quantities.yaml")
        confusions, _ = load_model(ConfusionFileSpec, folder / "_ocr_confusions.yaml")
    except DataFileError as exc:
        findings.append(Finding(level="error", code="cue_file", message_zh=exc.reason_zh, message_en=exc.reason_en,
                                file=exc.data_file, line=exc.line))
        return None
    # Every word list of the context file is counted, so new cue kinds show up without a code change.
    word_lists = {name: value for name, value in context if isinstance(value, list)
                  and all(isinstance(v, str) for v in value)}
    counts = {name: len(value) for name, value in word_lists.items()}
    real = [normalize_key(c) for name, value in word_lists.items() if name != "pseudo" and name not in NOT_CUE_LISTS
            for c in value]
    dead = []
    for n, pseudo in enumerate(context.pseudo):
        if not _live_pseudo(normalize_key(pseudo), real):
            dead.append(pseudo)
            findings.append(Finding(
                level="info", code="dead_pseudo", file=loaded.path, line=loaded.line_of(("pseudo", n)), keyword=pseudo,
                message_zh=f"伪提示词“{pseudo}”目前不遮住任何提示词（现有提示词都不在其中），只起预防作用",
                message_en=f"pseudo cue '{pseudo}' masks none of the current cues (preventive only)"))
    return CueSummary(
        file=loaded.path, counts=counts, regex={k: len(v) for k, v in sorted(context.regex.items())},
        quantities={"up": len(quantities.up), "down": len(quantities.down), "units": len(quantities.units)},
        ocr_confusions=len(confusions.confusions), restate=_numbers(context.restate.model_dump()), dead_pseudo=dead)


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
        findings.append(Finding(level=issue.level, code=issue.code, message_zh=issue.message_zh,
                                message_en=issue.message_en, file=issue.file, line=issue.line,
                                items=list(issue.items), rule=issue.rule))
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
    catalogue = load_catalogue_file(framework_folder / CATALOGUE_FILE)
    rules_file = framework_folder / RULES_FILE
    findings: list[Finding] = []
    if not folder.is_dir():
        raise XdtError("关键词目录不存在", "keywords folder not found", file=str(folder))

    scan = _Scan()
    for name in SPECIAL_FILES:
        if not (folder / name).is_file():
            findings.append(Finding(level="error", code="keyword_file", file=str(folder / name),
                                    message_zh="缺少必需的关键词数据文件", message_en="required keyword data file is missing"))
    for path in sorted(folder.glob("*.yaml")):
        if not path.name.startswith("_"):
            _scan_keyword_file(path, catalogue, scan)
    _duplicates(scan)
    findings += scan.findings
    cues = _cue_summary(folder, findings) if all((folder / n).is_file() for n in SPECIAL_FILES) else None

    # The real loader too: it checks what the scan does not (regexes, empty groups…). Its first
    # error is reported unless the scan already reported a problem at the same place.
    try:
        load_keyword_folder(folder, catalogue)
    except DataFileError as exc:
        known = {(f.file, f.line) for f in findings if f.level == "error"}
        if (exc.data_file, exc.line) not in known and not (exc.line is None and known):
            findings.append(Finding(level="error", code="keywords_invalid", message_zh=exc.reason_zh,
                                    message_en=exc.reason_en, file=exc.data_file, line=exc.line))

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
        counts = scan.counts.get(item.id, {})
        keys = {k for t in scan.terms if t.item == item.id and t.kind != "indicator" for _, k, _ in t.keys}
        cov = ItemCoverage(id=item.id, name=item.name, terms=counts.get("terms", 0), spellings=len(keys),
                           entities=counts.get("entities", 0), patterns=counts.get("patterns", 0),
                           indicators=counts.get("indicators", 0),
                           keyword_file=scan.item_file.get(item.id, (None,))[0])
        if cov.keywords == 0:
            findings.append(Finding(level="error", code="no_keywords", file=str(folder), items=[item.id],
                                    message_zh=f"评价项 {item.id} {item.name} 没有任何关键词（术语、实体、模式或指标）",
                                    message_en=f"item {item.id} has no keywords (terms, entities, patterns or indicators)"))
        rules = book.items.get(item.id) if book is not None else None
        if rules is not None:
            cov.group = rules.group
            cov.decide_rules, cov.flags = len(rules.decide), len(rules.flags)
            item_dead = set(dead.get(item.id, set()))
            missing = {fact for fact, kind in FACT_NEEDS.items() if counts.get(kind, 0) == 0}
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
                       rules_version=version, items=items, ambiguities=_ambiguities(scan), cues=cues,
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
