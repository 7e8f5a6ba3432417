"""A batch output folder as the review reads it (what ``xdt batch`` or ``xdt screen`` wrote).

- The applications and their preliminary numbers come from :func:`xdt_rules.batch.summary.collect`,
  the function that writes ``summary.xlsx``: the list shows the same ranks, totals and counts.
- Each item's *fingerprint* — preliminary status, score, maximum and a hash of its evidence — is
  what a decision is anchored to: when a re-screen changes it, the decision is shown as
  “证据或初评已变化，请复核”. Fingerprints are computed from the result JSON and kept in the
  database's snapshot cache under the file's size and mtime, so a restart reads no result twice.
- The original files of an application are served only when they are files of that result and
  lie inside the batch folder (or OUT, for unpacked zips); see :meth:`OutDir.original_file`.
- The evidence views the batch cached (``OUT/.cache/evidence``) give the report's rendering the
  table rows and page boxes it needs for whole-row passages and page crops.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..batch.resume import AppRecord, Manifest, load_manifest, manifest_path, state_dir
from ..batch.summary import ROW_DONE, ItemStanding, SummaryData, SummaryRow, collect
from ..errors import XdtError
from ..cache import peek_document
from ..fsutil import sha256_file
from ..models import ApplicationResult, Document


# An item's preliminary outcome as the result states it now (id, name, status, score, max_score,
# needs_confirmation): the summary's own record of it, not a copy (700 × 36 copies cost 0.2 s).
ItemSnap = ItemStanding


@dataclass
class AppEntry:
    name: str
    row: SummaryRow
    json_name: str | None
    signature: str | None
    items: dict[str, ItemSnap] = field(default_factory=dict)
    rules_version: str | None = None
    hashes: dict[str, str] | None = None  # item → evidence hash, once known

    @property
    def done(self) -> bool:
        return self.row.state == ROW_DONE


class FileRefused(XdtError):
    """An original file that is not served: not of this application, outside the batch, changed."""

    def __init__(self, reason_zh: str, reason_en: str, *, status: int, file: str | None = None):
        super().__init__(reason_zh, reason_en, file=file, code="refused")
        self.status = status


def evidence_hash(evidence: list[dict]) -> str:
    """A digest of an item's evidence as a reviewer reads it: each passage's file, sentence, the
    words matched in it and their polarity — not where the passage sits (block numbers, offsets
    and pages move when a document is re-read or text is added before it; the evidence does
    not), nor the order it is listed in."""
    rows = sorted({(str(e.get("file")), str(e.get("text")), str(e.get("matched")), str(e.get("polarity")))
                   for e in evidence})
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprints(data: dict) -> dict[str, dict]:
    """item → {status, score, max, confirm, hash} of a result as parsed JSON."""
    return {item["id"]: {"status": item["status"], "score": item["score"], "max": item["max_score"],
                         "confirm": bool(item.get("needs_confirmation")), "hash": evidence_hash(item.get("evidence") or [])}
            for item in data.get("items", [])}


# Bumped when what a fingerprint holds changes: snapshots cached under another version are recomputed.
FINGERPRINT_VERSION = "fp1"


def snapshot_key(signature: str) -> str:
    """The key a result's fingerprints are cached under: its file's signature and how they were made."""
    return f"{FINGERPRINT_VERSION}|{signature}"


def _signature(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def bad_relative_path(rel: str) -> bool:
    """A path that could leave its folder: absolute (POSIX or Windows), with ``..``, NUL or empty."""
    if not rel or "\x00" in rel or rel.startswith(("/", "\\")):
        return True
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        return True
    parts = rel.replace("\\", "/").split("/")
    return any(p in ("..", "") for p in parts)


class OutDir:
    """The applications of OUT, their fingerprints and their files. Thread-safe."""

    def __init__(self, out_dir: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
                 sources: str | os.PathLike[str] | None = None):
        self.path = Path(out_dir)
        if not self.path.is_dir():
            raise XdtError("输出目录不存在（先运行 xdt batch 或 xdt screen）", "output folder not found "
                           "(run xdt batch or xdt screen first)", file=str(self.path))
        self.cache_dir = Path(cache_dir) if cache_dir else self.path / ".cache"
        self.sources = Path(sources) if sources else None
        self._lock = threading.RLock()
        self.entries: dict[str, AppEntry] = {}
        self.order: list[str] = []
        self.summary: SummaryData | None = None
        self.manifest = Manifest()
        self._seen: dict[str, str] = {}  # file name in OUT → signature, to notice a re-screen
        self._stamped: tuple[str, str] = ("", "")
        self._results: OrderedDict[tuple[str, str], tuple[ApplicationResult, dict[str, dict]]] = OrderedDict()
        self._verified: dict[tuple[str, int, int], str] = {}

    # ------------------------------------------------------------------ index

    def load(self, snapshots: dict[str, tuple[str, str, dict]] | None = None) -> None:
        """Read the folder (the summary's rows) and attach the cached fingerprints still valid."""
        with self._lock:
            manifest = load_manifest(self.path)
            data = collect(self.path, manifest)
            entries: dict[str, AppEntry] = {}
            for row in data.rows:
                json_name = None
                signature = None
                items: dict[str, ItemSnap] = {}
                if row.result is not None:
                    record = manifest.applications.get(row.application)
                    json_name = next((o for o in (record.outputs if record else []) if o.endswith(".json")),
                                     f"{row.application}.json")
                    try:
                        signature = _signature((self.path / json_name).stat())
                    except OSError:
                        signature = None
                    items = {i.id: i for i in row.result.items}
                entry = AppEntry(name=row.application, row=row, json_name=json_name, signature=signature, items=items,
                                 rules_version=row.result.rules_version if row.result else None)
                cached = (snapshots or {}).get(row.application)
                if cached is not None and signature is not None and cached[0] == snapshot_key(signature):
                    entry.hashes = {k: v["hash"] for k, v in cached[2].items()}
                entries[row.application] = entry
            self.entries, self.order, self.summary, self.manifest = entries, [r.application for r in data.rows], data, manifest
            self._stamped = self._stamp()
            self._seen = self._scan()

    def _scan(self) -> dict[str, str]:
        seen: dict[str, str] = {}
        try:
            with os.scandir(self.path) as it:
                for entry in it:
                    if entry.name.endswith(".json") and entry.is_file():
                        seen[entry.name] = _signature(entry.stat())
        except OSError:
            pass
        try:
            seen["<manifest>"] = _signature(manifest_path(self.path).stat())
        except OSError:
            pass
        return seen

    def _stamp(self) -> tuple[str, str]:
        """The folder's own mtime (every result is written by a rename into it) and the manifest's."""
        try:
            folder = _signature(self.path.stat())
        except OSError:
            folder = ""
        try:
            manifest = _signature(manifest_path(self.path).stat())
        except OSError:
            manifest = ""
        return folder, manifest

    def changed(self) -> bool:
        """Whether any result or the manifest changed since :meth:`load` (a re-screen). Two stats
        when nothing did; the files are compared only when the folder changed."""
        stamp = self._stamp()
        if stamp == self._stamped:
            return False
        if self._scan() == self._seen:
            self._stamped = stamp
            return False
        return True

    def entry(self, name: str) -> AppEntry | None:
        return self.entries.get(name)

    # ------------------------------------------------------------------ results and fingerprints

    def read(self, name: str) -> tuple[ApplicationResult, dict[str, dict], str]:
        """The whole result of an application, its item fingerprints and the signature they are of.
        Kept for the last few applications: a decision re-checks the file's signature (one stat),
        not its contents."""
        entry = self.entries.get(name)
        if entry is None or entry.json_name is None:
            raise XdtError("没有这份申报的预审结果", "no screening result for this application", file=name,
                           code="not_found")
        path = self.path / entry.json_name
        try:
            signature = _signature(path.stat())
        except OSError as exc:
            raise XdtError(f"无法读取预审结果：{exc}", f"cannot read the result: {exc}", file=str(path)) from exc
        with self._lock:
            cached = self._results.get((name, signature))
            if cached is not None:
                self._results.move_to_end((name, signature))
                return cached[0], cached[1], signature
        try:
            with open(path, "rb") as handle:
                signature = _signature(os.fstat(handle.fileno()))
                raw = handle.read()
        except OSError as exc:
            raise XdtError(f"无法读取预审结果：{exc}", f"cannot read the result: {exc}", file=str(path)) from exc
        try:
            data = json.loads(raw)
            result = ApplicationResult.model_validate(data)
        except ValueError as exc:
            raise XdtError("预审结果文件已损坏", "the result file is damaged", file=str(path)) from exc
        prints = fingerprints(data)
        with self._lock:
            self._results[(name, signature)] = (result, prints)
            while len(self._results) > 32:
                self._results.popitem(last=False)
        return result, prints, signature

    def fingerprints_of(self, names: list[str]) -> dict[str, tuple[str, str, dict]]:
        """Fingerprints of applications whose hashes are not known yet (read from their JSON);
        attached to the entries and returned for the snapshot cache."""
        found: dict[str, tuple[str, str, dict]] = {}
        for name in names:
            entry = self.entries.get(name)
            if entry is None or entry.hashes is not None or entry.json_name is None:
                continue
            path = self.path / entry.json_name
            try:
                with open(path, "rb") as handle:
                    signature = _signature(os.fstat(handle.fileno()))
                    data = json.loads(handle.read())
            except (OSError, ValueError):
                continue
            items = fingerprints(data)
            if signature == entry.signature:
                entry.hashes = {k: v["hash"] for k, v in items.items()}
            found[name] = (snapshot_key(signature), str(data.get("rules_version", "")), items)
        return found

    # ------------------------------------------------------------------ original files

    def _record(self, name: str) -> AppRecord | None:
        return self.manifest.applications.get(name)

    def _source(self, source: str) -> Path | None:
        """A manifest source as it is now: as written (relative to the working folder), or under
        ``--sources`` when the batch folder moved or the review runs from elsewhere."""
        given = Path(source)
        if given.exists():
            return given
        if self.sources is not None and (self.sources / given.name).exists():
            return self.sources / given.name
        return None

    def file_root(self, name: str) -> tuple[Path, Path] | None:
        """(root the result's file paths are relative to, the folder nothing may leave) of an application."""
        record = self._record(name)
        if record is not None:
            source = self._source(record.source)
            if source is None:
                return None
            if source.is_dir():
                return source, source.parent
            if source.suffix.lower() == ".zip":
                unzipped = state_dir(self.path) / "unzipped" / name
                return unzipped, self.path
            return source.parent, source.parent
        if self.sources is None:
            return None
        folder = self.sources / name
        if folder.is_dir():
            return folder, self.sources
        return self.sources, self.sources

    def original_file(self, name: str, rel: str) -> Path:
        """The file ``rel`` (as the result lists it) of application ``name``, checked: a path
        that climbs out or is absolute is refused; so is a file not in the result, one whose
        real location (symlinks resolved) is outside the batch folder and OUT, and one whose
        bytes changed since it was screened."""
        if bad_relative_path(rel):
            raise FileRefused("文件路径无效（不允许绝对路径或 ..）", "invalid file path (absolute or with ..)",
                              status=400, file=rel)
        entry = self.entries.get(name)
        if entry is None:
            raise FileRefused("没有这份申报", "no such application", status=404, file=name)
        result, _, _ = self.read(name)
        record = next((f for f in result.files if f.path == rel and not f.error), None)
        if record is None:
            raise FileRefused("该文件不属于这份申报的材料", "not a file of this application", status=404, file=rel)
        roots = self.file_root(name)
        if roots is None:
            raise FileRefused("找不到原始申报材料（可用 --sources 指定批次文件夹）",
                              "original files not found (give the batch folder with --sources)", status=404, file=rel)
        root, fence = roots
        candidate = root / rel
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise FileRefused("原始文件不存在", "original file not found", status=404, file=rel) from None
        allowed = [fence.resolve(), self.path.resolve()]
        if not any(real == base or base in real.parents for base in allowed) or not real.is_file():
            raise FileRefused("文件不在批次文件夹或输出目录内，拒绝访问", "file is outside the batch folder and OUT; refused",
                              status=403, file=rel)
        if record.sha256:
            stat = real.stat()
            key = (str(real), stat.st_size, stat.st_mtime_ns)
            with self._lock:
                digest = self._verified.get(key)
            if digest is None:
                digest = sha256_file(real)
                with self._lock:
                    self._verified[key] = digest
            if digest != record.sha256:
                raise FileRefused("文件在预审之后已被修改（sha256 不一致），请重新运行 xdt batch",
                                  "the file changed after screening (sha256 differs); run xdt batch again",
                                  status=409, file=rel)
        return real

    def report_file(self, name: str) -> Path | None:
        entry = self.entries.get(name)
        if entry is None or not entry.row.report:
            return None
        path = self.path / entry.row.report
        return path if path.is_file() and path.parent == self.path else None

    # ------------------------------------------------------------------ evidence views for the rendering

    def documents(self, name: str, result: ApplicationResult) -> list[Document]:
        """The document views the batch cached for the application's files, named as the result
        names them and pointing at the original file where it is found (a crop missing from the
        crop cache is rendered from it). Empty without a cache.

        Read-only on purpose: the cache's own ``get`` deletes an entry it cannot validate, and the
        review must never change the batch's cache. Only the document part of an entry is read
        (an evidence view first, the whole parsed document otherwise), newest entry first."""
        roots = self.file_root(name)
        documents: list[Document] = []
        for record in result.files:
            if record.error or not record.sha256:
                continue
            real = record.path
            if roots is not None:
                guess = roots[0] / record.path
                if guess.is_file():
                    real = str(guess)
            document = peek_document(self.cache_dir, record.sha256)
            if document is not None:
                documents.append(document.model_copy(update={"path": real, "name": record.path}))
        return documents
