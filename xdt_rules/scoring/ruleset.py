"""Scoring rules as data: the YAML model, its validation, and the per-item rule lists.

A rule file (``rules/<framework>/rules.yaml``) has *groups* of rules that apply to sets of
items (``items: ["1.*", "2.*"]``) and per-item *overrides*. Each item ends up with

* ``decide`` rules — ordered; the FIRST whose conditions all hold sets status, fraction of the
  item's points, reasons and ``needs_confirmation``;
* ``flags`` — every flag whose conditions hold adds its reasons (and may ask for confirmation);
  flags never change status or points.

A condition is ``"<fact> <op> <value>"`` over the facts of :mod:`.facts`; all conditions of a
rule must hold (AND). There is deliberately no OR: two rules with the same outcome say the same,
and plain conjunctions of comparisons let the validator prove when a rule can never fire.

Validation never stops at the first problem: :func:`validate_rules_file` returns every error and
warning with file and line (the audit lists them); :func:`load_rulebook_file` raises the first error
as a :class:`~xdt_rules.errors.DataFileError` and keeps the warnings on the returned book.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalogue import Catalogue
from ..datacheck import DataProblem
from ..errors import DataFileError
from ..models import ItemStatus
from ..yamlio import LoadedYaml, PathKey, load_yaml
from .confirm import ConfirmationModel, load_confirmation_model
from .facts import BOOLEAN_FACTS, FACT_NAMES, RELATIONS_LE, ZERO_TOGETHER, FactOptions

STATUSES: tuple[str, ...] = ("met", "partial", "planned", "negated", "not_found")
OPERATORS: dict[str, str] = {">=": "$gte", "<=": "$lte", ">": "$gt", "<": "$lt", "==": "$eq", "!=": "$neq"}
_CONDITION = re.compile(r"^\s*(\w+)\s*([<>=!≥≤]+)\s*(\S+)\s*$")
_SPACED = re.compile(r"^\s*(\w+)\s+(\S+)\s+(\S+)\s*$")  # "fact op value" with an unknown op word
_RULE_ID = r"^[a-z][a-z0-9_]*$"
_INF = 10**9


# --------------------------------------------------------------------------- YAML model


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideSpec(_Spec):
    """判定规则：条件全部满足时决定该项状态与得分比例。"""

    id: str = Field(pattern=_RULE_ID)
    name: str | None = None
    when: list[str] = Field(default_factory=list, description="条件，全部满足才命中；为空 = 总是命中")
    status: ItemStatus
    fraction: float = Field(ge=0, le=1, description="得分比例（占该项分值）")
    reasons: list[str] = Field(default_factory=list)
    needs_confirmation: bool = False
    after: str | None = Field(None, description="（仅评价项覆盖）放在哪条规则之后")
    note: str | None = None


class FlagSpec(_Spec):
    """附加标记：条件满足时追加理由/要求人工确认，不改变状态和得分。"""

    id: str = Field(pattern=_RULE_ID)
    name: str | None = None
    when: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(min_length=1)
    needs_confirmation: bool = False
    after: str | None = None
    note: str | None = None


class GroupSpec(_Spec):
    id: str = Field(pattern=_RULE_ID)
    name: str
    items: list[str] = Field(min_length=1, description="适用的评价项编号，可用通配符 1.*")
    decide: list[DecideSpec] = Field(min_length=1)
    flags: list[FlagSpec] = Field(default_factory=list)
    note: str | None = None


class ItemOverrideSpec(_Spec):
    note: str | None = None
    drop: list[str] = Field(default_factory=list, description="不适用于本项的规则组规则")
    decide: list[DecideSpec] = Field(default_factory=list)
    flags: list[FlagSpec] = Field(default_factory=list)


class RuleFileSpec(_Spec):
    framework: str
    version: str
    description: str | None = None
    facts: FactOptions = Field(default_factory=FactOptions, description="事实的计算方式（如不算规划时间的词）")
    confirmation: str | None = Field(None, description="确认模型文件（与规则文件同目录）：由它决定哪些项需人工确认")
    groups: list[GroupSpec] = Field(min_length=1)
    items: dict[str, ItemOverrideSpec] = Field(default_factory=dict)


# --------------------------------------------------------------------------- validation report


IssueCode = Literal[
    "yaml", "schema", "unknown_field", "bad_status", "bad_fraction", "unknown_item", "uncovered_item",
    "overlapping_groups", "unknown_fact", "bad_operator", "bad_value", "duplicate_rule", "unknown_rule",
    "unreachable", "unsatisfiable", "no_fallback", "no_reason", "inconsistent_outcome", "framework_mismatch",
    "confirmation_model",
]


class ValidationIssue(DataProblem):
    """One problem of a rule file, fit for a list in the audit."""

    code: IssueCode


class ValidationReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    issues: list[ValidationIssue] = Field(default_factory=list)

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- compiled rules


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: int
    text: str

    def holds(self, facts: dict[str, int | bool]) -> bool:
        actual = int(facts[self.fact])
        return {
            ">=": actual >= self.value, "<=": actual <= self.value, ">": actual > self.value,
            "<": actual < self.value, "==": actual == self.value, "!=": actual != self.value,
        }[self.op]

    def engine_value(self) -> int | bool:
        return bool(self.value) if self.fact in BOOLEAN_FACTS else self.value


@dataclass(frozen=True)
class Rule:
    """A rule as it applies to one item (after group rules and item overrides are merged)."""

    key: str  # "<group or item>:<id>" — what rules_fired lists
    id: str
    kind: Literal["decide", "flag"]
    name: str | None
    conditions: tuple[Condition, ...]
    reasons: tuple[str, ...]
    needs_confirmation: bool
    status: str | None = None
    fraction: float | None = None
    line: int | None = None

    def holds(self, facts: dict[str, int | bool]) -> bool:
        return all(c.holds(facts) for c in self.conditions)


@dataclass(frozen=True)
class ItemRules:
    item_id: str
    group: str
    decide: tuple[Rule, ...]
    flags: tuple[Rule, ...]

    def all_rules(self) -> tuple[Rule, ...]:
        return self.decide + self.flags


@dataclass(frozen=True)
class RuleBook:
    """Validated rules of a framework, resolved per item in catalogue order."""

    framework: str
    source: str
    content_hash: str
    version: str
    items: dict[str, ItemRules]
    report: ValidationReport = field(compare=False)
    fact_options: FactOptions = field(default_factory=FactOptions)
    confirmation: ConfirmationModel | None = None

    def rule_keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for rules in self.items.values():
            for rule in rules.all_rules():
                seen.setdefault(rule.key, None)
        return list(seen)


# --------------------------------------------------------------------------- validation


class _Checker:
    def __init__(self, loaded: LoadedYaml, catalogue: Catalogue):
        self.loaded = loaded
        self.catalogue = catalogue
        self.issues: list[ValidationIssue] = []

    def add(self, level: Literal["error", "warning"], code: IssueCode, loc: PathKey, zh: str, en: str, *,
            rule: str | None = None, items: list[str] | None = None) -> None:
        self.issues.append(ValidationIssue(
            level=level, code=code, file=self.loaded.path, line=self.loaded.line_of(loc),
            message_zh=zh, message_en=en, rule=rule, items=items or []))

    # -- schema ----------------------------------------------------------------

    def schema_errors(self, exc: ValidationError) -> None:
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            where = ".".join(str(p) for p in loc) or "(根)"
            kind = err.get("type", "")
            value = err.get("input")
            field_name = str(loc[-1]) if loc else ""
            if kind == "extra_forbidden":
                self.add("error", "unknown_field", loc, f"未知字段“{field_name}”", f"unknown field '{field_name}'")
            elif field_name == "status" or kind == "literal_error":
                self.add("error", "bad_status", loc, f"{where}：状态“{value}”无效，应为 {'|'.join(STATUSES)}",
                         f"{where}: bad status '{value}', expected one of {'|'.join(STATUSES)}")
            elif field_name == "fraction":
                self.add("error", "bad_fraction", loc, f"{where}：得分比例 {value!r} 应为 0 到 1 之间的数",
                         f"{where}: fraction {value!r} must be a number in [0, 1]")
            elif kind == "missing":
                self.add("error", "schema", loc, f"缺少字段“{field_name}”", f"missing field '{field_name}'")
            elif field_name == "id" and kind == "string_pattern_mismatch":
                self.add("error", "schema", loc, f"规则编号“{value}”应为小写英文、数字和下划线",
                         f"rule id '{value}' must be lower-case ascii, digits and underscores")
            else:
                msg = err.get("msg", "无效")
                self.add("error", "schema", loc, f"{where}：{msg}", f"{where}: {msg}")

    # -- conditions ------------------------------------------------------------

    def conditions(self, texts: list[str], loc: PathKey, rule_key: str) -> tuple[Condition, ...] | None:
        parsed: list[Condition] = []
        ok = True
        for i, text in enumerate(texts):
            cond = self.condition(text, loc + ("when", i), rule_key)
            if cond is None:
                ok = False
            else:
                parsed.append(cond)
        return tuple(parsed) if ok else None

    def condition(self, text: str, loc: PathKey, rule_key: str) -> Condition | None:
        match = _CONDITION.match(str(text)) or _SPACED.match(str(text))
        if not match:
            self.add("error", "bad_operator", loc, f"条件“{text}”应写成“事实 运算符 数值”，如 implemented >= 1",
                     f"condition '{text}' must read '<fact> <op> <value>', e.g. implemented >= 1", rule=rule_key)
            return None
        fact, op, raw = match.groups()
        if fact not in FACT_NAMES:
            self.add("error", "unknown_fact", loc, f"未知事实“{fact}”（可用：{', '.join(FACT_NAMES)}）",
                     f"unknown fact '{fact}' (known: {', '.join(FACT_NAMES)})", rule=rule_key)
            return None
        if op not in OPERATORS:
            self.add("error", "bad_operator", loc, f"运算符“{op}”无效（可用：{' '.join(OPERATORS)}）",
                     f"bad operator '{op}' (use one of {' '.join(OPERATORS)})", rule=rule_key)
            return None
        if fact in BOOLEAN_FACTS:
            if op not in ("==", "!="):
                self.add("error", "bad_operator", loc, f"“{fact}”是是/否事实，只能用 == 或 !=",
                         f"'{fact}' is a yes/no fact: use == or !=", rule=rule_key)
                return None
            if raw.lower() not in ("true", "false"):
                self.add("error", "bad_value", loc, f"“{fact}”的值应为 true 或 false，而不是“{raw}”",
                         f"'{fact}' takes true or false, not '{raw}'", rule=rule_key)
                return None
            return Condition(fact, op, int(raw.lower() == "true"), str(text).strip())
        if not re.fullmatch(r"\d+", raw):
            self.add("error", "bad_value", loc, f"“{fact}”是计数，值应为非负整数，而不是“{raw}”",
                     f"'{fact}' is a count: the value must be a non-negative integer, not '{raw}'", rule=rule_key)
            return None
        return Condition(fact, op, int(raw), str(text).strip())


# --------------------------------------------------------------------------- implication (unreachable rules)


@functools.lru_cache(maxsize=4096)
def _bounds(conditions: tuple[Condition, ...]) -> dict[str, tuple[int, int]] | None:
    """Over-approximate the fact values a conjunction allows; None when it allows nothing.

    Memoised (the result is shared: read it, never change it): group rules are checked once per
    item with the same conditions, ~5,600 calls for ~150 distinct conjunctions.

    ``!=`` is ignored here (keeps the approximation a superset, so what we call unreachable
    really is); the relations between facts tighten the bounds.
    """
    bounds = {f: (0, 1 if f in BOOLEAN_FACTS else _INF) for f in FACT_NAMES}
    for c in conditions:
        lo, hi = bounds[c.fact]
        if c.op == ">=":
            lo = max(lo, c.value)
        elif c.op == ">":
            lo = max(lo, c.value + 1)
        elif c.op == "<=":
            hi = min(hi, c.value)
        elif c.op == "<":
            hi = min(hi, c.value - 1)
        elif c.op == "==":
            lo, hi = max(lo, c.value), min(hi, c.value)
        bounds[c.fact] = (lo, hi)
    for _ in range(len(FACT_NAMES) + 2):
        before = dict(bounds)
        for small, large in RELATIONS_LE:
            slo, shi = bounds[small]
            llo, lhi = bounds[large]
            bounds[large] = (max(llo, slo), lhi)
            bounds[small] = (slo, min(shi, lhi))
        for group in ZERO_TOGETHER:
            if any(bounds[f][0] >= 1 for f in group):
                for f in group:
                    bounds[f] = (max(bounds[f][0], 1), bounds[f][1])
            if any(bounds[f][1] <= 0 for f in group):
                for f in group:
                    bounds[f] = (bounds[f][0], 0)
        if bounds == before:
            break
    if any(lo > hi for lo, hi in bounds.values()):
        return None
    return bounds


def _implies(later: tuple[Condition, ...], earlier: tuple[Condition, ...]) -> bool:
    """True when every fact state satisfying ``later`` satisfies ``earlier`` (sound, not complete)."""
    bounds = _bounds(later)
    if bounds is None:
        return True
    for c in earlier:
        lo, hi = bounds[c.fact]
        if c.op == "!=":
            if not (c.value < lo or c.value > hi or c in later):
                return False
            continue
        ok = {
            ">=": lo >= c.value, ">": lo > c.value, "<=": hi <= c.value, "<": hi < c.value,
            "==": lo == hi == c.value,
        }[c.op]
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- building the book


def _item_matches(pattern: str, item_id: str) -> bool:
    return fnmatch.fnmatchcase(item_id, pattern)


def _rule_from(spec: DecideSpec | FlagSpec, source: str, conditions: tuple[Condition, ...],
               line: int | None) -> Rule:
    if isinstance(spec, DecideSpec):
        return Rule(key=f"{source}:{spec.id}", id=spec.id, kind="decide", name=spec.name, conditions=conditions,
                    reasons=tuple(spec.reasons), needs_confirmation=spec.needs_confirmation,
                    status=spec.status, fraction=spec.fraction, line=line)
    return Rule(key=f"{source}:{spec.id}", id=spec.id, kind="flag", name=spec.name, conditions=conditions,
                reasons=tuple(spec.reasons), needs_confirmation=spec.needs_confirmation, line=line)


def _merge(base: list[Rule], extra: list[tuple[Rule, str | None, PathKey]], drop: set[str],
           chk: _Checker, item_id: str) -> list[Rule]:
    """Group rules minus dropped ones; an override with a group rule's id replaces it in place,
    a new one goes first (item-specific rules take precedence) or right after ``after``."""
    rules = [r for r in base if r.id not in drop]
    front: list[Rule] = []
    for rule, after, loc in extra:
        same = [i for i, r in enumerate(rules) if r.id == rule.id]
        if same:
            rules[same[0]] = rule
        elif after is not None:
            at = [i for i, r in enumerate(rules) if r.id == after]
            if not at:
                chk.add("error", "unknown_rule", loc + ("after",), f"评价项 {item_id} 的规则“{rule.id}”要放在不存在的规则“{after}”之后",
                        f"item {item_id}: rule '{rule.id}' is placed after unknown rule '{after}'", rule=rule.key)
                front.append(rule)
            else:
                rules.insert(at[0] + 1, rule)
        else:
            front.append(rule)
    return front + rules


def _check_outcome(chk: _Checker, spec: DecideSpec, loc: PathKey, key: str) -> None:
    if spec.status in ("met", "partial") and spec.fraction == 0:
        chk.add("warning", "inconsistent_outcome", loc + ("fraction",),
                f"规则“{key}”判为 {spec.status} 但得分比例为 0", f"rule '{key}' gives {spec.status} with fraction 0", rule=key)
    if spec.status not in ("met", "partial") and spec.fraction > 0:
        chk.add("warning", "inconsistent_outcome", loc + ("fraction",),
                f"规则“{key}”判为 {spec.status}（未实现）却给分 {spec.fraction:g}",
                f"rule '{key}' gives points ({spec.fraction:g}) to status {spec.status}", rule=key)
    if not spec.reasons:
        chk.add("warning", "no_reason", loc, f"规则“{key}”没有写理由（reasons）", f"rule '{key}' gives no reasons", rule=key)


def _build(spec: RuleFileSpec, chk: _Checker) -> dict[str, ItemRules]:
    catalogue = chk.catalogue
    if spec.framework != catalogue.id:
        chk.add("error", "framework_mismatch", ("framework",), f"规则文件属于框架“{spec.framework}”，而不是“{catalogue.id}”",
                f"rule file is for framework '{spec.framework}', not '{catalogue.id}'")
    group_rules: dict[str, tuple[list[Rule], list[Rule]]] = {}
    owner: dict[str, tuple[str, int]] = {}
    for gi, group in enumerate(spec.groups):
        gloc: PathKey = ("groups", gi)
        for pi, pattern in enumerate(group.items):
            matched = [i for i in catalogue.item_ids if _item_matches(pattern, i)]
            if not matched:
                chk.add("error", "unknown_item", gloc + ("items", pi), f"规则组“{group.id}”的“{pattern}”不对应任何评价项",
                        f"group '{group.id}': '{pattern}' matches no item")
            for item_id in matched:
                if item_id in owner and owner[item_id][0] != group.id:
                    chk.add("error", "overlapping_groups", gloc + ("items", pi),
                            f"评价项 {item_id} 同时属于规则组“{owner[item_id][0]}”和“{group.id}”",
                            f"item {item_id} is in groups '{owner[item_id][0]}' and '{group.id}'", items=[item_id])
                else:
                    owner[item_id] = (group.id, gi)
        lists: tuple[list[Rule], list[Rule]] = ([], [])
        for kind, specs, target in (("decide", group.decide, lists[0]), ("flags", group.flags, lists[1])):
            seen: set[str] = set()
            for ri, rspec in enumerate(specs):
                loc = gloc + (kind, ri)
                key = f"{group.id}:{rspec.id}"
                if rspec.id in seen:
                    chk.add("error", "duplicate_rule", loc + ("id",), f"规则组“{group.id}”中规则编号“{rspec.id}”重复",
                            f"duplicate rule id '{rspec.id}' in group '{group.id}'", rule=key)
                seen.add(rspec.id)
                if rspec.after is not None:
                    chk.add("error", "schema", loc + ("after",), "after 只能用于评价项覆盖规则（items:）",
                            "'after' is only for item overrides (items:)", rule=key)
                if isinstance(rspec, DecideSpec):
                    _check_outcome(chk, rspec, loc, key)
                conds = chk.conditions(rspec.when, loc, key)
                if conds is not None:
                    target.append(_rule_from(rspec, group.id, conds, chk.loaded.line_of(loc)))
        group_rules[group.id] = lists

    for item_id in catalogue.item_ids:
        if item_id not in owner:
            chk.add("error", "uncovered_item", ("groups",), f"评价项 {item_id} 不属于任何规则组",
                    f"item {item_id} is in no rule group", items=[item_id])
    for item_id in spec.items:
        if item_id not in catalogue:
            chk.add("error", "unknown_item", ("items", item_id), f"未知评价项编号“{item_id}”",
                    f"unknown item ID '{item_id}'", items=[item_id])

    resolved: dict[str, ItemRules] = {}
    for item_id in catalogue.item_ids:
        if item_id not in owner:
            continue
        group_id = owner[item_id][0]
        decide, flags = group_rules[group_id]
        override = spec.items.get(item_id)
        if override is not None:
            iloc: PathKey = ("items", item_id)
            known = {r.id for r in decide} | {r.id for r in flags}
            for di, dropped in enumerate(override.drop):
                if dropped not in known:
                    chk.add("error", "unknown_rule", iloc + ("drop", di), f"评价项 {item_id} 要去掉不存在的规则“{dropped}”",
                            f"item {item_id} drops unknown rule '{dropped}'", items=[item_id])
            extras: dict[str, list[tuple[Rule, str | None, PathKey]]] = {"decide": [], "flags": []}
            for kind, specs in (("decide", override.decide), ("flags", override.flags)):
                seen: set[str] = set()
                for ri, rspec in enumerate(specs):
                    loc = iloc + (kind, ri)
                    key = f"{item_id}:{rspec.id}"
                    if rspec.id in seen:
                        chk.add("error", "duplicate_rule", loc + ("id",), f"评价项 {item_id} 中规则编号“{rspec.id}”重复",
                                f"duplicate rule id '{rspec.id}' for item {item_id}", rule=key)
                    seen.add(rspec.id)
                    if isinstance(rspec, DecideSpec):
                        _check_outcome(chk, rspec, loc, key)
                    conds = chk.conditions(rspec.when, loc, key)
                    if conds is not None:
                        extras[kind].append((_rule_from(rspec, item_id, conds, chk.loaded.line_of(loc)), rspec.after, loc))
            drop = set(override.drop)
            decide = _merge(decide, extras["decide"], drop, chk, item_id)
            flags = _merge(flags, extras["flags"], drop, chk, item_id)
        resolved[item_id] = ItemRules(item_id=item_id, group=group_id, decide=tuple(decide), flags=tuple(flags))
    return resolved


def _reachability(book_items: dict[str, ItemRules], chk: _Checker) -> None:
    """Warn about rules that can never fire, once per rule with the items where that happens."""
    unreachable: dict[tuple[str, str, str], list[str]] = {}
    unsat: dict[str, tuple[Rule, list[str]]] = {}
    no_fallback: list[str] = []
    for item_id, rules in book_items.items():
        for rule in rules.all_rules():
            if _bounds(rule.conditions) is None:
                unsat.setdefault(rule.key, (rule, []))[1].append(item_id)
        for i, rule in enumerate(rules.decide):
            if _bounds(rule.conditions) is None:
                continue
            for earlier in rules.decide[:i]:
                if _implies(rule.conditions, earlier.conditions):
                    unreachable.setdefault((rule.key, earlier.key, "always" if not earlier.conditions else "implied"),
                                           []).append(item_id)
                    break
        if not any(not r.conditions for r in rules.decide):
            no_fallback.append(item_id)
    line_of = {r.key: r.line for rules in book_items.values() for r in rules.all_rules()}

    def where(items: list[str]) -> tuple[str, str]:
        if len(items) == len(chk.catalogue.item_ids):
            return "所有评价项", "all items"
        return f"评价项 {', '.join(items)}", f"items {', '.join(items)}"

    for (key, by, how), items in unreachable.items():
        why_zh = "它之前的规则无条件命中" if how == "always" else "它的条件已被前面规则的条件涵盖"
        why_en = "an earlier rule always fires" if how == "always" else "its condition implies an earlier rule's"
        chk.issues.append(ValidationIssue(
            level="warning", code="unreachable", file=chk.loaded.path, line=line_of.get(key),
            message_zh=f"规则“{key}”永远不会命中（{why_zh}：“{by}”），涉及{where(items)[0]}",
            message_en=f"rule '{key}' can never fire ({why_en}: '{by}'), {where(items)[1]}",
            rule=key, items=items))
    for key, (rule, items) in unsat.items():
        chk.issues.append(ValidationIssue(
            level="warning", code="unsatisfiable", file=chk.loaded.path, line=rule.line,
            message_zh=f"规则“{key}”的条件不可能同时满足", message_en=f"rule '{key}': its conditions can never all hold",
            rule=key, items=items))
    if no_fallback:
        chk.issues.append(ValidationIssue(
            level="warning", code="no_fallback", file=chk.loaded.path, line=chk.loaded.line_of(("groups",)),
            message_zh=f"评价项 {', '.join(no_fallback)} 没有无条件的兜底判定规则，可能出现“无规则命中”",
            message_en=f"items {', '.join(no_fallback)} have no unconditional fallback rule; 'no rule matched' may occur",
            items=no_fallback))


def validate_rules_file(path: str | Path, catalogue: Catalogue) -> tuple[RuleBook | None, ValidationReport]:
    """Every problem of a rule file; the book when there is no error (warnings allowed)."""
    shown = str(path)
    try:
        loaded = load_yaml(path)
    except DataFileError as exc:
        issue = ValidationIssue(level="error", code="yaml", file=exc.data_file, line=exc.line,
                                message_zh=exc.reason_zh, message_en=exc.reason_en)
        return None, ValidationReport(file=shown, issues=[issue])
    chk = _Checker(loaded, catalogue)
    if loaded.data is None:
        chk.add("error", "schema", (), "文件为空", "file is empty")
        return None, ValidationReport(file=shown, issues=chk.issues)
    try:
        spec = RuleFileSpec.model_validate(loaded.data)
    except ValidationError as exc:
        chk.schema_errors(exc)
        return None, ValidationReport(file=shown, issues=chk.issues)
    items = _build(spec, chk)
    if not any(i.level == "error" for i in chk.issues):
        _reachability(items, chk)
    confirmation, model_bytes = None, b""
    if spec.confirmation is not None:
        model_path = Path(path).parent / spec.confirmation
        try:
            confirmation = load_confirmation_model(model_path)
            model_bytes = model_path.read_bytes()
        except DataFileError as exc:
            chk.add("error", "confirmation_model", ("confirmation",), f"确认模型 {spec.confirmation}：{exc.problem_zh}",
                    f"confirmation model {spec.confirmation}: {exc.problem_en}")
    report = ValidationReport(file=shown, issues=sorted(chk.issues, key=lambda i: (i.level != "error", i.line or 0)))
    if not report.ok:
        return None, report
    raw = Path(path).read_bytes()
    # the model's weights decide flags too: a changed model is a changed rule book (caches keyed on it)
    book = RuleBook(framework=catalogue.id, source=shown, content_hash=hashlib.sha256(raw + model_bytes).hexdigest(),
                    version=spec.version, items=items, report=report, fact_options=spec.facts,
                    confirmation=confirmation)
    return book, report


def load_rulebook_file(path: str | Path, catalogue: Catalogue) -> RuleBook:
    """A validated rule book; the first error as a DataFileError naming file and line."""
    book, report = validate_rules_file(path, catalogue)
    if book is None:
        first = report.errors[0]
        raise first.as_error()
    return book
