"""Documents → Mentions: one pipeline per block, in this order.

1. **Match**: normalise the block (OCR blocks also get the confusion table), find exact term hits,
   fuzzy hits on what is left, pattern words, quantified outcomes and outcomes stated in words; the
   learned topic model (:mod:`.topics`) adds the items a sentence describes without naming them.
2. **Read each mention's clause** (:class:`~.reading.Decision`: actor, mode, reason, words) by the first
   of :attr:`EvidenceFinder.PASSES` that decides — not a statement (headings) · a count column · a
   self-assessment answer · an organisation's name · the criteria copied · the clause's own words and
   its sentence's (:meth:`.context.ContextRules.decide`: other parties, generic talk, plans, lacks,
   states) · the table row · a vague intention · the section (下一步计划 / 存在的不足) — else a plain
   statement of fact.
3. **Read the sentence as a whole**, in order: "label：value" statements from their value
   (:mod:`.labels`) · the mode model where no word decided · mentions of one item agree (a name in
   parentheses, one party per sentence) · a next sentence that restricts the use · a sentence that says
   the data is not used · a paragraph continuing the previous one's unfinished sentence · facts dated
   after the document.
4. **Read the document as a whole**: a paragraph opening with "the data is not used" takes back the
   previous paragraph's facts; a contract without an acceptance record states plans.

Offsets in a Mention point into ``block.text`` of the original document, so
``block.text[start:end] == matched`` always; a mention carries its sentence (and its table row), so
scoring never reads a document.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace

from ..catalogue import Catalogue
from ..models import Block, Document, Mention, Quantity, Reading
from .context import ContextRules, Cue
from .fuzzy import FuzzyMatcher
from .keywords import KeywordSet, Pattern
from .labels import Label, LabelReader
from .matcher import Hit, Matcher
from .reading import Decision, from_cue
from .normalize import NormText, normalize, normalize_key
from .quantities import QuantityFinder
from .segment import Sentence, sentence_index, sentences
from .topics import ModeModel
from .tables import Tables

OCR_SLIP_FACTOR = 0.85  # confidence of a term that needed an OCR correction
KEYWORD_MODE_CONFIDENCE = 0.85  # the mode model overrules a keyword's default reading only when this sure
KEYWORD_MODE_MIN_CHARS = 10  # … and on a clause at least this long
MODEL_MIN_CHARS = 8  # shorter sentences ("ERP：用友U8") say too little for the model; keywords read them
FUZZY_FACTOR = 0.8  # confidence of a rapidfuzz match, times its similarity
_NO_STATEMENT_KINDS = {"heading": "标题", "header": "页眉", "footer": "页脚"}
_CELL_KINDS = ("table_cell", "sheet_cell")
# the reading took the row's answer (| … | 是 | …说明… |)
_ANSWER_REASONS = frozenset({"form_answer", "table_row", "label_answer"})
_SENTENCE_END = "。！？；.!?;：:”」』）)"
_LACK_ONLY = frozenset({"negated"})


# A short numbered line without sentence punctuation ("五、经济社会效益", "（三）下一步计划"): a heading
# that extraction or OCR did not mark as one.
_HEADING_LIKE = re.compile(r"^\s*(?:第[一二三四五六七八九十]+[章节部分]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]"
                           r"|\d+(?:\.\d+)*[、.．\s])[^。；;！!？?，,]{1,28}$")


# The date of a document: a full date (落款 2025年3月20日, 验收日期) or a cover date in Chinese numerals
# (二〇二五年三月), not a deadline (2023年4月15日前).
_FULL_DATE = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*\d{1,2}\s*日(?!\s*[前以之])")
_CN_DATE = re.compile(r"二[〇零○O][一二三四五六七八九〇零○O]{2}\s*年\s*(十[一二]?|[一二三四五六七八九])\s*月")
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNTIL = re.compile(r"[至到止][:：]?\s*$")
DATE_BLOCKS = (15, 30)  # a document's own date is on its cover or at its end (落款), not in a quoted policy
# A year (and month) in normalised text that is not the end of a range ("2021年至2026年").
_YEAR_MONTH = re.compile(r"(?<![至到\-~—])(20\d\d)年(?:(\d{1,2})月)?")


def _cn_date(m: re.Match[str]) -> tuple[int, int]:
    year = int("".join(str(_CN_DIGITS[c]) for c in m.group()[:4]))
    month = m.group(1)
    return year, (10 + (_CN_DIGITS[month[1]] if len(month) > 1 else 0)) if month.startswith("十") else _CN_DIGITS[month]


def document_date(doc: Document) -> tuple[int, int] | None:
    """(year, month) of the latest date on the cover or at the end of the document, or None."""
    head, tail = DATE_BLOCKS
    blocks = doc.blocks if len(doc.blocks) <= head + tail else doc.blocks[:head] + doc.blocks[-tail:]
    latest: tuple[int, int] | None = None
    for block in blocks:
        if "年" not in block.text:
            continue
        found = [(int(m.group(1)), int(m.group(2))) for m in _FULL_DATE.finditer(block.text)
                 if not _UNTIL.search(block.text[max(0, m.start() - 4):m.start()])]  # 有效期至 2026年…
        found += [_cn_date(m) for m in _CN_DATE.finditer(block.text)]
        for when in found:
            if 1 <= when[1] <= 12 and (latest is None or when > latest):
                latest = when
    return latest


def _answer(polarity: str, reason: str, words: str) -> Decision:
    """The reading an answer word gives (是 / 否 / 建设中 / 不涉及)."""
    mode = {"implemented": "achieved", "planned": "under_construction", "negated": "lacking"}.get(polarity)
    if mode is None:
        return Decision("not_applicable", reason, words, "self")  # type: ignore[arg-type]
    return Decision(mode, reason, words)  # type: ignore[arg-type]


def _reread(m: Mention, decision: Decision) -> Mention:
    """A mention read again by a pass that sees more than its block."""
    return m.model_copy(update={"polarity": decision.polarity, "reading": Reading(
        actor=decision.actor, mode=decision.mode, reason=decision.reason, words=decision.words)})


def _looks_like_heading(text: str) -> bool:
    return len(text) <= 32 and _HEADING_LIKE.match(text) is not None


# A "heading" that holds clauses is a statement whose numbered first line PDF extraction took for a heading
# ("（一）2025年9月前完成MES在敷料车间上线，实现电子批生产记录，2026").
_CLAUSE_MARKS = re.compile(r"[，,；;。：:]")
STATEMENT_HEADING_MIN = 20

# Numbering levels of headings: 一、 > （一） > 1. > （1）. A sub-heading under a plan section stays in it.
_LEVELS = (
    (1, re.compile(r"^\s*(?:第[一二三四五六七八九十]+[章节部分]|[一二三四五六七八九十]+[、.．])")),
    (2, re.compile(r"^\s*[（(][一二三四五六七八九十]+[)）]")),
    (3, re.compile(r"^\s*\d+(?:\.\d+)*[、.．\s]")),
    (4, re.compile(r"^\s*[（(]\d+[)）]")),
)


def heading_level(text: str) -> int | None:
    for level, rx in _LEVELS:
        if rx.match(text):
            return level
    return None


def _statement_kind(block: Block) -> str:
    """The block's kind, with a clause-holding "heading" read as the paragraph it is."""
    if block.kind == "heading" and len(block.text) > STATEMENT_HEADING_MIN and _CLAUSE_MARKS.search(block.text):
        return "paragraph"
    return block.kind


class _Sections:
    """The headings in force: numbered sub-headings nest under their parent (六、下一步工作计划 › （一）…),
    an unnumbered heading starts afresh. ``text`` joins them, so a plan word anywhere governs."""

    def __init__(self) -> None:
        self.stack: list[tuple[int | None, str]] = []

    def enter(self, text: str) -> None:
        level = heading_level(text)
        if level is None:
            self.stack = []
        else:
            while self.stack and (self.stack[-1][0] is None or self.stack[-1][0] >= level):
                self.stack.pop()
        self.stack.append((level, normalize_key(text)))

    def clear(self) -> None:
        self.stack = []

    @property
    def text(self) -> str | None:
        return " ".join(t for _, t in self.stack) if self.stack else None


@dataclass(frozen=True)
class _At:
    """What the passes of the reading see of one mention."""

    block: Block
    nt: NormText
    sent: Sentence
    cues: list[Cue]
    f: _Found
    heading: str | None
    entity_here: bool
    copies: dict[tuple[int, int, bool], str | None]
    tables: Tables
    row_cache: dict[tuple, Decision | None]
    terms: list[tuple[int, int]]


@dataclass
class _Found:
    item_id: str
    term: str
    kind: str
    confidence: float
    start: int  # normalised
    end: int
    quantity: Quantity | None = None
    only_when: frozenset[str] | None = None
    parts: tuple[tuple[int, int], ...] = ()  # the words a pattern mention is made of
    others_of: frozenset[str] = frozenset()  # items whose terms inside this pattern mention are the other party's
    claims: frozenset[str] = frozenset()  # items whose terms inside this pattern mention are only its tool


class EvidenceFinder:
    # A bound on one item's mentions in one document, so that a huge or hostile text (20 MB of repeated
    # paragraphs) keeps the evidence stage's memory bounded: real applications have at most a few dozen per
    # item (37 in the longest sample), and the rules count no further than a handful.
    MAX_MENTIONS_PER_ITEM = 1000

    def __init__(self, keywords: KeywordSet, catalogue: Catalogue):
        self.keywords = keywords
        contracts = keywords.context.contracts
        self.contract_title = re.compile("|".join(re.escape(w) for w in contracts.title_words)) if contracts.title_words else None
        self.contract_parties = tuple(contracts.party_words)
        self.contract_title_blocks = contracts.title_blocks
        self.contract_accepted = [re.compile(p) for p in contracts.accepted]
        spec = keywords.context
        self.restriction_openers = tuple(normalize_key(w) for w in spec.restriction_openers)
        words = "|".join(re.escape(normalize_key(w)) for w in spec.restriction_words)
        self.restriction = re.compile(words) if words else None
        self.non_use = re.compile("|".join(f"(?:{p})" for p in spec.non_use)) if spec.non_use else None
        self.answered_row = spec.answered_row
        self.matcher = Matcher(keywords)
        self.fuzzy = FuzzyMatcher(keywords, self.matcher)
        self.context = ContextRules(keywords, catalogue)
        self.labels = LabelReader(keywords.context.labels)
        self.quantities = QuantityFinder(keywords)
        self.topics = keywords.topics
        self._modes: dict[str, tuple[str, float]] = {}
        self.item_names = {item.id: f"描述：{item.name}" for item in catalogue.items}
        self.confusions = [(normalize_key(c.ocr), normalize_key(c.correct)) for c in keywords.confusions]
        self.by_word: dict[str, list[Pattern]] = defaultdict(list)
        self.by_item: dict[str, list[Pattern]] = defaultdict(list)
        for pattern in keywords.patterns:
            for group in pattern.groups:
                for word in group.words:
                    if pattern not in self.by_word[word]:
                        self.by_word[word].append(pattern)
                for item in group.items:
                    if pattern not in self.by_item[item]:
                        self.by_item[item].append(pattern)

    # ------------------------------------------------------------------ documents
    def document(self, doc: Document, capped: set[str] | None = None) -> list[Mention]:
        """The mentions of one document; the items whose mentions were cut at :attr:`MAX_MENTIONS_PER_ITEM`
        are added to ``capped``."""
        tables = Tables(doc, self.keywords.quantities.table_columns)
        per_item: dict[str, int] = defaultdict(int)
        dated = document_date(doc)
        row_cache: dict[tuple, Decision | None] = {}
        sections = _Sections()
        page: int | None = None
        carried: Decision | None = None
        previous: int | None = None  # where the mentions of the last paragraph start in ``out``
        out: list[Mention] = []
        unaccepted = self._unaccepted_contract(doc)
        hints: dict[str, tuple[float, Mention]] = {}
        for block in doc.blocks:
            if block.kind in _NO_STATEMENT_KINDS and block.kind != "heading":
                out.extend(self._within_bound(self._block(doc, block, sections.text, tables, row_cache, dated),
                                              per_item, capped))
                continue  # a running header or footer between two halves of a sentence changes nothing
            if block.source == "ocr" and block.page != page:
                sections.clear()  # OCR finds no headings: the section of a scanned page is unknown
            page = block.page
            kind = _statement_kind(block)
            if kind != block.kind:
                block = block.model_copy(update={"kind": kind})
            found = self._block(doc, block, sections.text, tables, row_cache, dated,
                                carried if block.kind == "paragraph" else None, hints)
            unused = self.unused_in_opening(block, found)
            if unused and previous is not None:
                # "4台激光切割机已通过柏楚云平台联网，能看到每台设备的运行状态。" | "柏楚云上能看到稼动率，但我们还没有
                # 把这些数据用到设备管理上，……点检还是纸质的": seeing the data is not managing the equipment
                out[previous:] = [_reread(m, Decision("lacking", "data_not_used", m.reading.words))
                                  if m.item_id in unused and m.polarity == "implemented" else m for m in out[previous:]]
            previous = len(out) if block.kind == "paragraph" else None  # a heading or table between: another topic
            out.extend(self._within_bound(found, per_item, capped))
            carried = self._open_tail(block)
            if block.kind == "heading" or (block.kind not in _CELL_KINDS and _looks_like_heading(block.text)):
                sections.enter(block.text)
        if unaccepted:
            # "乙方为甲方敷料车间实施制造执行系统": a contract states what is to be done; only an acceptance
            # record ("于2022年12月6日通过…最终验收") says it was done
            out = [_reread(m, Decision("planned", "contract_unaccepted", m.reading.words))
                   if m.polarity == "implemented" else m for m in out]
        spoken = {m.item_id for m in out}
        out.extend(m for item_id, (_, m) in sorted(hints.items()) if item_id not in spoken)
        return out

    def _within_bound(self, found: list[Mention], per_item: dict[str, int], capped: set[str] | None) -> list[Mention]:
        kept = []
        for m in found:
            if per_item[m.item_id] < self.MAX_MENTIONS_PER_ITEM:
                per_item[m.item_id] += 1
                kept.append(m)
            elif capped is not None:
                capped.add(m.item_id)
        return kept

    def _unaccepted_contract(self, doc: Document) -> bool:
        """A contract or agreement (title word near the top, both parties named) without an acceptance record."""
        if self.contract_title is None:
            return False
        head = [b for b in doc.blocks if b.kind not in ("header", "footer")][: self.contract_title_blocks]
        if not any(self.contract_title.search(b.text) for b in head):
            return False
        text = "\n".join(b.text for b in doc.blocks)
        if not all(p in text for p in self.contract_parties):
            return False
        return not any(rx.search(text) for rx in self.contract_accepted)

    def _open_tail(self, block: Block) -> Decision | None:
        """What the last, unfinished sentence of a paragraph says when the paragraph breaks off mid-sentence
        (a page break in a PDF: "…，计划2025年底前完成78台设备的数据采集，" | "逐步开展设备稼动率分析。");
        the first sentence of the next paragraph continues it."""
        text = block.text.rstrip()
        if block.kind != "paragraph" or not text or text[-1] in _SENTENCE_END:
            return None
        nt = normalize(text)
        sents = sentences(nt)
        if not sents:
            return None
        tail = sents[-1]
        hits, _ = self.matcher.scan(nt)
        masks = [(h.start, h.end) for h in hits if h.start < tail.end and tail.start < h.end]
        cues = [c for c in self.context.sentence_cues(nt.text, tail, masks) if c.kind not in ("present", "generic")]
        if not cues:
            return None
        last = max(cues, key=lambda c: c.end)
        return from_cue(last.kind, "continues_previous", last.text)

    def _ocr_text(self, nt: NormText) -> tuple[NormText, set[int]]:
        """Apply the OCR confusion table (same-length replacements keep the offset map)."""
        text = nt.text
        fixed: set[int] = set()
        for wrong, right in self.confusions:
            pos = text.find(wrong)
            while pos != -1:
                text = text[:pos] + right + text[pos + len(wrong) :]
                fixed.update(range(pos, pos + len(wrong)))
                pos = text.find(wrong, pos + len(right))
        return (replace(nt, text=text) if fixed else nt), fixed

    def _block(self, doc: Document, block: Block, heading: str | None, tables: Tables,
               row_cache: dict[tuple, Decision | None], dated: tuple[int, int] | None,
               carried: Decision | None = None, hints: dict[str, tuple[float, Mention]] | None = None) -> list[Mention]:
        if not block.text.strip():
            return []
        nt = normalize(block.text)
        ocr = block.source == "ocr"
        fixed: set[int] = set()
        if ocr:
            nt, fixed = self._ocr_text(nt)
        hits, words = self.matcher.scan(nt)
        fuzzy_hits = self.fuzzy.scan(nt, hits)
        outcomes = self.quantities.scan(nt.text)
        if not outcomes and block.kind in _CELL_KINDS and not tables.is_header(block) and tables.role(block) is None:
            outcomes = self.quantities.row_outcomes(nt.text, lambda: tables.other_cells(block), tables.roles_of(block))
        worded = self.quantities.scan_words(nt.text, outcomes)
        modelled = self.topics is not None and block.kind not in _NO_STATEMENT_KINDS
        if not hits and not words and not fuzzy_hits and not outcomes and not worded and not modelled:
            return []
        found: list[_Found] = []
        for hit in hits:
            entry = hit.info.term
            assert entry is not None
            kind, conf = entry.kind, entry.confidence
            if fixed and any(p in fixed for p in range(hit.start, hit.end)):
                kind, conf = "fuzzy", round(conf * OCR_SLIP_FACTOR, 3)
            found.append(_Found(entry.item_id, entry.canonical, kind, conf, hit.start, hit.end))
        for hit, score in fuzzy_hits:
            entry = hit.info.term
            assert entry is not None
            found.append(_Found(entry.item_id, entry.canonical, "fuzzy", round(entry.confidence * FUZZY_FACTOR * score, 3),
                                hit.start, hit.end))
        for outcome in outcomes:
            found.append(_Found(outcome.indicator.item_id, outcome.indicator.canonical, "quantity", 0.9,
                                outcome.start, outcome.end, quantity=outcome.quantity))
        for said in worded:
            found.append(_Found(said.indicator.item_id, said.indicator.canonical, "cue", said.confidence,
                                said.start, said.end))
        sents = sentences(nt)
        starts = [sent.start for sent in sents]
        all_term_hits = hits + [h for h, _ in fuzzy_hits]
        found.extend(self._patterns(nt, sents, starts, all_term_hits, words))
        near: dict[str, tuple[float, _Found]] = {}
        if modelled:
            found.extend(self._described(nt, sents, found, near if hints is not None else None))
        if near and hints is not None:
            for item_id, (share, f) in near.items():
                if share > hints.get(item_id, (0.0, None))[0]:
                    hints[item_id] = (share, self._hint(doc, block, nt, sents, starts, f, ocr))
        if not found:
            return []
        # Cue words inside a matched term are not cues (企业资源计划, 无线网络); pattern words mask
        # cues only for their own pattern mention (未发生安全事故), not for the rest of the sentence.
        masks = sorted({(h.start, h.end) for h in all_term_hits})
        cue_cache: dict[int, list[Cue]] = {}
        copies: dict[tuple[int, int, bool], str | None] = {}
        entity_starts = [h.start for h in hits if h.info.term is not None and h.info.term.kind == "entity"]
        labels: dict[int, Label | None] = {}
        decided: list[tuple[_Found, Sentence, Decision]] = []
        pending: list[tuple[int, Label, list[Cue]]] = []  # label mentions, decided from their value below
        def cues_of(sent: Sentence) -> list[Cue]:
            if sent.start not in cue_cache:
                local = [m for m in masks if m[0] < sent.end and sent.start < m[1]]
                cue_cache[sent.start] = self.context.sentence_cues(nt.text, sent, local)
            return cue_cache[sent.start]

        for f in found:
            index = sentence_index(starts, f.start)
            sent = sents[index]
            cues_of(sent)
            if sent.start not in labels:
                following = sents[index + 1] if index + 1 < len(sents) else None
                labels[sent.start] = self.labels.find(nt.text, sent, following)
            entity_here = any(sent.start <= p < sent.end for p in entity_starts)
            cues = cue_cache[sent.start]
            if f.parts and f.only_when != _LACK_ONLY:
                # a pattern that speaks only of a lack ("安全检查仍靠纸质…") keeps the lack its own words state
                cues = [c for c in cues if not any(c.start < b and a < c.end for a, b in f.parts)]
            label = labels[sent.start]
            if label is not None and label.holds(f.start, f.end):
                own = [c for c in cues if label.start <= c.start and c.end <= label.colon and c.kind != "present"]
                if label.question or not own:
                    value_cues = [c for c in cues_of(label.value_sentence) if c.start >= label.value]
                    if label.question:
                        cues = value_cues  # 是否**采用**… is the question's verb
                    pending.append((len(decided), label, value_cues))
            decision = self._polarity(block, nt, sent, cues, f, heading, entity_here, copies, tables, row_cache, masks)
            decided.append((f, sent, decision))
        for index, label, cues in pending:
            f, sent, decision = decided[index]
            decided[index] = (f, sent, self._label_polarity(nt, sent, label, cues, f, decision, decided, heading))
        if block.kind in _CELL_KINDS and self.labels.restates(tables.header_of(block)):
            decided = self._criterion_cell(decided)
        if self.topics is not None and self.topics.modes is not None:
            decided = [(f, sent, self._described_mode(nt, sent, f, d)) for f, sent, d in decided]
        if len(decided) > 1:
            decided = self._agree(nt.text, decided)
            decided = self._restricted(nt.text, sents, decided)
            decided = self._unused(nt.text, sents, decided)
        decided = self._joined(nt.text, decided, cue_cache)
        if carried is not None and sents:
            first = sents[0]  # continues the previous paragraph's unfinished sentence
            decided = [(f, s, carried if s.start == first.start and d.reason == "plain_statement" else d)
                       for f, s, d in decided]
        if dated is not None and ("年" in nt.text or block.kind in _CELL_KINDS):
            row = " ".join(t for role, t in tables.other_cells(block) if role != "before") if block.kind in _CELL_KINDS else ""
            decided = [(f, sent, self._after_date(nt.text, sent, labels.get(sent.start), f, d, dated, row))
                       for f, sent, d in decided]
        out: list[Mention] = []
        cells = tables.row_of(block) if block.kind in _CELL_KINDS and block.row is not None else []
        row = " ".join(c.text for c in cells) if cells else None
        row_id = f"{block.table}/{block.sheet}/{block.row}" if cells else None
        described_row = self._described_row(block, tables)
        for f, sent, decision in decided:
            if f.only_when is not None and decision.polarity not in f.only_when:
                continue
            start, end = nt.span(f.start, f.end)
            s_start, s_end = nt.span(sent.start, sent.end)
            quantity = f.quantity.model_copy(update={"text": block.text[start:end]}) if f.quantity else None
            out.append(
                Mention(
                    item_id=f.item_id, term=f.term, matched=block.text[start:end], kind=f.kind,  # type: ignore[arg-type]
                    polarity=decision.polarity,
                    confidence=max(f.confidence, self.answered_row.confidence)
                    if described_row and f.kind == "term" and decision.reason in _ANSWER_REASONS
                    and f.item_id not in self.answered_row.not_items else f.confidence,
                    reading=Reading(actor=decision.actor, mode=decision.mode, reason=decision.reason,
                                    words=decision.words),
                    file=doc.path, sha256=doc.sha256, page=block.page, block=block.index, block_kind=block.kind,
                    start=start, end=end, sentence=block.text[s_start:s_end], sentence_start=s_start, sentence_end=s_end,
                    in_table=block.kind in ("table_cell", "sheet_cell"), row_id=row_id, row=row, ocr=ocr,
                    quantity=quantity,
                )
            )
        return out

    def _described_row(self, block: Block, tables: Tables) -> bool:
        """A table row with another cell that says something (a 情况说明), so its answer is a claim, not a tick."""
        if not self.answered_row.confidence or block.kind not in _CELL_KINDS:
            return False
        return any(len(text) >= self.answered_row.min_chars for _, text in tables.other_cells(block))

    @staticmethod
    def _after_date(text: str, sent: Sentence, label: Label | None, f: _Found, decision: Decision,
                    dated: tuple[int, int], row: str = "") -> Decision:
        """A fact dated after the document itself is a plan ("● 2026年：试点APS排产" in an application
        signed in 2025; a system-list row whose 上线时间 is 2026年6月), unless it is stated with 已."""
        if decision.polarity != "implemented" or decision.explicit:
            return decision
        lo, hi = sent.clause(f.start)
        spans = [(text, lo, hi)]
        if label is not None and not label.question and label.value_sentence is sent and label.colon < f.start:
            spans.append((text, label.start, label.colon))  # a date label heads its fragment: "2026年：…"
        if row:
            spans.append((row, 0, len(row)))
        for source, a, b in spans:
            for m in _YEAR_MONTH.finditer(source, a, b):
                when = (int(m.group(1)), int(m.group(2)) if m.group(2) else 0)
                if when[0] > dated[0] or (when[1] and when > dated):
                    return Decision("planned", "dated_after_document", m.group())
        return decision

    def _unused(self, text: str, sents: list[Sentence], decided: list[tuple[_Found, Sentence, Decision]]
                ) -> list[tuple[_Found, Sentence, Decision]]:
        """"柏楚云上能看到稼动率，但我们还没有把这些数据用到设备管理上，设备台账、点检还是纸质的": a sentence that
        says the data is not used takes back the facts of the items it states as lacking — in its own clauses
        before the statement and in the previous sentence (the previous paragraph: :meth:`document`)."""
        if self.non_use is None:
            return decided
        taken: dict[int, tuple[int, dict[str, Decision]]] = {}  # sentence start → (up to, item → the lack)
        for index, sent in enumerate(sents):
            m = self.non_use.search(text, sent.start, sent.end)
            if m is None:
                continue
            lacks = {f.item_id: d for f, s, d in decided if s.start == sent.start and d.polarity == "negated"}
            if not lacks:
                continue
            taken[sent.start] = (m.start(), lacks)
            if index > 0:
                taken.setdefault(sents[index - 1].start, (sents[index - 1].end, lacks))
        if not taken:
            return decided
        out = []
        for f, sent, decision in decided:
            up_to, lacks = taken.get(sent.start, (0, {}))
            lack = lacks.get(f.item_id)
            if lack is not None and decision.polarity == "implemented" and f.end <= up_to:
                decision = Decision("lacking", "data_not_used", lack.words)
            out.append((f, sent, decision))
        return out

    def unused_in_opening(self, block: Block, mentions: list[Mention]) -> set[str]:
        """Items a paragraph's first sentence states as lacking while it says the data is not used
        (its facts in the paragraph before are taken back by :meth:`document`)."""
        if self.non_use is None or block.kind != "paragraph" or not mentions:
            return set()
        opening = len(block.text) - len(block.text.lstrip())
        first = [m for m in mentions if m.sentence_start <= opening]
        if not first or not self.non_use.search(normalize_key(first[0].sentence)):
            return set()
        return {m.item_id for m in first if m.polarity == "negated"}

    def _restricted(self, text: str, sents: list[Sentence], decided: list[tuple[_Found, Sentence, Decision]]
                    ) -> list[tuple[_Found, Sentence, Decision]]:
        """"X的运行数据已接入云平台。但这个平台我们只用来做温度报警，设备台账、点检仍是纸质记录。": a sentence
        that opens with a contrast and restricts the use of what the previous sentence set up takes back that
        sentence's facts for the items it states as lacking."""
        if self.restriction is None or not self.restriction_openers:
            return decided
        taken: dict[int, dict[str, Decision]] = {}  # previous sentence start → item → the lack
        for index, sent in enumerate(sents[1:], 1):
            if not text.startswith(self.restriction_openers, sent.start) or not self.restriction.search(text, sent.start, sent.end):
                continue
            lacks = {f.item_id: d for f, s, d in decided if s.start == sent.start and d.polarity == "negated"}
            if lacks:
                taken[sents[index - 1].start] = lacks
        if not taken:
            return decided
        out = []
        for f, sent, decision in decided:
            lack = taken.get(sent.start, {}).get(f.item_id)
            if lack is not None and decision.polarity == "implemented":
                decision = Decision("lacking", "use_restricted", lack.words)
            out.append((f, sent, decision))
        return out

    @staticmethod
    def _criterion_cell(decided: list[tuple[_Found, Sentence, Decision]]) -> list[tuple[_Found, Sentence, Decision]]:
        """| MES、ERP与PLM、SCM、CRM等系统之间数据互换 | 已实现 |: in the criterion column the answer is about the
        row's criterion (the items whose wording the cell restates), not about every system the wording names."""
        row_items = {f.item_id for f, _, d in decided if d.reason == "criterion_column"}
        if not row_items:
            return decided
        return [(f, s, Decision("restated", "criterion_column", None)
                 if f.kind == "term" and d.reason == "form_answer" and f.item_id not in row_items else d)
                for f, s, d in decided]

    # readings that give a mention to another party or to nobody on account of that party
    _PARTY_REASONS = frozenset({"other_party", "same_party", "general_word", "party_has_self_lacks"})

    def _joined(self, text: str, decided: list[tuple[_Found, Sentence, Decision]], cues: dict[int, list[Cue]]
                ) -> list[tuple[_Found, Sentence, Decision]]:
        """A collaboration item on another party's platform where this enterprise works on it (see
        :meth:`.parties.PartyReader.joins`), in a sentence that states no lack or plan."""
        parties = self.context.parties
        if not parties.participation_items:
            return decided
        out = []
        for f, sent, decision in decided:
            if decision.actor != "self" and decision.reason in self._PARTY_REASONS and not any(
                    c.kind in ("negated", "planned", "stage", "ceased", "pending") for c in cues.get(sent.start, ())):
                acts = parties.joins(f.item_id, text, sent.start, sent.end)
                if acts is not None:
                    decision = Decision("achieved", "joins_other_platform", acts)
            out.append((f, sent, decision))
        return out

    @staticmethod
    def _agree(text: str, decided: list[tuple[_Found, Sentence, Decision]]) -> list[tuple[_Found, Sentence, Decision]]:
        """Mentions of one item that belong together read alike:

        - a spelling in parentheses right after a term of the same item is that term's second name
          ("主机厂的供应商协同平台（SRM）": SRM is the customer's platform too);
        - where one mention of an item is another party's, the item's plain mentions (no cue of their
          own) in the same sentence are that party's as well ("旗舰店由集团电商公司统一运营，…也通过
          集团电商渠道销售");
        - a term inside a pattern mention that names another party's platform (``others_of``) is that
          party's ("成为盒马鲜生的供应商，通过盒马供应商平台接收订单": the customer's SRM, not ours);
        - a term inside a pattern mention that names what the tool is used for (``claims``) is only that tool
          ("开发了订单农业微信小程序，14家合作社和3860户农户都在上面": the app organises suppliers, 2.2.4 — it is
          no 2.2.1 sales channel)."""
        by_end = {(f.item_id, f.end): d for f, _, d in decided}
        others = {(s.start, f.item_id): d for f, s, d in decided if d.actor == "other"}
        joined = [(f, s) for f, s, _ in decided if f.others_of]
        used = [(f, s) for f, s, d in decided if f.claims and d.polarity in ("implemented", "planned")]
        out = []
        for f, sent, decision in decided:
            owner = next((p for p, s in joined if s.start == sent.start and f.item_id in p.others_of
                          and p.start <= f.start and f.end <= p.end), None) if joined else None
            tool = next((p for p, s in used if s.start == sent.start and f.item_id in p.claims
                         and p.start <= f.start and f.end <= p.end), None) if used else None
            if owner is not None and decision.polarity in ("implemented", "planned"):
                decision = Decision(decision.mode, "same_party", owner.term, "other")
            elif tool is not None and decision.polarity in ("implemented", "planned"):
                decision = Decision("general", "tool_for", tool.term, "nobody")
            elif f.start > 0 and text[f.start - 1] == "(" and (f.item_id, f.start - 1) in by_end:
                decision = by_end[(f.item_id, f.start - 1)].because("second_name")
            elif decision.reason == "plain_statement" and (sent.start, f.item_id) in others:
                decision = others[(sent.start, f.item_id)].because("same_party")
            out.append((f, sent, decision))
        return out

    def _label_polarity(self, nt: NormText, sent: Sentence, label: Label, cues: list[Cue], f: _Found, decision: Decision,
                        decided: list[tuple[_Found, Sentence, Decision]], heading: str | None) -> Decision:
        """A mention inside a "label：value" statement takes its polarity from the value (see :mod:`.labels`);
        ``cues`` are the value's."""
        if decision.reason == "not_a_statement":
            return decision
        found = self.labels.answer(nt.text, label)
        value = label.value_sentence
        if found is not None:
            kind, word = found
            result = _answer(kind, "label_answer", word)
        else:
            lo, hi = value.clause(label.value) if label.value < value.end else (value.end, value.end)
            first = [c for c in cues if lo <= c.start and c.end <= hi]
            answered = self.context.decide_clause(first, label.value)
            if answered is not None:
                result = answered.because("label_answer")
            else:
                same = [d for g, s, d in decided if s.start == value.start and g.item_id == f.item_id
                        and g.start >= label.value]
                if same:
                    result = same[0]
                elif label.question:
                    # a question without a readable answer states nothing
                    result = Decision("general", "question_unanswered", None, "nobody")
                else:
                    return decision
        if result.polarity == "negated":
            # "是否建立MES：否，计划2026年引入" — a stated lack with a concrete plan for the same topic
            later = [c for c in cues if c.kind in ("planned", "stage") and c.start >= label.value]
            if later:
                return from_cue(later[0].kind, "lack_with_dated_plan", later[0].text)
        plan = self.context.heading_is_plan(heading)
        if plan and result.polarity == "implemented" and not result.explicit:
            return Decision("planned", "plan_section", plan)
        return result

    # ------------------------------------------------------------------ polarity
    def _polarity(self, block: Block, nt: NormText, sent: Sentence, cues: list[Cue], f: _Found, heading: str | None,
                  entity_here: bool, copies: dict[tuple[int, int, bool], str | None], tables: Tables,
                  row_cache: dict[tuple, Decision | None], terms: list[tuple[int, int]]) -> Decision:
        """The reading of one mention: the first of :attr:`PASSES` that decides, else a plain statement."""
        at = _At(block, nt, sent, cues, f, heading, entity_here, copies, tables, row_cache, terms)
        for reading_pass in self.PASSES:
            decision = reading_pass(self, at)
            if decision is not None:
                return decision
        return Decision("achieved", "plain_statement")

    # The passes of the clause reading, in order; each looks at one thing and decides, or passes (None).
    def _not_a_statement(self, at: _At) -> Decision | None:
        """Headings, running headers and footers name topics; they state nothing."""
        if at.block.kind in _NO_STATEMENT_KINDS:
            return Decision("general", "not_a_statement", None, "nobody")
        return None

    def _count_column(self, at: _At) -> Decision | None:
        """| 其中NB-IoT | 2300 | 3900 |: the header of a column of figures names what is counted."""
        if at.block.kind in _CELL_KINDS and at.tables.numeric_column(at.block):
            return Decision("general", "count_column", None, "nobody")
        return None

    def _form_answer(self, at: _At) -> Decision | None:
        """A self-assessment table (| 建立制造执行系统（MES）… | 否 |): the answer column decides; the criterion
        column is meant to restate the criterion; a mention its own sentence gives to another party stays so."""
        block, tables, row_cache = at.block, at.tables, at.row_cache
        if block.kind not in _CELL_KINDS or tables.is_header(block):
            return None
        key = ("answer", block.index)
        if key not in row_cache:
            row_cache[key] = None
            for cell in tables.row_of(block):
                header = tables.header_of(cell)
                if cell.index != block.index and header is not None and self.labels.asks(header):
                    kind = self.labels.answer_word(tables.normalised(cell))
                    if kind is not None:
                        row_cache[key] = _answer(kind, "form_answer", cell.text.strip())
                        break
        answer = row_cache[key]
        if answer is None:
            return None
        if at.f.kind in ("cue", "model") and self.labels.restates(tables.header_of(block)):
            # "建立PLM和BOM系统，实现……数据集成管理" in the 评价内容 column: a co-occurrence made of the criterion's
            # own words is its wording, not a fact the answer confirms
            return Decision("restated", "criterion_column", None)
        own = self.context.decide(at.sent, at.cues, at.f.start, at.f.end, at.nt.text, at.terms)
        return own if own is not None and own.polarity == "generic" else answer

    def _organisation_name(self, at: _At) -> Decision | None:
        """"滇纺电子商务有限公司": a name says what a company is called, not what this enterprise does."""
        if at.f.kind in ("term", "fuzzy") and self.context.in_name(at.nt.text, at.f.end):
            return Decision("general", "organisation_name", None, "nobody")
        return None

    def _criteria_copied(self, at: _At) -> Decision | None:
        """The clause (with a neighbour) nearly copies a criterion's text (see :mod:`.restate`)."""
        sent, nt = at.sent, at.nt
        c_lo, c_hi = sent.clause(at.f.start)
        copy_key = (sent.start, c_lo, at.entity_here)
        if copy_key not in at.copies:
            prev_lo = sent.clause(c_lo - 1)[0] if c_lo > sent.start else c_lo
            next_hi = sent.clause(c_hi)[1] if c_hi < sent.end else c_hi
            windows = [nt.text[c_lo:c_hi], nt.text[prev_lo:c_hi], nt.text[c_lo:next_hi]]
            at.copies[copy_key] = self.context.restater.copied(nt.text[sent.start:sent.end], windows,
                                                               names_entity=at.entity_here)
        source = at.copies[copy_key]
        return Decision("restated", "criteria_copied", source) if source is not None else None

    def _clause_words(self, at: _At) -> Decision | None:
        """The words of the mention's clause and sentence (:meth:`ContextRules.decide`: who, and in what state);
        under a plan heading a completion without 已 is a plan, under a shortcomings heading 目前 only dates it."""
        decision = self.context.decide(at.sent, at.cues, at.f.start, at.f.end, at.nt.text, at.terms)
        if decision is None:
            return None
        plan = self.context.heading_is_plan(at.heading)
        if plan and decision.polarity == "implemented" and not decision.explicit:
            return Decision("planned", "plan_section", plan)
        lack = self.context.heading_is_lack(at.heading)
        if lack and decision.mode == "in_use" and decision.reason in ("clause_word", "neighbour_word"):
            return Decision("general", "shortcomings_section", lack, "nobody")
        return decision

    def _table_row(self, at: _At) -> Decision | None:
        """| MES系统 | 鼎捷 | 2022年6月 | 已上线 |: the other cells of the row and their column headers."""
        block = at.block
        if block.kind not in _CELL_KINDS:
            return None
        key = (block.index, block.row)
        if key not in at.row_cache:
            cells, headers = at.tables.context_cells(block)
            at.row_cache[key] = self.context.row_polarity(cells, headers) if cells or headers else None
        return at.row_cache[key]

    def _vague_intention(self, at: _At) -> Decision | None:
        """"上生产管理系统，要等ERP用顺了以后再考虑" (under 下一步 or not): an open intention is still a lack."""
        vague = self.context.vague(at.nt.text, at.sent, at.f.start)
        return Decision("lacking", "vague_intention", vague) if vague else None

    def _section(self, at: _At) -> Decision | None:
        """A plain statement under 下一步计划 is a plan; under 存在的不足 it proves nothing."""
        plan = self.context.heading_is_plan(at.heading)
        if plan:
            return Decision("planned", "plan_section", plan)
        lack = self.context.heading_is_lack(at.heading)
        return Decision("general", "shortcomings_section", lack, "nobody") if lack else None

    PASSES = (_not_a_statement, _count_column, _form_answer, _organisation_name, _criteria_copied, _clause_words,
              _table_row, _vague_intention, _section)

    # ------------------------------------------------------------------ the learned second opinion
    def _described(self, nt: NormText, sents: list[Sentence], found: list[_Found],
                   hints: dict[str, tuple[float, _Found]] | None = None) -> list[_Found]:
        """Items a sentence describes without naming them (:mod:`.topics`): one mention per item over the
        sentence, where no keyword, pattern or outcome of that item stands in it. Sentences that may be
        about an item go into ``hints`` (the best one per item)."""
        assert self.topics is not None
        out: list[_Found] = []
        for sent in sents:
            lo, hi = sent.start, sent.end
            while hi > lo and nt.text[hi - 1] in _SENTENCE_END:
                hi -= 1
            if hi - lo < MODEL_MIN_CHARS:
                continue
            named = {f.item_id for f in found if lo <= f.start < sent.end}
            about, near = self.topics.topics_and_hints(nt.text[lo:hi], normalised=True)
            for item_id, probability in about:
                if item_id not in named:
                    out.append(_Found(item_id, self.item_names[item_id], "model", round(probability, 3), lo, hi))
            if hints is not None:
                for item_id, share in near:
                    if item_id not in named and share > hints.get(item_id, (0.0, None))[0]:
                        hints[item_id] = (share, _Found(item_id, self.item_names[item_id], "model", share, lo, hi))
        return out

    def _described_mode(self, nt: NormText, sent: Sentence, f: _Found, decision: Decision) -> Decision:
        """A mention the clause reading found no cue for ("冷库出入库现在是手工单据加Excel台账", "二是研究上线简易的
        报工系统"): the mode model says whether its words state it as achieved, planned or lacking — a described
        mention's whole sentence, a keyword's segment (up to 但/而: the other side may speak of something else),
        and for a keyword only when the model is quite sure."""
        modes = self.topics.modes if self.topics is not None else None
        if modes is None or decision.reason != "plain_statement" or f.kind == "quantity":
            return decision
        if f.kind == "model":
            text, needed = nt.text[f.start:f.end], modes.confidence
        else:
            lo, hi = sent.clause(f.start)
            if hi - lo < KEYWORD_MODE_MIN_CHARS:
                return decision  # a fragment ("MES系统送货计划") is too little to overrule a keyword's plain reading
            text, needed = nt.text[lo:hi], KEYWORD_MODE_CONFIDENCE
        mode, probability = self._mode_of(modes, self.context.without_pseudo(text))
        if mode != "implemented" and probability >= needed:
            return Decision("planned" if mode == "planned" else "lacking", "mode_model", f"{probability:.2f}")
        return decision

    def _hint(self, doc: Document, block: Block, nt: NormText, sents: list[Sentence], starts: list[int], f: _Found,
              ocr: bool) -> Mention:
        """A sentence that may be about an item (a weak score of the topic model): shown to the reviewer as a
        hint, never counted as evidence either way."""
        sent = sents[sentence_index(starts, f.start)]
        start, end = nt.span(f.start, f.end)
        s_start, s_end = nt.span(sent.start, sent.end)
        decision = Decision("general", "model_hint", f"{f.confidence:.2f}", "nobody")
        return Mention(item_id=f.item_id, term=f.term, matched=block.text[start:end], kind="model",
                       polarity=decision.polarity, confidence=f.confidence,
                       reading=Reading(actor=decision.actor, mode=decision.mode, reason=decision.reason,
                                       words=decision.words),
                       file=doc.path, sha256=doc.sha256, page=block.page, block=block.index, block_kind=block.kind,
                       start=start, end=end, sentence=block.text[s_start:s_end], sentence_start=s_start,
                       sentence_end=s_end, in_table=block.kind in _CELL_KINDS, ocr=ocr)

    def _mode_of(self, modes: ModeModel, text: str) -> tuple[str, float]:
        """The mode model's reading of a normalised text (several mentions share a segment: memoised)."""
        found = self._modes.get(text)
        if found is None:
            if len(self._modes) > 20_000:
                self._modes.clear()
            found = self._modes[text] = modes.mode(text, normalised=True)
        return found

    # ------------------------------------------------------------------ patterns
    def _patterns(self, nt: NormText, sents: list[Sentence], starts: list[int], term_hits: list[Hit],
                  words: list[Hit]) -> list[_Found]:
        if not self.keywords.patterns or (not words and not term_hits):
            return []
        grouped_terms: dict[int, list[Hit]] = defaultdict(list)
        grouped_words: dict[int, list[Hit]] = defaultdict(list)
        for h in term_hits:
            grouped_terms[sentence_index(starts, h.start)].append(h)
        for h in words:
            grouped_words[sentence_index(starts, h.start)].append(h)
        out: list[_Found] = []
        for n in sorted(set(grouped_terms) | set(grouped_words)):
            sent = sents[n]
            s_terms = grouped_terms.get(n, [])
            s_words = grouped_words.get(n, [])
            # keyed by identity: comparing the frozen dataclasses field by field is what made this slow
            by_id: dict[int, Pattern] = {}
            for h in s_words:
                for p in self.by_word.get(h.info.key, ()):
                    by_id.setdefault(id(p), p)
            for h in s_terms:
                assert h.info.term is not None
                for p in self.by_item.get(h.info.term.item_id, ()):
                    by_id.setdefault(id(p), p)
            candidates = list(by_id.values())
            for pattern in candidates:
                scopes = [(sent.start, sent.end)]
                if pattern.within == "clause":
                    scopes = sorted({sent.clause(h.start) for h in s_terms + s_words})
                for lo, hi in scopes:
                    parts = self._pattern_parts(nt, pattern, lo, hi, s_terms, s_words)
                    if parts:
                        out.append(_Found(pattern.item_id, pattern.name, "cue", pattern.confidence,
                                          min(a for a, _ in parts), max(b for _, b in parts),
                                          only_when=pattern.only_when, parts=parts, others_of=pattern.others_of,
                                          claims=pattern.claims))
                        break
        return out

    @staticmethod
    def _pattern_parts(nt: NormText, pattern: Pattern, lo: int, hi: int, terms: list[Hit],
                       words: list[Hit]) -> tuple[tuple[int, int], ...] | None:
        """The spans that satisfy every group of ``pattern`` within [lo, hi), or None."""
        parts: list[tuple[int, int]] = []
        for group in pattern.groups:
            matched: dict[str, tuple[int, int]] = {}
            for h in words:
                if lo <= h.start and h.end <= hi and h.info.key in group.words:
                    matched.setdefault(h.info.key, (h.start, h.end))
            for h in terms:
                if lo <= h.start and h.end <= hi:
                    entry = h.info.term
                    assert entry is not None
                    if entry.item_id in group.items:
                        matched.setdefault("item:" + entry.canonical, (h.start, h.end))
                    elif h.info.key in group.words:
                        matched.setdefault(h.info.key, (h.start, h.end))
            for rx in group.regexes:
                for m in rx.finditer(nt.text, lo, hi):
                    matched.setdefault("re:" + m.group(), (m.start(), m.end()))
            if len(matched) < group.min_distinct:
                return None
            parts.extend(sorted(matched.values())[: group.min_distinct])
        unless = pattern.unless
        if unless is not None and (any(w in nt.text[lo:hi] for w in unless.words)
                                   or any(rx.search(nt.text, lo, hi) for rx in unless.regexes)):
            return None  # "客户协同门户": words in the scope that say the co-occurrence means something else
        return tuple(sorted(set(parts)))
