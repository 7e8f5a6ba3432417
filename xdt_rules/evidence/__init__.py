"""Evidence detection: keywords → matches → context → :class:`~xdt_rules.models.Mention`.

Public API (other stages code against it)::

    from xdt_rules.evidence import find_evidence
    mentions = find_evidence(documents, framework)   # deterministic order
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..models import Document, FileEvidence, Mention
from .keywords import KeywordSet

if TYPE_CHECKING:
    from ..framework import Framework
    from .finder import EvidenceFinder

__all__ = ["KeywordSet", "evidence_view", "file_evidence", "find_evidence", "finder_for"]


def _build_finder(framework: Framework) -> EvidenceFinder:
    from .finder import EvidenceFinder

    return EvidenceFinder(framework.keywords, framework.catalogue)


def finder_for(framework: Framework) -> EvidenceFinder:
    """The compiled finder of a framework (built once per process)."""
    return framework.compiled("evidence_finder", _build_finder)


def find_evidence(documents: Sequence[Document], framework: Framework | None = None,
                  capped: set[str] | None = None) -> list[Mention]:
    """All mentions in ``documents``, ordered by document (as given), block, start, end, item
    (``framework``: the default one when not given, for scripts and tests; ``capped`` collects the
    items whose mentions in a document were cut at the finder's bound)."""
    if framework is None:
        from ..framework import load_framework

        framework = load_framework()
    finder = finder_for(framework)
    keyed: list[tuple[tuple[int, int, int, int, str, str, str], Mention]] = []
    for ordinal, document in enumerate(documents):
        for m in finder.document(document, capped):
            keyed.append(((ordinal, m.block, m.start, m.end, m.item_id, m.kind, m.term), m))
    keyed.sort(key=lambda km: km[0])
    return [m for _, m in keyed]


def evidence_view(document: Document, mentions: Sequence[Mention]) -> Document:
    """The document as scoring and the report read it once its mentions are known: its metadata
    and the blocks the mentions point into, with every cell of their table (or worksheet) rows,
    because a cell is scored and shown with its row. Everything else is left out, so the view is
    small enough to cache with the mentions; scoring and reports always run on views, so a
    re-score from the cache gives byte-identical results by construction."""
    wanted = {m.block for m in mentions}
    rows = {(b.table, b.sheet, b.row) for b in document.blocks if b.index in wanted and b.row is not None}
    blocks = [b for b in document.blocks
              if b.index in wanted or (b.row is not None and (b.table, b.sheet, b.row) in rows)]
    return document.model_copy(update={"blocks": blocks})


def file_evidence(document: Document, framework: Framework) -> FileEvidence:
    """A document's evidence: its mentions and its evidence view."""
    capped: set[str] = set()
    mentions = find_evidence([document], framework, capped)
    view = evidence_view(document, mentions)
    if capped:
        from .finder import EvidenceFinder

        bound = EvidenceFinder.MAX_MENTIONS_PER_ITEM
        warning = (f"证据过多：评价项 {'、'.join(sorted(capped))} 只保留前 {bound} 处提及 / too much evidence: "
                   f"only the first {bound} mentions of item(s) {', '.join(sorted(capped))} were kept")
        view = view.model_copy(update={"warnings": [*view.warnings, warning]})
    return FileEvidence(document=view, mentions=mentions, has_text=bool(document.blocks))
