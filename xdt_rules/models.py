"""Pydantic models at the boundaries between pipeline stages.

ingest ─► Document ─► evidence ─► Mention ─► rules ─► ItemResult ─► ApplicationResult

Every stage is a plain function over these models; no stage reaches back into an earlier one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


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
    headings: list[str] = Field(
        default_factory=list,
        description="DOCX: the outline headings the block stands under, outermost first (its heading path); "
                    "the lines of a table of contents stand under 目录")
    paragraph: int | None = Field(
        None, description="DOCX body text: 1-based ordinal of the paragraph among those under its nearest heading "
                          "(tables not counted), so a reviewer can count it off in Word")


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
    "joins_other_platform",
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


class Location(_Model):
    """Where a passage stands in its file, in the terms a reviewer looks it up by. Numbers are 1-based."""

    label: str = Field(description="位置说明（中文），报告中显示 / the location in Chinese as the report shows it, "
                                   "e.g. 第 5 页, 三、数字化改造情况 › （二）制造设备数字化 · 第 2 段, 工作表“设备” · C5")
    headings: list[str] = Field(default_factory=list,
                                description="DOCX 的标题路径（由外到内）/ DOCX: the headings the passage stands under, "
                                            "outermost first")
    paragraph: int | None = Field(None, description="DOCX 正文：所在标题下的第几段 / DOCX body text: the paragraph's "
                                                    "ordinal under its nearest heading (tables not counted)")
    table: int | None = Field(None, description="表格单元格：文档中的第几个表格 / table cells: the table's ordinal in "
                                                "the document")
    row: int | None = Field(None, description="表格或工作表单元格：第几行 / table or worksheet cells: the row")
    column: int | None = Field(None, description="表格或工作表单元格：第几列 / table or worksheet cells: the column")
    sheet: str | None = Field(None, description="XLSX：工作表名称 / XLSX: the worksheet's name")
    cell: str | None = Field(None, description="XLSX：A1 样式的单元格名称 / XLSX: the cell in A1 style (C5)")

    @model_serializer(mode="wrap")
    def _only_what_is_known(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # most fields are null for most files (no sheet in a PDF): written out, they made every
        # piece of evidence ten lines longer in the result JSON
        return {k: v for k, v in handler(self).items() if k == "label" or v not in (None, [])}


class EvidenceRef(_Model):
    """One match of one item in one passage of a file.

    Offsets come in two frames: ``start``/``end`` (and ``sentence_start``/``sentence_end``) count
    in the text of the block (a paragraph, table cell, PDF text block or worksheet cell, as
    ``xdt extract --json`` lists it); ``text_start``/``text_end`` count in ``text``, the sentence
    shown, so ``text[text_start:text_end] == matched`` always holds."""

    file: str = Field(description="文件在申报材料中的名称（文件夹内的相对路径）/ the file's path inside the application")
    page: int | None = Field(None, description="PDF 或图片的页码（从 1 起）；DOCX、XLSX、TXT 为 null / 1-based page of a "
                                               "PDF or image; null for DOCX, XLSX and text files")
    block: int = Field(description="文本块序号（从 0 起，见 xdt extract --json）/ 0-based ordinal of the block in its "
                                   "document, as xdt extract --json lists it")
    block_kind: BlockKind | None = Field(None, description="文本块类型：段落、标题、表格单元格、页眉、工作表单元格、OCR 行… / "
                                                           "what the block is: paragraph, heading, table cell, header, "
                                                           "worksheet cell, OCR line …")
    location: Location | None = Field(None, description="给审核人看的位置：页码、标题路径与段落、表格行列、工作表与单元格 / "
                                                        "where a reviewer finds the passage")
    start: int = Field(description="匹配在文本块中的起始位置（不是 text 中的位置，见 text_start）/ start of the match in "
                                   "the BLOCK's text (not an offset into text: see text_start)")
    end: int = Field(description="匹配在文本块中的结束位置（不含）/ end (exclusive) of the match in the BLOCK's text")
    text: str = Field(description="含匹配的句子（表格单元格为单元格中的句子），原样保留换行 / the sentence that holds the "
                                  "match, as it stands in the block (PDF line breaks kept as \\n)")
    text_start: int | None = Field(None, description="匹配在 text 中的起始位置：text[text_start:text_end] == matched / "
                                                     "start of the match in text")
    text_end: int | None = Field(None, description="匹配在 text 中的结束位置（不含）/ end (exclusive) of the match in text")
    matched: str = Field(description="匹配到的原文；模式、模糊匹配和量化数据的片段扩展到整词 / the matched text as it "
                                     "stands in the block; the span of a pattern, fuzzy match or quantity is widened to "
                                     "the words it cut")
    polarity: Polarity = Field(description="对本企业的含义：implemented 已实施、planned 规划、negated 否定、generic 泛泛/他方、"
                                           "restates_criteria 照抄评价内容 / what the passage means for this enterprise")
    reading: Reading | None = Field(None, description="how the sentence was read: actor, mode, reason and words")
    term: str | None = Field(None, description="命中的规范关键词或模式名 / the canonical keyword, entity or pattern that "
                                               "matched")
    kind: MatchKind | None = Field(None, description="匹配方式：term 关键词、entity 厂商产品、quantity 量化数据、fuzzy 模糊、"
                                                     "cue 提示语/模式、model 按描述识别 / how it matched")
    sentence_start: int | None = Field(None, description="句子在文本块中的起始位置 / where text starts in the block's text")
    sentence_end: int | None = Field(None, description="句子在文本块中的结束位置（不含）/ where text ends (exclusive) in the "
                                                       "block's text")
    ocr: bool = Field(False, description="来自扫描件识别（OCR）的文字 / the text was read by OCR from a scan or image")


class ItemResult(_Model):
    """One criterion item: the rules' preliminary verdict and the evidence it rests on."""

    id: str = Field(description="评价项编号（固定，如 1.3.1）/ the item's fixed ID")
    name: str = Field(description="评价项名称 / the item's name")
    status: ItemStatus = Field(description="met 已具备（证据较强）、partial 已具备（证据较弱）、planned 仅有规划、negated 明确未具备、"
                                           "not_found 未找到可用证据 / the preliminary status")
    score: float = Field(description="初步得分（分值 × 规则给出的比例）/ preliminary points (item points × the rule's "
                                     "fraction)")
    max_score: float = Field(description="该项分值 / the item's points")
    needs_confirmation: bool = Field(description="需人工确认（理由见 reasons）/ a person must confirm this item")
    reasons: list[str] = Field(default_factory=list, description="中文理由：判定规则与附加标记的理由 / Chinese reasons "
                                                                 "from the deciding rule and the flags")
    rules_fired: list[str] = Field(default_factory=list, description="命中的规则：第一条为判定规则，其余为附加标记 / the "
                                                                     "deciding rule first, then the flags that fired")
    evidence: list[EvidenceRef] = Field(default_factory=list, description="证据，已实施在前 / the evidence, strongest "
                                                                          "polarity first")


class ElementResult(_Model):
    """One element (要素) of the framework with the sum of its items' points."""

    id: str = Field(description="要素编号（1–5）/ the element's ID")
    name: str = Field(description="要素名称 / the element's name")
    score: float = Field(description="要素初步得分 / the element's preliminary points")
    max: float = Field(description="要素满分 / the element's maximum points")


class Total(_Model):
    """The application's preliminary total."""

    score: float = Field(description="初步总分 / the preliminary total")
    max: float = Field(100.0, description="满分 / the maximum")


class FileRecord(_Model):
    """One file of the application: what was read, or why it could not be."""

    path: str = Field(description="文件在申报材料中的路径 / the file's path inside the application")
    sha256: str | None = Field(None, description="文件内容的 SHA-256 / SHA-256 of the file's bytes")
    pages: int | None = Field(None, description="PDF 或图片的页数 / page count of a PDF or image")
    error: str | None = Field(None, description="无法读取时的原因（中文 / English）/ why the file could not be read")
    pages_needing_ocr: list[int] = Field(default_factory=list, description="没有文字层或文字乱码、需识别的页 / pages "
                                                                           "without a usable text layer")


class ApplicationResult(_Model):
    """The preliminary screening result of one application (``xdt screen`` / ``xdt batch`` JSON)."""

    application: str = Field(description="申报名称（文件名或文件夹名）/ the application's name (file or folder name)")
    files: list[FileRecord] = Field(description="申报材料中的文件 / the application's files")
    framework: str = Field(description="评价框架编号 / the framework's ID")
    rules_version: str = Field(description="规则与关键词的内容哈希 / hash of the rules and keywords used")
    tool_version: str = Field(description="xdt-rules 版本 / the tool's version")
    total: Total = Field(description="初步总分 / the preliminary total")
    elements: list[ElementResult] = Field(description="各要素得分 / the elements' points")
    items: list[ItemResult] = Field(description="全部评价项（按框架顺序）/ every item of the framework, in its order")
    errors: list[str] = Field(default_factory=list, description="无法读取的文件及原因 / files that could not be read")
    warnings: list[str] = Field(default_factory=list, description="各文件的提示（如需识别的扫描页）/ non-fatal notes per "
                                                                  "file (e.g. pages needing OCR)")
