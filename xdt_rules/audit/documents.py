"""The text of the screened applications, for the parts of the audit that read it (uncovered
vocabulary, locating a reviewer's quote).

Result JSON files name each file by its path inside the application and its sha256, not where it
lies on disk. Per file, in this order:

1. the parsed-document cache of a batch (``<results>/.cache`` or ``--cache DIR``), by sha256 —
   no parsing at all;
2. the application's source folder recorded in the batch manifest (``<results>/.xdt-batch``);
3. ``--docs DIR``: the folder the applications were screened from (``DIR/<application>/…`` for
   folder applications, ``DIR/<file>`` for single-file ones).

A file found on disk whose sha256 differs from the result's is not used (the result is about
other bytes); the audit says which applications have no text.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..fsutil import sha256_or_none
from ..errors import IngestError
from ..models import ApplicationResult, Document


class DocumentSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: str
    files: int = Field(0, description="files whose text was read")
    from_cache: int = 0
    parsed: int = 0
    missing: list[str] = Field(default_factory=list, description="files of the result whose text was not found")


def _from_cache(cache_root: Path, sha: str, shown: str) -> Document | None:
    from ..cache import DocumentCache

    folder = cache_root / sha[:2]
    if not folder.is_dir():
        return None
    cache = DocumentCache(cache_root)
    for entry in sorted(folder.glob(f"{sha}.*.json.gz")):
        key = entry.name[len(sha) + 1 : -len(".json.gz")]
        document = cache.get(sha, key, name=shown)
        if document is not None:
            return document
    return None


def _roots(result: ApplicationResult, results_dir: Path, docs_dir: Path | None) -> list[Path]:
    from ..batch.resume import load_manifest, state_dir

    roots: list[Path] = []
    record = load_manifest(results_dir).applications.get(result.application)
    if record is not None:
        unzipped = state_dir(results_dir) / "unzipped" / result.application
        if unzipped.is_dir():
            roots.append(unzipped)
        source = Path(record.source)
        roots.append(source if source.is_dir() else source.parent)
    if docs_dir is not None:
        roots += [docs_dir / result.application, docs_dir]
    return roots


def load_documents_for(results: list[ApplicationResult], results_dir: str | Path, *, docs_dir: str | Path | None = None,
                       cache_dir: str | Path | None = None, ocr: str = "off"
                       ) -> tuple[dict[str, list[Document]], list[DocumentSource]]:
    """application → its documents (named as in the result), and where each application's text came from."""
    from ..ingest import ExtractOptions, extract

    results_path = Path(results_dir)
    cache_root = Path(cache_dir) if cache_dir else results_path / ".cache"
    docs = Path(docs_dir) if docs_dir else None
    options = ExtractOptions(ocr=ocr)
    out: dict[str, list[Document]] = {}
    sources: list[DocumentSource] = []
    for result in results:
        source = DocumentSource(application=result.application)
        documents: list[Document] = []
        roots = _roots(result, results_path, docs)
        for record in result.files:
            if record.error:
                continue
            document = _from_cache(cache_root, record.sha256, record.path) if record.sha256 else None
            if document is not None:
                source.from_cache += 1
            else:
                for root in roots:
                    candidate = root / record.path
                    if not candidate.is_file() or (record.sha256 and sha256_or_none(candidate) != record.sha256):
                        continue
                    try:
                        document = extract(candidate, options).model_copy(update={"name": record.path})
                    except IngestError:
                        continue
                    source.parsed += 1
                    break
            if document is None:
                source.missing.append(record.path)
            else:
                documents.append(document)
        source.files = len(documents)
        out[result.application] = documents
        sources.append(source)
    return out, sources
