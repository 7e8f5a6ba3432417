"""Per-page text-quality gate.

A text layer can exist and still be useless: scanned pages carry an image and no text (or a
page number only), fonts without a ToUnicode map give pdfminer ``(cid:N)`` placeholders and
pdfium wrong characters, broken encodings give U+FFFD, private-use or control characters.
Such a page is flagged (``no_text_layer`` / ``garbled``) with a Chinese reason, its text is NOT
emitted as blocks, and the OCR stage may later replace it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import PageStatus

CID_PLACEHOLDER = re.compile(r"\(cid:\d+\)")

# A page with images covering at least this share of its area, and fewer visible characters
# than MIN_CHARS_WITH_IMAGES, is treated as a scan (its few characters are page numbers, stamps…).
IMAGE_PAGE_COVERAGE = 0.35
MIN_CHARS_WITH_IMAGES = 40
# Share of broken characters (U+FFFD, private use, controls) that makes a page garbled.
MAX_BAD_SHARE = 0.05
MIN_BAD_CHARS = 3
# Share of characters outside the scripts an application can plausibly contain.
MAX_UNUSUAL_SHARE = 0.30
MIN_CHARS_FOR_MIX = 20
# Characters that pdfium flags with FPDFText_HasUnicodeMapError: above this share the page's
# pdfium text is cross-checked with pdfminer (see pdf.py).
MAP_ERROR_SHARE = 0.10
MAP_ERROR_MIN = 5

REASON_NO_TEXT = "页面为图片（扫描件），无文字层，需要OCR"
REASON_FEW_CHARS = "页面主要为图片，文字极少（疑似扫描件），需要OCR"
REASON_CID = "文字层含 (cid:N) 占位符（字体缺少 Unicode 映射），无法还原文字，需要OCR"
REASON_BAD_CHARS = "文字层含乱码字符（替换符/私用区/控制字符），需要OCR"
REASON_MIX = "文字层字符组合异常（疑似乱码），需要OCR"
REASON_UNMAPPED = "字体缺少 ToUnicode 映射，文字层不可信，需要OCR"
REASON_EMPTY = "空白页"

# Unicode ranges an application (Chinese with English, numbers, symbols) plausibly contains.
_USUAL_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E), (0x00A0, 0x024F), (0x0370, 0x04FF),
    (0x2000, 0x27BF),            # punctuation, super/subscripts, currency, letterlike, arrows, maths,
                                 # technical, enclosed alphanumerics (①), box drawing, shapes, dingbats
    (0x2E80, 0x2FDF),            # CJK radicals
    (0x3000, 0x33FF),            # CJK punctuation, kana, bopomofo, enclosed CJK, compatibility
    (0x4E00, 0x9FFF),            # CJK unified ideographs
    (0xAC00, 0xD7AF),            # Hangul
    (0xF900, 0xFAFF),            # CJK compatibility ideographs
    (0xFE10, 0xFE1F), (0xFE30, 0xFE6F), (0xFF00, 0xFFEF),
)


def _class(ranges: tuple[tuple[int, int], ...], negate: bool = False) -> re.Pattern[str]:
    """A character class of code-point ranges; the negated one also leaves whitespace out."""
    body = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    return re.compile(f"[^{body}\\s]" if negate else f"[{body}]")


# Counting with regular expressions keeps the gate cheap on 1,500-character pages.
_UNUSUAL = _class(_USUAL_RANGES, negate=True)
_PRIVATE = _class(((0xE000, 0xF8FF), (0xF0000, 0x10FFFF)))
_CONTROL = _class(((0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x9F), (0xFFFE, 0xFFFF)))
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class CharStats:
    total: int          # visible characters (whitespace excluded)
    cid: int            # (cid:N) placeholders
    replacement: int    # U+FFFD
    private_use: int
    control: int
    unusual: int        # outside the usual scripts (includes the three above)

    @property
    def bad(self) -> int:
        return self.cid + self.replacement + self.private_use + self.control


def char_stats(text: str) -> CharStats:
    cid = len(CID_PLACEHOLDER.findall(text))
    if cid:
        text = CID_PLACEHOLDER.sub("", text)
    total = len(text) - len(_SPACE.findall(text))
    return CharStats(total=total + cid, cid=cid, replacement=text.count("\ufffd"),
                     private_use=len(_PRIVATE.findall(text)), control=len(_CONTROL.findall(text)),
                     unusual=len(_UNUSUAL.findall(text)) + cid)


@dataclass(frozen=True)
class Verdict:
    status: PageStatus
    reason: str | None
    chars: int

    @property
    def usable(self) -> bool:
        return self.status == "ok"


def assess_page(text: str, *, image_coverage: float = 0.0, images: int = 0,
                unreliable_unicode: bool = False) -> Verdict:
    """Decide a page's status from its text layer and how much of it images cover."""
    stats = char_stats(text)
    n = stats.total
    if n == 0:
        if images:
            return Verdict("no_text_layer", REASON_NO_TEXT, 0)
        return Verdict("empty", REASON_EMPTY, 0)
    if unreliable_unicode:
        return Verdict("garbled", REASON_UNMAPPED, n)
    if stats.cid >= MIN_BAD_CHARS and stats.cid / n > MAX_BAD_SHARE:
        return Verdict("garbled", REASON_CID, n)
    if stats.bad >= MIN_BAD_CHARS and stats.bad / n > MAX_BAD_SHARE:
        return Verdict("garbled", REASON_BAD_CHARS, n)
    if n >= MIN_CHARS_FOR_MIX and stats.unusual / n > MAX_UNUSUAL_SHARE:
        return Verdict("garbled", REASON_MIX, n)
    if images and image_coverage >= IMAGE_PAGE_COVERAGE and n < MIN_CHARS_WITH_IMAGES:
        return Verdict("no_text_layer", REASON_FEW_CHARS, n)
    return Verdict("ok", None, n)


def needs_ocr(status: PageStatus) -> bool:
    return status in ("no_text_layer", "garbled")
