"""The one shared helper module of the tests: the shipped framework loaded once, and small
documents built from text (``doc``), so no test file defines its own."""

from __future__ import annotations

from xdt_rules.framework import load_framework
from xdt_rules.models import Block, BlockKind, Document, Mention

FRAMEWORK = load_framework()
CATALOGUE = FRAMEWORK.catalogue
KEYWORDS = FRAMEWORK.keywords
RULES = FRAMEWORK.rules


def doc(*texts: str, kind: BlockKind = "paragraph", name: str = "a.txt", file_type: str = "txt",
        source: str = "text") -> Document:
    """A document of one block per text (all of ``kind``; ``source="ocr"`` as if read from a scan)."""
    return Document(path=name, name=name, sha256="0" * 64, size=1, file_type=file_type, extractor_version="t",
                    blocks=[Block(index=i, kind=kind, text=t, source=source) for i, t in enumerate(texts)])  # type: ignore[arg-type]


def table(header: list[str], *rows: list[str], kind: BlockKind = "table_cell") -> Document:
    """A PDF of one table (``kind="sheet_cell"``: a spreadsheet's sheet 成效), the header its first row."""
    blocks = []
    for r, cells in enumerate([header, *rows]):
        for c, text in enumerate(cells):
            blocks.append(Block(index=len(blocks), kind=kind, text=text, row=r, col=c,
                                table=0 if kind == "table_cell" else None, sheet="成效" if kind == "sheet_cell" else None))
    return Document(path="t.pdf", name="t.pdf", sha256="1" * 64, size=1, file_type="pdf", extractor_version="t",
                    blocks=blocks)


def mentions_in(*texts: str, item: str | None = None) -> list[Mention]:
    """The mentions the shipped framework finds in a document of these paragraphs (of one item)."""
    from xdt_rules.evidence import find_evidence

    found = find_evidence([doc(*texts)], FRAMEWORK)
    return [m for m in found if item is None or m.item_id == item]


def screen(folder_or_app, *, ocr: str = "off", framework=None, read=None):  # noqa: ANN001, ANN201
    """Screen an application (a path or an ApplicationInput) without caches, as ``xdt screen`` does."""
    from xdt_rules.ingest import ExtractOptions
    from xdt_rules.screen import ApplicationInput, collect_application, plain_reader, screen_application

    framework = framework or FRAMEWORK
    app = folder_or_app if isinstance(folder_or_app, ApplicationInput) else collect_application(folder_or_app)
    return screen_application(app, framework, read=read or plain_reader(framework, ExtractOptions(ocr=ocr)))


def write(outcome, out, *, crops: bool = True, framework=None):  # noqa: ANN001, ANN201
    """Write an outcome's JSON and HTML as ``xdt screen`` does."""
    from xdt_rules.ingest import ExtractOptions
    from xdt_rules.screen import ScreenSettings, write_outputs

    return write_outputs(outcome, out, framework or FRAMEWORK, ScreenSettings(crops=crops, extract=ExtractOptions(ocr="off")))


_MODES = {"implemented": "achieved", "planned": "planned", "negated": "lacking", "generic": "general",
          "restates_criteria": "restated"}


def reading_of(polarity: str):  # noqa: ANN201 - a Reading
    """A plain reading that gives ``polarity`` (for mentions built by hand in tests)."""
    from xdt_rules.models import Reading

    return Reading(actor="nobody" if polarity == "generic" else "self", mode=_MODES[polarity],
                   reason="plain_statement" if polarity == "implemented" else "clause_word")
