"""From fired rules to item, element and total scores.

Points come from the catalogue (``Catalogue.item(id).points``); a decide rule gives the fraction
of them. All numbers are rounded to 4 decimals so the JSON is byte-stable.

Two things hold whatever a framework's rules say: a verdict that rests on text read by OCR from
a scan is flagged for confirmation (a misread 未 or a digit can carry it), and an item's evidence
says where it stands (:mod:`.locations`) and covers whole words (:mod:`.words`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..catalogue import Catalogue
from ..models import Block, Document, ElementResult, EvidenceRef, ItemResult, Mention, Total
from .confirm import confirm_items
from .engine import engine_for
from .facts import ItemFacts, build_facts
from .locations import locate
from .ruleset import ItemRules, RuleBook
from .words import whole_words

NO_RULE_REASON = "没有判定规则命中，需人工判断"
HOLISTIC_REASON = "综合评估项，初评仅供参考"
# The words of the rules' own flag for all-OCR evidence (rules.yaml ``ocr_only``): when it said so,
# the verdict is not flagged twice.
OCR_WORDS = "来自扫描件识别"
OCR_REASON = "判定所依据的证据来自扫描件识别，须核对原件"
# The evidence a status rests on: what the enterprise has, plans, or says it lacks.
DECIDING_POLARITIES: dict[str, tuple[str, ...]] = {
    "met": ("implemented",), "partial": ("implemented",), "planned": ("planned",), "negated": ("negated",)}
# Match kinds whose span is where a pattern or a fuzzy match happened to stop (widened to whole
# words); a keyword or a product name is shown exactly as it matched.
WIDENED_KINDS = frozenset({"cue", "fuzzy", "quantity"})
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
    # confirmation whatever a confirmation model says: no rule decided, or the verdict rests on OCR text
    always_confirm: bool = False


def decide(rules: ItemRules, fired: Sequence[str], *, holistic: bool = False,
           ocr_polarities: Iterable[str] = ()) -> Decision:
    """The first fired decide rule (in rule order) and every fired flag. ``ocr_polarities``: the
    polarities of the item's evidence read by OCR; when the status rests on such evidence the
    item needs confirmation, whatever the rules say."""
    fired_set = set(fired)
    chosen = next((r for r in rules.decide if r.key in fired_set), None)
    flags = [r for r in rules.flags if r.key in fired_set]
    reasons: list[str] = []
    always = chosen is None
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
    if set(DECIDING_POLARITIES.get(status, ())) & set(ocr_polarities):
        confirm = always = True
        if not any(OCR_WORDS in r for r in reasons):
            reasons.append(OCR_REASON)
    if holistic:
        # Elements 4 and 5 are holistic in the framework itself: the reviewer judges them as a whole. Whether
        # an item needs confirming is still the evidence's business (the rules' flags): flagging every
        # holistic item hid the uncertain ones among a quarter of all items.
        reasons.append(HOLISTIC_REASON)
    return Decision(status=status, fraction=fraction, reasons=list(dict.fromkeys(reasons)),
                    needs_confirmation=confirm, rules_fired=keys, always_confirm=always)


BlockIndex = Mapping[tuple[str, int], tuple[Document, Block]]


def block_index(documents: Iterable[Document]) -> dict[tuple[str, int], tuple[Document, Block]]:
    """(document path, block index) → the document and block: where each mention stands."""
    return {(doc.path, block.index): (doc, block) for doc in documents for block in doc.blocks}


def evidence_ref(m: Mention, file: str, found: tuple[Document, Block] | None = None) -> EvidenceRef:
    """A mention as the result shows it: offsets in the block and in the sentence, its location,
    a pattern's span on whole words."""
    doc, block = found if found is not None else (None, None)
    location = locate(block, page=m.page, file_type=doc.file_type if doc is not None else None)
    sentence, offset = m.sentence, m.sentence_start
    start, end = m.start - offset, m.end - offset
    if sentence[start:end] != m.matched:
        # never seen: the evidence stage cuts the sentence from the block the match is in; rather
        # than offsets that slice something else, none into the sentence
        return EvidenceRef(
            file=file, page=m.page, block=m.block, block_kind=m.block_kind, location=location, start=m.start,
            end=m.end, text=sentence, matched=m.matched, polarity=m.polarity, reading=m.reading, term=m.term,
            kind=m.kind, sentence_start=m.sentence_start, sentence_end=m.sentence_end, ocr=m.ocr)
    if m.kind in WIDENED_KINDS:
        start, end = whole_words(sentence, start, end, soft_breaks=m.page is not None or m.ocr)
    return EvidenceRef(
        file=file, page=m.page, block=m.block, block_kind=m.block_kind, location=location, start=start + offset,
        end=end + offset, text=sentence, text_start=start, text_end=end, matched=sentence[start:end],
        polarity=m.polarity, reading=m.reading, term=m.term, kind=m.kind, sentence_start=m.sentence_start,
        sentence_end=m.sentence_end, ocr=m.ocr)


def evidence_refs(mentions: Iterable[Mention], file_names: Mapping[str, str] | None = None,
                  blocks: BlockIndex | None = None) -> list[EvidenceRef]:
    """The item's evidence: strongest polarity first, then file/page/block/offset; duplicates merged.
    ``blocks`` (:func:`block_index`) gives each its location; without it only the page is known."""
    names = file_names or {}
    where = blocks or {}
    seen: set[tuple] = set()
    refs: list[EvidenceRef] = []
    for m in mentions:
        ref = evidence_ref(m, names.get(m.file, m.file), where.get((m.file, m.block)))
        key = (ref.file, ref.block, ref.start, ref.end, ref.polarity)
        if key in seen:
            continue
        seen.add(key)
        refs.append(ref)
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
                   file_names: Mapping[str, str] | None = None, documents: Iterable[Document] = (),
                   learned_confirmation: bool = True) -> Scored:
    """Facts → durable-rules → item results (all catalogue items, in catalogue order) → totals. The
    verdicts are a function of the mentions; ``documents`` (the evidence views the mentions point
    into) only say where each piece of evidence stands."""
    started = time.perf_counter()
    facts = build_facts(mentions, catalogue.item_ids, book.fact_options)
    by_item: dict[str, list[Mention]] = {}
    for m in mentions:
        by_item.setdefault(m.item_id, []).append(m)
    blocks = block_index(documents)
    evidence = {item_id: evidence_refs(found, file_names, blocks) for item_id, found in by_item.items()}
    return score_facts(facts, evidence, catalogue=catalogue, book=book, started=started,
                       learned_confirmation=learned_confirmation)


def score_facts(facts: Mapping[str, ItemFacts], evidence: Mapping[str, list[EvidenceRef]], *,
                catalogue: Catalogue, book: RuleBook, started: float | None = None,
                learned_confirmation: bool = True) -> Scored:
    """Item results from the facts and evidence of each item: what the rules decide. This is
    all a re-score needs when the facts and evidence of an application are cached (they depend
    on the evidence and the fact options, not on the rules). When the rule file names a confirmation
    model (:mod:`.confirm`), it decides 需人工确认 (``learned_confirmation=False``: the rules' own, as
    rule tests check them)."""
    started = time.perf_counter() if started is None else started
    fired = engine_for(book).fire(facts)
    items: list[ItemResult] = []
    always: list[bool] = []
    for item in catalogue.items:
        refs = evidence.get(item.id, ())
        decision = decide(book.items[item.id], fired.get(item.id, []), holistic=item.holistic,
                          ocr_polarities={ev.polarity for ev in refs if ev.ocr})
        items.append(ItemResult(
            id=item.id, name=item.name, status=decision.status,  # type: ignore[arg-type]
            score=_round(item.points * decision.fraction), max_score=_round(item.points),
            needs_confirmation=decision.needs_confirmation, reasons=decision.reasons,
            rules_fired=decision.rules_fired, evidence=list(refs)))
        always.append(decision.always_confirm)
    if learned_confirmation and book.confirmation is not None:
        items = confirm_items(items, book.confirmation, always=always)
    elements, total = aggregate(items, catalogue)
    return Scored(items=items, elements=elements, total=total, facts=dict(facts), seconds=time.perf_counter() - started)
