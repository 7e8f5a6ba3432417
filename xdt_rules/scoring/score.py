"""From fired rules to item, element and total scores.

Points come from the catalogue (``Catalogue.item(id).points``); a decide rule gives the fraction
of them. All numbers are rounded to 4 decimals so the JSON is byte-stable.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..catalogue import Catalogue
from ..models import ElementResult, EvidenceRef, ItemResult, Mention, Total
from .engine import engine_for
from .facts import ItemFacts, build_facts
from .ruleset import ItemRules, RuleBook

NO_RULE_REASON = "没有判定规则命中，需人工判断"
HOLISTIC_REASON = "综合评估项，初评仅供参考"
POLARITY_ORDER = {"implemented": 0, "planned": 1, "negated": 2, "generic": 3, "restates_criteria": 4}
DIGITS = 4


def _round(x: float) -> float:
    value = round(x, DIGITS)
    return 0.0 if value == 0 else value  # no "-0.0"


@dataclass(frozen=True)
class Decision:
    status: str
    fraction: float
    reasons: list[str]
    needs_confirmation: bool
    rules_fired: list[str]


def decide(rules: ItemRules, fired: Sequence[str], *, holistic: bool = False) -> Decision:
    """The first fired decide rule (in rule order) and every fired flag."""
    fired_set = set(fired)
    chosen = next((r for r in rules.decide if r.key in fired_set), None)
    flags = [r for r in rules.flags if r.key in fired_set]
    reasons: list[str] = []
    if chosen is None:
        status, fraction, confirm, keys = "not_found", 0.0, True, []
        reasons.append(NO_RULE_REASON)
    else:
        status, fraction, confirm, keys = chosen.status or "not_found", chosen.fraction or 0.0, chosen.needs_confirmation, [chosen.key]
        reasons.extend(chosen.reasons)
    for flag in flags:
        reasons.extend(flag.reasons)
        confirm = confirm or flag.needs_confirmation
        keys.append(flag.key)
    if holistic:
        # Elements 4 and 5 are holistic in the framework itself: the reviewer judges them as a whole. Whether
        # an item needs confirming is still the evidence's business (the rules' flags): flagging every
        # holistic item hid the uncertain ones among a quarter of all items.
        reasons.append(HOLISTIC_REASON)
    return Decision(status=status, fraction=fraction, reasons=list(dict.fromkeys(reasons)),
                    needs_confirmation=confirm, rules_fired=keys)


def evidence_refs(mentions: Iterable[Mention], file_names: Mapping[str, str] | None = None) -> list[EvidenceRef]:
    """The item's evidence: strongest polarity first, then file/page/block/offset; duplicates merged."""
    names = file_names or {}
    seen: set[tuple] = set()
    refs: list[EvidenceRef] = []
    for m in mentions:
        file = names.get(m.file, m.file)
        key = (file, m.block, m.start, m.end, m.polarity)
        if key in seen:
            continue
        seen.add(key)
        refs.append(EvidenceRef(
            file=file, page=m.page, block=m.block, start=m.start, end=m.end, text=m.sentence, matched=m.matched,
            polarity=m.polarity, reading=m.reading, term=m.term, kind=m.kind, sentence_start=m.sentence_start,
            sentence_end=m.sentence_end, ocr=m.ocr))
    refs.sort(key=lambda r: (POLARITY_ORDER[r.polarity], r.file, r.page or 0, r.block, r.start, r.end, r.term or ""))
    return refs


@dataclass(frozen=True)
class Scored:
    items: list[ItemResult]
    elements: list[ElementResult]
    total: Total
    facts: dict[str, ItemFacts]
    seconds: float


def aggregate(items: Sequence[ItemResult], catalogue: Catalogue) -> tuple[list[ElementResult], Total]:
    by_id = {i.id: i for i in items}
    elements: list[ElementResult] = []
    for element in catalogue.spec.elements:
        ids = [i.id for i in catalogue.items if i.element_id == element.id]
        elements.append(ElementResult(
            id=element.id, name=element.name,
            score=_round(sum(by_id[i].score for i in ids if i in by_id)),
            max=_round(catalogue.element_max(element.id))))
    total = Total(score=_round(sum(e.score for e in elements)), max=_round(catalogue.spec.total))
    return elements, total


def score_mentions(mentions: Sequence[Mention], *, catalogue: Catalogue, book: RuleBook,
                   file_names: Mapping[str, str] | None = None) -> Scored:
    """Facts → durable-rules → item results (all catalogue items, in catalogue order) → totals. A function
    of the mentions: nothing here reads a document."""
    started = time.perf_counter()
    facts = build_facts(mentions, catalogue.item_ids, book.fact_options)
    by_item: dict[str, list[Mention]] = {}
    for m in mentions:
        by_item.setdefault(m.item_id, []).append(m)
    evidence = {item_id: evidence_refs(found, file_names) for item_id, found in by_item.items()}
    return score_facts(facts, evidence, catalogue=catalogue, book=book, started=started)


def score_facts(facts: Mapping[str, ItemFacts], evidence: Mapping[str, list[EvidenceRef]], *,
                catalogue: Catalogue, book: RuleBook, started: float | None = None) -> Scored:
    """Item results from the facts and evidence of each item: what the rules decide. This is
    all a re-score needs when the facts and evidence of an application are cached (they depend
    on the evidence and the fact options, not on the rules)."""
    started = time.perf_counter() if started is None else started
    fired = engine_for(book).fire(facts)
    items: list[ItemResult] = []
    for item in catalogue.items:
        decision = decide(book.items[item.id], fired.get(item.id, []), holistic=item.holistic)
        items.append(ItemResult(
            id=item.id, name=item.name, status=decision.status,  # type: ignore[arg-type]
            score=_round(item.points * decision.fraction), max_score=_round(item.points),
            needs_confirmation=decision.needs_confirmation, reasons=decision.reasons,
            rules_fired=decision.rules_fired, evidence=list(evidence.get(item.id, ()))))
    elements, total = aggregate(items, catalogue)
    return Scored(items=items, elements=elements, total=total, facts=dict(facts), seconds=time.perf_counter() - started)
