"""Keyword dictionaries (``keywords/*.yaml``): models, validation and the compiled KeywordSet.

Layout of the folder (all human-editable YAML, Chinese comments welcome):

- ``<family>.yaml`` — one file per item family (e.g. ``1_3_production.yaml``) with
  ``items: {"<item id>": {terms, entities, patterns, indicators}}``;
- ``_context.yaml`` — polarity cues (implemented / planned / negated / generic), pseudo cues
  that look like cues but are not (无纸化, 生产计划, 模拟…), regular-expression cues and the
  restates-criteria thresholds;
- ``_quantities.yaml`` — directions (提升/降低…) and units (%, 万元, 天, 吨标煤…) of outcomes;
- ``_ocr_confusions.yaml`` — characters OCR confuses (己/已, 糸/系, 引人/引入…).

Every normalised term belongs to exactly one item: a term that could serve two items is listed
once, under the item that wins, with ``contested_by: {other item: why}`` so the audit can show
the decision. Errors name the file and line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import ahocorasick
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..catalogue import Catalogue
from ..datacheck import DataProblem, Problems, check_model
from ..errors import DataFileError
from ..yamlio import LoadedYaml
from .normalize import is_ascii_alnum, is_cjk, latin_breaks, normalize_key
from .topics import MODEL_FILE, TopicModel, load_topic_model

Polarity = Literal["implemented", "planned", "negated", "generic", "restates_criteria"]
CueType = Literal["implemented", "planned", "negated", "generic", "stage"]
SPECIAL_FILES = ("_context.yaml", "_quantities.yaml", "_ocr_confusions.yaml")
# The cue-word lists of ``_context.yaml`` and the cue kind each gives. The context reader builds its
# automaton from exactly these, and the checker compares every list with every other: a word in two
# lists would be read as whichever the automaton kept (尚未启用 in negated and in pending).
CUE_LISTS: dict[str, str] = {
    "implemented": "implemented", "present": "present", "planned": "planned", "negated": "negated",
    "generic": "generic", "pseudo": "pseudo", "stages": "stage", "pending": "pending", "ceased": "ceased",
    "pending_at_clause_end": "pending_end",
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _strip(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("不能为空 / must not be empty")
    return value


# A word as a policy officer types it in YAML: surrounding spaces dropped, never empty.
Word = Annotated[str, AfterValidator(_strip)]


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"正则表达式无效 / invalid regular expression: {exc}") from None
    return value


# A regular expression in the keyword data: refused with the reason when it does not compile.
Regex = Annotated[str, AfterValidator(_compiles)]


def _shorthand(value: Any) -> Any:
    """``- ERP`` is short for ``- {term: ERP}``."""
    return {"term": value} if isinstance(value, str) else value


class TermSpec(_Spec):
    term: Word = Field(description="canonical name shown in reports")
    aliases: list[Word] = Field(default_factory=list, description="other spellings, full names, abbreviations")
    confidence: float | None = Field(None, gt=0, le=1)
    fuzzy: bool = Field(True, description="allow OCR-like fuzzy variants of the longer spellings")
    whole_word: bool | None = Field(
        None, description="reject matches that cut a jieba word (default: automatic for short Chinese terms)"
    )
    contested_by: dict[str, str] = Field(
        default_factory=dict, description="other items this term could serve: item id → why this item wins"
    )
    not_within: list[str] = Field(
        default_factory=list, description="longer phrases that hold this term but name something else "
                                          "(驾驶员状态监测 is no equipment monitoring): where one stands, the term does not match"
    )


class GroupSpec(_Spec):
    any_of: list[Word] = Field(default_factory=list, description="words, any of which satisfies the group")
    terms_of: list[str] = Field(default_factory=list, description="any term/entity of these items")
    regex: list[Regex] = Field(default_factory=list, description="regular expressions over the normalised sentence")
    min_distinct: int = Field(1, ge=1, description="how many different words/terms the group needs")


    @model_validator(mode="after")
    def _not_empty(self) -> GroupSpec:
        if not self.any_of and not self.terms_of and not self.regex:
            raise ValueError("组至少需要 any_of、terms_of 或 regex / a group needs any_of, terms_of or regex")
        return self


class PatternSpec(_Spec):
    name: Word
    within: Literal["sentence", "clause"] = "sentence"
    all_of: list[GroupSpec] = Field(min_length=1)
    confidence: float = Field(0.8, gt=0, le=1)
    only_when: list[Polarity] | None = Field(None, description="emit only when the context has one of these polarities")
    none_of: GroupSpec | None = Field(
        None, description="words/regexes that, anywhere in the pattern's scope, say it is something else "
                          "(客户协同门户 is this enterprise's portal for its customers, not a customer's platform)")
    others_of: list[str] = Field(
        default_factory=list, description="items whose terms inside the pattern's span belong to the other party it "
                                          "names (the customer's 供应商平台 the enterprise joins is not its own SCM)")
    claims: list[str] = Field(
        default_factory=list, description="items whose terms inside the pattern's span are only the tool it works through "
                                          "(the ordering app on which cooperatives take their planting plans is 2.2.4's "
                                          "platform, not a 2.2.1 sales channel): they count for nothing there")

    @model_validator(mode="after")
    def _has_words(self) -> PatternSpec:
        # A pattern is looked at only where one of its words occurs; a pattern of regexes only would never fire.
        if not any(g.any_of or g.terms_of for g in self.all_of):
            raise ValueError("模式至少需要一组 any_of 或 terms_of / a pattern needs a group with any_of or terms_of")
        return self


class IndicatorSpec(_Spec):
    term: Word
    aliases: list[Word] = Field(default_factory=list)
    needs_direction: bool = Field(True, description="a number counts only with 提升/降低… (营收 alone is a fact, not an outcome)")
    improves: Literal["up", "down"] | None = Field(
        None, description="the direction that is an improvement (用工, 能耗: down): a change the other way is no outcome "
                          "(“每天用工高峰达到300人” is hiring, not a saving)")


class ItemKeywordsSpec(_Spec):
    terms: list[TermSpec] = Field(default_factory=list)
    entities: list[TermSpec] = Field(default_factory=list, description="vendor products that imply the item")
    patterns: list[PatternSpec] = Field(default_factory=list)
    indicators: list[IndicatorSpec] = Field(default_factory=list, description="outcome indicators (4.1.x)")

    @field_validator("terms", "entities", "indicators", mode="before")
    @classmethod
    def _expand(cls, values: Any) -> Any:
        return [_shorthand(v) for v in values] if isinstance(values, list) else values


class KeywordFileSpec(_Spec):
    description: str | None = None
    items: dict[str, ItemKeywordsSpec]


class RestateSpec(_Spec):
    min_chars: int = Field(14, ge=4, description="shorter sentences are never called copies")
    threshold: float = Field(82, gt=0, le=100, description="rapidfuzz partial_ratio to call a sentence a copy")
    min_coverage: float = Field(0.6, gt=0, le=1, description="share of the sentence the aligned criteria text must cover")
    containment: float = Field(0.85, gt=0, le=1, description="share of a shorter sentence's bigrams found in the criteria text")
    fillers: list[str] = Field(default_factory=list, description="words left out of both texts before comparing (公司, 积极, 推动…)")
    boilerplate: list[Regex] = Field(
        default_factory=list, description="regexes of the criteria's category language (…等先进技术, 高度重视): a sentence with "
                                          "one and nothing specific (no product, figure or date) restates the criteria")



class AnswerSpec(_Spec):
    implemented: list[str] = Field(default_factory=list)
    planned: list[str] = Field(default_factory=list, description="under construction (建设中, 实施中)")
    negated: list[str] = Field(default_factory=list)
    generic: list[str] = Field(default_factory=list, description="not applicable / not addressed (不适用, 不涉及)")


class LabelSpec(_Spec):
    topic_max: int = Field(16, ge=2, description="longest topic label before a colon (● DNC：无)")
    question_max: int = Field(60, ge=4, description="longest question label (是否采用CAE、CAPP…：否)")
    question_words: list[str] = Field(default_factory=lambda: ["是否"])
    answer_headers: list[str] = Field(default_factory=list, description="column headers whose cells answer (自评, 具备情况)")
    criterion_headers: list[str] = Field(default_factory=list, description="column headers whose cells restate the criterion "
                                                                           "(评价内容): co-occurrence patterns there are its wording")
    answers: AnswerSpec = Field(default_factory=AnswerSpec, description="whole first clause of a value that answers the label")


class ContractSpec(_Spec):
    title_words: list[str] = Field(default_factory=list, description="a title with one of these names a contract (合同, 协议)")
    party_words: list[str] = Field(default_factory=list, description="all of these stand in a contract's text (甲方, 乙方)")
    title_blocks: int = Field(6, ge=1, description="how many first blocks may hold the title")
    accepted: list[Regex] = Field(default_factory=list, description="regexes of an acceptance record (2022年12月6日通过…验收)")



class PartiesSpec(_Spec):
    possessor_patterns: list[Regex] = Field(default_factory=list, description="regexes of possessors besides other_parties (…厂)")
    possessed_modifiers: list[str] = Field(default_factory=lambda: ["集团"], description="words allowed between '<party>…的' "
                                                                                         "and the term (母公司的集团MES)")
    supply_verbs: list[str] = Field(default_factory=list, description="'<party>统一部署的 <term>': built by the party, used here")
    subjects: list[str] = Field(default_factory=list, description="parties that may open a clause as its subject or be an agent")
    subject_patterns: list[Regex] = Field(default_factory=list, description="regexes of such parties (中烟公司, 电商公司)")
    leading_adverbs: list[str] = Field(default_factory=list, description="words allowed before a clause's subject (目前, 同时)")
    owner_verbs: list[str] = Field(default_factory=list, description="a subject party doing these owns the system (已建成, 使用)")
    report_verbs: list[str] = Field(default_factory=list, description="'<party>反映的 <thing>': the party speaks of this "
                                                                      "enterprise's product, it does not own the thing")
    owner_patterns: list[Regex] = Field(default_factory=list, description="regexes of owner acts (通过……评定)")
    agent_verbs: list[str] = Field(default_factory=list, description="'由<party>…运营/负责': the function is the party's")
    self_subjects: list[str] = Field(default_factory=list, description="this enterprise (我司, 本公司): its use makes the system its own")
    self_contrast: list[str] = Field(default_factory=list, description="a self clause with these (仍使用…) speaks of its own old way")
    participation_items: list[str] = Field(default_factory=list, description="items where working on another party's "
                                                                             "platform is this enterprise's own collaboration")
    participation: list[Regex] = Field(default_factory=list, description="regexes of this enterprise acting on another "
                                                                         "party's platform (我们在门户上确认交期)")



class AnsweredRowSpec(_Spec):
    confidence: float = Field(0.0, ge=0, le=1, description="at least this confidence for such a term (0: off)")
    min_chars: int = Field(10, ge=1, description="a described row has another cell of at least this many characters")
    not_items: list[str] = Field(default_factory=list, description="items whose row answer is not evidence by itself")


class ContextSpec(_Spec):
    implemented: list[str] = Field(min_length=1)
    present: list[str] = Field(default_factory=list, description="present-tense words (目前, 现阶段…): implemented only "
                                                                  "where nothing stronger stands in the same clause")
    planned: list[str] = Field(min_length=1)
    negated: list[str] = Field(min_length=1)
    generic: list[str] = Field(min_length=1)
    pseudo: list[str] = Field(default_factory=list, description="look like cues but are not (无纸化, 生产计划…)")
    generic_openers: list[str] = Field(default_factory=list, description="a short first clause with these (一般而言) makes "
                                                                         "the whole sentence general talk")
    not_applicable: list[str] = Field(default_factory=list, description="generic cues that say the topic does not apply "
                                                                        "(不涉及): they govern the clauses before them too")
    restriction_openers: list[str] = Field(default_factory=list, description="a sentence opening with these (但, 不过)…")
    restriction_words: list[str] = Field(default_factory=list, description="…and restricting a use (只用来, 仅用于) turns "
                                                                           "the previous sentence's facts of the items it "
                                                                           "states as lacking into lacks")
    non_use: list[Regex] = Field(default_factory=list, description="regexes of 'the data is not used for X' "
                               "(还没有把这些数据用到设备管理上): the facts before it of the items the sentence states as "
                               "lacking become lacks — in its own sentence, the sentence before, and the paragraph before "
                               "when it opens its paragraph")

    stages: list[str] = Field(default_factory=list, description="pre-implementation stages (选型, 招标…): the clause is a plan")
    vague_plans: list[str] = Field(default_factory=list, description="words that leave a plan open (再看, 以后再考虑): a lack "
                                                                     "followed by such a 'plan' stays a lack")
    pending: list[str] = Field(default_factory=list, description="bought or built but not yet in use (尚未启用, 待验收, 联调中): "
                                                                 "a plan for the whole clause and the clauses it governs")
    part_words: list[str] = Field(default_factory=list, description="a clause about another part of a project (二期, 其余车间) "
                                                                    "keeps its pending/ceased cue to itself")
    pending_at_clause_end: list[str] = Field(default_factory=list, description="not yet in use when they end their clause "
                                                                               "(…，尚未上线。); a lack with an object (尚未上线MES)")
    ceased: list[str] = Field(default_factory=list, description="taken out of use (已停用, 停止使用): a lack, for the clause "
                                                                "and the clauses it governs")
    other_parties: list[str] = Field(default_factory=list, description="'<party>…的 <term>': the system belongs to someone else")
    parties: PartiesSpec = Field(default_factory=PartiesSpec, description="other parties as subjects or agents")
    upgrades: list[str] = Field(default_factory=list, description="a planned upgrade of a system means the system exists")
    upgrade_targets: list[str] = Field(default_factory=list, description="'升级为 <term>': the term is the planned target")
    regex: dict[CueType, list[Regex]] = Field(default_factory=dict)
    heading_planned: list[str] = Field(default_factory=list, description="headings whose text turns plain statements into plans")
    past_openers: list[str] = Field(default_factory=list,
                                    description="a clause opening with these speaks of the past: its lack words are not a lack now")
    heading_lacking: list[str] = Field(default_factory=list,
                                       description="headings of shortcomings sections: plain statements there prove nothing")
    table_negated_cells: list[str] = Field(default_factory=list, description="whole table cells that mean 'no'")
    answered_row: AnsweredRowSpec = Field(default_factory=AnsweredRowSpec,
                                          description="a weak term in a form row answered yes and described")
    name_suffixes: list[str] = Field(default_factory=list, description="a term right before these is part of an "
                                                                       "organisation's name (滇纺电子商务有限公司)")
    restate: RestateSpec = Field(default_factory=RestateSpec)
    labels: LabelSpec = Field(default_factory=LabelSpec)
    contracts: ContractSpec = Field(default_factory=ContractSpec, description="a contract without an acceptance record "
                                                                             "describes work to be done")


class TableColumnsSpec(_Spec):
    before: list[str] = Field(default_factory=list, description="header words of a 'before' column (改造前)")
    after: list[str] = Field(default_factory=list, description="header words of an 'after' column (改造后)")
    change: list[str] = Field(default_factory=list, description="header words of a 'change' column (变化, 增减)")
    unit: list[str] = Field(default_factory=list, description="header words of a unit column (单位)")


class SavingsSpec(_Spec):
    item: str = Field(description="the outcome item a saving of money belongs to (降本)")
    indicator: str = Field(description="the name shown for it")
    directions: list[str] = Field(min_length=1, description="words of saving (节约, 节省)")
    units: list[str] = Field(min_length=1, description="money units (万元, 元)")
    comparison: bool = Field(False, description="only in a before/after comparison with the same unit "
                                                "(由平均2.6次降到1.3次, 由20台左右提高到160台)")


class WordedIndicatorSpec(_Spec):
    words: list[Word] = Field(min_length=1)
    improves: Literal["up", "down"] | None = None


class QualitativeSpec(_Spec):
    """Outcomes stated in words: an indicator and a change word reported as having happened."""

    up: list[Word] = Field(min_length=1)
    down: list[Word] = Field(min_length=1)
    degree: list[Word] = Field(default_factory=list, description="明显, 大幅: the change is reported")
    comparison: list[Word] = Field(default_factory=list, description="比以前, 较过去: the change is reported")
    not_reported: list[Word] = Field(default_factory=list, description="能, 将, 为了 right before the change word")
    reported_after: list[Word] = Field(
        default_factory=list, description="明显, 约三分之一, 到: right after the change word, how much or to what: reported")
    max_gap: int = Field(8, ge=0, description="max chars between the indicator and the change word")
    confidence: float = Field(0.7, gt=0, le=1)
    indicators: dict[str, WordedIndicatorSpec] = Field(
        default_factory=dict, description="item → words that are indicators only of outcomes in words")


class CapabilitySpec(_Spec):
    words: list[Word] = Field(default_factory=list, description="能, 可以 right before the direction word")
    unless_after: list[Word] = Field(default_factory=list, description="a plan word shortly before them keeps the figure "
                                                                       "as a target (预计可降低10%)")


class QuantitySpec(_Spec):
    up: list[str] = Field(min_length=1)
    down: list[str] = Field(min_length=1)
    units: list[str] = Field(min_length=1)
    max_gap: int = Field(12, ge=0, description="max chars between indicator and direction/number")
    lead_gap: int = Field(20, ge=0, description="max chars between a direction and an indicator that the number follows "
                                                "directly (新取得…等二类注册证3个)")
    savings: SavingsSpec | None = Field(None, description="money saved without a named indicator (每年节约面料款约96万元)")
    implied: list[SavingsSpec] = Field(
        default_factory=list, description="more outcomes whose direction and unit name the item without an indicator "
                                          "(报价由半天缩短到20分钟: time shortened; 少用乙酸乙酯约38吨: material saved)")
    table_columns: TableColumnsSpec = Field(default_factory=TableColumnsSpec,
                                            description="outcome tables: | 指标 | 改造前 | 改造后 | 变化 |")
    qualitative: QualitativeSpec | None = Field(None, description="outcomes stated in words (差错明显减少)")
    capability: CapabilitySpec = Field(default_factory=CapabilitySpec,
                                       description="right before the direction word, a figure says what something can "
                                                   "do (成本能降低15%), not what happened")


class ConfusionSpec(_Spec):
    ocr: str
    correct: str

    @model_validator(mode="after")
    def _same_length(self) -> ConfusionSpec:
        if len(self.ocr) != len(self.correct) or not self.ocr or self.ocr == self.correct:
            raise ValueError("ocr 与 correct 须等长且不同 / ocr and correct must differ and have equal length")
        return self


class FuzzySpec(_Spec):
    min_chars: int = Field(6, ge=4, description="shorter spellings get no free fuzzy matching (only confusion variants)")
    two_edits_from: int = Field(10, ge=6, description="spellings this long may differ in two characters")
    generic_suffixes: list[str] = Field(default_factory=list, description="endings that do not make a term distinctive")
    min_head_chars: int = Field(4, ge=2, description="chars a spelling needs besides a generic ending to be fuzzy-matched")


class ConfusionFileSpec(_Spec):
    confusions: list[ConfusionSpec] = Field(min_length=1)
    fuzzy: FuzzySpec = Field(default_factory=FuzzySpec)


# --------------------------------------------------------------------------- compiled form


@dataclass(frozen=True)
class TermEntry:
    """One spelling of one term, as the matcher sees it."""

    item_id: str
    canonical: str
    spelling: str
    key: str
    kind: Literal["term", "entity", "fuzzy"]
    confidence: float
    breaks: frozenset[int]
    whole_word: bool
    fuzzy_ok: bool
    latin_start: bool
    latin_end: bool
    file: str
    line: int | None


@dataclass(frozen=True)
class PatternGroup:
    words: frozenset[str]  # normalised keys
    items: frozenset[str]
    regexes: tuple[re.Pattern[str], ...]
    min_distinct: int


@dataclass(frozen=True)
class Pattern:
    item_id: str
    name: str
    within: str
    groups: tuple[PatternGroup, ...]
    confidence: float
    only_when: frozenset[str] | None
    file: str
    line: int | None
    unless: PatternGroup | None = None  # none_of: any of these in the scope cancels the pattern
    others_of: frozenset[str] = frozenset()  # items whose terms inside the pattern's span are the other party's
    claims: frozenset[str] = frozenset()  # items whose terms inside the pattern's span are only its tool


@dataclass(frozen=True)
class Indicator:
    item_id: str
    canonical: str
    key: str
    needs_direction: bool
    improves: str | None = None  # "up" | "down": a change the other way is no outcome
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Ambiguity:
    term: str
    winner: str
    others: dict[str, str]
    file: str
    line: int | None


@dataclass
class KeywordSet:
    """Everything the evidence finder needs, compiled from one keywords folder."""

    folder: str
    content_hash: str
    entries: list[TermEntry]
    patterns: list[Pattern]
    indicators: list[Indicator]
    context: ContextSpec
    quantities: QuantitySpec
    confusions: list[ConfusionSpec]
    fuzzy: FuzzySpec
    ambiguities: list[Ambiguity]
    item_ids: list[str]
    blockers: list[str] = field(default_factory=list)  # normalised look-alike phrases (TermSpec.not_within)
    topics: TopicModel | None = None  # the learned second opinion (keywords/_topics.json), if the folder has one
    item_files: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # item → (keyword file, line)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def terms_of(self, item_id: str) -> list[TermEntry]:
        return [e for e in self.entries if e.item_id == item_id]

    def overlaps(self) -> list[tuple[TermEntry, TermEntry]]:
        """(shorter, longer) spellings of different items where the shorter is inside the longer.

        Where both occur, the longer match wins (财务机器人 → 3.2.3, not 3.1.1's 机器人); the audit
        lists these next to the explicit ``contested_by`` decisions in :attr:`ambiguities`.
        """
        cached = self._cache.get("overlaps")
        if cached is None:
            terms = [e for e in self.entries if e.kind != "fuzzy"]
            automaton = ahocorasick.Automaton()
            for entry in terms:
                automaton.add_word(entry.key, entry)
            automaton.make_automaton()
            cached = []
            for longer in terms:
                for _, shorter in automaton.iter(longer.key):
                    if shorter.item_id != longer.item_id and shorter.key != longer.key:
                        cached.append((shorter, longer))
            cached.sort(key=lambda pair: (pair[0].item_id, pair[0].key, pair[1].item_id, pair[1].key))
            self._cache["overlaps"] = cached
        return cached

    def jieba_words(self) -> list[str]:
        """Spellings jieba's user dictionary can hold (no spaces, no '/')."""
        words = {e.spelling for e in self.entries if e.kind != "fuzzy"}
        words |= {i.canonical for i in self.indicators}
        return sorted(w for w in words if not re.search(r"[\s/]", w) and len(w) >= 2)


def _is_short_cjk(key: str) -> bool:
    return len(key) <= 4 and any(is_cjk(c) for c in key)


class _Builder:
    """Compiles the item keyword files, recording every problem and leaving out what it concerns."""

    def __init__(self, catalogue: Catalogue, problems: Problems):
        self.catalogue = catalogue
        self.problems = problems
        self.entries: list[TermEntry] = []
        self.patterns: list[Pattern] = []
        self.indicators: list[Indicator] = []
        self.ambiguities: list[Ambiguity] = []
        self.item_files: dict[str, tuple[str, int | None]] = {}
        self.keys: dict[str, tuple[str, str, int | None, str]] = {}  # key → (item, file, line, spelling)
        self.blockers: list[str] = []

    def claim(self, key: str, item_id: str, spelling: str, loaded: LoadedYaml, loc: tuple[str | int, ...]) -> bool:
        """Register a normalised key for an item; False (with the problem recorded) when it cannot be."""
        problem = self.problems.at
        if not key or key == "ind:":
            problem(loaded, loc, "empty_keyword", f"“{spelling}”规范化后为空", f"'{spelling}' is empty after normalisation",
                    items=[item_id], keyword=spelling)
            return False
        if key in self.blockers:
            problem(loaded, loc, "not_within", f"“{spelling}”已列在某术语的 not_within 中",
                    f"'{spelling}' is listed in a not_within", items=[item_id], keyword=spelling)
            return False
        if key in self.keys:
            other_item, other_file, other_line, other_spelling = self.keys[key]
            where = f"{Path(other_file).name}:{other_line}"
            if other_item == item_id:
                problem(loaded, loc, "duplicate_keyword", f"关键词“{spelling}”在评价项 {item_id} 中重复（{where} 已有“{other_spelling}”）",
                        f"keyword '{spelling}' is listed twice for item {item_id} (already at {where})",
                        items=[item_id], keyword=spelling)
            else:
                problem(loaded, loc, "claimed_twice",
                        f"关键词“{spelling}”同时属于 {other_item}（{where}）和 {item_id}；只在胜出的评价项下保留，"
                        f"并用 contested_by 写明另一项及理由",
                        f"keyword '{spelling}' is claimed by {other_item} ({where}) and {item_id}; keep it under the "
                        f"winning item and record the other with contested_by", items=[other_item, item_id], keyword=spelling)
            return False
        self.keys[key] = (item_id, loaded.path, loaded.line_of(loc), spelling)
        return True

    def known_item(self, other: str, item_id: str, loaded: LoadedYaml, loc: tuple[str | int, ...], what: str) -> bool:
        if other in self.catalogue:
            return True
        self.problems.at(loaded, loc, "unknown_item", f"{what}引用未知评价项编号 {other}",
                         f"{what or 'item'}: unknown item ID {other}", items=[item_id])
        return False

    def add_file(self, spec: KeywordFileSpec, loaded: LoadedYaml) -> None:
        for item_id, item in spec.items.items():
            loc: tuple[str | int, ...] = ("items", item_id)
            if item_id not in self.catalogue:
                self.problems.at(loaded, loc, "unknown_item", f"关键词文件中有未知评价项编号 {item_id}",
                                 f"unknown item ID {item_id} in a keyword file", items=[item_id])
                continue
            if item_id in self.item_files:
                other = self.item_files[item_id]
                self.problems.at(loaded, loc, "item_twice", f"评价项 {item_id} 已在 {Path(other[0]).name}:{other[1]} 定义过关键词",
                                 f"item {item_id} already has keywords in {Path(other[0]).name}:{other[1]}", items=[item_id])
                continue
            self.item_files[item_id] = (loaded.path, loaded.line_of(loc))
            if not (item.terms or item.entities or item.patterns or item.indicators):
                self.problems.at(loaded, loc, "no_keywords", f"评价项 {item_id} 没有任何术语、实体、模式或指标",
                                 f"item {item_id} has no terms, entities, patterns or indicators", items=[item_id])
            for kind, specs in (("term", item.terms), ("entity", item.entities)):
                for n, term in enumerate(specs):
                    self.add_term(item_id, kind, term, loaded, loc + (f"{kind}s" if kind == "term" else "entities", n))
            names: dict[str, int | None] = {}
            for n, pattern in enumerate(item.patterns):
                ploc = loc + ("patterns", n)
                if pattern.name in names:
                    self.problems.at(loaded, ploc, "duplicate_pattern", level="warning", items=[item_id], keyword=pattern.name,
                                     zh=f"评价项 {item_id} 有两个同名模式“{pattern.name}”（第 {names[pattern.name]} 行），报告中无法区分",
                                     en=f"item {item_id} has two patterns named '{pattern.name}' (line {names[pattern.name]})")
                names.setdefault(pattern.name, loaded.line_of(ploc))
                self.add_pattern(item_id, pattern, loaded, ploc)
            for n, ind in enumerate(item.indicators):
                iloc = loc + ("indicators", n)
                for spelling in [ind.term, *ind.aliases]:
                    key = normalize_key(spelling)
                    if self.claim("ind:" + key, item_id, spelling, loaded, iloc):
                        self.indicators.append(Indicator(item_id, ind.term, key, ind.needs_direction, ind.improves,
                                                         loaded.path, loaded.line_of(iloc)))

    def add_term(self, item_id: str, kind: str, term: TermSpec, loaded: LoadedYaml, loc: tuple[str | int, ...]) -> None:
        for other, why in term.contested_by.items():
            cloc = loc + ("contested_by", other)
            if not self.known_item(other, item_id, loaded, cloc, "contested_by "):
                continue
            if other == item_id:
                self.problems.at(loaded, cloc, "contested_by", "contested_by 不能指向本项自身",
                                 "contested_by must name another item", items=[item_id])
            if not why.strip():
                self.problems.at(loaded, cloc, "contested_by", "contested_by 须写明理由", "contested_by needs a reason",
                                 items=[item_id])
        if term.contested_by:
            self.ambiguities.append(Ambiguity(term.term, item_id, dict(term.contested_by), loaded.path, loaded.line_of(loc)))
        own_keys = {normalize_key(sp) for sp in [term.term, *term.aliases]}
        for n, phrase in enumerate(term.not_within):
            key = normalize_key(phrase)
            ploc = loc + ("not_within", n)
            if not any(k in key and k != key for k in own_keys):
                self.problems.at(loaded, ploc, "not_within", f"not_within 中的“{phrase}”须包含本术语的某个写法且更长",
                                 f"not_within phrase '{phrase}' must be longer than and contain one of the term's spellings",
                                 items=[item_id], keyword=phrase)
            elif key in self.keys or key in self.blockers:
                self.problems.at(loaded, ploc, "not_within", f"“{phrase}”已是术语或已列出",
                                 f"'{phrase}' is already a term or listed", items=[item_id], keyword=phrase)
            else:
                self.blockers.append(key)
        base_conf = term.confidence if term.confidence is not None else (1.0 if kind == "term" else 0.95)
        seen_here: set[str] = set()
        for n, spelling in enumerate([term.term, *term.aliases]):
            key = normalize_key(spelling)
            sloc = loc + (("term",) if n == 0 else ("aliases", n - 1))
            if key and key in seen_here:
                continue  # "ERP" and "ＥＲＰ" are one key; listing both is harmless
            seen_here.add(key)
            if not self.claim(key, item_id, spelling, loaded, sloc):
                continue
            whole = term.whole_word if term.whole_word is not None else _is_short_cjk(key)
            self.entries.append(
                TermEntry(
                    item_id=item_id, canonical=term.term, spelling=spelling, key=key,
                    kind=kind,  # type: ignore[arg-type]
                    confidence=base_conf, breaks=latin_breaks(spelling), whole_word=whole,
                    fuzzy_ok=term.fuzzy, latin_start=is_ascii_alnum(key[0]), latin_end=is_ascii_alnum(key[-1]),
                    file=loaded.path, line=loaded.line_of(sloc),
                )
            )

    def add_pattern(self, item_id: str, pattern: PatternSpec, loaded: LoadedYaml, loc: tuple[str | int, ...]) -> None:
        groups = []
        usable = True
        for g, group in enumerate(pattern.all_of):
            for other in group.terms_of:
                usable &= self.known_item(other, item_id, loaded, loc + ("all_of", g, "terms_of"),
                                          f"模式“{pattern.name}”的 terms_of ")
            words = frozenset(normalize_key(w) for w in group.any_of)
            if "" in words:
                self.problems.at(loaded, loc + ("all_of", g), "empty_keyword", "模式中有规范化后为空的词",
                                 "a pattern word is empty after normalisation", items=[item_id], keyword=pattern.name)
                usable = False
            groups.append(PatternGroup(words, frozenset(group.terms_of), tuple(re.compile(r) for r in group.regex),
                                       group.min_distinct))
        unless = None
        if pattern.none_of is not None:
            if pattern.none_of.terms_of:
                self.problems.at(loaded, loc + ("none_of", "terms_of"), "pattern", "none_of 只接受 any_of 和 regex",
                                 "none_of takes any_of and regex only", items=[item_id], keyword=pattern.name)
                usable = False
            unless = PatternGroup(frozenset(normalize_key(w) for w in pattern.none_of.any_of), frozenset(),
                                  tuple(re.compile(r) for r in pattern.none_of.regex), 1)
        for field_name in ("others_of", "claims"):
            for other in getattr(pattern, field_name):
                usable &= self.known_item(other, item_id, loaded, loc + (field_name,), f"模式“{pattern.name}”的 {field_name} ")
        if usable:
            self.patterns.append(
                Pattern(item_id, pattern.name, pattern.within, tuple(groups), pattern.confidence,
                        frozenset(pattern.only_when) if pattern.only_when else None, loaded.path, loaded.line_of(loc),
                        unless, frozenset(pattern.others_of), frozenset(pattern.claims))
            )

    def finish(self, folder: Path) -> None:
        """What only the whole folder shows: items without keywords, terms_of naming an item without terms."""
        for item in self.catalogue.items:
            if item.id not in self.item_files:
                self.problems.add(str(folder), None, "no_keywords",
                                  f"评价项 {item.id} {item.name} 没有任何关键词（术语、实体、模式或指标）",
                                  f"item {item.id} has no keywords (terms, entities, patterns or indicators)", items=[item.id])
        with_terms = {e.item_id for e in self.entries}
        for pattern in self.patterns:
            for group in pattern.groups:
                for other in sorted(group.items - with_terms):
                    self.problems.add(pattern.file, pattern.line, "terms_of_empty", f"terms_of 引用的 {other} 没有术语",
                                      f"terms_of refers to {other}, which has no terms", items=[pattern.item_id, other])


def _content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _check_context(spec: ContextSpec, loaded: LoadedYaml, problems: Problems) -> None:
    """Every cue list against every other (and itself): one word, one kind."""
    seen: dict[str, tuple[str, int | None]] = {}
    for name in CUE_LISTS:
        for n, cue in enumerate(getattr(spec, name)):
            key = normalize_key(cue)
            line = loaded.line_of((name, n))
            if not key:
                problems.add(loaded.path, line, "empty_cue", f"{name} 中有空的提示词", f"empty cue in {name}", keyword=cue)
            elif key in seen:
                other_name, other_line = seen[key]
                problems.add(loaded.path, line, "duplicate_cue", f"提示词“{cue}”重复（第 {other_line} 行，{other_name}）",
                             f"duplicate cue '{cue}' (line {other_line}, {other_name})", keyword=cue)
            else:
                seen[key] = (name, line)


def _check_confusions(spec: ConfusionFileSpec, loaded: LoadedYaml, problems: Problems) -> None:
    seen: dict[str, int | None] = {}
    for n, pair in enumerate(spec.confusions):
        line = loaded.line_of(("confusions", n))
        if pair.ocr in seen:
            problems.add(loaded.path, line, "duplicate_confusion", f"误识写法“{pair.ocr}”重复（第 {seen[pair.ocr]} 行）",
                         f"OCR spelling '{pair.ocr}' is listed twice (line {seen[pair.ocr]})", keyword=pair.ocr)
        seen.setdefault(pair.ocr, line)


@dataclass
class KeywordCheck:
    """A keywords folder checked: every problem, and the keyword set compiled from what is sound."""

    problems: list[DataProblem]
    keywords: KeywordSet | None  # None when a required file is missing or unreadable


def check_keyword_folder(folder: Path, catalogue: Catalogue) -> KeywordCheck:
    """Check a keywords folder completely (the audit lists every problem; loading stops at the first)."""
    problems = Problems()
    if not folder.is_dir():
        problems.add(str(folder), None, "keyword_folder", "关键词目录不存在", "keywords folder not found")
        return KeywordCheck(problems.found, None)
    for name in SPECIAL_FILES:
        if not (folder / name).is_file():
            problems.add(str(folder / name), None, "keyword_file", "缺少必需的关键词数据文件", "required keyword data file is missing")
    builder = _Builder(catalogue, problems)
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            if path.name not in SPECIAL_FILES:
                problems.add(str(path), None, "keyword_file", f"未知的数据文件（只认 {', '.join(SPECIAL_FILES)}）",
                             f"unknown data file (only {', '.join(SPECIAL_FILES)})")
            continue
        spec, loaded = check_model(KeywordFileSpec, path, problems)
        if spec is not None and loaded is not None:
            builder.add_file(spec, loaded)
    builder.finish(folder)
    context, cloaded = check_model(ContextSpec, folder / "_context.yaml", problems)
    if context is not None and cloaded is not None:
        _check_context(context, cloaded, problems)
    quantities, _ = check_model(QuantitySpec, folder / "_quantities.yaml", problems)
    confusions, floaded = check_model(ConfusionFileSpec, folder / "_ocr_confusions.yaml", problems)
    if confusions is not None and floaded is not None:
        _check_confusions(confusions, floaded, problems)
    topics = _topics(folder, catalogue, problems)
    if context is None or quantities is None or confusions is None:
        return KeywordCheck(problems.found, None)
    keywords = KeywordSet(
        folder=str(folder), content_hash=_content_hash(folder), entries=builder.entries,
        patterns=builder.patterns, indicators=builder.indicators, context=context, quantities=quantities,
        confusions=confusions.confusions, fuzzy=confusions.fuzzy, ambiguities=builder.ambiguities,
        item_ids=list(catalogue.item_ids), blockers=builder.blockers, topics=topics, item_files=builder.item_files,
    )
    return KeywordCheck(problems.found, keywords)


def load_keyword_folder(folder: Path, catalogue: Catalogue) -> KeywordSet:
    """Load and validate a keywords folder (the framework bundle loads it once): the first error raises."""
    checked = check_keyword_folder(folder, catalogue)
    first = next((p for p in checked.problems if p.level == "error"), None)
    if first is not None:
        raise first.as_error()
    assert checked.keywords is not None
    return checked.keywords


def _topics(folder: Path, catalogue: Catalogue, problems: Problems) -> TopicModel | None:
    try:
        model = load_topic_model(folder)
    except DataFileError as exc:
        problems.error(exc, "topic_model")
        return None
    unknown = [i for i in model.items if i not in catalogue] if model is not None else []
    if unknown:
        problems.add(str(folder / MODEL_FILE), None, "topic_model", f"主题模型含未知评价项 {', '.join(unknown)}",
                     f"the topic model names unknown items {', '.join(unknown)}", items=unknown)
        return None
    return model
