"""Pydantic models at the boundaries between pipeline stages.

ingest ─► Document ─► evidence ─► Mention ─► rules ─► ItemResult ─► ApplicationResult

Every stage is a plain function over these models; no stage reaches back into an earlier one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- ingestion

BlockKind = Literal[
    "paragraph",
    "heading",
    "list_item",
    "table_cell",
    "header",
    "footer",
    "footnote",
    "text_box",
    "content_control",
    "sheet_cell",
    "ocr_line",
]

PageStatus = Literal["ok", "no_text_layer", "garbled", "ocr", "empty"]
TextSource = Literal["text", "ocr"]


class BBox(_Model):
    """A rectangle on a PDF page in points, origin top-left (as pdfplumber reports it)."""

    x0: float
    top: float
    x1: float
    bottom: float


class LineSpan(_Model):
    """A visual line of a block: the block text's [start, end) and where it sits on the page.

    Report crops find the box of an evidence span by the lines it overlaps.
    """

    start: int
    end: int
    bbox: BBox


class Block(_Model):
    """One unit of text with provenance. Evidence offsets point into ``text``."""

    index: int = Field(description="0-based ordinal of the block in its document")
    kind: BlockKind
    text: str
    page: int | None = Field(None, description="1-based PDF page (or image page); None for DOCX/TXT")
    table: int | None = Field(None, description="0-based table ordinal in the document, for table cells")
    row: int | None = None
    col: int | None = None
    sheet: str | None = Field(None, description="worksheet name, for sheet cells")
    bbox: BBox | None = None
    lines: list[LineSpan] = Field(default_factory=list)
    source: TextSource = "text"
    ocr_confidence: float | None = None
    image: str | None = Field(
        None, description="for OCR text read from an image embedded in a DOCX: its zip member (word/media/…)"
    )


class PageInfo(_Model):
    number: int = Field(description="1-based")
    width: float | None = None
    height: float | None = None
    status: PageStatus = "ok"
    reason: str | None = Field(None, description="Chinese reason when status is not ok")
    chars: int = 0


class Document(_Model):
    path: str = Field(description="path as given by the user (relative paths kept relative)")
    name: str = Field(description="file name shown in reports")
    sha256: str
    size: int
    file_type: Literal["pdf", "docx", "xlsx", "txt", "md", "image", "doc", "wps"]
    extractor_version: str
    pages: int | None = Field(None, description="page count for PDFs and images")
    page_info: list[PageInfo] = Field(default_factory=list)
    blocks: list[Block] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def text_chars(self) -> int:
        return sum(len(b.text) for b in self.blocks)


# --------------------------------------------------------------------------- evidence

Polarity = Literal["implemented", "planned", "negated", "generic", "restates_criteria"]
MatchKind = Literal["term", "entity", "quantity", "fuzzy", "cue", "model"]
Actor = Literal["self", "other", "hearsay", "nobody"]
Mode = Literal["achieved", "in_use", "under_construction", "planned", "target", "lacking", "not_applicable",
               "hypothetical", "general", "restated"]
# Which pass of the clause reading decided (xdt_rules.evidence.reading.REASON_ZH has their Chinese names).
Reason = Literal[
    "plain_statement", "clause_word", "neighbour_word", "state_word", "general_word", "general_opener",
    "not_applicable", "other_party", "party_has_self_lacks", "same_party", "tool_for", "second_name",
    "organisation_name", "not_a_statement", "count_column", "form_answer", "criterion_column", "label_answer",
    "question_unanswered", "criteria_copied", "upgraded_existing", "plan_opener", "plan_section",
    "shortcomings_section", "lack_with_dated_plan", "vague_intention", "table_row", "continues_previous",
    "dated_after_document", "data_not_used", "use_restricted", "contract_unaccepted", "mode_model", "model_hint",
]


class Reading(_Model):
    """How a clause reads: who is said to have or do the thing, in what state, and why so."""

    actor: Actor = Field("self", description="this enterprise (self), another party, hearsay, or nobody in particular")
    mode: Mode = Field(description="achieved, in use, under construction, planned, target, lacking, not applicable, "
                                   "hypothetical, general talk, or the criteria text restated")
    reason: Reason = Field(description="the pass of the reading that decided (a code; see REASON_ZH for the Chinese)")
    words: str | None = Field(None, description="the words that decided, as they stand in the normalised text")


class Quantity(_Model):
    """A quantified outcome: 指标 + direction + number + unit (e.g. 生产效率 提升 25 %)."""

    indicator: str | None = None
    direction: Literal["up", "down", "none"] = "none"
    value: float
    unit: str
    text: str


class Mention(_Model):
    """One place in one document that bears on one criterion item."""

    item_id: str
    term: str = Field(description="canonical keyword or entity that matched")
    matched: str = Field(description="the text exactly as it stands in the block: block.text[start:end]")
    kind: MatchKind
    polarity: Polarity = Field(description="what the reading means for this enterprise (a function of the reading)")
    reading: Reading
    confidence: float = 1.0
    file: str
    sha256: str
    page: int | None = None
    block: int
    block_kind: BlockKind
    start: int
    end: int
    sentence: str
    sentence_start: int
    sentence_end: int
    in_table: bool = False
    row_id: str | None = Field(None, description="for a table or worksheet cell: its row (one passage with its cells)")
    row: str | None = Field(None, description="for a table or worksheet cell: the text of its whole row, where a date "
                                              "in the 上线时间 column dates the system-name cell")
    ocr: bool = False
    quantity: Quantity | None = None

    @property
    def passage(self) -> tuple[str, ...]:
        """What counts as one passage: the sentence, or the whole row for a table cell."""
        return ("row", self.sha256, self.row_id) if self.row_id else (self.file, str(self.block), str(self.sentence_start))

    @property
    def context(self) -> str:
        """The sentence, or the whole row for a table cell: where the passage's date and plans stand."""
        return self.row if self.row is not None else self.sentence

    @property
    def cue(self) -> str | None:
        """The words that decided the reading."""
        return self.reading.words


class FileEvidence(_Model):
    """One file's evidence: what scoring and the report read of it once its mentions are known.

    ``document`` is the evidence view: the document's metadata and the blocks the mentions point
    into, with every cell of their table (or worksheet) rows. ``has_text``: the whole document
    had any text at all."""

    document: Document
    mentions: list[Mention]
    has_text: bool


# --------------------------------------------------------------------------- results

ItemStatus = Literal["met", "partial", "planned", "negated", "not_found"]


class EvidenceRef(_Model):
    file: str
    page: int | None = None
    block: int
    start: int
    end: int
    text: str = Field(description="the sentence that holds the match")
    matched: str
    polarity: Polarity
    reading: Reading | None = Field(None, description="how the sentence was read: actor, mode, reason and words")
    term: str | None = None
    kind: MatchKind | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None
    ocr: bool = False


class ItemResult(_Model):
    id: str
    name: str
    status: ItemStatus
    score: float
    max_score: float
    needs_confirmation: bool
    reasons: list[str] = Field(default_factory=list)
    rules_fired: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRef] = Field(default_factory=list)


class ElementResult(_Model):
    id: str
    name: str
    score: float
    max: float


class Total(_Model):
    score: float
    max: float = 100.0


class FileRecord(_Model):
    path: str
    sha256: str | None = None
    pages: int | None = None
    error: str | None = None
    pages_needing_ocr: list[int] = Field(default_factory=list)


class ApplicationResult(_Model):
    application: str
    files: list[FileRecord]
    framework: str
    rules_version: str
    tool_version: str
    total: Total
    elements: list[ElementResult]
    items: list[ItemResult]
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="non-fatal notes per file (e.g. pages needing OCR)")
