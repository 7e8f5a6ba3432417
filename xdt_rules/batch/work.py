"""What a worker does for one application: unpack, read its files through the caches, screen,
write the outputs, keep the text fingerprints for the duplicate-passage check.

:class:`BatchPipeline` is the typed seam: plain data (the framework reference and fingerprint,
the screening settings) and one method per stage. The batch sends it to every worker; tests
subclass it to stand in for a stage (a fake extractor, a file that hangs). :func:`run_application`
is a module-level function of picklable inputs, so the same code runs on any process pool.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ..framework import Framework, FrameworkRef, load_framework
from ..models import Document, FileEvidence, FileRecord
from ..screen import ApplicationInput, FileReader, ScreenOutcome, ScreenSettings, display_path, output_stem
from .executor import Reporter
from .inputs import BatchEntry, ZipLimits, extract_zip
from .resume import state_dir

if TYPE_CHECKING:
    from ..cache import CropCache


@dataclass(frozen=True)
class BatchPipeline:
    """The per-application stages of a batch, the real ones by default."""

    framework: FrameworkRef
    fingerprint: str  # of the framework's data when the batch started: the results' rules_version
    settings: ScreenSettings
    settings_key: str  # what besides inputs and rules changes a result (see screen_pipeline)

    @property
    def rules_version(self) -> str:
        return self.fingerprint

    def load(self) -> Framework:
        """The framework, loaded once per process; refused if its data changed since the batch began."""
        return load_framework(self.framework, expect=self.fingerprint)

    def document_key(self) -> str:
        """What a parsed document depends on besides the file's bytes (the parsed-document cache key)."""
        from ..cache import document_key

        return document_key(self.settings.extract)

    def evidence_key(self, framework: Framework) -> str:
        """What a file's evidence depends on besides its parsed document (the evidence cache key)."""
        from ..cache import evidence_key

        return evidence_key(framework)

    def extract(self, path: Path) -> Document:
        from ..ingest import extract

        return extract(path, self.settings.extract)

    def find(self, document: Document, framework: Framework) -> FileEvidence:
        from ..evidence import file_evidence

        return file_evidence(document, framework)

    def screen(self, app: ApplicationInput, framework: Framework, read: FileReader) -> ScreenOutcome:
        from ..screen import screen_application

        return screen_application(app, framework, read=read)

    def write(self, outcome: ScreenOutcome, out_dir: Path, framework: Framework,
              crop_cache: CropCache | None) -> list[Path]:
        from ..screen import write_outputs

        return write_outputs(outcome, out_dir, framework, self.settings, crop_cache=crop_cache)


def screen_pipeline(*, framework: str = FrameworkRef().framework, keywords: str | None = None,
                    extract_options: dict | None = None, crops: bool = True) -> BatchPipeline:
    """The real pipeline. The framework is loaded (and validated) here, before any work starts."""
    from ..ingest import ExtractOptions

    ref = FrameworkRef(framework=framework, keywords=keywords)
    bundle = load_framework(ref)
    settings = ScreenSettings(extract=ExtractOptions(**(extract_options or {})), crops=crops)
    return BatchPipeline(framework=ref, fingerprint=bundle.fingerprint, settings=settings,
                         settings_key=settings_key(bundle, settings))


def settings_key(framework: Framework, settings: ScreenSettings) -> str:
    """A digest of what, besides the inputs and the framework's data, changes a result: the
    extraction options (the password as a digest; where OCR results are cached does not count),
    crops, and the code of every stage — a new version of the tool re-screens on --resume."""
    from .. import __version__
    from ..cache import code_version, document_key

    options = settings.extract.model_dump()
    if options.get("password"):
        options["password"] = hashlib.sha256(str(options["password"]).encode()).hexdigest()[:12]
    options.pop("cache_dir", None)
    material = {"framework": framework.id, "extract": options, "crops": settings.crops,
                "documents": document_key(settings.extract), "evidence": code_version("evidence"),
                "report": code_version("report"), "tool": __version__}
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class WorkContext:
    """Sent once to every worker."""

    pipeline: BatchPipeline
    out_dir: str
    cache_dir: str | None
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    passages: bool = True
    ocr_page_seconds: float = 20.0  # extra time limit per page that OCR may read


class AppTask(BaseModel):
    entry: BatchEntry
    skip_paths: list[str] = Field(default_factory=list, description="files left out (they timed out before)")
    skip: list[FileRecord] = Field(default_factory=list, description="the error records of those files")


class WorkCounts(BaseModel):
    """What one application's work adds to the batch's figures (summed by the runner)."""

    files: int = 0
    pages: int = 0
    file_errors: int = 0
    cache_hits: int = Field(0, description="parsed documents read from the cache")
    cache_misses: int = 0
    evidence_hits: int = Field(0, description="files whose evidence came from the cache (neither parsed nor matched)")
    crops_rendered: int = 0
    ocr_pages: int = Field(0, description="pages or images the OCR engine read (not from the OCR cache)")
    ocr_seconds: float = 0.0
    stage_seconds: dict[str, float] = Field(default_factory=dict, description="time per screening stage")

    def add(self, other: WorkCounts) -> None:
        for name in type(self).model_fields:
            if name == "stage_seconds":
                for stage, seconds in other.stage_seconds.items():
                    self.stage_seconds[stage] = round(self.stage_seconds.get(stage, 0.0) + seconds, 3)
            elif name == "ocr_seconds":
                self.ocr_seconds = round(self.ocr_seconds + other.ocr_seconds, 3)
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


class AppDone(BaseModel):
    name: str
    outputs: list[str] = Field(default_factory=list, description="file names written in OUT")
    seconds: float = 0.0
    rules_version: str
    counts: WorkCounts = Field(default_factory=WorkCounts)


class _ReportingReader:
    """Tells the parent which file is being read (hashing, parsing and evidence are all under
    its time limit) and how many pages it had; gives OCR more time when it starts."""

    def __init__(self, read: FileReader, reporter: Reporter, ocr_page_seconds: float):
        self._read = read
        self._reporter = reporter
        self._ocr_page_seconds = ocr_page_seconds
        self.ocr_pages = 0
        self.ocr_seconds = 0.0

    def __call__(self, path: str) -> FileEvidence:
        from ..ingest import ocr_notice
        from ..ocr import ocr_work_done

        self._reporter.file_started(path)
        before = ocr_work_done()
        pages = 0
        try:
            # the extractor says when it starts OCR and on how many pages: the clock restarts with more time
            with ocr_notice(lambda count: self._ocr_started(path, count)):
                evidence = self._read(path)
            pages = evidence.document.pages or len(evidence.document.page_info) or 0
            return evidence
        finally:
            after = ocr_work_done()
            ocr_pages, ocr_seconds = after.pages - before.pages, after.seconds - before.seconds
            self.ocr_pages += ocr_pages
            self.ocr_seconds += ocr_seconds
            self._reporter.file_finished(path, pages, ocr_pages=ocr_pages, ocr_seconds=ocr_seconds)

    def _ocr_started(self, path: str, count: int) -> None:
        if count > 0 and self._ocr_page_seconds > 0:
            self._reporter.file_started(path, count * self._ocr_page_seconds)  # restarts the clock


def known_hashes(entry: BatchEntry) -> dict[str, str]:
    """sha256 of the entry's files, by the path string the screening stage will be given."""
    base = Path(entry.path) if entry.kind == "folder" else Path(entry.path).parent
    return {str(base / rel): sha for rel, sha in entry.inputs.items()}


class PreparedTask(BaseModel):
    """An application ready to screen: its files on this machine and the sha256 already known of them.

    The local pool's workers make it from an :class:`AppTask`; a cluster's workers are sent one
    whose files were copied next to them (``xdt_rules.batch.cluster_worker``)."""

    app: ApplicationInput
    hashes: dict[str, str] = Field(default_factory=dict, description="sha256 by the path the reader is given")


def prepare_input(task: AppTask, ctx: WorkContext) -> PreparedTask:
    """The application's files: a folder's or a loose file's as listed, a zip package's unpacked
    under OUT (members are named relative to the package: 佐证材料/合同.pdf)."""
    entry = task.entry
    files, errors, root = list(entry.files), list(entry.file_errors), entry.path
    if entry.kind == "zip" and not errors:
        unzipped_dir = unzipped_path(ctx.out_dir, entry)
        unzipped = extract_zip(entry.path, unzipped_dir, ctx.zip_limits)
        files, errors, root = unzipped.files, errors + unzipped.errors, str(unzipped_dir)
    skipped = set(task.skip_paths)
    app = ApplicationInput(name=entry.name, root=root, files=[f for f in files if f not in skipped],
                           file_errors=errors + task.skip)
    return PreparedTask(app=app, hashes=known_hashes(entry))


def run_application(task: AppTask, ctx: WorkContext, reporter: Reporter) -> AppDone:
    """The work function the executor runs for each application."""
    started = time.perf_counter()
    return run_prepared(prepare_input(task, ctx), ctx, reporter, started=started)


def run_prepared(task: PreparedTask, ctx: WorkContext, reporter: Reporter, *, started: float | None = None) -> AppDone:
    """Screen one prepared application: read its files through the caches, score, write its outputs
    and passages into ``ctx.out_dir``. A pure function of the files, the settings and the caches."""
    from ..cache import CachedReader, CropCache
    from ..ingest.pdf import documents_kept_open
    from .duplicates import criteria_texts, update_passages

    started = time.perf_counter() if started is None else started
    pipeline = ctx.pipeline
    framework = pipeline.load()
    app = task.app
    find: Callable[[Document], FileEvidence] = lambda document: pipeline.find(document, framework)  # noqa: E731
    reader: CachedReader | None = None
    crop_cache: CropCache | None = None
    if ctx.cache_dir:
        reader = CachedReader(ctx.cache_dir, document_key=pipeline.document_key(),
                              evidence_key=pipeline.evidence_key(framework), ocr=pipeline.settings.extract.ocr != "off",
                              extract=pipeline.extract, find=find, known_sha256=task.hashes)
        crop_cache = CropCache(Path(ctx.cache_dir) / "crops")
        read: FileReader = reader
    else:
        read = lambda path: find(pipeline.extract(Path(path)))  # noqa: E731
    reporting = _ReportingReader(read, reporter, ctx.ocr_page_seconds)
    # each PDF is opened once for the OCR estimate, extraction and crops (pdfium parses its fonts per opening)
    with documents_kept_open():
        outcome = pipeline.screen(app, framework, reporting)
        t_screened = time.perf_counter()
        written = pipeline.write(outcome, Path(ctx.out_dir), framework, crop_cache)
    t_written = time.perf_counter()
    if ctx.passages:
        def whole() -> list[Document]:  # an evidence entry holds only the view: the passages need all of it
            load = reader.document if reader is not None else (lambda path: pipeline.extract(Path(path)))
            return [load(doc.path).model_copy(update={"path": doc.path, "name": doc.name})
                    for doc in outcome.documents]

        update_passages(ctx.out_dir, app.name, outcome.documents,
                        excluded_texts=tuple(criteria_texts(framework.catalogue)), whole=whole)
    t_passages = time.perf_counter()
    result = outcome.result
    stages = dict(outcome.seconds)
    if reader is not None:
        stages.update({"extract": reader.times.extract, "evidence": reader.times.evidence,
                       "cache": reader.times.cache})
    stages.update({"write": t_written - t_screened, "passages": t_passages - t_written})
    counts = WorkCounts(
        files=len(result.files),
        pages=sum(d.pages or len(d.page_info) or 0 for d in outcome.documents),
        file_errors=sum(1 for f in result.files if f.error),
        cache_hits=reader.documents.stats.hits if reader else 0,
        cache_misses=reader.documents.stats.misses if reader else 0,
        evidence_hits=reader.evidence.stats.hits if reader else 0,
        crops_rendered=crop_cache.stats.writes if crop_cache else 0,
        ocr_pages=reporting.ocr_pages, ocr_seconds=round(reporting.ocr_seconds, 3),
        stage_seconds={k: round(v, 4) for k, v in stages.items()})
    return AppDone(name=app.name, outputs=sorted(Path(p).name for p in written),
                   seconds=round(time.perf_counter() - started, 3), rules_version=result.rules_version,
                   counts=counts)


def entry_display_path(out_dir: str | Path, entry: BatchEntry, file: str) -> str:
    """A file of an entry as the reviewer knows it (a zip's members relative to where it was unpacked)."""
    root = str(unzipped_path(out_dir, entry)) if entry.kind == "zip" else entry.path
    return display_path(root, file)


def unzipped_path(out_dir: str | Path, entry: BatchEntry) -> Path:
    """Where a zip package is unpacked: named like its outputs (a bounded, safe file name)."""
    return state_dir(out_dir) / "unzipped" / output_stem(entry.name)
