"""Dynamic audit: what a screened batch says about the rules and keywords.

Over the result JSON files of a batch: per item how many applications are met / partial /
planned / negated / not_found; per keyword in how many applications it matched (keywords that
never matched are *dead* in this batch); per rule how often it fired (dead rules); and the items
no application evidences. Keywords and rules are those of the CURRENT data (what the rule owner
is about to edit); results screened with other data are flagged by their ``rules_version``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ..catalogue import Catalogue
from ..evidence.keywords import KeywordSet
from ..models import ApplicationResult
from ..scoring import RuleBook
from .findings import Finding, sort_findings

STATUSES = ("met", "partial", "planned", "negated", "not_found")
KeywordKind = Literal["term", "entity", "pattern", "indicator"]
# Evidence kinds (EvidenceRef.kind) → the keyword kind that produced them. Kinds not listed (a
# learned model's evidence) come from no keyword and are never "unknown keywords".
_FROM_EVIDENCE = {"term": "term", "entity": "entity", "fuzzy": None, "cue": "pattern", "quantity": "indicator"}
# How many unknown keywords a finding names (all are in DynamicAudit.unknown_keywords).
_NAMED = 12


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemUsage(_Model):
    id: str
    name: str
    statuses: dict[str, int] = Field(description="status → number of applications")
    evidenced: int = Field(0, description="applications where the item is met or partial")
    with_evidence: int = Field(0, description="applications with any evidence for the item (any polarity)")


class KeywordUsage(_Model):
    item: str
    keyword: str = Field(description="canonical term, entity, pattern name or indicator")
    kind: KeywordKind
    applications: int = 0
    mentions: int = 0
    implemented: int = Field(0, description="mentions in the implemented context")
    file: str | None = None
    line: int | None = None


class RuleUsage(_Model):
    rule: str
    kind: Literal["decide", "flag"]
    name: str | None = None
    line: int | None = None
    items: list[str] = Field(description="items the rule applies to")
    fired: int = Field(0, description="(application, item) pairs where it fired")
    applications: int = 0
    by_item: dict[str, int] = Field(default_factory=dict)


class DynamicAudit(_Model):
    results_dir: str
    applications: list[str]
    rules_versions: dict[str, int] = Field(description="rules_version → applications screened with it")
    current_rules_version: str | None = None
    items: list[ItemUsage]
    keywords: list[KeywordUsage]
    rules: list[RuleUsage]
    items_not_evidenced: list[str] = Field(description="items no application has met or partial")
    items_without_evidence: list[str] = Field(description="items with no evidence of any kind in any application")
    unknown_keywords: list[str] = Field(default_factory=list, description="terms in the results the keyword set lacks")
    unknown_rules: list[str] = Field(default_factory=list, description="rules_fired keys the rule book lacks")
    findings: list[Finding] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dead_keywords(self) -> list[str]:
        """“item keyword” of every keyword no application matched."""
        return [f"{k.item} {k.keyword}" for k in self.keywords if k.applications == 0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dead_rules(self) -> list[str]:
        return [r.rule for r in self.rules if r.fired == 0]


def keyword_inventory(keywords: KeywordSet) -> list[KeywordUsage]:
    """One row per canonical keyword of the set, in file order (terms, entities, patterns, indicators)."""
    rows: dict[tuple[str, str, str], KeywordUsage] = {}
    for entry in keywords.entries:
        key = (entry.item_id, "term" if entry.kind == "term" else "entity", entry.canonical)
        rows.setdefault(key, KeywordUsage(item=entry.item_id, keyword=entry.canonical, kind=key[1],
                                          file=entry.file, line=entry.line))
    for pattern in keywords.patterns:
        key = (pattern.item_id, "pattern", pattern.name)
        rows.setdefault(key, KeywordUsage(item=pattern.item_id, keyword=pattern.name, kind="pattern",
                                          file=pattern.file, line=pattern.line))
    for ind in keywords.indicators:
        key = (ind.item_id, "indicator", ind.canonical)
        rows.setdefault(key, KeywordUsage(item=ind.item_id, keyword=ind.canonical, kind="indicator"))
    # Outcomes named by their direction and unit alone (用时缩短, 节电节水, 节约费用) are indicators
    # of _quantities.yaml, not of an item's file: without them every fresh batch had "unknown" ones.
    quantities = keywords.quantities
    for spec in ([quantities.savings] if quantities.savings else []) + list(quantities.implied):
        key = (spec.item, "indicator", spec.indicator)
        rows.setdefault(key, KeywordUsage(item=spec.item, keyword=spec.indicator, kind="indicator",
                                          file="_quantities.yaml"))
    order = {item_id: n for n, item_id in enumerate(keywords.item_ids)}
    return sorted(rows.values(), key=lambda k: (order.get(k.item, 999), ["term", "entity", "pattern", "indicator"].index(k.kind)))


def dynamic_audit(results: list[ApplicationResult], *, catalogue: Catalogue, keywords: KeywordSet, book: RuleBook,
                  results_dir: str = "", current_rules_version: str | None = None) -> DynamicAudit:
    findings: list[Finding] = []
    statuses: dict[str, Counter[str]] = {i: Counter() for i in catalogue.item_ids}
    evidenced: Counter[str] = Counter()
    with_evidence: Counter[str] = Counter()
    inventory = keyword_inventory(keywords)
    # Fuzzy mentions carry the canonical name of a term or an entity; look both up.
    index: dict[tuple[str, str, str], KeywordUsage] = {(k.item, k.kind, k.keyword): k for k in inventory}
    kw_apps: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    unknown_kw: set[str] = set()
    rule_rows: dict[str, RuleUsage] = {}
    for item_id, rules in book.items.items():
        for rule in rules.all_rules():
            row = rule_rows.setdefault(rule.key, RuleUsage(rule=rule.key, kind=rule.kind, name=rule.name,
                                                            line=rule.line, items=[]))
            row.items.append(item_id)
    rule_apps: dict[str, set[str]] = defaultdict(set)
    unknown_rules: set[str] = set()
    versions: Counter[str] = Counter()

    for result in results:
        versions[result.rules_version] += 1
        for item in result.items:
            if item.id not in statuses:
                findings.append(Finding(level="warning", code="unknown_item", items=[item.id],
                                        message_zh=f"{result.application}：结果中有未知评价项 {item.id}",
                                        message_en=f"{result.application}: unknown item {item.id} in the result"))
                continue
            statuses[item.id][item.status] += 1
            if item.status in ("met", "partial"):
                evidenced[item.id] += 1
            if item.evidence:
                with_evidence[item.id] += 1
            for ev in item.evidence:
                if not ev.term or (ev.kind is not None and ev.kind not in _FROM_EVIDENCE):
                    continue
                kinds = ["term", "entity"] if ev.kind in (None, "fuzzy") else [_FROM_EVIDENCE.get(ev.kind) or "term"]
                if ev.kind == "cue":  # an outcome stated in words (差错明显减少) names its indicator
                    kinds.append("indicator")
                row = next((index[(item.id, k, ev.term)] for k in kinds if (item.id, k, ev.term) in index), None)
                if row is None:
                    unknown_kw.add(f"{item.id} {ev.term}")
                    continue
                row.mentions += 1
                row.implemented += ev.polarity == "implemented"
                kw_apps[(row.item, row.kind, row.keyword)].add(result.application)
            for key in item.rules_fired:
                row = rule_rows.get(key)
                if row is None:
                    unknown_rules.add(key)
                    continue
                row.fired += 1
                row.by_item[item.id] = row.by_item.get(item.id, 0) + 1
                rule_apps[key].add(result.application)
    for key, apps in kw_apps.items():
        index[key].applications = len(apps)
    for key, apps in rule_apps.items():
        rule_rows[key].applications = len(apps)

    if current_rules_version and any(v != current_rules_version for v in versions):
        other = sum(n for v, n in versions.items() if v != current_rules_version)
        findings.append(Finding(
            level="warning", code="stale_results",
            message_zh=f"{other} 份结果不是用当前规则与关键词（版本 {current_rules_version}）生成的；"
                       f"命中统计反映的是当时的数据，建议重新预审",
            message_en=f"{other} results were screened with other rules/keywords than the current ones "
                       f"({current_rules_version}); re-screen for current counts"))
    if unknown_kw:
        named = sorted(unknown_kw)
        shown = "、".join(named[:_NAMED]) + (f" 等" if len(named) > _NAMED else "")
        shown_en = ", ".join(named[:_NAMED]) + (", …" if len(named) > _NAMED else "")
        findings.append(Finding(level="info", code="unknown_keywords",
                                message_zh=f"结果中有 {len(unknown_kw)} 个关键词不在当前关键词表中（可能已改名或删除）：{shown}",
                                message_en=f"{len(unknown_kw)} keywords in the results are not in the current keyword "
                                           f"set: {shown_en}"))
    if unknown_rules:
        findings.append(Finding(level="info", code="unknown_rules",
                                message_zh=f"结果中有当前规则文件没有的规则：{', '.join(sorted(unknown_rules))}",
                                message_en=f"results name rules the current rule file lacks: {', '.join(sorted(unknown_rules))}"))

    items = [ItemUsage(id=i.id, name=i.name, statuses={s: statuses[i.id][s] for s in STATUSES},
                       evidenced=evidenced[i.id], with_evidence=with_evidence[i.id]) for i in catalogue.items]
    return DynamicAudit(
        results_dir=results_dir, applications=[r.application for r in results],
        rules_versions=dict(sorted(versions.items())), current_rules_version=current_rules_version,
        items=items, keywords=inventory, rules=sorted(rule_rows.values(), key=lambda r: (r.line or 0, r.rule)),  # as in the file
        items_not_evidenced=[i.id for i in items if i.evidenced == 0],
        items_without_evidence=[i.id for i in items if i.with_evidence == 0],
        unknown_keywords=sorted(unknown_kw), unknown_rules=sorted(unknown_rules), findings=sort_findings(findings))
