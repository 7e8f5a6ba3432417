"""Polarity of a mention from its clause, sentence, table row and section.

The cue lists are data (``keywords/_context.yaml``); this module only applies them. The finder
(:mod:`.finder`) first takes the shapes that decide without cues: headings, page headers and footers
→ ``generic``; a self-assessment table row answered in a column that asks (是否具备：否); a sentence
that nearly copies the criteria text → ``restates_criteria`` (see :mod:`.restate`). Then:

1. a ``generic`` cue in the mention's comma clause (企业应, 行业普遍, 客户要求, 不适用…) wins;
2. another party's system → ``generic`` (see :mod:`.parties`): "<party>…的 <term>" (客户的供应商门户),
   a party opening the clause as owner (集团总部已建成…), or "由<party>…运营/负责";
3. cues in the mention's comma clause: a
   pre-implementation stage (选型, 招标) makes it a plan; otherwise the cue nearest to the mention
   (ties: negated > planned > implemented). A plain completion verb after a plan/negation marker in
   the same clause belongs to it (计划**建成**, 尚未**部署**) and is dropped; forms with 已 never are
   ("2022年计划建设的WMS**已于**2023年上线" is implemented). Present-tense words (目前, 现阶段)
   count only where nothing stronger stands in the clause ("MES系统目前还没有" is a lack);
4. no cue in the clause → the nearest earlier clause of the sentence segment that has cues, then
   the later ones (a segment ends at ，但 / ，而 / ，然而…) — but not a later clause that names a
   keyword of its own before its cue ("…，设备点检、保养仍按纸质记录执行" speaks of 点检);
5. table cells → the other cells of the same row and their column headers
   (| MES系统 | 鼎捷 | 2022年6月 | 已上线 |), leaving out "before" columns of outcome tables;
6. still nothing → under a heading such as 下一步计划 the statement is a plan, otherwise a
   plain statement of fact → ``implemented``.

States between done and planned outrank completion verbs: a ``pending`` cue (尚未启用, 待验收, 联调中)
makes a plan, a clause-final ``ceased`` cue (…已于2023年停用) a lack, in the mention's clause and in the
other clauses of its sentence that do not name a subject of their own (a keyword, 二期, 纸质…). A present
word alone (目前) only dates a clause: the clause leading into it, or a following lack without a topic of
its own, decides. A short generic opener (一般而言，) governs the sentence; not-applicable words (不涉及)
govern the clauses before them. Another party's system followed by "我司尚未接入" (or a dated plan) is this
enterprise's lack (plan). A lack followed, later in its sentence, by a plan with a time and no topic of its
own ("还没有参加过评测，计划2025年下半年参加") is a plan; a vague one ("明年看情况再考虑", ``vague_plans``) is not.
The finder then reads "label：value" statements from their value (:mod:`.labels`), makes mentions
of one item agree (a name in parentheses, one sentence about another party), and turns facts dated
after the document's own date into plans.
A plan opener ("下一步，" / "…以下工作：") or a plan heading also turns a completion verb without
已 into a plan ("一是2025年建成5G专网"). Cue words inside any matched term are ignored
(企业资源**计划**, **无线**网络).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from ..catalogue import Catalogue
from .keywords import CUE_LISTS, KeywordSet
from .normalize import normalize_key
from .parties import PartyReader
from .reading import Decision, from_cue
from .restate import Restater
from .segment import Sentence

_NOT_NOW = ("negated", "planned", "stage", "generic", "pending", "ceased")  # a self subject with these does not use the system now
PRIORITY = {"negated": 0, "ceased": 0, "planned": 1, "pending": 1, "generic": 2, "implemented": 3, "present": 4}
# cue kinds that read as another polarity: a pre-implementation stage or a system not yet in use is a plan,
# a system taken out of use is a lack
POLARITY_OF = {"stage": "planned", "pending": "planned", "ceased": "negated", "present": "implemented"}
# "not yet in use" and "taken out of use" say what the system's state is now: they outrank a completion
# verb of the same clause (已采购……尚未启用, 2019年上线……已于2023年停用) and govern the clauses of their segment
STATE_KINDS = ("ceased", "pending")


def cue_polarity(kind: str) -> str:
    return POLARITY_OF.get(kind, kind)
_CLAUSE_PUNCT = frozenset(",;:。!?)、")
# a concrete time for a plan: a year, 明年/下半年/第N季度
_WHEN = re.compile(r"20\d\d年|明年|后年|下半年|上半年|[一二三四1-4]季度|年底|年内")
_WAIT_FOR = re.compile(r"等(?:到|待)?$")  # "要等 <term> …以后": the term names the condition
OPENER_MAX = 8  # a sentence-initial clause this short with a plan cue ("下一步，") sets the tense of the sentence
# a generic opener may name who speaks ("一位业内人士告诉记者，"): a little longer
GENERIC_OPENER_MAX = 12


@dataclass(frozen=True)
class Cue:
    start: int  # normalised coordinates of the block text
    end: int
    kind: str
    text: str


class ContextRules:
    def __init__(self, keywords: KeywordSet, catalogue: Catalogue):
        spec = keywords.context
        self.spec = spec
        self.automaton = ahocorasick.Automaton()
        for name, kind in CUE_LISTS.items():
            for cue in getattr(spec, name):
                key = normalize_key(cue)
                self.automaton.add_word(key, (key, kind))
        self.automaton.make_automaton()
        self.regexes = [(kind, re.compile(p)) for kind, patterns in spec.regex.items() for p in patterns]
        self.heading_planned = [normalize_key(h) for h in spec.heading_planned]
        self.heading_lacking = [normalize_key(h) for h in spec.heading_lacking]
        self.past_openers = tuple(normalize_key(w) for w in spec.past_openers)
        self.present_words = frozenset(normalize_key(w) for w in spec.present)
        self.negated_cells = {normalize_key(c) for c in spec.table_negated_cells}
        upgrades = "|".join(re.escape(normalize_key(u)) for u in sorted(spec.upgrades, key=len, reverse=True))
        targets = "|".join(re.escape(normalize_key(t)) for t in spec.upgrade_targets)
        self.upgrade = re.compile(upgrades) if upgrades else None
        self.upgrade_target = re.compile(rf"(?:{upgrades})(?:{targets})$") if upgrades and targets else None
        self.not_applicable = frozenset(normalize_key(w) for w in spec.not_applicable)
        openers = "|".join(re.escape(normalize_key(w)) for w in sorted(spec.generic_openers, key=len, reverse=True))
        self.generic_opener = re.compile(openers) if openers else None
        self.parties = PartyReader(spec)
        names = "|".join(re.escape(normalize_key(w)) for w in sorted(spec.name_suffixes, key=len, reverse=True))
        self.name_suffix = re.compile(names) if names else None
        parts = "|".join(re.escape(normalize_key(w)) for w in sorted(spec.part_words, key=len, reverse=True))
        self.part_words = re.compile(parts) if parts else None
        self.restater = Restater(catalogue, spec.restate)
        vague = "|".join(re.escape(normalize_key(w)) for w in spec.vague_plans)
        self.vague_plans = re.compile(vague) if vague else None
        self._cells: dict[str, Decision | None] = {}

    # ------------------------------------------------------------------ cue scanning
    def cues(self, text: str, lo: int, hi: int, masks: list[tuple[int, int]]) -> list[Cue]:
        """Cues in ``text[lo:hi]`` (leftmost-longest, pseudo cues and masked spans removed)."""
        piece = text[lo:hi]
        found: list[tuple[int, int, str, str]] = []
        for end_idx, (key, kind) in self.automaton.iter(piece):
            found.append((end_idx - len(key) + 1, end_idx + 1, kind, key))
        found.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        out: list[Cue] = []
        last_end = -1
        for start, end, kind, key in found:
            if start < last_end:
                continue
            last_end = end
            if kind != "pseudo":
                out.append(Cue(lo + start, lo + end, kind, key))
        if out and any(c.kind in ("ceased", "pending_end") for c in out):
            # clause-final forms only: "…已于2023年停用。" / "…，尚未上线。"; with an object they speak of
            # something else ("停用了纸质台账") or state a lack ("尚未上线MES")
            kept = []
            for c in out:
                if c.kind == "ceased" and not self._intransitive(text, c.end, hi):
                    continue
                if c.kind == "pending_end":
                    c = Cue(c.start, c.end, "pending" if self._intransitive(text, c.end, hi) else "negated", c.text)
                kept.append(c)
            out = kept
        for kind, rx in self.regexes:
            for m in rx.finditer(piece):
                if m.end() > m.start():
                    out.append(Cue(lo + m.start(), lo + m.end(), kind, m.group()))
        if masks:
            out = [c for c in out if not any(c.start < b and a < c.end for a, b in masks)]
        out.sort(key=lambda c: (c.start, c.end))
        return out

    def without_pseudo(self, text: str) -> str:
        """The text with its pseudo cues cut out (送货计划, 无纸化, 人工智能): words that look like a plan or a
        lack and are neither, so a reading by the mode model does not take them for one."""
        cuts = [(end - len(key) + 1, end + 1) for end, (key, kind) in self.automaton.iter(text) if kind == "pseudo"]
        if not cuts:
            return text
        kept, last = [], 0
        for start, end in sorted(cuts):
            if start >= last:
                kept.append(text[last:start])
                last = end
        kept.append(text[last:])
        return " ".join(kept)

    @staticmethod
    def _intransitive(text: str, end: int, hi: int) -> bool:
        """"…已于2023年停用。" says the thing was stopped; "停用了纸质台账" says this enterprise stopped using
        something else: a ceased cue counts only at the end of its clause (an optional 了 allowed)."""
        if end < hi and text[end] == "了":
            end += 1
        return end >= hi or text[end] in _CLAUSE_PUNCT

    # ------------------------------------------------------------------ decisions
    @staticmethod
    def explicit(cue: Cue) -> bool:
        """A completion stated with 已 (已上线, 已于…, 现已): never governed by a plan marker."""
        return cue.kind == "implemented" and "已" in cue.text

    def _absorb(self, cues: list[Cue], sentence: Sentence | None) -> list[Cue]:
        """Drop completion verbs governed by an earlier plan/negation marker of the same clause."""
        kept: list[Cue] = []
        marker: Cue | None = None
        clause = None
        for cue in cues:
            here = sentence.clause(cue.start) if sentence else None
            if here != clause:
                marker, clause = None, here
            if cue.kind in ("planned", "negated", "stage", *STATE_KINDS):
                marker = cue
            elif cue.kind == "implemented":
                if marker is not None and not self.explicit(cue):
                    continue
                marker = None
            kept.append(cue)
        return kept

    @staticmethod
    def _nearest(cues: list[Cue], start: int, end: int) -> Cue | None:
        best: tuple[int, int] | None = None
        chosen = None
        for cue in cues:
            if cue.end <= start:
                dist = start - cue.end
            elif cue.start >= end:
                dist = cue.start - end
            else:
                dist = 0  # inside a long pattern span
            rank = (dist, PRIORITY[cue_polarity(cue.kind) if cue.kind == "stage" else cue.kind])
            if best is None or rank < best:
                best, chosen = rank, cue
        return chosen

    def _generic(self, cue: Cue) -> Decision:
        """A generic word: 不涉及 says the topic does not apply here; 行业普遍, 企业应 speak of nobody in particular."""
        if cue.text in self.not_applicable:
            return Decision("not_applicable", "not_applicable", cue.text)
        return from_cue("generic", "general_word", cue.text)

    def _decide_scope(self, cues: list[Cue], start: int, end: int, own_clause: bool = True) -> Decision | None:
        if not cues:
            return None
        word = "clause_word" if own_clause else "neighbour_word"
        kinds = {c.kind for c in cues}
        if "generic" in kinds:
            if own_clause:
                return next(self._generic(c) for c in cues if c.kind == "generic")
            # "行业普遍采用…" speaks of its own clause's subject; it says nothing about the neighbours —
            # but "产品的在线监控、远程诊断这一类延伸服务，我们不涉及" says the topic before it does not apply
            cues = [c for c in cues if c.kind != "generic" or c.text in self.not_applicable]
            if any(c.kind == "generic" for c in cues):
                return next(self._generic(c) for c in cues if c.kind == "generic")
        if "stage" in kinds:
            return next(from_cue("stage", word, c.text) for c in cues if c.kind == "stage")
        for kind in STATE_KINDS:
            if kind in kinds:
                return next(from_cue(kind, "state_word", c.text, state=True) for c in cues if c.kind == kind)
        if "present" in kinds and kinds - {"present", "generic"}:
            # "目前" only dates the statement: "MES系统目前还没有" is a lack, "目前正在建设" a plan
            cues = [c for c in cues if c.kind != "present"]
        cue = self._nearest(cues, start, end)
        if cue is None:
            return None
        return from_cue(cue.kind, word, cue.text)

    def decide_clause(self, cues: list[Cue], start: int) -> Decision | None:
        """What the cues of one clause say about a position (present-tense words alone say nothing)."""
        decision = self._decide_scope(cues, start, start)
        if decision is not None and decision.mode == "in_use" and all(c.kind == "present" for c in cues):
            return None
        return decision

    def sentence_cues(self, text: str, sentence: Sentence, masks: list[tuple[int, int]]) -> list[Cue]:
        """The cues of a sentence, with completion verbs governed by a plan/negation marker dropped and the
        lack words of clauses that speak of the past ("过去…全靠人工，现在…") left out."""
        cues = self._absorb(self.cues(text, sentence.start, sentence.end, masks), sentence)
        if self.past_openers and any(c.kind == "negated" for c in cues):
            past = [sentence.clause(lo) for lo in sentence.clause_bounds if text.startswith(self.past_openers, lo)]
            if past:
                cues = [c for c in cues if c.kind != "negated" or not any(a <= c.start < b for a, b in past)]
        return cues

    def decide(self, sentence: Sentence, cues: list[Cue], start: int, end: int, text: str = "",
               terms: Sequence[tuple[int, int]] = ()) -> Decision | None:
        """Polarity from the mention's clause, then the other clauses of its segment; None when no cue applies.

        ``cues`` come from :meth:`sentence_cues`; ``terms`` are the spans of the block's keyword matches
        (a later clause that names its own subject keeps its cue to itself)."""
        c_lo, c_hi = sentence.clause(start)
        if end - 1 >= c_hi:
            c_hi = sentence.clause(end - 1)[1]
        own = [c for c in cues if c_lo <= c.start and c.end <= c_hi]
        for c in own:
            if c.kind == "generic":
                return self._generic(c)  # the clause's own word says whose it is (客户要求, 行业普遍)
        if text and self.generic_opener is not None and c_lo > sentence.start:
            opener = self._generic_opener(text, sentence, terms)
            if opener:
                return Decision("general", "general_opener", opener, "nobody")
        if text:
            party = self.parties.possessed(text, c_lo, start)
            if party is None:
                party = self.parties.agent_of(text, c_lo, c_hi)
            if party is None and sentence.clause(start)[1] >= end:
                # only a mention inside the party's clause: a co-occurrence that runs on into this
                # enterprise's clause ("中烟公司已上线供应链协同平台，目前公司已按客户要求接入") is not the party's
                party = self.parties.subject_of(text, sentence, start,
                                                lambda lo, hi: not any(lo <= c.start < hi and c.kind in _NOT_NOW
                                                                       for c in cues))
            if party is not None:
                own_lack = self._self_lack(text, sentence, cues, c_hi, terms)
                if own_lack is not None:
                    return own_lack
                return Decision("achieved", "other_party", party, "other")
        decision = self._decide_scope(own, start, end)
        dated_only = decision is not None and bool(own) and all(c.kind == "present" for c in own)
        if dated_only:
            # "预计新MES上线后，铜材损耗率可由目前的0.9%降低到0.6%": 目前 only dates the figure; an earlier
            # clause that governs it says whether it is a fact. Otherwise it still reads as a fact.
            fallback, decision = decision, None
        if decision is None:
            s_lo, s_hi = sentence.segment(start)
            clauses = [b for b in sentence.clause_bounds if s_lo <= b < s_hi]
            before = [b for b in clauses if b < c_lo][::-1]
            after = [b for b in clauses if b >= c_hi]
            # a dated clause is governed by what leads into it ("预计…上线后，…可由目前的…") and by a lack
            # that follows it ("燃气泄漏报警器目前是独立报警，还没有联网"), not by a later plan
            # ("现阶段生产工单在MES中管理，计划2026年扩展到仓储" is a fact)
            for lo in before + after:
                hi = sentence.clause(lo)[1]
                scope = [c for c in cues if lo <= c.start and c.end <= hi]
                if lo >= c_hi and scope and self._own_subject(scope, lo, terms):
                    # "设备运行记录按班自动统计，设备点检、保养仍按纸质记录执行": a later clause that names
                    # its own keyword before its cue speaks of that, not of the mention
                    continue
                if scope and all(c.kind == "present" for c in scope):
                    continue  # 目前 in a neighbour only dates that clause
                decision = self._decide_scope(scope, start, end, own_clause=False)
                if decision is not None and dated_only and lo >= c_hi and (
                        decision.polarity != "negated" or any(lo <= a < hi for a, _ in terms)):
                    # only a lack without a topic of its own ("…，还没有联网"), not "…，尚未使用ERP系统"
                    decision = None
                    continue
                if decision is not None:
                    break
        if decision is None and dated_only:
            decision = fallback
        if decision is not None and decision.polarity == "implemented" and not decision.state:
            state = self._state_nearby(sentence, cues, start, c_lo, c_hi, text, terms)
            if state is not None:
                return state
        if decision is not None and decision.polarity == "planned" and not decision.state and text and \
                self._upgraded(text, sentence, start, end):
            return Decision("in_use", "upgraded_existing", decision.words)
        if decision is not None and decision.polarity == "implemented" and not any(self.explicit(c) for c in own):
            opener = self._plan_opener(sentence, cues, c_lo, text)
            if opener:
                return Decision("planned", "plan_opener", opener)
        if decision is not None and decision.polarity == "negated" and not decision.state and text:
            plan = self._dated_plan_after(text, sentence, cues, c_hi, terms)
            if plan is not None:
                return Decision("planned", "lack_with_dated_plan", plan)
        if decision is not None and decision.polarity == "planned" and not decision.state and text:
            vague = self.vague(text, sentence, start)
            if vague is not None:
                return Decision("lacking", "vague_intention", vague)
        return decision

    def vague(self, text: str, sentence: Sentence, start: int) -> str | None:
        """"客户管理系统明年再看" / "上生产管理系统，要等ERP用顺了以后再考虑": an intention left open says the
        thing is not there now — a lack, not a plan. In the mention's own clause always; elsewhere in its segment
        only where the segment names no time ("计划2025年上线MES，视情况扩展到二车间" is a plan)."""
        if self.vague_plans is None:
            return None
        c_lo, c_hi = sentence.clause(start)
        if _WAIT_FOR.search(text, max(c_lo, start - 3), start):
            return None  # "要等ERP用顺了以后再考虑": ERP is the condition of the open intention, not its object
        m = self.vague_plans.search(text, c_lo, c_hi)
        if m is None:
            lo, hi = sentence.segment(start)
            m = self.vague_plans.search(text, lo, hi)
            if m is None or _WHEN.search(text, lo, hi):
                return None
        return m.group()

    def _dated_plan_after(self, text: str, sentence: Sentence, cues: list[Cue], after: int,
                          terms: Sequence[tuple[int, int]]) -> str | None:
        """"我们还没有参加过数字化水平评测，计划2025年下半年参加": a stated lack and, in a later clause of the same
        sentence that names no other topic, a plan with a time — the lack has a concrete plan (labelled planned).
        "明年看情况再考虑" keeps it a lack; so does a later clause about something else ("…，计划2025年上MES")."""
        for lo in sentence.clause_bounds:
            if lo < after:
                continue
            hi = sentence.clause(lo)[1]
            if any(lo <= a < hi for a, _ in terms):
                return None  # the clause has a topic of its own: the rest of the sentence is about that
            scope = [c for c in cues if lo <= c.start and c.end <= hi]
            if any(c.kind == "negated" for c in scope):
                return None
            plan = next((c for c in scope if c.kind in ("planned", "stage")), None)
            if plan is None:
                continue
            if not _WHEN.search(text, lo, hi) or (self.vague_plans is not None and self.vague_plans.search(text, lo, hi)):
                return None
            return plan.text
        return None

    def _generic_opener(self, text: str, sentence: Sentence, terms: Sequence[tuple[int, int]]) -> str | None:
        """"一般而言，WMS系统能够提升仓储效率": a short first clause that says the sentence speaks in general."""
        lo, hi = sentence.clause(sentence.start)
        if hi - lo > GENERIC_OPENER_MAX or any(lo <= a < hi for a, _ in terms):
            return None
        m = self.generic_opener.search(text, lo, hi)  # type: ignore[union-attr]
        return m.group() if m else None

    def _self_lack(self, text: str, sentence: Sentence, cues: list[Cue], after: int,
                   terms: Sequence[tuple[int, int]]) -> Decision | None:
        """"集团公司已上线SAP系统，本公司尚未接入": another party's system, and a later clause in which this
        enterprise says it lacks or only plans it — that is this enterprise's lack or plan."""
        selves = self.parties.self_anywhere
        if selves is None:
            return None
        for lo in sentence.clause_bounds:
            if lo < after:
                continue
            hi = sentence.clause(lo)[1]
            if not selves.search(text, lo, hi):
                continue
            scope = [c for c in cues if lo <= c.start and c.end <= hi and c.kind in ("negated", "planned", "stage", *STATE_KINDS)]
            if not scope or any(lo <= a and b <= scope[0].start for a, b in terms):
                continue
            kind = cue_polarity(scope[0].kind)
            if kind == "planned" and not _WHEN.search(text, lo, hi):
                continue  # "我司将视情况择机接入" is no concrete plan: the system stays the party's
            if kind == "negated" and (scope[0].text.startswith("不") or text.startswith(("使用", "用", "采用"), scope[0].end)):
                # "…，我司目前不使用" / "我司未使用": declining the party's tool is no lack of this enterprise's
                # ("尚未推广到我司" / "本公司尚未接入" are)
                continue
            return from_cue(scope[0].kind, "party_has_self_lacks", scope[0].text)
        return None

    def _state_nearby(self, sentence: Sentence, cues: list[Cue], start: int, c_lo: int, c_hi: int, text: str,
                      terms: Sequence[tuple[int, int]]) -> Decision | None:
        """A not-yet-in-use or taken-out-of-use cue in another clause of the mention's sentence
        ("5G专网基站已于2025年2月安装调试完成，待验收" / "…已采购CAPP模块，……，但……，目前尚未启用"),
        unless that clause names its own subject before the cue: a keyword ("ERP已上线，但与WMS的接口联调中")
        or another part of the project ("一期已上线，二期尚未启用"). The whole sentence, not only the
        segment: "但" here gives the reason, the state is still the mention's."""
        for c in cues:
            if c.kind not in STATE_KINDS or c_lo <= c.start < c_hi:
                continue
            lo, _ = sentence.clause(c.start)
            if any(lo <= a and b <= c.start for a, b in terms):
                continue
            if text and self.part_words is not None and self.part_words.search(text, lo, c.start):
                continue
            return from_cue(c.kind, "state_word", c.text, state=True)
        return None

    @staticmethod
    def _own_subject(cues: list[Cue], lo: int, terms: Sequence[tuple[int, int]]) -> bool:
        """A keyword stands in [lo, first cue) of a later clause."""
        first = min(c.start for c in cues)
        return any(lo <= a and b <= first for a, b in terms)

    def _upgraded(self, text: str, sentence: Sentence, start: int, end: int) -> bool:
        """The mention is the existing system of a planned upgrade: it comes before 升级/替换 in its
        segment ("ERP系统较为陈旧，拟升级为…") or right after it ("升级ERP"), and is not its target."""
        if self.upgrade is None:
            return False
        lo, hi = sentence.segment(start)
        if self.upgrade_target is not None and self.upgrade_target.search(text, lo, start):
            return False  # "升级为 <term>": the target of the plan
        if self.upgrade.search(text, end, hi):
            return True
        before = text[max(lo, start - 4) : start]
        return self.upgrade.search(before) is not None

    @staticmethod
    def _plan_opener(sentence: Sentence, cues: list[Cue], before: int, text: str) -> str | None:
        """A plan cue in a short first clause ("下一步，") or a clause ending in a colon before the mention."""
        for lo in sentence.clause_bounds:
            if lo >= before:
                break
            hi = sentence.clause(lo)[1]
            short_first = lo == sentence.start and hi - lo <= OPENER_MAX
            colon = text[hi - 1 : hi] == ":"
            if short_first or colon:
                for c in cues:
                    if lo <= c.start and c.end <= hi and c.kind == "planned":
                        return c.text
        return None

    def in_name(self, text: str, end: int) -> bool:
        """The term ending at ``end`` is part of an organisation's name ("滇纺电子商务有限公司",
        "云南省电子商务协会"): a name says what a company is called, not what this enterprise does."""
        return self.name_suffix is not None and self.name_suffix.match(text, end) is not None

    def cell_polarity(self, text: str) -> Decision | None:
        """What one table cell says on its own (已上线 / 规划中 / 否); cells repeat, so it is memoised."""
        if text in self._cells:
            return self._cells[text]
        if len(self._cells) > 20_000:
            self._cells.clear()
        decision = self._cell_polarity(text)
        self._cells[text] = decision
        return decision

    def _cell_polarity(self, text: str) -> Decision | None:
        if text in self.negated_cells:
            return Decision("lacking", "table_row", text)
        cues = self._absorb(self.cues(text, 0, len(text), []), None)
        for kind in STATE_KINDS:  # | 已采购，尚未启用 | / | 已停用 |: the state now, whatever was done before
            for cue in cues:
                if cue.kind == kind:
                    return from_cue(kind, "table_row", cue.text, state=True)
        for cue in cues:
            if cue.kind == "stage":
                return from_cue("stage", "table_row", cue.text)
        for cue in cues:
            if cue.kind == "generic":  # "本公司不使用（无研发职能）": not this enterprise's business
                return self._generic(cue).because("table_row")
        for kind in ("planned", "negated", "implemented", "present"):
            for cue in cues:
                if cue.kind == kind:
                    return from_cue(kind, "table_row", cue.text)
        return None

    def row_polarity(self, cells: list[str], headers: list[str]) -> Decision | None:
        """A table row's polarity from its other cells and their column headers."""
        party = next((p for p in map(self.parties.names_party, cells) if p), None)
        found: dict[str, Decision] = {}
        for text in cells:
            decision = self.cell_polarity(text)
            if decision and decision.state:
                # | 线缆MES（旧）| 已停用 | 2019年5月上线 |: the row's state outranks a completion date
                return decision
            if decision:
                found.setdefault(decision.polarity, decision)
        for text in headers:
            decision = self.cell_polarity(text)
            if decision and decision.polarity == "planned":
                found.setdefault("planned", decision)
        if party is not None and "negated" in found and not found.keys() & {"implemented", "planned"}:
            # | 数字化指挥中心 | 母公司 | 不使用 |: the party's system, which this enterprise does not use
            return Decision("achieved", "other_party", party, "other")
        for kind in ("implemented", "planned", "generic", "negated"):
            if kind in found:
                return found[kind]
        return None

    def is_present(self, cue: str | None) -> bool:
        """The cue is a present-tense word only (目前, 现阶段): it dates a statement, says no more."""
        return cue is not None and cue in self.present_words

    def heading_is_lack(self, heading: str | None) -> str | None:
        if not heading:
            return None
        return next((cue for cue in self.heading_lacking if cue in heading), None)

    def heading_is_plan(self, heading: str | None) -> str | None:
        if not heading:
            return None
        for cue in self.heading_planned:
            if cue in heading:
                return cue
        return None
