"""Label-and-value statements: "● DNC：无，加工程序仍用U盘拷到机床", "9．是否建立MES：否，目前…".

Bullet lists, system overviews and self-assessment forms put a topic (or a question that restates
the criterion) before a colon and the state after it. A mention inside such a label states nothing
by itself: the value decides. The finder asks, in this order,

1. an answer word that is the whole first clause of the value (是 / 否 / 无 / 暂无 / 部分是 /
   不适用 …, ``answers`` in ``keywords/_context.yaml``);
2. the cues of the value's first clause ("尚不具备条件", "目前还谈不上…", "尚未评测");
3. the value's own mentions of the same item ("● ERP：用友U8，2021年3月上线" — 用友U8 is a fact;
   "● 安全生产信息化：目前只有视频监控，…还未接入工业互联网安全生产监测平台" — a lack);
4. otherwise the mention is read like any other.

A question label ("是否采用CAE、CAPP等开展工艺设计与仿真：否。") is never a criteria copy — it is
meant to restate the criterion — and its own verbs (采用, 建立, 实现) are not cues. A topic label
with a cue of its own ("已上线系统：…") keeps its own reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .keywords import LabelSpec
from .normalize import normalize_key
from .segment import LIST_MARKER, Sentence

# trailing punctuation and an aside in parentheses ("是（详见附件3）")
_ANSWER_STRIP = re.compile(r"(?:\([^()]*\)|[,;:。!?.、\s])+$")
# a header that offers its answers: "现状（有/无/部分/不适用）", "是/否"
_OPTIONS = re.compile(r"\(([^()]*)\)|^([^()]*/[^()]*)$")
_OPTION_SPLIT = re.compile(r"[/、|,]")


@dataclass(frozen=True)
class Label:
    start: int  # normalised: first char of the label (after a list marker)
    colon: int  # the ':' (or '?') that ends the label
    value: int  # first char of the value
    question: bool
    value_sentence: Sentence  # the sentence holding the value (the next one after "…吗？" / "问：…？答：…")

    def holds(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.colon


class LabelReader:
    def __init__(self, spec: LabelSpec):
        self.topic_max = spec.topic_max
        self.question_max = spec.question_max
        self.question_words = tuple(normalize_key(w) for w in spec.question_words)
        self.answer_headers = tuple(normalize_key(w) for w in spec.answer_headers)
        self.criterion_headers = tuple(normalize_key(w) for w in spec.criterion_headers)
        self._asks: dict[str, bool] = {}
        self.ask = normalize_key("问：")
        self.reply = normalize_key("答：")
        self.answers: dict[str, str] = {}
        for kind in ("implemented", "planned", "negated", "generic"):
            for word in getattr(spec.answers, kind):
                self.answers[normalize_key(word)] = kind

    def find(self, text: str, sentence: Sentence, following: Sentence | None = None) -> Label | None:
        """The label of ``sentence`` (normalised text): a topic that is the whole first clause and ends
        in a colon, or a question (which may run over commas) up to the first colon — or up to its
        question mark, the answer then opening ``following`` ("是否建立WMS？否，…" / "问：…？答：否。")."""
        marker = LIST_MARKER.match(text, sentence.start, sentence.end)
        start = marker.end() if marker else sentence.start
        if text.startswith("【", start):
            close = text.find("】", start, min(sentence.end, start + self.topic_max + 2))
            if close > start + 1:  # "【DNC】无，程序仍用U盘拷贝": a bracketed topic is a label too
                return Label(start + 1, close, close + 1, False, sentence)
        if text.find(":", sentence.start, sentence.end) == -1 and text[sentence.end - 1] != "?":
            return None  # most sentences have neither
        if text.startswith(self.ask, start):
            start += len(self.ask)
        colon = text.find(":", start, min(sentence.end, start + self.question_max + 1))
        if colon <= start:
            end = sentence.end - 1
            if text[end] != "?" or end - start > self.question_max:
                return None
            if following is None:
                return Label(start, end, sentence.end, True, sentence) if any(
                    w in text[start:end] for w in self.question_words) else None
            label = text[start:end]
            if not any(w in label for w in self.question_words):
                return None
            if LIST_MARKER.match(text, following.start, following.end) or any(
                    w in text[following.start:following.end] for w in self.question_words):
                return Label(start, end, sentence.end, True, sentence)  # the next question follows: no answer
            value = following.start + (len(self.reply) if text.startswith(self.reply, following.start) else 0)
            return Label(start, end, value, True, following)
        label = text[start:colon]
        question = any(w in label for w in self.question_words) or label.endswith("吗")
        if not question and (len(label) > self.topic_max or sentence.clause(start)[1] != colon + 1):
            return None  # a topic is one clause: "公司在…实现了自动化：…" is a lead-in, not a label
        return Label(start, colon, colon + 1, question, sentence)

    def answer_word(self, text: str) -> str | None:
        """The polarity of a whole normalised text that is a bare answer word (a cell "否" / "部分是")."""
        return self.answers.get(_ANSWER_STRIP.sub("", text))

    def asks(self, header: str) -> bool:
        """A column header that asks (是否具备 / 有无 / 自评结果): its cells are answers."""
        asked = self._asks.get(header)
        if asked is None:
            asked = (any(w in header for w in self.question_words) or any(w in header for w in self.answer_headers)
                     or self._offers_answers(header))
            if len(self._asks) > 10_000:
                self._asks.clear()
            self._asks[header] = asked
        return asked

    def _offers_answers(self, header: str) -> bool:
        """The header lists at least two answer words as its options ("现状（有/无/部分/不适用）")."""
        for m in _OPTIONS.finditer(header):
            options = _OPTION_SPLIT.split(m.group(1) or m.group(2) or "")
            if sum(1 for o in options if o in self.answers) >= 2:
                return True
        return False

    def restates(self, header: str | None) -> bool:
        """A column header of the criterion being answered (评价内容 / 认定要素)."""
        return bool(header) and any(w in header for w in self.criterion_headers)  # type: ignore[operator]

    def answer(self, text: str, label: Label) -> tuple[str, str] | None:
        """(polarity, word) when the value's first clause is a bare answer word."""
        sentence = label.value_sentence
        if label.value >= sentence.end:
            return None
        lo, hi = sentence.clause(label.value)
        lo = max(lo, label.value)
        word = _ANSWER_STRIP.sub("", text[lo:hi])
        kind = self.answers.get(word)
        return (kind, word) if kind else None
