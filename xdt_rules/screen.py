"""One application end to end: files → documents → evidence → rules → result (+ JSON and HTML).

This is the seam the batch maps over worker processes, so everything here is a plain function
of picklable pydantic inputs; the only state is per-process caches (compiled rules, keyword sets).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .datapaths import DEFAULT_FRAMEWORK
from .errors import IngestError, XdtError
from .ingest import ExtractOptions
from .models import ApplicationResult, Document, FileRecord

LoadDocument = Callable[[Path, ExtractOptions], Document]

# Files that are never part of an application: OS and editor litter, Office lock files.
_SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
_SKIP_DIRS = {"__macosx", "__pycache__"}
_OCR_STATUSES = ("no_text_layer", "garbled")
# mkstemp creates 0600 files; outputs get the permissions a plain open() would give.
_UMASK = os.umask(0)
os.umask(_UMASK)


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


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def _default_loader(path: Path, options: ExtractOptions) -> Document:
    from .ingest import extract

    return extract(path, options)


def _reason(exc: XdtError) -> str:
    return f"{exc.reason_zh} / {exc.reason_en}"


def load_documents(app: ApplicationInput, options: ExtractOptions, load_document: LoadDocument | None = None
                   ) -> tuple[list[Document], list[FileRecord], list[str], list[str]]:
    """Read every file; a file that cannot be read becomes a FileRecord with its error."""
    loader = load_document or _default_loader
    documents: list[Document] = []
    records = [r.model_copy() for r in app.file_errors]
    errors = [f"{r.path}: {r.error}" for r in app.file_errors if r.error]
    warnings: list[str] = []
    for file in app.files:
        shown = display_path(app, file)
        try:
            doc = loader(Path(file), options)
        except IngestError as exc:
            records.append(FileRecord(path=shown, sha256=_sha256(Path(file)), error=_reason(exc)))
            errors.append(f"{shown}: {_reason(exc)}")
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the application
            reason = f"解析出错（内部错误）/ internal error while reading: {type(exc).__name__}: {exc}"
            records.append(FileRecord(path=shown, sha256=_sha256(Path(file)), error=reason))
            errors.append(f"{shown}: {reason}")
            continue
        # Keep the real path for page rendering (crops); show the name inside the application.
        doc = doc.model_copy(update={"path": str(file), "name": shown})
        documents.append(doc)
        ocr_pages = [p.number for p in doc.page_info if p.status in _OCR_STATUSES]
        records.append(FileRecord(path=shown, sha256=doc.sha256, pages=doc.pages, pages_needing_ocr=ocr_pages))
        warnings.extend(f"{shown}: {w}" for w in doc.warnings)
        if not doc.blocks:
            warnings.append(f"{shown}: 未读到文字 / no text found")
    records.sort(key=lambda r: r.path)
    return documents, records, errors, warnings


def screen_application(app: ApplicationInput, settings: ScreenSettings, *,
                       load_document: LoadDocument | None = None) -> ScreenOutcome:
    """Screen one application. Deterministic: same files and rules → the same result."""
    from .catalogue import load_catalogue
    from .evidence import find_evidence, load_keyword_set
    from .scoring import load_rulebook, score_mentions
    from .versioning import rules_version

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    catalogue = load_catalogue(settings.framework)
    book = load_rulebook(settings.framework)
    version = rules_version(settings.framework)
    documents, records, errors, warnings = load_documents(app, settings.extract, load_document)
    t1 = time.perf_counter()
    seconds["read"] = t1 - t0
    mentions = find_evidence(documents, keywords=load_keyword_set(), catalogue=catalogue) if documents else []
    t2 = time.perf_counter()
    seconds["evidence"] = t2 - t1
    names: dict[str, str] = {}
    for doc in documents:
        names[doc.path] = doc.name
        names.setdefault(doc.name, doc.name)
    scored = score_mentions(mentions, catalogue=catalogue, book=book, documents=documents, file_names=names)
    seconds["score"] = time.perf_counter() - t2
    if not documents:
        errors.append("没有可读取的文件 / no file could be read")
    result = ApplicationResult(
        application=app.name, files=records, framework=catalogue.id, rules_version=version,
        tool_version=__version__, total=scored.total, elements=scored.elements, items=scored.items,
        errors=errors, warnings=warnings)
    return ScreenOutcome(result=result, documents=documents, seconds=seconds)


# --------------------------------------------------------------------------- outputs

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def output_stem(application: str) -> str:
    """A file name for an application's outputs (no path separators or reserved characters)."""
    stem = _UNSAFE.sub("_", application).strip(" .")
    return stem or "application"


def result_json(result: ApplicationResult) -> str:
    """The result as JSON: UTF-8 Chinese, stable key order (the model's), trailing newline."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and os.replace: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_outputs(outcome: ScreenOutcome, out_dir: Path, *, settings: ScreenSettings) -> list[Path]:
    """DIR/<application>.json and DIR/<application>.html, each written atomically."""
    from .report.html import render_report

    out_dir = Path(out_dir)
    stem = output_stem(outcome.result.application)
    json_path = out_dir / f"{stem}.json"
    html_path = out_dir / f"{stem}.html"
    write_atomic(json_path, result_json(outcome.result))
    write_atomic(html_path, render_report(outcome, settings=settings))
    return [json_path, html_path]
