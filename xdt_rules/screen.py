"""One application end to end: files → documents → evidence → rules → result (+ JSON and HTML).

This is the seam the batch maps over worker processes, so everything here is a plain function
of picklable pydantic inputs; the only state is per-process caches (compiled rules, keyword sets).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .batch.fsutil import atomic_write_text, sha256_or_none
from .cache import CacheMiss
from .datapaths import DEFAULT_FRAMEWORK
from .errors import IngestError, XdtError
from .ingest import ExtractOptions
from .models import ApplicationResult, Document, FileRecord, Mention

if TYPE_CHECKING:
    from .cache import EvidenceCache
    from .catalogue import Catalogue
    from .report.crops import CropCache
    from .report.html import SectionCache
    from .rescore import ScoringInputs, ScoringInputsCache
    from .scoring import Scored
    from .scoring.ruleset import RuleBook

LoadDocument = Callable[[Path, ExtractOptions], Document]

# Files that are never part of an application: OS and editor litter, Office lock files.
_SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_SKIP_DIRS = {"__macosx", "__pycache__"}
_OCR_STATUSES = ("no_text_layer", "garbled")


class ScreenSettings(BaseModel):
    """Everything a worker needs to screen an application (picklable)."""

    model_config = ConfigDict(extra="forbid")

    framework: str = DEFAULT_FRAMEWORK
    extract: ExtractOptions = Field(default_factory=ExtractOptions)
    crops: bool = True  # render PDF evidence crops into the HTML


class ApplicationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="application name = file stem or folder name")
    root: str = Field(description="the path the user gave")
    files: list[str] = Field(description="files to read, sorted")
    file_errors: list[FileRecord] = Field(default_factory=list,
                                          description="files that failed before screening (zip members, timeouts)")


class ScreenOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: ApplicationResult
    documents: list[Document] = Field(description="the documents as read; for a file answered from the evidence "
                                                  "cache, its evidence view (then ``complete`` is False)")
    views: list[Document] | None = Field(None, description="evidence views: what scoring and the report read")
    complete: bool = Field(True, description="every document in ``documents`` is whole (none came from the evidence cache)")
    seconds: dict[str, float] = Field(default_factory=dict, description="time per stage (not in the JSON)")
    facts: dict[str, Any] | None = Field(None, description="the ItemFacts of every item, as the rules saw them")
    fact_options: Any = Field(None, description="the FactOptions they were counted with")
    sections: list[str] | None = Field(None, description="the report's evidence section of every item, once rendered "
                                                         "(or brought by cached scoring inputs)")
    from_scoring_inputs: bool = Field(False, description="scored from cached scoring inputs (documents have no blocks)")


def is_skipped(rel_parts: tuple[str, ...]) -> bool:
    """Hidden files and folders, Office lock files (~$x.docx), editor backups and temp files."""
    for part in rel_parts[:-1]:
        if part.startswith(".") or part.lower() in _SKIP_DIRS:
            return True
    name = rel_parts[-1]
    lower = name.lower()
    return (name.startswith((".", "~$")) or lower in _SKIP_NAMES or name.endswith("~")
            or lower.endswith((".tmp", ".temp", ".crdownload", ".part")))


def collect_application(path: str | Path) -> ApplicationInput:
    """An application from a file (itself) or a folder (its files, recursively, sorted)."""
    given = str(path)
    p = Path(path)
    if not p.exists():
        raise XdtError("找不到申报材料", "application not found", file=given, code="not_found")
    if p.is_file():
        return ApplicationInput(name=p.stem or p.name, root=given, files=[given])
    name = p.name or p.resolve().name
    found = []
    for child in p.rglob("*"):
        rel = child.relative_to(p)
        if child.is_file() and not is_skipped(rel.parts):
            found.append((rel.as_posix(), str(child)))
    return ApplicationInput(name=name, root=given, files=[f for _, f in sorted(found)])


def display_path(app: ApplicationInput, file: str) -> str:
    """A file's name inside its application (relative to the folder; the file name for a file).

    This is what the JSON shows, so results never carry absolute or temporary paths.
    """
    root = Path(app.root)
    try:
        if root.is_dir():
            return Path(file).relative_to(root).as_posix()
    except ValueError:
        pass
    return Path(file).name


def _default_loader(path: Path, options: ExtractOptions) -> Document:
    from .ingest import extract

    return extract(path, options)


def _reason(exc: XdtError) -> str:
    return f"{exc.reason_zh} / {exc.reason_en}"


def load_documents(app: ApplicationInput, options: ExtractOptions, load_document: LoadDocument | None = None
                   ) -> tuple[list[Document], list[FileRecord], list[str], list[str]]:
    """Read every file; a file that cannot be read becomes a FileRecord with its error."""
    loader = load_document or _default_loader
    reads = [_read_file(app, file, options, loader, None, {}) for file in app.files]
    records = [r.model_copy() for r in app.file_errors] + [r.record for r in reads]
    records.sort(key=lambda r: r.path)
    errors = [f"{r.path}: {r.error}" for r in app.file_errors if r.error] + [e for r in reads for e in r.errors]
    documents = [r.document for r in reads if r.document is not None]
    return documents, records, errors, [w for r in reads for w in r.warnings]


def evidence_view(document: Document, mentions: Sequence[Mention]) -> Document:
    """What scoring and the report read of a document once its mentions are known: its metadata
    and the blocks the mentions point into, with every cell of their table (or worksheet) rows,
    because a cell is scored and shown with its row. Everything else is left out, so the view
    is small enough to cache with the mentions (a re-score then needs no parsed document).

    Scoring and reporting always run on views, whether the mentions were just found or came
    from the cache, so a re-score gives byte-identical results by construction.
    """
    wanted = {m.block for m in mentions}
    rows = {(b.table, b.sheet, b.row) for b in document.blocks if b.index in wanted and b.row is not None}
    blocks = [b for b in document.blocks
              if b.index in wanted or (b.row is not None and (b.table, b.sheet, b.row) in rows)]
    return document.model_copy(update={"blocks": blocks})


@dataclass
class _Read:
    """One file's part of an application: its record, and its document with mentions when readable."""

    record: FileRecord
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document: Document | None = None  # whole, or the evidence view from the cache
    view: Document | None = None
    mentions: list[Mention] | None = None
    cached: bool = False  # document, view and mentions came from the evidence cache


def _file_record(shown: str, doc: Document) -> FileRecord:
    ocr_pages = [p.number for p in doc.page_info if p.status in _OCR_STATUSES]
    return FileRecord(path=shown, sha256=doc.sha256, pages=doc.pages, pages_needing_ocr=ocr_pages)


def _doc_warnings(shown: str, doc: Document, has_text: bool) -> list[str]:
    warnings = [f"{shown}: {w}" for w in doc.warnings]
    if not has_text:
        warnings.append(f"{shown}: 未读到文字 / no text found")
    return warnings


def _read_file(app: ApplicationInput, file: str, options: ExtractOptions, loader: LoadDocument,
               cache: EvidenceCache | None, file_sha256: Mapping[str, str]) -> _Read:
    """A file from the evidence cache when its mentions are there, else read (and parsed) by ``loader``."""
    shown = display_path(app, file)
    if cache is not None:
        sha = file_sha256.get(file) or sha256_or_none(file)
        entry = cache.get(sha, path=str(file), name=shown) if sha else None
        if entry is not None:
            return _Read(_file_record(shown, entry.document), warnings=_doc_warnings(shown, entry.document, entry.has_text),
                         document=entry.document, view=entry.document, mentions=entry.mentions, cached=True)
    try:
        doc = loader(Path(file), options)
    except CacheMiss:
        raise  # cached-only screening: this application needs a worker that may parse
    except IngestError as exc:
        return _Read(FileRecord(path=shown, sha256=sha256_or_none(file), error=_reason(exc)),
                     errors=[f"{shown}: {_reason(exc)}"])
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the application
        reason = f"解析出错（内部错误）/ internal error while reading: {type(exc).__name__}: {exc}"
        return _Read(FileRecord(path=shown, sha256=sha256_or_none(file), error=reason), errors=[f"{shown}: {reason}"])
    # Keep the real path for page rendering (crops); show the name inside the application.
    doc = doc.model_copy(update={"path": str(file), "name": shown})
    return _Read(_file_record(shown, doc), warnings=_doc_warnings(shown, doc, bool(doc.blocks)), document=doc)


def screen_application(app: ApplicationInput, settings: ScreenSettings, *, load_document: LoadDocument | None = None,
                       evidence_cache: EvidenceCache | None = None,
                       file_sha256: Mapping[str, str] | None = None,
                       scoring_inputs: ScoringInputsCache | None = None) -> ScreenOutcome:
    """Screen one application. Deterministic: same files and rules → the same result.

    With ``evidence_cache``, a file whose mentions are cached (same bytes, extraction, keywords,
    catalogue and evidence code) is neither parsed nor matched again, and the evidence stage is
    not even imported when every file is cached; ``file_sha256`` saves hashing files whose
    digest the caller knows. With ``scoring_inputs`` too, an application whose facts, evidence
    and report sections are cached (see :mod:`xdt_rules.rescore`) only runs the rules.
    """
    from .catalogue import load_catalogue
    from .scoring import load_rulebook, score_mentions
    from .versioning import rules_version

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    catalogue = load_catalogue(settings.framework)
    book = load_rulebook(settings.framework)
    version = rules_version(settings.framework)
    if scoring_inputs is not None and evidence_cache is not None and not app.file_errors:
        key = _scoring_inputs_key(app, scoring_inputs, file_sha256 or {})
        found = scoring_inputs.get(key, book.fact_options) if key else None
        if found is not None:
            seconds["read"] = time.perf_counter() - t0
            inputs, sections = found
            return outcome_from_inputs(app, inputs, sections, catalogue=catalogue, book=book, version=version,
                                       seconds=seconds)
    loader = load_document or _default_loader
    reads = [_read_file(app, file, settings.extract, loader, evidence_cache, file_sha256 or {}) for file in app.files]
    t1 = time.perf_counter()
    seconds["read"] = t1 - t0
    pending = [r for r in reads if r.document is not None and r.mentions is None]
    if pending:
        # imported only here: jieba and the keyword automaton cost ~0.8 s to load, and a re-score
        # whose documents are all cached never needs them
        from .evidence import find_evidence, load_keyword_set

        keywords = load_keyword_set()
        for r in pending:
            assert r.document is not None
            # one document at a time: mentions are ordered by document first, so this is the same list
            r.mentions = find_evidence([r.document], keywords=keywords, catalogue=catalogue)
            r.view = evidence_view(r.document, r.mentions)
            if evidence_cache is not None:
                evidence_cache.put(r.view, r.mentions, has_text=bool(r.document.blocks))
    t2 = time.perf_counter()
    seconds["evidence"] = t2 - t1
    done = [r for r in reads if r.view is not None]
    views = [r.view for r in done if r.view is not None]
    mentions = [m for r in done for m in (r.mentions or [])]
    names: dict[str, str] = {}
    for doc in views:
        names[doc.path] = doc.name
        names.setdefault(doc.name, doc.name)
    scored = score_mentions(mentions, catalogue=catalogue, book=book, documents=views, file_names=names)
    seconds["score"] = time.perf_counter() - t2
    result = _result(app, catalogue, version, scored, records=[r.record for r in reads],
                     errors=[e for r in reads for e in r.errors], warnings=[w for r in reads for w in r.warnings],
                     readable=bool(views))
    documents = [r.document for r in done if r.document is not None]
    return ScreenOutcome(result=result, documents=documents, views=views,
                         complete=not any(r.cached for r in done), seconds=seconds, facts=scored.facts,
                         fact_options=book.fact_options)


def _result(app: ApplicationInput, catalogue: Catalogue, version: str, scored: Scored, *, records: list[FileRecord],
            errors: list[str], warnings: list[str], readable: bool) -> ApplicationResult:
    """The application's result from its scores and the records, errors and warnings of its files."""
    records = [r.model_copy() for r in app.file_errors] + records
    records.sort(key=lambda r: r.path)
    errors = [f"{r.path}: {r.error}" for r in app.file_errors if r.error] + errors
    if not readable:
        errors.append("没有可读取的文件 / no file could be read")
    return ApplicationResult(
        application=app.name, files=records, framework=catalogue.id, rules_version=version,
        tool_version=__version__, total=scored.total, elements=scored.elements, items=scored.items,
        errors=errors, warnings=warnings)


# --------------------------------------------------------------------------- cached scoring inputs

def _scoring_inputs_key(app: ApplicationInput, cache: ScoringInputsCache, file_sha256: Mapping[str, str]) -> str | None:
    """The scoring-inputs key of an application about to be screened (None: a file's digest is unknown)."""
    files = []
    for file in app.files:
        sha = file_sha256.get(file)
        if not sha:
            return None
        files.append((file, display_path(app, file), sha))
    return cache.key(files)


def outcome_from_inputs(app: ApplicationInput, inputs: ScoringInputs, sections: list[str], *, catalogue: Catalogue,
                        book: RuleBook, version: str, seconds: dict[str, float] | None = None) -> ScreenOutcome:
    """The outcome of an application re-scored from its cached scoring inputs: the rules run on
    the cached facts; everything else is as it was cached (the same as screening from evidence)."""
    from .scoring import score_facts

    t0 = time.perf_counter()
    scored = score_facts(inputs.facts, inputs.evidence, catalogue=catalogue, book=book)
    result = _result(app, catalogue, version, scored, records=inputs.files, errors=[], warnings=inputs.warnings,
                     readable=bool(inputs.documents))
    seconds = dict(seconds or {})
    seconds["score"] = time.perf_counter() - t0
    return ScreenOutcome(result=result, documents=inputs.documents, views=inputs.documents, complete=False,
                         seconds=seconds, facts=scored.facts, fact_options=inputs.fact_options, sections=sections,
                         from_scoring_inputs=True)


def scoring_inputs_of(outcome: ScreenOutcome, cache: ScoringInputsCache, settings: ScreenSettings) -> ScoringInputs | None:
    """What to cache of a screened and reported application, or None when it does not qualify:
    only an application whose every file was read (no error at all) with its sections rendered
    (into ``cache.sections``)."""
    from .report.crops import CropLimits
    from .rescore import SCORING_INPUTS_FORMAT, ScoringInputs

    result, views = outcome.result, outcome.views
    if (outcome.from_scoring_inputs or outcome.facts is None or outcome.fact_options is None
            or outcome.sections is None or views is None
            or result.errors or not views or len(views) != len(result.files) or any(f.error for f in result.files)):
        return None
    # the documents as read (their digest is of the bytes read), not as listed before
    key = cache.key([(doc.path, doc.name, doc.sha256) for doc in views])
    return ScoringInputs(
        format=SCORING_INPUTS_FORMAT, key=key, fact_options=outcome.fact_options, files=result.files,
        warnings=result.warnings,
        documents=[doc.model_copy(update={"blocks": []}) for doc in views], facts=outcome.facts,
        evidence={item.id: item.evidence for item in result.items if item.evidence},
        section_key=cache.sections.key(result, views, crops=settings.crops, limits=CropLimits()))


# --------------------------------------------------------------------------- outputs

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def output_stem(application: str) -> str:
    """A file name for an application's outputs (no path separators or reserved characters)."""
    stem = _UNSAFE.sub("_", application).strip(" .")
    return stem or "application"


def result_json(result: ApplicationResult) -> str:
    """The result as JSON: UTF-8 Chinese, stable key order (the model's), trailing newline.

    pydantic's serializer writes the same text as ``json.dumps(…, ensure_ascii=False, indent=2)``
    (only floats below 1e-4 would be spelt 0.00001 rather than 1e-05) at a fifth of the time:
    with ``indent`` the standard library falls back to its pure-Python encoder."""
    return result.model_dump_json(indent=2) + "\n"


def write_outputs(outcome: ScreenOutcome, out_dir: Path, *, settings: ScreenSettings,
                  crop_cache: CropCache | None = None, section_cache: SectionCache | None = None,
                  scoring_inputs: ScoringInputsCache | None = None) -> list[Path]:
    """DIR/<application>.json and DIR/<application>.html, each written atomically; evidence crops
    and sections through the caches when given (a re-score then renders no page); the
    application's scoring inputs into ``scoring_inputs`` when they qualify (see :func:`scoring_inputs_of`)."""
    from .report.html import render_report

    out_dir = Path(out_dir)
    stem = output_stem(outcome.result.application)
    json_path = out_dir / f"{stem}.json"
    html_path = out_dir / f"{stem}.html"
    # both texts first: a report that cannot be made (a crop only a worker may render) leaves
    # the previous outputs as they were, never a new JSON beside an old report
    json_text = result_json(outcome.result)
    html_text = render_report(outcome, settings=settings, crop_cache=crop_cache, section_cache=section_cache)
    atomic_write_text(json_path, json_text)
    atomic_write_text(html_path, html_text)
    if scoring_inputs is not None and not outcome.from_scoring_inputs:
        inputs = scoring_inputs_of(outcome, scoring_inputs, settings)
        if inputs is not None:
            scoring_inputs.put(inputs)
    return [json_path, html_path]
