"""Evidence detection: keywords → matches → context → :class:`~xdt_rules.models.Mention`.

Public API (other stages code against it)::

    from xdt_rules.evidence import find_evidence, load_keyword_set, KeywordSet
    keywords = load_keyword_set()                 # keywords/*.yaml, validated, cached per content hash
    mentions = find_evidence(documents)           # deterministic order
"""

from __future__ import annotations

import hashlib

from ..catalogue import Catalogue, load_catalogue
from ..models import Document, Mention
from .keywords import KeywordSet, load_keyword_set

__all__ = ["KeywordSet", "find_evidence", "load_keyword_set", "finder_for"]


def finder_for(keywords: KeywordSet, catalogue: Catalogue):  # noqa: ANN201 - EvidenceFinder, imported lazily
    """The compiled finder of a keyword set and catalogue (built once per process)."""
    from .finder import EvidenceFinder

    # keyed by the catalogue's content, so a re-loaded but identical framework reuses the finder
    key = "finder:" + hashlib.sha256(repr([(i.id, i.text) for i in catalogue.items]).encode("utf-8")).hexdigest()
    finder = keywords._cache.get(key)
    if finder is None:
        finder = EvidenceFinder(keywords, catalogue)
        keywords._cache[key] = finder
    return finder


def find_evidence(documents: list[Document], *, keywords: KeywordSet | None = None,
                  catalogue: Catalogue | None = None) -> list[Mention]:
    """All mentions in ``documents``, ordered by document (as given), block, start, end, item."""
    keywords = keywords or load_keyword_set()
    catalogue = catalogue or load_catalogue()
    finder = finder_for(keywords, catalogue)
    keyed: list[tuple[tuple[int, int, int, int, str, str, str], Mention]] = []
    for ordinal, document in enumerate(documents):
        for m in finder.document(document):
            keyed.append(((ordinal, m.block, m.start, m.end, m.item_id, m.kind, m.term), m))
    keyed.sort(key=lambda km: km[0])
    return [m for _, m in keyed]
