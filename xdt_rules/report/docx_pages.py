"""Pages of Word documents for evidence crops: laid out by LibreOffice, passages found by text.

A DOCX has no pages until something lays it out. Where LibreOffice is installed, a report's Word
files are laid out as PDF once (one LibreOffice run for all of them, see
:func:`xdt_rules.ingest.legacy.render_pdf`), and each evidence span is found in that PDF by its
text: the block's text with whitespace left out (LibreOffice puts spaces between Chinese and
Latin, list numbers before items, line breaks anywhere) is looked up in the PDF's characters,
also without whitespace, and the span's characters give their own boxes. A table cell is looked
up inside its row (a cell reading 已上线 is in every row of a system list).

The layout is LibreOffice's with the package's font, not Word's: page breaks may fall elsewhere
than in Word, so the report says so under such a crop and the JSON never carries these pages.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import BBox, Block, Document

WORD_TYPES = ("docx", "doc", "wps")
LAYOUT_TIMEOUT_S = 90  # crops are a convenience: a LibreOffice that hangs costs the report its Word crops only
AROUND_CHARS = 24  # text on each side of a span that is looked for with it when the whole block is not found
SPAN_ALONE_MIN = 6  # a span looked for alone must be this long (MES alone is found anywhere)
_IGNORED = {"\xad", "\ufeff", "\ufffe", "\uffff", "\u200b", "\u200c", "\u200d", "\u2060"}


def kept(ch: str) -> bool:
    """Characters both sides agree on (no whitespace, controls or invisible marks)."""
    return not ch.isspace() and ch >= " " and ch not in _IGNORED


def squeeze(text: str) -> tuple[str, list[int]]:
    """``text`` without the characters :func:`kept` drops, and where each kept one stood."""
    where = [i for i, ch in enumerate(text) if kept(ch)]
    return "".join(text[i] for i in where), where


@dataclass(frozen=True)
class Placed:
    """A span found on a laid-out page: its boxes (one per line) and the extent of its block there,
    in points with the origin top-left."""

    page: int
    boxes: list[BBox]
    area: BBox


class LaidOut:
    """One Word document laid out as PDF: its characters without whitespace, each with its page,
    its index on the page and whether a line starts or ends there."""

    def __init__(self, pdf_path: Path, pdf: Any):
        import pypdfium2.raw as raw

        self.path = pdf_path
        self.pdf = pdf
        chars: list[str] = []
        self._at: list[tuple[int, int]] = []  # (0-based page, char index)
        line_start: list[bool] = []
        line_end: list[bool] = []
        self.heights: list[float] = []
        for page_no in range(len(pdf)):
            page = pdf[page_no]
            self.heights.append(page.get_size()[1])
            textpage = page.get_textpage()
            try:
                fresh = True
                for index in range(textpage.count_chars()):
                    ch = chr(raw.FPDFText_GetUnicode(textpage.raw, index))
                    if not kept(ch):
                        if ch in "\r\n" and line_end:
                            line_end[-1] = True
                            fresh = True
                        continue
                    chars.append(ch)
                    self._at.append((page_no, index))
                    line_start.append(fresh)
                    line_end.append(False)
                    fresh = False
                if line_end:
                    line_end[-1] = True
            finally:
                textpage.close()
                page.close()
        self.text = "".join(chars)
        self._line_start = line_start
        self._line_end = line_end

    def _occurrences(self, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
        hi = len(self.text) if hi is None else hi
        found, at = [], self.text.find(needle, lo, hi)
        while at >= 0 and len(found) < 200:
            found.append(at)
            at = self.text.find(needle, at + 1, hi)
        return found

    def _best(self, occurrences: list[int], length: int) -> int | None:
        """The occurrence that stands as a paragraph of its own (starts and ends a line), else the first."""
        if not occurrences:
            return None
        return max(occurrences, key=lambda at: (self._line_start[at] + self._line_end[at + length - 1], -at))

    def find(self, block_text: str, start: int, end: int,
             row_text: str | None = None) -> tuple[int, int, int, int, int] | None:
        """(page 0-based, first and last+1 position in :attr:`text` of ``block_text[start:end]``,
        first and last+1 position of the stretch of the block found around it), on the page where
        the span starts; None when it cannot be found.

        The whole block is looked for first (a table cell inside its row); a paragraph running
        onto the next page has the footer and header in between, so then the span with some
        text around it, then a long enough span alone."""
        for lo, hi in _windows(len(block_text), start, end):
            needle, where = squeeze(block_text[lo:hi])
            inner = [k for k, i in enumerate(where) if start <= lo + i < end]
            alone = (lo, hi) == (start, end) != (0, len(block_text))
            if not needle or not inner or alone and len(needle) < SPAN_ALONE_MIN:
                continue
            at: int | None = None
            if row_text and (lo, hi) == (0, len(block_text)):
                row, _ = squeeze(row_text)
                row_at = self._best(self._occurrences(row), len(row)) if row else None
                if row_at is not None:
                    found = self._occurrences(needle, row_at, row_at + len(row))
                    at = found[0] if found else None
            if at is None:
                at = self._best(self._occurrences(needle), len(needle))
            if at is None:
                continue
            first, last = at + inner[0], at + inner[-1] + 1
            page = self._at[first][0]
            while last > first and self._at[last - 1][0] != page:  # a span running onto the next page: its start
                last -= 1
            stretch = [k for k in range(at, at + len(needle)) if self._at[k][0] == page]
            return page, first, last, stretch[0], stretch[-1] + 1
        return None

    def boxes(self, page: int, first: int, last: int) -> list[BBox]:
        """Boxes of the characters ``text[first:last]`` (all on ``page``), one per visual line."""
        height = self.heights[page]
        pdf_page = self.pdf[page]
        textpage = pdf_page.get_textpage()
        try:
            lines: list[list[float]] = []  # [x0, top, x1, bottom]
            for position in range(first, last):
                _, index = self._at[position]
                left, bottom, right, top = textpage.get_charbox(index)
                if right <= left or top <= bottom:
                    continue
                box = [left, height - top, right, height - bottom]
                if lines:
                    current = lines[-1]
                    middle, current_middle = (box[1] + box[3]) / 2, (current[1] + current[3]) / 2
                    if abs(middle - current_middle) < 0.6 * max(box[3] - box[1], current[3] - current[1]) \
                            and box[0] >= current[0] - 1:
                        current[:] = [min(current[0], box[0]), min(current[1], box[1]),
                                      max(current[2], box[2]), max(current[3], box[3])]
                        continue
                lines.append(box)
        finally:
            textpage.close()
            pdf_page.close()
        return [BBox(x0=a, top=b, x1=c, bottom=d) for a, b, c, d in lines]

    def place(self, block_text: str, start: int, end: int, row_text: str | None = None) -> Placed | None:
        """The span's boxes and the extent of its block (as much as was found) on the page where the span starts."""
        found = self.find(block_text, start, end, row_text)
        if found is None:
            return None
        page, first, last, around_first, around_last = found
        boxes = self.boxes(page, first, last)
        if not boxes:
            return None
        everything = boxes + self.boxes(page, around_first, around_last)
        area = BBox(x0=min(b.x0 for b in everything), top=min(b.top for b in everything),
                    x1=max(b.x1 for b in everything), bottom=max(b.bottom for b in everything))
        return Placed(page=page + 1, boxes=boxes, area=area)

    def close(self) -> None:
        try:
            self.pdf.close()
        except Exception:  # noqa: BLE001
            pass


def _windows(length: int, start: int, end: int) -> list[tuple[int, int]]:
    """Stretches of a block to look for, widest first: all of it, the span with text around it (on
    both sides, before it, after it: a page break may be on either side), the span."""
    before, after = max(0, start - AROUND_CHARS), min(length, end + AROUND_CHARS)
    return list(dict.fromkeys([(0, length), (before, after), (before, end), (start, after), (start, end)]))


def row_text(block: Block, blocks: Sequence[Block]) -> str | None:
    """The text of a table cell's whole row (its cells in column order), from the blocks known."""
    if block.table is None or block.row is None:
        return None
    cells = sorted((b for b in blocks if b.table == block.table and b.row == block.row and b.kind == block.kind),
                   key=lambda b: (b.col if b.col is not None else 0, b.index))
    return "".join(b.text for b in cells) if len(cells) > 1 else None


class WordPages:
    """The laid-out PDFs of a report's Word documents, made on first need in one LibreOffice run."""

    def __init__(self, documents: Sequence[Document]):
        self._documents = [d for d in documents if d.file_type in WORD_TYPES]
        self._laid: dict[str, LaidOut | None] | None = None
        self._tmp: Path | None = None

    @staticmethod
    def available() -> bool:
        from ..ingest.legacy import find_soffice

        return find_soffice() is not None

    def get(self, doc: Document) -> LaidOut | None:
        if self._laid is None:
            self._laid = self._lay_out()
        return self._laid.get(doc.path)

    def _lay_out(self) -> dict[str, LaidOut | None]:
        from ..ingest.legacy import find_soffice, render_pdf
        from ..ingest.pdf import open_pdf

        soffice = find_soffice()
        laid: dict[str, LaidOut | None] = {d.path: None for d in self._documents}
        if soffice is None or not self._documents:
            return laid
        self._tmp = Path(tempfile.mkdtemp(prefix="xdt-pages-"))
        try:
            pdfs = render_pdf([(Path(d.path), d.file_type) for d in self._documents], self._tmp, soffice,
                              timeout=LAYOUT_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError):
            return laid
        for doc, pdf_path in zip(self._documents, pdfs):
            if pdf_path is None:
                continue
            try:
                laid[doc.path] = LaidOut(pdf_path, open_pdf(pdf_path, None, doc.name))
            except Exception:  # noqa: BLE001 - a layout that cannot be read only costs its crops
                laid[doc.path] = None
        return laid

    def close(self) -> None:
        for layout in (self._laid or {}).values():
            if layout is not None:
                layout.close()
        self._laid = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
