"""Uncovered vocabulary: what applicants write that no keyword catches — suggestions for ``keywords/``.

Over the sentences of a batch where NO keyword, entity, pattern or indicator matched (running the
current keyword set on the documents' text) and that talk about technology (a *hint* word of
:file:`vocabulary.yaml` such as 系统/数据/实时/设备 — company history, products and addresses
would drown the suggestions otherwise), jieba cuts words with parts of speech (the domain user
dictionary from ``keywords/`` loaded), and short phrases of content words are counted:

* a candidate is one to ``max_words`` adjacent content words (nouns, verbal nouns, Latin words…;
  a verb may end a phrase but not start it: 茶叶产地追溯, not 采用区块链);
* words of the stop list (:file:`vocabulary.yaml`, data) never start or end a candidate and are
  never candidates on their own; numbers and punctuation break phrases;
* a candidate that contains a keyword (or an indicator), or is a pattern word or a context cue
  (上线, 计划…), is already covered;
* a shorter candidate is dropped where a longer one accounts for most of its occurrences
  (冷链温控 inside 冷链温控箱), so phrases win over their parts;
* ranking is TF-IDF: occurrences × the mean inverse document frequency of the candidate's words
  (jieba's general-Chinese IDF table; unknown words get its median), so 温控箱 outranks 温度,
  times √(applications using it): a phrase several applicants write is a better keyword than one
  company's product name.

Each suggestion comes with its count, the number of applications using it and example sentences
with file and page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from ..catalogue import Catalogue
from ..evidence.keywords import KeywordSet
from ..evidence.normalize import normalize, normalize_key
from ..evidence.segment import sentences
from ..models import Document
from ..yamlio import load_model

DATA_FILE = Path(__file__).with_name("vocabulary.yaml")
# Running heads repeat on every page and headings are titles (often the criteria's own names):
# neither is what applicants write about themselves.
SKIP_BLOCKS = {"header", "footer", "heading"}
# jieba part-of-speech flags of content words (n* nouns, vn verbal nouns, eng Latin, j abbreviations,
# l idioms, b distinguishing words such as 智能/数控); 'x' is what user-dictionary words get.
CONTENT_START = ("n", "vn", "eng", "j", "l", "b")
CONTENT_INNER = CONTENT_START + ("x", "v", "a", "q", "f", "g")
CONTENT_END = CONTENT_START + ("v", "q", "g")
SKIP_FLAGS = ("nr", "ns")  # person and place names: never domain terms

if TYPE_CHECKING:
    from ..framework import Framework


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StopList(_Model):
    groups: dict[str, list[str]] = Field(description="group name → words (groups only help reading)")

    def words(self) -> set[str]:
        return {normalize_key(w) for ws in self.groups.values() for w in ws if w.strip()}


class VocabularyData(_Model):
    hints: list[str] = Field(default_factory=list, description="only sentences with one of these are mined; empty = all")
    name_suffixes: list[str] = Field(default_factory=list, description="a phrase right before one is part of a name")
    stop: StopList


class ExtraStopList(_Model):
    stop: StopList


class Example(_Model):
    application: str
    file: str
    page: int | None = None
    text: str


class VocabularyTerm(_Model):
    term: str
    count: int = Field(description="occurrences in uncovered sentences")
    applications: int
    weight: float = Field(description="TF-IDF: count × mean IDF of its words × √applications")
    examples: list[Example] = Field(default_factory=list)


class VocabularyAudit(_Model):
    applications: int = Field(description="applications whose text was read")
    sentences: int
    uncovered_sentences: int = Field(description="sentences where no keyword matched")
    mined_sentences: int = Field(description="uncovered sentences with a hint word (what was mined)")
    min_count: int
    stoplist: str
    terms: list[VocabularyTerm]


@dataclass(frozen=True)
class MiningData:
    stop: frozenset[str]
    hints: tuple[str, ...]
    name_suffixes: frozenset[str]
    source: str


def load_mining_data(extra_stop: Iterable[str | Path] = ()) -> MiningData:
    """The shipped hints and stop list, plus the ``stop`` words of any extra YAML files."""
    spec, _ = load_model(VocabularyData, DATA_FILE)
    words = spec.stop.words()
    paths = [str(DATA_FILE)]
    for path in extra_stop:
        extra, _ = load_model(ExtraStopList, path)
        words |= extra.stop.words()
        paths.append(str(path))
    hints = tuple(sorted({normalize_key(h) for h in spec.hints if h.strip()}))
    suffixes = frozenset(normalize_key(w) for w in spec.name_suffixes if w.strip())
    return MiningData(stop=frozenset(words), hints=hints, name_suffixes=suffixes, source=", ".join(paths))


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    tfidf = jieba.analyse.TFIDF()
    return tfidf.idf_freq, tfidf.median_idf


_POS_TOKENIZERS: dict[str, object] = {}


def _pos_tokenizer(keywords: KeywordSet):
    """jieba's part-of-speech tagger over the keyword set's tokenizer (domain words kept whole)."""
    import jieba.posseg

    from ..evidence.tokens import tokenizer

    tok = _POS_TOKENIZERS.get(keywords.content_hash)
    if tok is None:
        tok = _POS_TOKENIZERS[keywords.content_hash] = jieba.posseg.POSTokenizer(tokenizer(keywords))
    return tok


@dataclass
class _Counts:
    count: Counter[str] = field(default_factory=Counter)
    apps: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    examples: dict[str, list[Example]] = field(default_factory=lambda: defaultdict(list))
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _is_word(text: str) -> bool:
    return any(ch.isalpha() for ch in text) and not any(ch.isdigit() for ch in text)


def _candidates(tokens: list[tuple[str, str]], stop: set[str], max_words: int,
                suffixes: frozenset[str] = frozenset()) -> Iterable[tuple[str, ...]]:
    """Runs of content words → all allowed sub-phrases of up to ``max_words`` words."""
    run: list[tuple[str, str]] = []
    for word, flag in [*tokens, ("", "x")]:
        inner = (word and _is_word(word) and flag.startswith(CONTENT_INNER) and not flag.startswith(SKIP_FLAGS)
                 and word not in suffixes)
        if inner:
            run.append((word, flag))
            continue
        # The words right before 有限公司/合作社… are a name (云印包装材料有限公司): not a term.
        ends_in_name = word in suffixes
        for i in range(len(run)):
            first_word, first_flag = run[i]
            if first_word in stop or not first_flag.startswith(CONTENT_START) or len(first_word) < 2 and i + 1 == len(run):
                continue
            for j in range(i, min(len(run), i + max_words)):
                last_word, last_flag = run[j]
                if last_word in stop or not last_flag.startswith(CONTENT_END) or ends_in_name and j == len(run) - 1:
                    continue
                words = tuple(w for w, _ in run[i : j + 1])
                if sum(len(w) for w in words) >= 2:
                    yield words
        run = []


def uncovered_vocabulary(documents: dict[str, list[Document]], framework: Framework, *,
                         data: MiningData | None = None, top: int = 40, min_count: int = 3,
                         max_words: int = 3, examples: int = 3) -> VocabularyAudit:
    """Frequent phrases of the uncovered sentences, best first (see the module docstring)."""
    from ..evidence import find_evidence

    keywords = framework.keywords
    data = data or load_mining_data()
    stop = set(data.stop)
    hints = ahocorasick.Automaton()
    for hint in data.hints:
        hints.add_word(hint, hint)
    if data.hints:
        hints.make_automaton()
    known = ahocorasick.Automaton()
    for entry in keywords.entries:
        known.add_word(entry.key, entry.key)
    for ind in keywords.indicators:
        known.add_word(ind.key, ind.key)
    has_known = len(known) > 0
    if has_known:
        known.make_automaton()
    pattern_words = {w for p in keywords.patterns for g in p.groups for w in g.words}
    context = keywords.context
    cue_words = {normalize_key(c) for kind in ("implemented", "planned", "negated", "generic", "pseudo", "stages")
                 for c in getattr(context, kind)}
    tok = _pos_tokenizer(keywords)
    counts = _Counts()
    total = uncovered = mined = 0
    read = 0
    for application, docs in sorted(documents.items()):
        if not docs:
            continue
        read += 1
        mentions = find_evidence(docs, framework)
        # a sentence only the learned model found is exactly where a keyword is missing
        covered = {(m.file, m.block, m.sentence_start) for m in mentions if m.kind != "model"}
        for doc in docs:
            for block in doc.blocks:
                if block.kind in SKIP_BLOCKS or not block.text.strip():
                    continue
                nt = normalize(block.text)
                for sent in sentences(nt):
                    total += 1
                    o_start, o_end = nt.span(sent.start, sent.end)
                    if (doc.path, block.index, o_start) in covered:
                        continue
                    uncovered += 1
                    text = nt.text[sent.start : sent.end]
                    if data.hints and not any(True for _ in hints.iter(text)):
                        continue
                    mined += 1
                    tokens = [(t.word, t.flag) for t in tok.cut(text, HMM=True)]
                    seen_here: set[str] = set()
                    for words in _candidates(tokens, stop, max_words, data.name_suffixes):
                        phrase = "".join(words)
                        counts.count[phrase] += 1
                        counts.words.setdefault(phrase, words)
                        counts.apps[phrase].add(application)
                        if phrase not in seen_here and len(counts.examples[phrase]) < examples:
                            shown = block.text[o_start:o_end].strip()
                            if all(e.text != shown for e in counts.examples[phrase]):
                                counts.examples[phrase].append(Example(application=application, file=doc.name,
                                                                       page=block.page, text=shown))
                        seen_here.add(phrase)

    def covered_phrase(phrase: str) -> bool:
        if phrase in pattern_words or phrase in cue_words:
            return True
        return has_known and any(True for _ in known.iter(phrase))

    frequent = {p: n for p, n in counts.count.items() if n >= min_count and not covered_phrase(p)}
    # A part whose occurrences are mostly inside a longer frequent phrase is that phrase's, not its own.
    kept = {}
    for phrase, n in frequent.items():
        longer = [m for q, m in frequent.items() if len(q) > len(phrase) and phrase in q]
        if longer and max(longer) >= 0.8 * n:
            continue
        if len(counts.words[phrase]) == 1 and (phrase in stop or len(phrase) < 2):
            continue
        kept[phrase] = n
    idf, median = _idf()
    terms = []
    for phrase, n in kept.items():
        words = counts.words[phrase]
        weight = n * sum(idf.get(w, median) for w in words) / len(words) * math.sqrt(len(counts.apps[phrase]))
        terms.append(VocabularyTerm(term=phrase, count=n, applications=len(counts.apps[phrase]), weight=round(weight, 2),
                                    examples=counts.examples[phrase]))
    terms.sort(key=lambda t: (-t.weight, t.term))
    return VocabularyAudit(applications=read, sentences=total, uncovered_sentences=uncovered, mined_sentences=mined,
                           min_count=min_count, stoplist=data.source, terms=terms[:top])
