"""What a worker does for one application: unpack, load documents through the cache, screen,
write the outputs, keep the text fingerprints for the duplicate-passage check.

Everything here is picklable and pure apart from files it writes under OUT and the cache: the
:class:`Pipeline` holds module-level functions (screening, writing, extraction) and plain data,
so the same :func:`run_application` runs on a local process pool today and on Dask/Ray later.
Tests and benchmarks swap single stages by building another Pipeline (see ``pipeline_factory``
in :mod:`xdt_rules.batch.runner`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import XdtError
from ..models import Document, FileRecord
from .executor import Reporter
from .fsutil import sha256_file
from .inputs import BatchEntry, ZipLimits, extract_zip
from .resume import settings_key, state_dir


@dataclass(frozen=True)
class Pipeline:
    """The per-application stages, as picklable module-level callables plus their settings.

    ``screen(app_input, settings, load_document=loader) -> outcome`` with ``outcome.result``
    (ApplicationResult) and ``outcome.documents``; ``write(outcome, out_dir, settings=settings)``
    returns the written paths; ``extract(path, options) -> Document`` raises IngestError;
    ``make_input(name=, root=, files=, file_errors=)`` builds the screening input.

    ``caches``: ``screen`` also takes ``evidence_cache=``, ``file_sha256=`` and ``scoring_inputs=``
    and ``write`` takes ``crop_cache=``, ``section_cache=`` and ``scoring_inputs=`` (the real
    pipeline), so a re-score neither matches nor renders again.
    """

    screen: Callable[..., Any]
    write: Callable[..., list[Path]]
    extract: Callable[[Path, Any], Document]
    make_input: Callable[..., Any]
    settings: Any
    extract_options: Any
    extractor_version: str
    rules_version: str
    settings_key: str
    framework: str = "kunming-xdt"
    caches: bool = False


@dataclass(frozen=True)
class WorkContext:
    """Sent once to every worker."""

    pipeline: Pipeline
    out_dir: str
    cache_dir: str | None
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    passages: bool = True
    ocr_page_seconds: float = 20.0  # extra time limit per page that OCR may read


class AppTask(BaseModel):
    entry: BatchEntry
    skip_paths: list[str] = Field(default_factory=list, description="files left out (they timed out before)")
    skip: list[FileRecord] = Field(default_factory=list, description="the error records of those files")


class AppDone(BaseModel):
    name: str
    outputs: list[str] = Field(default_factory=list, description="file names written in OUT")
    files: int = 0
    pages: int = 0
    file_errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    evidence_hits: int = Field(0, description="documents whose mentions came from the evidence cache")
    inputs_hits: int = Field(0, description="1 when the application was re-scored from its cached scoring inputs")
    crops_rendered: int = 0
    ocr_pages: int = Field(0, description="pages or images the OCR engine read (not from the OCR cache)")
    ocr_seconds: float = 0.0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = Field(default_factory=dict, description="time per screening stage")
    rules_version: str | None = Field(None, description="the version the result was scored with (rules may be edited mid-batch)")


def screen_pipeline(*, framework: str = "kunming-xdt", extract_options: dict[str, Any] | None = None,
                    crops: bool = True) -> Pipeline:
    """The real pipeline: ingestion, evidence, rules, reports (``xdt_rules.screen``)."""
    try:
        from ..ingest import EXTRACTOR_VERSION, ExtractOptions, extract
        from ..screen import (
            ApplicationInput,
            ScreenSettings,
            screen_application,
            write_outputs,
        )
        from ..versioning import rules_version
    except ImportError as exc:  # a stage another engineer has not delivered yet
        raise XdtError(f"筛查流程不完整，缺少模块：{exc.name}", f"screening pipeline incomplete: missing {exc.name}") from None
    options = ExtractOptions(**(extract_options or {}))
    settings = ScreenSettings(framework=framework, extract=options, crops=crops)
    extractor_version = parsed_document_version(EXTRACTOR_VERSION, options.ocr)
    return Pipeline(
        screen=screen_application,
        write=write_outputs,
        extract=extract,
        make_input=ApplicationInput,
        settings=settings,
        extract_options=options,
        extractor_version=extractor_version,
        rules_version=rules_version(framework),
        settings_key=settings_key(settings_material(framework, options.model_dump(), crops, extractor_version)),
        framework=framework,
        caches=True,
    )


def parsed_document_version(extractor_version: str, ocr_mode: str) -> str:
    """The version a cached parsed document is keyed on. With OCR on, the OCR layout code and
    engine version are part of it: text read by another engine version must be read again."""
    if ocr_mode == "off":
        return extractor_version
    from ..ocr import ocr_fingerprint

    return f"{extractor_version}+{ocr_fingerprint()}"


def settings_material(framework: str, extract_options: dict[str, Any], crops: bool, extractor_version: str) -> dict:
    """What, besides inputs and rules, changes a result; the password only as a digest."""
    import hashlib

    from .. import __version__

    options = dict(extract_options)
    if options.get("password"):
        options["password"] = hashlib.sha256(str(options["password"]).encode()).hexdigest()[:12]
    options.pop("cache_dir", None)  # where OCR results are cached does not change them
    return {"framework": framework, "extract": options, "crops": crops, "extractor": extractor_version,
            "tool": __version__}


class CachingLoader:
    """``load_document`` for screening: tells the parent which file is being parsed (for the time
    limit), and reads/writes the parsed-document cache around the real extractor."""

    def __init__(self, pipeline: Pipeline, cache: Any | None, reporter: Reporter, known_sha: dict[str, str],
                 *, ocr_page_seconds: float = 0.0, cached_only: bool = False):
        from ..cache import cache_key

        self._extract = pipeline.extract
        self._version = pipeline.extractor_version
        self._cache_key = cache_key
        self._cache = cache
        self._reporter = reporter
        self._known = known_sha
        self._ocr_page_seconds = ocr_page_seconds
        self._cached_only = cached_only
        self.pages = 0
        self.files = 0
        self.ocr_pages = 0  # pages or images the OCR engine read for this application
        self.ocr_seconds = 0.0
        self.extract_seconds = 0.0  # parsing on cache misses
        self.cache_seconds = 0.0  # hashing, reading and writing cache entries

    def __call__(self, path: str | Path, options: Any = None) -> Document:
        if self._cached_only:
            from ..cache import CacheMiss

            raise CacheMiss(f"{path} would be read")  # the main process never parses
        shown = str(path)
        self._reporter.file_started(shown)
        pages = 0
        ocr_before = _ocr_work()
        try:
            t0 = time.perf_counter()
            document = self._cached(shown, options)
            t1 = time.perf_counter()
            self.cache_seconds += t1 - t0
            if document is None:
                from ..ingest import ocr_notice

                t1 = time.perf_counter()
                # the extractor says when it starts OCR and on how many pages: then the clock restarts
                # with more time (estimating it beforehand from sampled pages cost ~10 ms a document)
                with ocr_notice(lambda count: self._ocr_started(shown, count)):
                    document = self._extract(Path(path), options)
                t2 = time.perf_counter()
                self.extract_seconds += t2 - t1
                if self._cache is not None and document.sha256 and self._worth_caching(document, options):
                    self._cache.put(document, self._cache_key(self._version, options))
                self.cache_seconds += time.perf_counter() - t2
            pages = document.pages or len(document.page_info) or 0
            self.pages += pages
            self.files += 1
            return document
        finally:
            ocr_after = _ocr_work()
            ocr_pages, ocr_seconds = ocr_after.pages - ocr_before.pages, ocr_after.seconds - ocr_before.seconds
            self.ocr_pages += ocr_pages
            self.ocr_seconds += ocr_seconds
            self._reporter.file_finished(shown, pages, ocr_pages=ocr_pages, ocr_seconds=ocr_seconds)

    @staticmethod
    def _worth_caching(document: Document, options: Any) -> bool:
        """Not a Document whose OCR should have run and did not (the [ocr] extra missing or broken,
        a page that failed): once OCR works, the file must be read again, not served flagged."""
        if getattr(options, "ocr", "auto") == "off":
            return True
        from ..ocr import ocr_left_undone

        return not ocr_left_undone(document)

    def _ocr_started(self, shown: str, count: int) -> None:
        """OCR is about to read ``count`` pages or images of the file: it may take that much longer.
        OCR takes seconds per page, so a 60-page scanned contract is slow, not stuck."""
        if count > 0 and self._ocr_page_seconds > 0:
            self._reporter.file_started(shown, count * self._ocr_page_seconds)  # restarts the clock

    def _cached(self, shown: str, options: Any) -> Document | None:
        if self._cache is None:
            return None
        sha = self._known.get(shown)
        if sha is None:
            try:
                sha = sha256_file(shown)
            except OSError:
                return None  # the extractor reports the problem in its own words
        return self._cache.get(sha, self._cache_key(self._version, options), path=shown, name=Path(shown).name)


def _ocr_work() -> Any:
    from ..ocr import ocr_work_done

    return ocr_work_done()


def known_hashes(entry: BatchEntry) -> dict[str, str]:
    """sha256 of the entry's files, by the path string the screening stage will be given."""
    base = Path(entry.path) if entry.kind == "folder" else Path(entry.path).parent
    return {str(base / rel): sha for rel, sha in entry.inputs.items()}


def run_application(task: AppTask, ctx: WorkContext, reporter: Reporter, *, cached_only: bool = False,
                    caches: ScreenCaches | None = None, keep: Callable[[Any], None] | None = None) -> AppDone:
    """The work function the executor runs for each application.

    ``cached_only`` (the batch's main process re-scoring a cached application itself): every
    document's mentions, every crop and the passages file must come from the caches; anything
    that would parse a file or render a page raises :class:`~xdt_rules.cache.CacheMiss` before
    any output is written, and the application goes to a worker instead. ``caches``: already
    opened for this entry; ``keep`` receives the screening outcome (the main process keeps the
    result for the summary).
    """
    from ..cache import CacheMiss, DocumentCache
    from ..ingest.pdf import documents_kept_open
    from .duplicates import passages_up_to_date, update_passages

    started = time.perf_counter()
    entry = task.entry
    pipeline = ctx.pipeline
    files = list(entry.files)
    errors = list(entry.file_errors)
    root = entry.path
    if cached_only and entry.kind == "zip":
        raise CacheMiss("a zip package is unpacked by a worker")
    if entry.kind == "zip" and not errors:
        # Members are named relative to the package (佐证材料/合同.pdf), so the root is where they are.
        unzipped_dir = state_dir(ctx.out_dir) / "unzipped" / entry.name
        unzipped = extract_zip(entry.path, unzipped_dir, ctx.zip_limits)
        files, errors, root = unzipped.files, errors + unzipped.errors, str(unzipped_dir)
    skipped = set(task.skip_paths)
    files = [f for f in files if f not in skipped]
    errors += task.skip
    app_input = pipeline.make_input(name=entry.name, root=root, files=files, file_errors=errors)

    cache = DocumentCache(ctx.cache_dir) if ctx.cache_dir else None
    known = known_hashes(entry)
    loader = CachingLoader(pipeline, cache, reporter, known, ocr_page_seconds=ctx.ocr_page_seconds,
                           cached_only=cached_only)
    if caches is None and pipeline.caches and ctx.cache_dir:
        caches = ScreenCaches.open(pipeline, ctx.cache_dir, known, render_crops=not cached_only)
    if cached_only and caches is None:
        raise CacheMiss("no cache to re-score from")
    # each PDF is opened once for the OCR estimate, extraction and crops (pdfium parses its fonts per opening)
    with documents_kept_open():
        outcome = pipeline.screen(app_input, pipeline.settings, load_document=loader,
                                  **(caches.screen_args if caches else {}))
        if cached_only and ctx.passages and not passages_up_to_date(
                ctx.out_dir, entry.name, outcome.documents, excluded_texts=criteria_of(pipeline.framework)):
            raise CacheMiss("the passages file must be rebuilt from whole documents")
        t_screened = time.perf_counter()
        written = pipeline.write(outcome, Path(ctx.out_dir), settings=pipeline.settings,
                                 **(caches.write_args if caches else {}))
    t_written = time.perf_counter()
    if ctx.passages:
        update_passages(ctx.out_dir, entry.name, outcome.documents, excluded_texts=criteria_of(pipeline.framework),
                        whole=lambda: whole_documents(outcome, loader, pipeline))
    t_passages = time.perf_counter()
    if keep is not None:
        keep(outcome)
    result = outcome.result
    stages = dict(getattr(outcome, "seconds", None) or {})
    stages.update({"extract": loader.extract_seconds, "cache": loader.cache_seconds,
                   "write": t_written - t_screened, "passages": t_passages - t_written})
    return AppDone(
        name=entry.name,
        outputs=sorted(Path(p).name for p in written),
        files=len(result.files),
        # pages of every document read, parsed or answered from the evidence cache
        pages=sum(d.pages or len(d.page_info) or 0 for d in outcome.documents) if caches else loader.pages,
        file_errors=sum(1 for f in result.files if f.error),
        cache_hits=cache.stats.hits if cache else 0,
        cache_misses=cache.stats.misses if cache else 0,
        evidence_hits=caches.evidence.stats.hits if caches else 0,
        inputs_hits=caches.inputs.stats.hits if caches else 0,
        crops_rendered=caches.crops.writes if caches else 0,
        ocr_pages=loader.ocr_pages,
        ocr_seconds=round(loader.ocr_seconds, 3),
        seconds=round(time.perf_counter() - started, 3),
        stage_seconds={k: round(v, 4) for k, v in stages.items()},
        rules_version=getattr(result, "rules_version", None),
    )


def run_cached_application(task: AppTask, ctx: WorkContext, reporter: Reporter) -> AppDone | None:
    """The work function of the main process's forks: :func:`run_application` from the caches
    only; None when the application needs a worker that may parse or render."""
    from ..cache import CacheMiss

    try:
        return run_application(task, ctx, reporter, cached_only=True)
    except CacheMiss:
        return None


@dataclass
class ScreenCaches:
    """The caches a cache-aware pipeline screens and writes through, under the batch cache folder:
    ``evidence/`` (mentions per document), ``crops/`` (rendered evidence crops), ``report/``
    (evidence sections) and ``scoring/`` (an application's scoring inputs, :mod:`xdt_rules.rescore`)."""

    evidence: Any
    crops: Any
    sections: Any
    inputs: Any
    file_sha256: dict[str, str]

    @classmethod
    def open(cls, pipeline: Pipeline, cache_dir: str, known: dict[str, str], *,
             render_crops: bool = True) -> ScreenCaches:
        from ..cache import EvidenceCache, cache_key, evidence_key
        from ..report.crops import CropCache
        from ..report.html import SectionCache
        from ..rescore import ScoringInputsCache

        root = Path(cache_dir)
        evidence = EvidenceCache(root / "evidence", cache_key(pipeline.extractor_version, pipeline.extract_options),
                                 evidence_key(catalogue_material(pipeline.framework)))
        sections = SectionCache(root / "report", salt=pipeline.settings_key)
        inputs = ScoringInputsCache(root / "scoring", document_key=evidence.document_key,
                                    evidence_key=evidence.evidence_key, salt=pipeline.settings_key, sections=sections)
        return cls(evidence=evidence, crops=CropCache(root / "crops", render_missing=render_crops),
                   sections=sections, inputs=inputs, file_sha256=known)

    def has_evidence_for(self, files: list[str]) -> bool:
        """Every file's mentions are in the cache (a look at file names only, nothing is read)."""
        shas = [self.file_sha256.get(f) for f in files]
        return all(sha and self.evidence.entry_path(sha).is_file() for sha in shas)

    @property
    def screen_args(self) -> dict[str, Any]:
        return {"evidence_cache": self.evidence, "file_sha256": self.file_sha256, "scoring_inputs": self.inputs}

    @property
    def write_args(self) -> dict[str, Any]:
        return {"crop_cache": self.crops, "section_cache": self.sections, "scoring_inputs": self.inputs}


def catalogue_material(framework: str) -> str:
    """The criteria catalogue as text, for the evidence cache key (evidence reads the criteria texts)."""
    from ..catalogue import load_catalogue

    return load_catalogue(framework).spec.model_dump_json()


def whole_documents(outcome: Any, loader: CachingLoader, pipeline: Pipeline) -> list[Document]:
    """The outcome's documents in full: those answered from the evidence cache are only views,
    so they are loaded again (from the parsed-document cache, else parsed) under the same names."""
    if getattr(outcome, "complete", True):
        return list(outcome.documents)
    return [loader(Path(doc.path), pipeline.extract_options).model_copy(update={"path": doc.path, "name": doc.name})
            for doc in outcome.documents]


@lru_cache(maxsize=4)
def criteria_of(framework: str) -> tuple[str, ...]:
    """The official criteria texts, excluded from duplicate passages (empty if not loadable)."""
    from ..catalogue import load_catalogue
    from .duplicates import criteria_texts

    try:
        return tuple(criteria_texts(load_catalogue(framework)))
    except XdtError:
        return ()


def display_path(root: str, file: str) -> str:
    """A file as the reviewer knows it: relative to its application folder, else its name."""
    try:
        if Path(root).is_dir():
            return Path(file).relative_to(root).as_posix()
    except ValueError:
        pass
    return Path(file).name
