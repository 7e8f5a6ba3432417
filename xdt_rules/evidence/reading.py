"""The reading of a clause: who is said to do it (actor), in what state it is (mode), and which pass
of the reading decided so on which words (reason, words).

Every mention inherits the reading of its clause. Polarity, the field the output contract and the
rules use, is a function of the reading (:func:`polarity_of`), never decided on its own; and no code
branches on the words or on a display text — only on the typed reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from ..models import Actor, Mode, Polarity, Reason

__all__ = ["Actor", "Decision", "Mode", "Reason", "REASON_ZH", "ACTOR_ZH", "MODE_ZH", "polarity_of"]

# What a cue kind of keywords/_context.yaml says of the state of a thing.
CUE_MODES: dict[str, Mode] = {
    "implemented": "achieved",
    "present": "in_use",
    "planned": "planned",
    "stage": "under_construction",  # a pre-implementation stage (选型, 招标): not in use yet
    "pending": "under_construction",  # installed but not in use (待验收, 尚未启用, 联调中)
    "ceased": "lacking",  # taken out of use (已停用)
    "negated": "lacking",
    "generic": "general",
}

_POLARITY: dict[str, Polarity] = {
    "achieved": "implemented", "in_use": "implemented",
    "under_construction": "planned", "planned": "planned", "target": "planned",
    "lacking": "negated",
    "restated": "restates_criteria",
    "not_applicable": "generic", "hypothetical": "generic", "general": "generic",
}


def polarity_of(actor: Actor, mode: Mode) -> Polarity:
    """Another party's or nobody's thing is no evidence of this enterprise, whatever its state."""
    return "generic" if actor != "self" else _POLARITY[mode]


@dataclass(frozen=True)
class Decision:
    """What one pass of the reading decided for a mention."""

    mode: Mode
    reason: Reason
    words: str | None = None  # the words that decided it, as they stand (normalised)
    actor: Actor = "self"
    state: bool = False  # from a not-yet-in-use / taken-out-of-use word: outranks a completion in a table row

    @property
    def polarity(self) -> Polarity:
        return polarity_of(self.actor, self.mode)

    @property
    def explicit(self) -> bool:
        """A completion stated with 已 (已上线, 现已): no plan section or plan opener overrides it."""
        return self.polarity == "implemented" and self.words is not None and "已" in self.words

    def because(self, reason: Reason, words: str | None = None) -> Decision:
        """The same reading, decided by another pass."""
        return Decision(self.mode, reason, words if words is not None else self.words, self.actor, self.state)


def from_cue(kind: str, reason: Reason, words: str | None, *, state: bool = False) -> Decision:
    """The reading a cue word of ``kind`` gives."""
    return Decision(CUE_MODES[kind], reason, words, "nobody" if kind == "generic" else "self", state)


ACTOR_ZH: dict[str, str] = {"self": "本企业", "other": "他方", "hearsay": "传闻", "nobody": "泛指"}
MODE_ZH: dict[str, str] = {
    "achieved": "已实现", "in_use": "在用", "under_construction": "在建/待用", "planned": "规划", "target": "目标",
    "lacking": "缺失", "not_applicable": "不适用", "hypothetical": "假设", "general": "泛泛而谈", "restated": "照抄评价内容",
}
REASON_ZH: dict[str, str] = {
    "plain_statement": "事实陈述",
    "clause_word": "本分句提示词",
    "neighbour_word": "同句其他分句的提示词",
    "state_word": "状态词",
    "general_word": "泛指用语",
    "general_opener": "句首泛指",
    "not_applicable": "不适用",
    "other_party": "他方的系统或做法",
    "party_has_self_lacks": "他方已有，本企业缺失或规划",
    "same_party": "同句所说的他方",
    "joins_other_platform": "本企业在他方平台上协同",
    "tool_for": "只是某事的工具",
    "second_name": "括号里的别名",
    "organisation_name": "机构名称",
    "not_a_statement": "标题、页眉或页脚",
    "count_column": "统计表的列名",
    "form_answer": "自评表的答语",
    "criterion_column": "评价内容栏",
    "label_answer": "标签后的内容",
    "question_unanswered": "问句无答",
    "criteria_copied": "照抄评价内容",
    "upgraded_existing": "升级或替换的现有系统",
    "plan_opener": "规划引语",
    "plan_section": "规划章节",
    "shortcomings_section": "不足章节",
    "lack_with_dated_plan": "缺失，另有具体规划",
    "vague_intention": "打算含糊",
    "table_row": "同行单元格或表头",
    "continues_previous": "续上文",
    "dated_after_document": "晚于申报日期",
    "data_not_used": "数据未用于此",
    "use_restricted": "下句限定用途",
    "contract_unaccepted": "合同约定，未见验收记录",
    "mode_model": "模型读作",
    "model_hint": "可能相关（模型提示，不计为证据）",
}
