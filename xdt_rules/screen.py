"""One application end to end: files → evidence → rules → result, and its JSON and HTML.

``screen_application`` is a plain function of the application's files, a loaded
:class:`~xdt_rules.framework.Framework` and a file reader (``path → FileEvidence``). The reader
is where parsing and evidence detection happen; the batch hands in a caching one
(:class:`~xdt_rules.cache.CachedReader`) with the same signature, so nothing here knows about
caches or workers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .errors import IngestError, XdtError
from .framework import Framework
from .fsutil import atomic_write_text, sha256_or_none
from .ingest import ExtractOptions
from .models import ApplicationResult, Document, FileEvidence, FileRecord

# Files that are never part of an application: OS and editor litter, Office lock files.
_SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_SKIP_DIRS = {"__macosx", "__pycache__"}
_OCR_STATUSES = ("no_text_layer", "garbled")

FileReader = Callable[[str], FileEvidence]


class ScreenSettings(BaseModel):
    """How applications are read and reported (picklable, sent to batch workers)."""

    model_config = ConfigDict(extra="forbid")

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
    """An application's result and the documents it was scored from (their evidence views)."""

    model_config = ConfigDict(extra="forbid")

    result: ApplicationResult
    documents: list[Document]
    seconds: dict[str, float] = Field(default_factory=dict, description="time per stage (not in the JSON)")


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
    """An application from a file (itself) or a folder (its files, recursively, sorted).

    Inside a folder nothing outside it is read: symbolic links are not followed and, like pipes
    and devices, become file errors of the application (``file_errors``) instead of being read
    or silently dropped. The path given itself may be a link (the user named it)."""
    from .fsutil import scan_folder

    given = str(path)
    p = Path(path)
    if not p.exists():
        raise XdtError("找不到申报材料", "application not found", file=given, code="not_found")
    if p.is_file():
        return ApplicationInput(name=p.stem or p.name, root=given, files=[given])
    if not p.is_dir():
        raise XdtError("不是普通文件或文件夹（管道、设备？），未读取", "not a regular file or folder (a pipe or device?)",
                       file=given, code="not_a_file")
    name = p.name or p.resolve().name
    files, problems = scan_folder(p, lambda parts, folder: is_skipped(parts + ("_",) if folder else parts))
    return ApplicationInput(name=name, root=given, files=[str(f) for f in files],
                            file_errors=[FileRecord(path=rel, error=reason) for rel, reason in problems])


def display_path(root: str, file: str) -> str:
    """A file's name inside its application (relative to the folder; the file name for a file).

    This is what the JSON shows, so results never carry absolute or temporary paths."""
    try:
        if Path(root).is_dir():
            return Path(file).relative_to(root).as_posix()
    except ValueError:
        pass
    return Path(file).name


def plain_reader(framework: Framework, options: ExtractOptions) -> FileReader:
    """Parse the file and find its evidence, no cache (``xdt screen``; the batch caches)."""
    from .evidence import file_evidence
    from .ingest import extract

    def read(path: str) -> FileEvidence:
        return file_evidence(extract(path, options), framework)

    return read


def _file_record(shown: str, doc: Document) -> FileRecord:
    ocr_pages = [p.number for p in doc.page_info if p.status in _OCR_STATUSES]
    return FileRecord(path=shown, sha256=doc.sha256, pages=doc.pages, pages_needing_ocr=ocr_pages)


def _reason(exc: XdtError) -> str:
    return f"{exc.reason_zh} / {exc.reason_en}"


def screen_application(app: ApplicationInput, framework: Framework, *, read: FileReader) -> ScreenOutcome:
    """Screen one application. Deterministic: same files and framework → the same result.

    A file that cannot be read (IngestError) becomes a file record with its error and the rest
    is scored; anything else is a fault of the tool and is raised with the file named."""
    from .scoring import score_mentions

    t0 = time.perf_counter()
    records = [r.model_copy() for r in app.file_errors]
    errors = [f"{r.path}: {r.error}" for r in app.file_errors if r.error]
    warnings: list[str] = []
    found: list[FileEvidence] = []
    for file in app.files:
        shown = display_path(app.root, file)
        try:
            evidence = read(file)
        except IngestError as exc:
            records.append(FileRecord(path=shown, sha256=sha256_or_none(file), error=_reason(exc)))
            errors.append(f"{shown}: {_reason(exc)}")
            continue
        except XdtError:
            raise
        except Exception as exc:
            raise XdtError(f"读取 {shown} 时出现内部错误：{type(exc).__name__}: {exc}",
                           f"internal error while reading {shown}: {type(exc).__name__}: {exc}", file=file) from exc
        # the real path stays (crops render pages from it); the report shows the name inside the application
        evidence.document.path, evidence.document.name = file, shown
        records.append(_file_record(shown, evidence.document))
        warnings += [f"{shown}: {w}" for w in evidence.document.warnings]
        if not evidence.has_text:
            warnings.append(f"{shown}: 未读到文字 / no text found")
        found.append(evidence)
    t1 = time.perf_counter()
    documents = [f.document for f in found]
    names = {doc.path: doc.name for doc in documents}
    mentions = [m for f in found for m in f.mentions]
    scored = score_mentions(mentions, catalogue=framework.catalogue, book=framework.rules,
                            file_names=names, documents=documents)
    if not documents:
        errors.append("没有可读取的文件 / no file could be read")
    records.sort(key=lambda r: r.path)
    result = ApplicationResult(
        application=app.name, files=records, framework=framework.id, rules_version=framework.fingerprint,
        tool_version=__version__, total=scored.total, elements=scored.elements, items=scored.items,
        errors=errors, warnings=warnings)
    return ScreenOutcome(result=result, documents=documents,
                         seconds={"read": t1 - t0, "score": time.perf_counter() - t1})


# --------------------------------------------------------------------------- outputs

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
# A file name may hold 255 bytes; the stem leaves room for ".json.gz" and friends.
MAX_STEM_BYTES = 180


def output_stem(application: str) -> str:
    """A file name for an application's outputs (no path separators or reserved characters, at
    most ``MAX_STEM_BYTES`` bytes: a long name is cut and keeps a digest of the whole name, so
    two long names sharing their start still get two files)."""
    stem = _UNSAFE.sub("_", application).strip(" .") or "application"
    raw = stem.encode("utf-8")
    if len(raw) <= MAX_STEM_BYTES:
        return stem
    import hashlib

    tag = "~" + hashlib.sha256(application.encode("utf-8")).hexdigest()[:8]
    return raw[:MAX_STEM_BYTES - len(tag)].decode("utf-8", errors="ignore").rstrip(" .") + tag


def result_json(result: ApplicationResult) -> str:
    """The result as JSON: UTF-8 Chinese, stable key order (the model's), trailing newline.

    pydantic's serializer writes the same text as ``json.dumps(…, ensure_ascii=False, indent=2)``
    (only floats below 1e-4 would be spelt 0.00001 rather than 1e-05) at a fifth of the time:
    with ``indent`` the standard library falls back to its pure-Python encoder."""
    return result.model_dump_json(indent=2) + "\n"


def write_outputs(outcome: ScreenOutcome, out_dir: Path, framework: Framework, settings: ScreenSettings, *,
                  crop_cache: object | None = None) -> list[Path]:
    """DIR/<application>.json and DIR/<application>.html, each written atomically (both texts
    are made first, so a report that cannot be made leaves the previous outputs as they were)."""
    from .report.html import render_report

    out_dir = Path(out_dir)
    stem = output_stem(outcome.result.application)
    json_text = result_json(outcome.result)
    html_text = render_report(outcome.result, framework, outcome.documents, crops=settings.crops,
                              password=settings.extract.password, crop_cache=crop_cache)
    json_path = atomic_write_text(out_dir / f"{stem}.json", json_text)
    html_path = atomic_write_text(out_dir / f"{stem}.html", html_text)
    return [json_path, html_path]
