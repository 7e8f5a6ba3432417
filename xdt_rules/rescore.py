"""Cached scoring inputs: everything an application's result and report need besides the rules.

A rules edit changes only what the rules decide (status, points, reasons, rules fired). The rest
of a result is a function of the application's evidence: the file records and warnings, every
item's facts (counts over its mentions) and evidence list, and the report's evidence sections.
Once an application has been screened with every file read, those are kept in one entry (the
sections by their key in the report-section cache, where they already are, not as a second
copy: an entry is ~12 KB instead of ~220 KB with them), so a re-score reads two files and runs
the rules: no evidence entry is read, no fact counted, no section key computed. That took a
re-score from ~17 ms to ~9 ms an application.

An entry is keyed by everything it was made from: each file's path, shown name and sha256, the
evidence cache's keys (extraction, evidence code, keywords, criteria catalogue), the batch
settings (crops, options, tool version) and the code that assembles results and reports. The
one part of the rule file facts read, its fact options, is stored in the entry: an entry counted
with other options is not used. Anything else changed is another key; a damaged or foreign
entry is dropped, and the application is scored from the evidence cache as before (which also
writes the entry anew).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from . import __version__
from .batch.fsutil import atomic_write_bytes
from .cache import CacheStats, _GzipEntries
from .models import Document, EvidenceRef, FileRecord
from .report.html import SectionCache
from .scoring.facts import FactOptions, ItemFacts

SCORING_INPUTS_FORMAT = 1
# The code that turns evidence into the cached parts (the report code has its own digest).
_ASSEMBLY_CODE = ("screen.py", "rescore.py", "models.py", "scoring/facts.py", "scoring/score.py")
_PACKAGE_DIR = Path(__file__).resolve().parent
_GZIP_LEVEL = 3  # ~144 KB of JSON → 12 KB in 0.3 ms (level 1: 13 KB, same time; level 6: 10 KB, twice the time)


class ScoringInputs(BaseModel):
    """One application's result without what the rules decide.

    ``documents`` are the evidence views without their blocks (identity, pages, warnings): the
    report's sections (``section_key`` in the report-section cache) are made already, so no
    block is read again.
    """

    format: int  # SCORING_INPUTS_FORMAT when written (no default: it is always stored)
    key: str
    fact_options: FactOptions = Field(description="the rule file's fact options the facts were counted with")
    files: list[FileRecord]
    warnings: list[str]
    documents: list[Document]
    facts: dict[str, ItemFacts]
    evidence: dict[str, list[EvidenceRef]]
    section_key: str


@lru_cache(maxsize=1)
def assembly_code_version() -> str:
    digest = hashlib.sha256()
    for name in _ASSEMBLY_CODE:
        digest.update(name.encode() + b"\0" + (_PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


class ScoringInputsCache(_GzipEntries):
    """``<root>/<key[:2]>/<key>.json.gz``; ``document_key`` and ``evidence_key`` are those of the
    evidence cache the inputs were made from, ``salt`` the batch settings key; ``sections`` the
    report-section cache the entries point into."""

    def __init__(self, root: str | os.PathLike[str], *, document_key: str, evidence_key: str, salt: str,
                 sections: SectionCache):
        self.root = Path(root)
        self.sections = sections
        self.document_key = document_key
        self.evidence_key = evidence_key
        self.salt = salt
        self.stats = CacheStats()

    def key(self, files: Sequence[tuple[str, str, str]]) -> str:
        """The key of an application whose files are ``(path, shown name, sha256)``, in order."""
        from .report.crops import CropLimits
        from .report.crops import code_version as crop_code_version
        from .report.html import report_code_version

        # the report code is in the key although the sections are looked up by their own key:
        # the entry's documents and evidence are what the report is rendered from
        digest = hashlib.sha256(
            f"{SCORING_INPUTS_FORMAT}|{__version__}|{self.salt}|{self.document_key}|{self.evidence_key}|"
            f"{assembly_code_version()}|{report_code_version()}|{crop_code_version()}|{CropLimits()}".encode())
        for path, name, sha256 in files:
            digest.update(f"|{path}\0{name}\0{sha256}".encode())
        return digest.hexdigest()[:32]

    def entry_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json.gz"

    def get(self, key: str, fact_options: FactOptions) -> tuple[ScoringInputs, list[str]] | None:
        """The entry under ``key`` and its report sections, if its facts were counted with
        ``fact_options`` (the rule file's now) and the sections are still in their cache."""
        entry = self.entry_path(key)
        found = self._read_model(entry, ScoringInputs)
        if found is None:
            return None
        if found.format != SCORING_INPUTS_FORMAT or found.key != key:
            return self._discard(entry)
        sections = self.sections.get(found.section_key, len(found.facts)) if found.fact_options == fact_options else None
        if sections is None:
            self.stats.misses += 1  # replaced once the application is scored from its evidence
            return None
        self.stats.hits += 1
        return found, sections

    def put(self, inputs: ScoringInputs) -> Path | None:
        import gzip

        data = gzip.compress(inputs.model_dump_json(exclude_defaults=True).encode("utf-8"),
                             compresslevel=_GZIP_LEVEL, mtime=0)
        try:
            path = atomic_write_bytes(self.entry_path(inputs.key), data, durable=False)
        except OSError:
            return None  # a cache that cannot be written only costs time
        self.stats.writes += 1
        return path
