"""Whose system is it? Other parties (group, park, carrier, customer, partner) versus this enterprise.

Group subsidiaries, park tenants and suppliers write about other parties' systems next to their own.
Three shapes make a mention another party's (``generic``), all read on the normalised text:

1. possessive — "<party>…的 <term>" (客户的供应商门户, 钢厂的电子采购平台, 集团研发中心的PLM); the
   party is a listed word or a factory other than this one ("…厂", not 我厂/本厂/工厂/分厂). Where the
   words before 的 end in a supply verb (集团统一**部署的**LIMS, 用友**提供的**ERP) the party only
   built it: the system is used here, so it is not another party's;
2. party as the subject — a clause that opens with a party doing an owner's act (集团总部已建成…,
   中国移动已在经开区建成5G基站, 园区正在筹划…, 集团研发中心使用PLM系统). Only that clause: Chinese
   drops repeated subjects, but a later clause may as well be about this enterprise again, and a
   wrong "someone else's" hides a real fact. Not when the same sentence says this enterprise uses or runs
   it now (…由集团信息中心统一部署，**我司**设备部使用 / **我司的**采购…全部在SAP中运行): a self
   subject in a clause without a lack, plan or not-applicable cue, and without 仍/依然 (母公司已上线SAP，
   我公司目前**仍**使用用友T+: this enterprise's own, older way);
3. party as the agent — "由<party>…运营/负责/承担" (旗舰店由集团电商公司统一运营) in the mention's
   clause: the function is run by someone else. Agents that only build (由集团信息中心统一**开发**的
   接口) do not count.

For the collaboration items (``participation_items``) the party's platform is where this enterprise
collaborates: a sentence where it acts on it (我们在客户门户上接收订单、对账; 客户通过其平台向我们下达订单)
is its own collaboration with that party, unless the sentence states a lack or a plan.

Words are data: ``parties`` in ``keywords/_context.yaml`` (and ``other_parties`` for possessives).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .keywords import ContextSpec
from .normalize import normalize_key
from .segment import LIST_MARKER, Sentence

POSSESSIVE_GAP = 10  # chars allowed between "<party>" and the "的" right before a mention
AGENT_GAP = 16  # chars allowed between "由<party>" and its verb: a full company name fits (由兄弟单位滇纺电子商务有限公司统一运营)
SUBJECT_GAP = 12  # chars allowed between a subject party and its owner verb
_PUNCT = r"[^,;:。!?]"


def _alternation(words: list[str]) -> str:
    keys = sorted({normalize_key(w) for w in words if normalize_key(w)}, key=len, reverse=True)
    return "|".join(re.escape(k) for k in keys)


class PartyReader:
    def __init__(self, spec: ContextSpec):
        p = spec.parties
        possessors = [_alternation(spec.other_parties)] if spec.other_parties else []
        possessors += list(p.possessor_patterns)
        # the gap holds no preposition: in "供应商在金蝶星瀚的门户" / "供应商发票由金蝶星瀚的发票云" the
        # party is a subject or object, and 的 belongs to the words after 在/由
        # "母公司的集团MES": a modifier of ownership may stand between 的 and the term
        self.possessive = (re.compile(rf"(?:{'|'.join(possessors)})(?P<gap>[^,;:。!?在向从用于经通把将让由被给]{{0,{POSSESSIVE_GAP}}})"
                                      rf"的(?:{_alternation(p.possessed_modifiers)})?$")
                           if possessors else None)
        supply = _alternation(p.supply_verbs)
        self.supplied = re.compile(rf"(?:{supply})的$") if supply else None
        # "集团总部已建成统一的ERP" is subject-verb-object, not a possessive: no verb in the gap
        # "客户反映的缺粒问题": the customer reports on this enterprise's product
        verbs = _alternation([*p.supply_verbs, *p.owner_verbs, *p.report_verbs, "已"])
        self.verb_in_gap = re.compile(verbs) if verbs else None
        adverbs = _alternation(p.leading_adverbs)
        subjects = "|".join(filter(None, [_alternation(p.subjects), *p.subject_patterns]))
        owner = "|".join(filter(None, [_alternation(p.owner_verbs), *p.owner_patterns]))
        # "集团…统一部署的LIMS在我司使用": a verb before 的 modifies the system, the party is not the subject
        # an adverb is never part of the party's name: "目前公司已上线ERP" is this company
        skip = rf"(?:{adverbs})?(?!{adverbs})" if adverbs else ""
        self.subject = (re.compile(rf"{skip}(?P<party>{subjects}){_PUNCT}{{0,{SUBJECT_GAP}}}?(?:{owner})(?!的)")
                        if subjects and owner else None)
        agent = _alternation(p.agent_verbs)
        self.agent = (re.compile(rf"由(?P<party>{subjects}){_PUNCT}{{0,{AGENT_GAP}}}?(?:{agent})")
                      if subjects and agent else None)
        # "我司的经营数据由母公司每月汇总": this enterprise is named, but another party does the work
        self.party_agent = re.compile(rf"由(?:{subjects})") if subjects else None
        self.party_cell = re.compile(rf"(?:{subjects})") if subjects else None
        selves = _alternation(p.self_subjects)
        self.self_anywhere = re.compile(selves) if selves else None
        contrast = _alternation(p.self_contrast)
        self.self_contrast = re.compile(contrast) if contrast else None
        self._claimed: dict[tuple[str, int], bool] = {}
        self.participation_items = frozenset(p.participation_items)
        self.participation = re.compile("|".join(f"(?:{r})" for r in p.participation)) if p.participation else None

    def possessed(self, text: str, lo: int, start: int) -> str | None:
        """The '<party>…的' right before ``start`` in [lo, start), unless it ends in a supply verb."""
        if self.possessive is None or start <= lo or "的" not in text[max(lo, start - 3):start]:
            return None
        m = self.possessive.search(text, lo, start)
        if m is None or (self.supplied is not None and self.supplied.search(text, m.start(), start)):
            return None
        if self.verb_in_gap is not None and self.verb_in_gap.search(m.group("gap")):
            return None
        return m.group()

    def joins(self, item_id: str, text: str, lo: int, hi: int) -> str | None:
        """This enterprise working on another party's platform in [lo, hi) (我们在客户门户上确认交期, 主机厂通过其
        平台向我们下达订单): for the collaboration items that is its own collaboration, not the party's system."""
        if self.participation is None or item_id not in self.participation_items:
            return None
        m = self.participation.search(text, lo, hi)
        return m.group() if m else None

    def names_party(self, cell: str) -> str | None:
        """A table cell that opens with another party (| 母公司信息中心 | 兄弟单位滇纺物流中心 |)."""
        if self.party_cell is None:
            return None
        m = self.party_cell.match(cell)
        return m.group() if m else None

    def agent_of(self, text: str, lo: int, hi: int) -> str | None:
        """'由<party>…运营/负责' in the clause [lo, hi)."""
        if self.agent is None or text.find("由", lo, hi) == -1:
            return None
        m = self.agent.search(text, lo, hi)
        return m.group("party") if m else None

    def subject_of(self, text: str, sentence: Sentence, start: int,
                   current: Callable[[int, int], bool]) -> str | None:
        """The other party that is the subject of the clause holding ``start``, unless the sentence has a
        self subject in a clause where ``current(lo, hi)`` holds (no lack, plan or not-applicable cue there)."""
        if self.subject is None:
            return None
        lo, hi = sentence.clause(start)
        begin = lo
        if lo == sentence.start:
            marker = LIST_MARKER.match(text, lo, hi)
            begin = marker.end() if marker else lo
        m = self.subject.match(text, begin, hi)
        if m is None:
            return None
        key = (text, sentence.start)
        claimed = self._claimed.get(key)
        if claimed is None:
            claimed = self._self_uses(text, sentence, current)
            if len(self._claimed) > 20_000:
                self._claimed.clear()
            self._claimed[key] = claimed
        return None if claimed else m.group("party")

    def _self_uses(self, text: str, sentence: Sentence, current: Callable[[int, int], bool]) -> bool:
        """This enterprise is the subject of a clause that says it uses something now."""
        if self.self_anywhere is None:
            return False
        for lo in sentence.clause_bounds:
            hi = sentence.clause(lo)[1]
            if self.self_anywhere.search(text, lo, hi) and current(lo, hi) and not (
                    self.self_contrast is not None and self.self_contrast.search(text, lo, hi)) and not (
                    self.party_agent is not None and self.party_agent.search(text, lo, hi)):
                return True
        return False
