"""DOCX: body in document order, tables (merged cells once, nested), text boxes, content
controls, tracked changes as accepted, headers/footers once, footnotes and endnotes.

python-docx opens the package and resolves styles and parts, but its ``iter_inner_content``
skips text boxes, content controls and tracked insertions, so the body is walked on the XML
(the lxml tree python-docx parsed) with one small recursive walker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from ..errors import IngestError
from ..models import BlockKind
from .limits import check_zip
from .outline import Outline
from .structure import BlockSink, is_list_item, is_numbered_heading

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

# Run-level containers whose content is (accepted) text.
_TRANSPARENT_INLINE = {"ins", "moveTo", "hyperlink", "smartTag", "customXml", "fldSimple", "sdtContent", "bdo", "dir"}
# Block-level wrappers whose content is walked as body content.
_TRANSPARENT_BLOCK = {"ins", "moveTo", "customXml", "smartTag"}
# Deleted content (tracked changes read as accepted).
_DELETED = {"del", "moveFrom"}
_NOTE_SKIP_TYPES = {"separator", "continuationSeparator", "continuationNotice"}
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*(\d)$")


class _Styles:
    """Paragraph style id → (is heading, is list, outline level), following basedOn."""

    def __init__(self, document) -> None:
        self._by_id: dict[str, object] = {}
        try:
            for style in document.styles:
                if style.style_id:
                    self._by_id[style.style_id] = style
        except Exception:  # noqa: BLE001 - a broken styles part only costs heading detection
            self._by_id = {}
        self._cache: dict[str, tuple[bool, bool, int | None]] = {}

    def kind(self, style_id: str | None) -> tuple[bool, bool, int | None]:
        if not style_id:
            return False, False, None
        if style_id not in self._cache:
            self._cache[style_id] = self._resolve(style_id)
        return self._cache[style_id]

    def _resolve(self, style_id: str) -> tuple[bool, bool, int | None]:
        heading = listing = False
        level: int | None = None
        seen: set[str] = set()
        current = self._by_id.get(style_id)
        names = [style_id.lower()]
        while current is not None and id(current) not in seen:
            seen.add(id(current))  # type: ignore[arg-type]
            name = (getattr(current, "name", "") or "").lower()
            names.append(name)
            element = current.element  # type: ignore[attr-defined]
            if element.find(f"{W}pPr/{W}outlineLvl") is not None:
                value = element.find(f"{W}pPr/{W}outlineLvl").get(f"{W}val", "9")
                if value.isdigit() and int(value) < 9:
                    heading = True
                    level = int(value) if level is None else level  # the nearest style's level wins
            current = getattr(current, "base_style", None)
        for name in names:
            if name.startswith(("heading", "title", "标题")) or name in ("subtitle", "副标题"):
                heading = True
                numbered = _HEADING_NAME.match(name)
                if level is None and numbered:
                    level = int(numbered.group(1)) - 1
                elif level is None and name in ("title", "标题"):
                    level = -1  # the document's title stands above every heading
            if "list" in name or "列表" in name:
                listing = True
        return heading, listing, level


# Parts outside the body's flow: they stand under no heading.
_RUNNING: tuple[BlockKind | None, ...] = ("header", "footer", "footnote")


class _Walker:
    def __init__(self, sink: BlockSink, styles: _Styles) -> None:
        self.sink = sink
        self.styles = styles
        self.table_ordinal = 0
        self.seen_running: set[tuple[str, str]] = set()
        self.outline = Outline()

    # ------------------------------------------------------------------ block level
    def body(self, element, override: BlockKind | None = None) -> None:
        for child in element:
            tag = _local(child)
            if tag == "p":
                self.paragraph(child, override)
            elif tag == "tbl":
                self.table(child, override)
            elif tag == "sdt":
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    self.body(content, override or "content_control")
            elif tag in _TRANSPARENT_BLOCK:
                self.body(child, override)
            elif tag == "AlternateContent":
                choice = child.find(f"{MC}Choice")
                if choice is not None:
                    self.body(choice, override)

    def paragraph(self, p, override: BlockKind | None) -> None:
        parts: list[str] = []
        boxes: list = []
        _inline(p, parts, boxes)
        text = "".join(parts).strip()
        if text:
            kind, level = (override, None) if override else self._paragraph_kind(p, text)
            if kind in ("header", "footer"):
                key = (kind, text)
                if key not in self.seen_running:
                    self.seen_running.add(key)
                    self.sink.add(kind, text)
            elif kind == "footnote":
                self.sink.add(kind, text)
            elif kind == "heading":
                self.sink.add(kind, text, headings=self.outline.heading(text, level))
            elif kind == "text_box":
                self.sink.add(kind, text, headings=self.outline.path())
            else:
                headings, number = self.outline.paragraph(text)
                self.sink.add(kind, text, headings=headings, paragraph=number)
        for box in boxes:
            self.body(box, override if override in ("header", "footer", "footnote") else "text_box")

    def _paragraph_kind(self, p, text: str) -> tuple[BlockKind, int | None]:
        """The paragraph's kind and, for a heading, its outline level when Word says it (else None)."""
        ppr = p.find(f"{W}pPr")
        style_id = None
        has_numbering = False
        direct_level: int | None = None
        if ppr is not None:
            pstyle = ppr.find(f"{W}pStyle")
            style_id = pstyle.get(f"{W}val") if pstyle is not None else None
            num = ppr.find(f"{W}numPr/{W}numId")
            has_numbering = num is not None and num.get(f"{W}val", "0") != "0"
            lvl = ppr.find(f"{W}outlineLvl")
            value = lvl.get(f"{W}val", "9") if lvl is not None else "9"
            direct_level = int(value) if value.isdigit() and int(value) < 9 else None
        heading, listing, style_level = self.styles.kind(style_id)
        if heading or direct_level is not None:
            return "heading", direct_level if direct_level is not None else style_level
        if has_numbering or listing:
            return "list_item", None
        # Many forms set headings by direct formatting; the outline number gives them away.
        if is_numbered_heading(text):
            return "heading", None
        if is_list_item(text):
            return "list_item", None
        return "paragraph", None

    def table(self, tbl, override: BlockKind | None) -> None:
        if override in _RUNNING:
            for tc in tbl.iter(f"{W}tc"):
                self.body(tc, override)
            return
        if override is None:
            self.outline.end_contents()
        ordinal = self.table_ordinal
        self.table_ordinal += 1
        for r, tr in enumerate(_rows(tbl)):
            col = _int_val(tr.find(f"{W}trPr/{W}gridBefore"), 0)
            for tc in _cells(tr):
                tcpr = tc.find(f"{W}tcPr")
                span = max(_int_val(tcpr.find(f"{W}gridSpan") if tcpr is not None else None, 1), 1)
                vmerge = tcpr.find(f"{W}vMerge") if tcpr is not None else None
                if vmerge is not None and vmerge.get(f"{W}val", "continue") == "continue":
                    col += span  # continuation of a vertically merged cell: counted once, above
                    continue
                self._cell(tc, ordinal, r, col)
                col += span

    def _cell(self, tc, ordinal: int, row: int, col: int) -> None:
        lines: list[str] = []
        boxes: list = []
        nested: list = []
        self._cell_content(tc, lines, boxes, nested)
        text = "\n".join(line for line in lines if line)
        self.sink.add("table_cell", text, table=ordinal, row=row, col=col, headings=self.outline.path())
        for box in boxes:
            self.body(box, "text_box")
        for inner in nested:
            self.table(inner, None)

    def _cell_content(self, element, lines: list[str], boxes: list, nested: list) -> None:
        for child in element:
            tag = _local(child)
            if tag == "p":
                parts: list[str] = []
                _inline(child, parts, boxes)
                lines.append("".join(parts).strip())
            elif tag == "tbl":
                nested.append(child)
            elif tag == "sdt":
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    self._cell_content(content, lines, boxes, nested)
            elif tag in _TRANSPARENT_BLOCK:
                self._cell_content(child, lines, boxes, nested)


def _int_val(el, default: int) -> int:
    if el is None:
        return default
    try:
        return int(el.get(f"{W}val", default))
    except (TypeError, ValueError):
        return default


def _rows(tbl) -> Iterator:
    for child in tbl:
        tag = _local(child)
        if tag == "tr":
            yield child
        elif tag == "sdt" or tag in _TRANSPARENT_BLOCK:
            content = child.find(f"{W}sdtContent") if tag == "sdt" else child
            if content is not None:
                yield from _rows(content)


def _cells(tr) -> Iterator:
    for child in tr:
        tag = _local(child)
        if tag == "tc":
            yield child
        elif tag == "sdt" or tag in _TRANSPARENT_BLOCK:
            content = child.find(f"{W}sdtContent") if tag == "sdt" else child
            if content is not None:
                yield from _cells(content)


# ---------------------------------------------------------------------- run level
def _inline(element, out: list[str], boxes: list) -> None:
    for child in element:
        tag = _local(child)
        if tag == "r":
            _run(child, out, boxes)
        elif tag in _DELETED:
            continue
        elif tag == "sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                _inline(content, out, boxes)
        elif tag in _TRANSPARENT_INLINE:
            _inline(child, out, boxes)
        elif tag in ("oMath", "oMathPara"):
            out.append("".join(t.text or "" for t in child.iter(f"{M}t")))
        elif tag == "AlternateContent":
            choice = child.find(f"{MC}Choice")
            if choice is not None:
                _inline(choice, out, boxes)


def _t_text(t) -> str:
    """A w:t's text. An entity reference inside it (``abc&ext;def``: never written by Word, but
    possible in a hand-made file) is a child node: the text after it is that node's tail, which
    ``.text`` alone drops. The reference itself is not resolved (it may name a file of this
    machine); ``extract_docx`` warns about it."""
    if len(t) == 0:
        return t.text or ""
    return (t.text or "") + "".join(sub.tail or "" for sub in t)


def _run(run, out: list[str], boxes: list) -> None:
    for child in run:
        tag = _local(child)
        if tag == "t":
            out.append(_t_text(child))
        elif tag == "tab":
            out.append("\t")
        elif tag in ("br", "cr"):
            out.append("\n")
        elif tag == "noBreakHyphen":
            out.append("-")
        elif tag == "sym":
            code = child.get(f"{W}char", "")
            try:
                cp = int(code, 16)
                # Symbol-font code points (F0xx) are private use: their glyphs are not text.
                if not 0xE000 <= cp <= 0xF8FF:
                    out.append(chr(cp))
            except ValueError:
                pass
        elif tag in ("drawing", "pict", "object", "AlternateContent"):
            _find_text_boxes(child, boxes)


def _find_text_boxes(element, boxes: list) -> None:
    """Outermost w:txbxContent under a drawing; mc:Fallback repeats mc:Choice, so it is skipped."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{W}txbxContent":
            boxes.append(child)
        elif child.tag == f"{MC}Fallback":
            continue
        else:
            _find_text_boxes(child, boxes)


# ---------------------------------------------------------------------- package
def extract_docx(path: Path, file: str, sink: BlockSink) -> list[str]:
    check_zip(path, file).close()
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    warnings: list[str] = []
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise IngestError("Word 文件已损坏或不完整，无法解析", f"the DOCX is damaged ({type(exc).__name__}: {exc})",
                          file=file, code="corrupt") from exc
    walker = _Walker(sink, _Styles(document))
    part = document.part
    body = document.element.body
    entities = sorted({node.name for node in document.element.iter(etree.Entity)})
    if entities:
        shown = "、".join(f"&{name};" for name in entities[:5])
        warnings.append(f"文档含未解析的实体引用（{shown}），出于安全未读取其内容，其前后的文字已读取 / "
                        f"entity references ({shown}) were not resolved, for safety; the text around them was read")
    references = list(body.iter(f"{W}headerReference"))
    footers = list(body.iter(f"{W}footerReference"))
    for ref in references:
        _walk_part(part, ref.get(R_ID), walker, "header", warnings)
    walker.body(body)
    for ref in footers:
        _walk_part(part, ref.get(R_ID), walker, "footer", warnings)
    for reltype_tail, note_tag in (("/footnotes", "footnote"), ("/endnotes", "endnote")):
        for rel in part.rels.values():
            if rel.reltype.endswith(reltype_tail) and not rel.is_external:
                _walk_notes(rel.target_part.blob, note_tag, walker, warnings)
    return warnings


def _walk_part(part, rid: str | None, walker: _Walker, kind: BlockKind, warnings: list[str]) -> None:
    if not rid:
        return
    try:
        target = part.related_parts[rid]
        element = getattr(target, "element", None)
        if element is None:
            element = etree.fromstring(target.blob, _SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError) as exc:
        warnings.append(f"页眉/页脚无法读取 / header or footer unreadable ({type(exc).__name__})")
        return
    walker.body(element, kind)


def _walk_notes(blob: bytes, note_tag: str, walker: _Walker, warnings: list[str]) -> None:
    try:
        root = etree.fromstring(blob, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        warnings.append(f"脚注无法读取 / footnotes unreadable ({exc})")
        return
    for note in root.iter(f"{W}{note_tag}"):
        if note.get(f"{W}type") in _NOTE_SKIP_TYPES:
            continue
        walker.body(note, "footnote")
