"""The heading path of a document while it is walked: where each block stands in the outline.

A reviewer finds a DOCX passage by its headings (三、数字化改造情况 › （二）制造设备数字化) and its
paragraph under the nearest heading, not by a block number. Word gives a heading's level by its
style (标题 1 = level 0) or a direct outline level; application forms often set headings by
direct formatting, and then the outline number gives the level away (第一章 → 一、 → （一） → 1. →
（1））. A heading pops every open heading at its level or deeper.

A table of contents repeats the headings: its lines stand under 目录 and leave the outline alone
until the body starts (its first entry comes again, or running text does), so a heading quoted
as evidence says whether it is the contents line or the heading itself.
"""

from __future__ import annotations

import re

# Levels of outline numbers, outermost first; kept below the style levels a form would use for
# the same heading only where nothing else is known (mixing both in one document is rare).
_NUMBER_LEVELS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+[章篇部]"), 0),
    (re.compile(r"^\s*第[一二三四五六七八九十百零〇\d]+节"), 1),
    (re.compile(r"^\s*[一二三四五六七八九十]{1,3}\s*[、.．]"), 2),
    (re.compile(r"^\s*[（(]\s*[一二三四五六七八九十]{1,3}\s*[)）]"), 3),
    (re.compile(r"^\s*\d{1,2}(?:[.．]\d{1,2}){2,3}"), 6),
    (re.compile(r"^\s*\d{1,2}[.．]\d{1,2}"), 5),
    (re.compile(r"^\s*\d{1,2}\s*[、.．]"), 4),
)
# A heading with neither a style level nor a number (a bold line set as 标题 by name only).
UNKNOWN_LEVEL = 8
# A TOC line carries its page number after a tab or a leader ("一、企业基本情况\t3", "……3"): not part
# of the heading.
_TRAILING_PAGE = re.compile(r"(?:[\t ]*[.．…·\-]{2,}[\t ]*|[\t ]+)\d+\s*$")
CONTENTS_TITLES = ("目录", "目次")
CONTENTS = "目录"
# Running text ends a table of contents (its lines are short).
CONTENTS_LINE_MAX = 60


def number_level(text: str) -> int | None:
    """The outline level an outline number at the start of ``text`` stands for, if any."""
    for pattern, level in _NUMBER_LEVELS:
        if pattern.match(text):
            return level
    return None


def _title(text: str) -> str:
    return " ".join(text.split())


def _entry(text: str) -> str:
    """A contents line without its page number (the heading it names)."""
    return _TRAILING_PAGE.sub("", _title(text))


class Outline:
    """The open headings and the paragraph count under the innermost one (and a table of contents
    being read, when one is)."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []
        self._paragraphs = 0
        self._contents: list[tuple[str, int | None, bool]] | None = None  # (text, level, heading) of its lines

    def heading(self, text: str, style_level: int | None) -> list[str]:
        """A heading (its level from the style when it has one, else from its number): the path it stands under."""
        title = _title(text)
        if self._contents is not None:
            if not self._contents or _entry(text) != _entry(self._contents[0][0]):
                self._contents.append((text, style_level, True))
                return [CONTENTS]
            self._contents = None  # the first entry again: the body has begun
        level = style_level if style_level is not None else number_level(text)
        if level is None:
            level = UNKNOWN_LEVEL
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        above = self.path()
        self._open.append((level, title))
        self._paragraphs = 0
        return above

    def paragraph(self, text: str) -> tuple[list[str], int]:
        """A paragraph of body text: the path it stands under and its ordinal there."""
        squeezed = "".join(text.split())
        if self._contents is not None and len(squeezed) > CONTENTS_LINE_MAX:
            self.end_contents()
        if self._contents is not None:
            self._contents.append((text, None, False))
            return [CONTENTS], len(self._contents)
        self._paragraphs += 1
        numbered = self._paragraphs
        if squeezed in CONTENTS_TITLES:
            self._contents = []
        return self.path(), numbered

    def end_contents(self) -> None:
        """Running text or a table after 目录: a single 'entry' before it was the body's first heading."""
        entries, self._contents = self._contents, None
        if entries is not None and len(entries) == 1 and entries[0][2]:
            self.heading(entries[0][0], entries[0][1])

    def path(self) -> list[str]:
        return [title for _, title in self._open]
