"""PDF extraction: pdfium for text, boxes and ruling lines; pdfplumber's table algorithm on
candidate pages; pdfminer (through pdfplumber) only for pages whose fonts pdfium cannot map to
Unicode; plus page rendering for OCR and report crops.

Per page: ``read_page`` (pdfium chars → visual lines, page objects) → quality gate → tables
(pages with enough ruling lines) → ``group_lines`` (paragraphs/headings) → blocks. Running
heads/feet are recognised across pages before blocks are numbered. A flagged page keeps its
``PageInfo`` (status, reason) and emits no blocks, so the OCR stage can fill it in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium

from ..errors import IngestError
from ..models import BBox, PageInfo
from .pdf_layout import Group, group_lines, is_page_number, margin_position, running_key
from .pdf_page import PageRead, VisualLine, read_page
from .pdf_tables import TableGeom, find_tables_from_edges, split_by_tables
from .quality import CID_PLACEHOLDER, MAP_ERROR_MIN, MAP_ERROR_SHARE, assess_page
from .structure import BlockSink

if TYPE_CHECKING:
    from PIL.Image import Image

    from . import ExtractOptions

# pdfminer logs every malformed operator it skips ("Cannot render horizontal string…") at
# WARNING; for a reviewer that is noise: what matters surfaces as IngestError or a warning.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

PDFIUM_ERR_FILE = 2
PDFIUM_ERR_FORMAT = 3
PDFIUM_ERR_PASSWORD = 4
PDFIUM_ERR_SECURITY = 5


def open_pdf(path: Path, password: str | None, file: str) -> pdfium.PdfDocument:
    """Open with pdfium; map its failures to IngestError codes."""
    try:
        return pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        raise _classify_failure(path, password, file, getattr(exc, "err_code", None)) from exc


# Documents shared while a ``documents_kept_open()`` block runs. pdfium parses a document's
# fonts (for CJK text a large CMap) when its first page loads: ~10 ms per document, paid again
# by every opening. Screening one application opens each PDF up to three times (the OCR time
# estimate, text extraction, report crops); inside the block they share one opening.
_kept: dict[tuple[str, str | None], pdfium.PdfDocument] | None = None


@contextmanager
def documents_kept_open() -> Iterator[None]:
    """PDFs opened through :func:`shared_pdf` stay open until the block ends (nested blocks
    share the outermost one). Nothing read from them changes: only the opening is shared."""
    global _kept
    if _kept is not None:
        yield
        return
    _kept = {}
    try:
        yield
    finally:
        kept, _kept = _kept, None
        for doc in kept.values():
            try:
                doc.close()
            except Exception:  # noqa: BLE001 - closing a broken document must not hide the real error
                pass


def shared_pdf(path: str | Path, password: str | None, file: str | None = None) -> tuple[pdfium.PdfDocument, bool]:
    """(document, shared): the block's opening of ``path`` when inside ``documents_kept_open()``
    (the caller must not close it), else a new one the caller closes."""
    key = (str(Path(path)), password)
    if _kept is not None and key in _kept:
        return _kept[key], True
    doc = open_pdf(Path(path), password, file or str(path))
    if _kept is None:
        return doc, False
    _kept[key] = doc
    return doc, True


def _classify_failure(path: Path, password: str | None, file: str, code: int | None) -> IngestError:
    """Why pdfium refused the file. pdfium's last-error code is global and is not set on every
    failure path (an empty page tree leaves a stale code), so pdfminer gives a second opinion."""
    if code == PDFIUM_ERR_FILE:
        return IngestError("无法读取文件", "cannot read the file", file=file, code="unreadable")
    if code == PDFIUM_ERR_SECURITY:
        return IngestError("PDF 使用了不支持的加密方式", "unsupported PDF security handler", file=file, code="encrypted")
    verdict = _pdfminer_verdict(path, password)
    if verdict == "encrypted" or (verdict == "unknown" and code == PDFIUM_ERR_PASSWORD):
        if password:
            return IngestError("PDF 密码不正确", "wrong PDF password", file=file, code="encrypted")
        return IngestError("PDF 已加密，需要密码（--password）", "the PDF is encrypted; give its password (--password)",
                           file=file, code="encrypted")
    if verdict == "no_pages":
        return IngestError("PDF 没有任何页面", "the PDF has no pages", file=file, code="no_pages")
    return IngestError("PDF 文件已损坏或不完整，无法解析", "the PDF is damaged or truncated", file=file, code="corrupt")


def _pdfminer_verdict(path: Path, password: str | None) -> str:
    """'encrypted' | 'no_pages' | 'corrupt' | 'unknown' (pdfminer could not decide)."""
    from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    try:
        with path.open("rb") as fh:
            document = PDFDocument(PDFParser(fh), password=password or "")
            for _ in PDFPage.create_pages(document):
                return "corrupt"  # pdfminer finds pages that pdfium cannot load
            return "no_pages"
    except PDFPasswordIncorrect:
        return "encrypted"
    except Exception:  # noqa: BLE001 - any other pdfminer failure: the file is broken
        return "unknown"


def render_pdf_page(path: str | Path, page_number: int, dpi: int = 200, password: str | None = None) -> Image:
    """Render one page (1-based) to a PIL image; box coordinates × dpi/72 are its pixels."""
    file = str(path)
    doc = open_pdf(Path(path), password, file)
    try:
        if not 1 <= page_number <= len(doc):
            raise IngestError(f"页码 {page_number} 超出范围（共 {len(doc)} 页）",
                              f"page {page_number} out of range (1–{len(doc)})", file=file, code="no_pages")
        page = doc[page_number - 1]
        try:
            bitmap = page.render(scale=dpi / 72.0)
            try:
                return bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        doc.close()


@dataclass
class _Page:
    read: PageRead
    info: PageInfo
    groups: list[Group] = field(default_factory=list)
    tables: list[TableGeom] = field(default_factory=list)


class _Plumber:
    """pdfplumber opened lazily, once per document, only when a page needs it."""

    def __init__(self, path: Path, password: str | None) -> None:
        self.path, self.password = path, password
        self._pdf: Any = None

    def page(self, number: int):
        if self._pdf is None:
            import pdfplumber

            self._pdf = pdfplumber.open(str(self.path), password=self.password or "")
        return self._pdf.pages[number - 1]

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def extract_pdf(path: Path, file: str, options: ExtractOptions, sink: BlockSink) -> tuple[int, list[PageInfo], list[str]]:
    doc, shared = shared_pdf(path, options.password, file)
    warnings: list[str] = []
    plumber = _Plumber(path, options.password)
    try:
        count = len(doc)
        if count == 0:
            raise IngestError("PDF 没有任何页面", "the PDF has no pages", file=file, code="no_pages")
        if count > options.max_pages:
            raise IngestError(f"PDF 共 {count} 页，超过上限 {options.max_pages} 页", f"{count} pages exceed the limit of "
                              f"{options.max_pages}", file=file, code="too_large")
        pages: list[_Page] = []
        for index in range(count):
            pages.append(_process_page(doc, index, plumber, warnings))
    finally:
        plumber.close()
        if not shared:
            doc.close()
    _emit(pages, sink)
    return count, [p.info for p in pages], warnings


def _process_page(doc: pdfium.PdfDocument, index: int, plumber: _Plumber, warnings: list[str]) -> _Page:
    number = index + 1
    try:
        read = read_page(doc, index)
    except pdfium.PdfiumError as exc:
        warnings.append(f"第 {number} 页无法解析，已跳过 / page {number} could not be parsed ({exc})")
        return _Page(PageRead(number, 0, 0, 0), PageInfo(number=number, status="garbled",
                                                        reason="页面内容无法解析，需要OCR"))
    unreliable = False
    if read.map_errors >= MAP_ERROR_MIN and read.map_errors >= MAP_ERROR_SHARE * max(read.visible_chars, 1):
        unreliable = not _cross_check_unicode(read, plumber, _plumber_offset(doc, index), warnings)
    text = "\n".join(line.text for line in read.lines)
    verdict = assess_page(text, image_coverage=read.objects.image_coverage, images=read.objects.images,
                          unreliable_unicode=unreliable)
    info = PageInfo(number=number, width=round(read.width, 2), height=round(read.height, 2),
                    status=verdict.status, reason=verdict.reason, chars=verdict.chars)
    page = _Page(read, info)
    if not verdict.usable:
        return page
    lines = read.lines
    if read.objects.may_hold_table:
        try:
            page.tables = find_tables_from_edges(read.objects.edges)
        except Exception as exc:  # noqa: BLE001 - a table finder failure must not lose the page's text
            warnings.append(f"第 {number} 页表格识别失败，按正文处理 / page {number}: table detection failed "
                            f"({type(exc).__name__})")
        if page.tables:
            lines = split_by_tables(lines, page.tables)
    page.groups = group_lines(lines, read.width, read.height)
    return page


def _plumber_offset(doc: pdfium.PdfDocument, index: int) -> tuple[float, float]:
    """pdfplumber measures from the media box's top-left; pdfium boxes here from the crop box's."""
    page = doc[index]
    try:
        ml, _, _, mt = page.get_mediabox()
        cl, _, _, ct = page.get_cropbox()
    finally:
        page.close()
    return ml - cl, ct - mt


_WS = re.compile(r"\s+")


def _cross_check_unicode(read: PageRead, plumber: _Plumber, offset: tuple[float, float], warnings: list[str]) -> bool:
    """pdfium flagged fonts without a usable ToUnicode map: its characters may be wrong.

    pdfminer is explicit where it cannot map (``(cid:N)``). If its text passes the quality
    gate (a few unmapped symbols such as Wingdings bullets are tolerated and dropped), it is
    trusted, and used where it differs from pdfium's; otherwise the page is unreliable.
    Returns True when the page's text can be used.
    """
    try:
        plumber_page = plumber.page(read.number).dedupe_chars()
        raw_lines = plumber_page.extract_text_lines(return_chars=True, layout=False)
    except Exception as exc:  # noqa: BLE001 - pdfminer failing here means: cannot verify
        warnings.append(f"第 {read.number} 页无法核对字体编码 / page {read.number}: cannot cross-check fonts "
                        f"({type(exc).__name__})")
        return False
    plumber_text = "\n".join(line["text"] for line in raw_lines)
    if not plumber_text.strip() or assess_page(plumber_text).status != "ok":
        return False
    plumber_lines = _plumber_lines(raw_lines, *offset)
    pdfium_text = "".join(line.text for line in read.lines)
    if _WS.sub("", pdfium_text) != _WS.sub("", "".join(line.text for line in plumber_lines)):
        read.lines = plumber_lines
        warnings.append(f"第 {read.number} 页字体缺少 Unicode 映射，已改用 pdfminer 解码 / page {read.number}: "
                        "fonts without a Unicode map, decoded with pdfminer")
    return True


def _plumber_lines(raw_lines: list[dict], dx: float, dy: float) -> list[VisualLine]:
    """pdfplumber text lines as VisualLines in pdfium's frame; unmapped glyphs are dropped."""
    result: list[VisualLine] = []
    for line in raw_lines:
        chars: list[str] = []
        boxes: list[tuple[float, float, float, float] | None] = []
        prev_x1: float | None = None
        size = 0.0
        for ch in line["chars"]:
            text = ch["text"]
            if not text or text.isspace() or CID_PLACEHOLDER.fullmatch(text):
                continue
            size = size or float(ch.get("size", 0) or 0)
            if prev_x1 is not None and ch["x0"] - prev_x1 > 0.25 * (size or 10):
                chars.append(" ")
                boxes.append(None)
            box = (ch["x0"] + dx, ch["top"] + dy, ch["x1"] + dx, ch["bottom"] + dy)
            for k in text:  # a ligature may decode to several characters
                chars.append(k)
                boxes.append(box)
            prev_x1 = ch["x1"]
        if chars:
            result.append(VisualLine(chars, boxes, size, 0))
    return result


def _emit(pages: list[_Page], sink: BlockSink) -> None:
    """Number blocks in reading order; running heads/feet once per distinct text; tables in place."""
    margin_counts: dict[tuple[str, str], int] = {}
    text_pages = sum(1 for p in pages if p.groups)
    for page in pages:
        for group in page.groups:
            position = margin_position(group, page.read.height)
            if position:
                key = (position, running_key(group))
                margin_counts[key] = margin_counts.get(key, 0) + 1
    repeated = max(2, (text_pages + 1) // 2)
    seen_running: set[tuple[str, str]] = set()
    table_ordinal = 0
    for page in pages:
        items: list[tuple[str, Any]] = [("group", g) for g in page.groups]
        for table in page.tables:
            at = next((k for k, (kind, g) in enumerate(items) if kind == "group" and g.top >= table.top), len(items))
            items.insert(at, ("table", table))
        for kind, item in items:
            if kind == "table":
                _emit_table(item, table_ordinal, page.info.number, sink)
                table_ordinal += 1
                continue
            group: Group = item
            block_kind = group.kind
            position = margin_position(group, page.read.height)
            if position:
                if is_page_number(group.text):
                    continue  # page numbers carry no evidence
                key = (position, running_key(group))
                if margin_counts.get(key, 0) >= repeated:
                    if key in seen_running:
                        continue
                    seen_running.add(key)
                    block_kind = position  # type: ignore[assignment]
            text, spans, bbox = group.spans()
            sink.add(block_kind, text, lines=spans, bbox=bbox, page=page.info.number)


def _emit_table(table: TableGeom, ordinal: int, page_number: int, sink: BlockSink) -> None:
    for cell in table.cells:
        if not cell.lines:
            continue
        text, spans, bbox = Group(cell.lines).spans()
        x0, top, x1, bottom = cell.box
        sink.add("table_cell", text, lines=spans, page=page_number, table=ordinal, row=cell.row, col=cell.col,
                 bbox=BBox(x0=round(x0, 2), top=round(top, 2), x1=round(x1, 2), bottom=round(bottom, 2)) if bbox else None)
