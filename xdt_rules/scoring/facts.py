"""Evidence facts: what the rules may look at, one fact record per criterion item.

The rules in ``rules/<framework>/rules.yaml`` never see a Mention; they see these counts and
flags, computed from the item's mentions. Keeping the fact vocabulary small and named lets the
rule file be validated (unknown fact names are errors) and lets the validator reason about
which rule can never fire (see ``RELATIONS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ..models import Mention


class ItemFacts(BaseModel):
    """The evidence facts of one item. Counts are over *implemented* mentions unless named otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mentions: int = Field(0, ge=0, description="该项全部提及数（任何语境）")
    implemented: int = Field(0, ge=0, description="“已实施”语境的提及数")
    planned: int = Field(0, ge=0, description="“规划/在建”语境的提及数")
    planned_concrete: int = Field(0, ge=0, description="有具体时间或已在进行（签约、在建、待验收）的规划提及数")
    negated: int = Field(0, ge=0, description="“尚未/没有”语境的提及数")
    generic: int = Field(0, ge=0, description="泛泛而谈或他方情况的提及数")
    restates: int = Field(0, ge=0, description="疑似照抄评价内容的提及数")
    passages: int = Field(0, ge=0, description="含已实施证据的不同句子数（表格按整行算一处）")
    files: int = Field(0, ge=0, description="含已实施证据的不同文件数")
    terms: int = Field(0, ge=0, description="已实施证据中不同关键词（规范名）数")
    entity: int = Field(0, ge=0, description="已实施证据中厂商/产品名称的提及数")
    in_table: int = Field(0, ge=0, description="已实施证据中来自表格的提及数")
    dated: int = Field(0, ge=0, description="已实施证据中写明年份/时间的句子数（表格按整行看）")
    quantities: int = Field(0, ge=0, description="已实施证据中不同量化数据（指标+数值+单位）数")
    contradicted: int = Field(0, ge=0, description="同一句里又有本项“尚未/没有”表述的已实施句子数")
    model: int = Field(0, ge=0, description="没有写出关键词、按功能描述识别（学习模型）的已实施句子数（不计入其他已实施事实）")
    hints: int = Field(0, ge=0, description="学习模型提示“可能相关”的句子数（得分低于门槛，不算证据，只提示人工看一眼）")
    fuzzy_only: bool = Field(False, description="已实施证据全部是模糊匹配")
    ocr_only: bool = Field(False, description="已实施证据全部来自扫描件识别（OCR）")

    def as_fact(self) -> dict[str, int | bool]:
        return self.model_dump()


FACT_NAMES: tuple[str, ...] = tuple(ItemFacts.model_fields)
BOOLEAN_FACTS: frozenset[str] = frozenset(n for n, f in ItemFacts.model_fields.items() if f.annotation is bool)
FACT_DESCRIPTIONS: dict[str, str] = {n: f.description or "" for n, f in ItemFacts.model_fields.items()}

# What always holds between facts, by construction in build_item_facts. The rule validator uses
# these to see that e.g. ``quantities >= 2`` implies ``implemented >= 1`` (a later rule on
# quantities is shadowed by an earlier catch-all on implemented). Booleans count as 0/1.
# (a, b): a <= b always.
RELATIONS_LE: tuple[tuple[str, str], ...] = (
    ("implemented", "mentions"), ("planned", "mentions"), ("negated", "mentions"), ("planned_concrete", "planned"),
    ("generic", "mentions"), ("restates", "mentions"),
    ("passages", "implemented"), ("files", "passages"), ("terms", "implemented"),
    ("entity", "implemented"), ("in_table", "implemented"), ("dated", "passages"),
    ("quantities", "implemented"), ("fuzzy_only", "implemented"), ("ocr_only", "implemented"),
    ("contradicted", "passages"), ("contradicted", "negated"), ("model", "mentions"),
    ("hints", "mentions"),
)
# Facts that are zero together: any implemented mention makes a passage, a file and a term.
ZERO_TOGETHER: tuple[tuple[str, ...], ...] = (("implemented", "passages", "files", "terms"),)

# A year or year-month in the sentence (2021年, 2022年6月, 2023-05, 2023.5): "上线时间".
_DATE = re.compile(r"(?:19|20)\d{2}\s*年|(?:19|20)\d{2}\s*[-./]\s*(?:0?[1-9]|1[0-2])(?!\d)")
_WINDOW = 8


class FactOptions(BaseModel):
    """How facts are computed; set in the rule file (``facts:``) so the words are data, not code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan_words_before_date: tuple[str, ...] = Field(
        (), description="时间前紧挨着这些词时（计划2025年），该时间是规划时间，不算 dated")
    plan_words_after_date: tuple[str, ...] = Field(
        (), description="时间后紧跟这些词时（2026年底前），该时间是规划时间，不算 dated")
    concrete_plan_words: tuple[str, ...] = Field(
        (), description="规划句里有这些词（或任一年份/月份）时算具体规划：明年、下半年、季度、合同、在建、待验收……；"
                        "“择机建设CRM”“建立面辅料仓库的条码管理”没有时间，不算")
    min_confidence: float = Field(
        0.0, ge=0, le=1,
        description="置信度低于此值的“已实施/规划”提及只算弱提示（记入 generic）：日常用钉钉不说明已联网，"
                    "方案里提到 AGV 不说明要建仓储系统")


_ANY_TIME = re.compile(r"(?:19|20)\d{2}\s*(?:年|[-./]|\s*[Qq][1-4])|\d{1,2}\s*月")


def concrete_plan(text: str, options: FactOptions | None = None) -> bool:
    """A plan with a time (2025年, 6月, 2025 Q4) or already under way (合同, 在建, 待验收)."""
    if _ANY_TIME.search(text):
        return True
    words = (options or FactOptions()).concrete_plan_words
    return any(w in text for w in words)


def has_date(text: str, options: FactOptions | None = None) -> bool:
    """A year or month that dates a fact (not a plan's target date like 计划2025年 / 2026年底前)."""
    options = options or FactOptions()
    for match in _DATE.finditer(text):
        before = re.sub(r"\s+", "", text[max(0, match.start() - _WINDOW):match.start()])
        before = re.sub(r"[于在到至]$", "", before)
        after = re.sub(r"\s+", "", text[match.end():match.end() + _WINDOW])
        if any(before.endswith(w) for w in options.plan_words_before_date):
            continue
        if any(after.startswith(w) for w in options.plan_words_after_date):
            continue
        return True
    return False


def build_item_facts(mentions: Iterable[Mention], options: FactOptions | None = None) -> ItemFacts:
    """Facts for ONE item from its mentions (all with the same item_id): a function of the mentions
    alone — each carries its passage (its sentence, or its table row)."""
    mentions = list(mentions)
    floor = (options or FactOptions()).min_confidence
    # a weak hint (钉钉, a bare BOM, AGV) is shown as evidence but is no achievement and no plan of the item;
    # the learned model's findings passed its own threshold (their confidence is its probability)
    mentions = [m.model_copy(update={"polarity": "generic"})
                if m.polarity in ("implemented", "planned") and m.confidence < floor and m.kind != "model" else m
                for m in mentions]
    described = {m.passage for m in mentions if m.kind == "model" and m.polarity == "implemented"}
    hinted = {m.passage for m in mentions if m.reading.reason == "model_hint"}
    mentions = [m for m in mentions if not (m.kind == "model" and m.polarity == "implemented")
                and m.reading.reason != "model_hint"]
    counts = {"implemented": 0, "planned": 0, "negated": 0, "generic": 0, "restates_criteria": 0}
    for m in mentions:
        counts[m.polarity] += 1
    done = [m for m in mentions if m.polarity == "implemented"]
    passages = {m.passage for m in done}
    dated: set[tuple] = set()
    for m in done:
        passage = m.passage
        if passage not in dated and has_date(m.context, options):  # one date per passage is enough
            dated.add(passage)
    lacking = {m.passage for m in mentions if m.polarity == "negated"}
    concrete = sum(1 for m in mentions if m.polarity == "planned" and concrete_plan(m.context, options))
    quantities = {(m.file, m.block, m.quantity.text, m.quantity.value, m.quantity.unit)
                  for m in done if m.quantity is not None}
    return ItemFacts(
        mentions=len(mentions) + len(described) + len(hinted),
        implemented=len(done),
        planned=counts["planned"],
        planned_concrete=concrete,
        negated=counts["negated"],
        generic=counts["generic"],
        restates=counts["restates_criteria"],
        passages=len(passages),
        files=len({m.file for m in done}),
        terms=len({m.term for m in done}),
        entity=sum(1 for m in done if m.kind == "entity"),
        in_table=sum(1 for m in done if m.in_table),
        dated=len(dated),
        quantities=len(quantities),
        contradicted=len(passages & lacking),
        model=len(described),
        hints=len(hinted),
        fuzzy_only=bool(done) and all(m.kind == "fuzzy" for m in done),
        ocr_only=bool(done) and all(m.ocr for m in done),
    )


def build_facts(mentions: Iterable[Mention], item_ids: Iterable[str],
                options: FactOptions | None = None) -> dict[str, ItemFacts]:
    """Facts for every item in ``item_ids`` (items without mentions get all-zero facts)."""
    by_item: dict[str, list[Mention]] = {i: [] for i in item_ids}
    for m in mentions:
        if m.item_id in by_item:
            by_item[m.item_id].append(m)
    return {i: build_item_facts(ms, options) for i, ms in by_item.items()}
