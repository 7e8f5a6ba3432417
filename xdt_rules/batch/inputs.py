"""Batch entries and safe zip reading.

Every entry of BATCH_DIR is one application: a subfolder (its files together), a loose file, or
a ``.zip`` package. Listing entries is cheap (no hashing) so the batch can start at once; each
entry is then *prepared* (its files listed and hashed) just before it is dispatched.

Zip packages come from applicants, so they are read defensively: member names that climb out
(``../``), absolute names, symlinks and device entries are refused; the member count, the total
uncompressed size and the compression ratio are checked from the central directory BEFORE
anything is written, and each member is copied with a byte limit in case its header lies.
Names of zips made on Chinese Windows carry no UTF-8 flag, so Python decodes them as cp437
(乱码 such as ``╔Ω╟δ╩Θ``): they are re-encoded to cp437 bytes and decoded as UTF-8 or GB18030.
Problems become ``FileRecord`` errors of the application; the batch goes on.

Nothing outside BATCH_DIR is read: symbolic links (an entry, or a file or folder inside an
application) are never followed, and pipes and devices are never opened (a FIFO or a link to
``/dev/zero`` would hang the batch); each is reported as what it is. Every application gets an
output name of its own even where file names differ only in characters a file name cannot hold
(``a?b.txt`` and ``a*b.txt``) or in case.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..fsutil import (
    SYMLINK_REFUSED,
    NotRegularFileError,
    OutputWriteError,
    describe_not_regular,
    is_disk_full,
    scan_folder,
    sha256_file,
)
from ..models import FileRecord

EntryKind = Literal["folder", "file", "zip"]

# Files that operating systems and office suites leave behind; never part of an application.
_HIDDEN_NAMES = {"thumbs.db", "desktop.ini", "__macosx", ".ds_store"}
_TEMP_PREFIXES = (".", "~$", "~WRL", ".~lock")
_TEMP_SUFFIXES = ("~", ".tmp", ".crdownload", ".part")
# Archives inside a package are not opened (a bomb can hide a level down); the applicant is told.
_NESTED_ARCHIVES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
# Output names the batch itself uses in OUT (index.html, summary.*).
_RESERVED_NAMES = {"index", "summary"}


def is_skipped_name(name: str) -> bool:
    """Hidden, temporary or system files (``.DS_Store``, ``~$x.docx``, ``__MACOSX``, ``Thumbs.db``)."""
    lower = name.lower()
    return lower in _HIDDEN_NAMES or name.startswith(_TEMP_PREFIXES) or lower.endswith(_TEMP_SUFFIXES)


class ZipLimits(BaseModel):
    """Limits checked on a package's central directory before extraction."""

    model_config = ConfigDict(extra="forbid")

    max_members: int = Field(2000, ge=1)
    max_total_mb: float = Field(2048, gt=0, description="total uncompressed size")
    max_member_mb: float = Field(1024, gt=0)
    max_ratio: float = Field(200, gt=1, description="uncompressed/compressed, for members over 1 MiB")

    @property
    def max_total_bytes(self) -> int:
        return int(self.max_total_mb * 1024 * 1024)

    @property
    def max_member_bytes(self) -> int:
        return int(self.max_member_mb * 1024 * 1024)


class EntrySource(BaseModel):
    """An entry of BATCH_DIR before preparation: what it is and the application name it gets."""

    name: str
    path: str
    kind: EntryKind
    problem: str | None = Field(None, description="why the entry is not read at all (a symbolic link, a pipe…)")


class BatchEntry(BaseModel):
    """A prepared application: its files (for folders and loose files) and the sha256 of every input.

    ``inputs`` maps each input, relative to the entry, to its sha256; for a zip it is the zip
    itself, so ``--resume`` decides without extracting anything.
    """

    name: str
    path: str
    kind: EntryKind
    files: list[str] = Field(default_factory=list)
    file_errors: list[FileRecord] = Field(default_factory=list)
    inputs: dict[str, str] = Field(default_factory=dict)


def list_entries(batch_dir: str | os.PathLike[str]) -> list[EntrySource]:
    """The applications in BATCH_DIR, sorted by name, with unique names safe as output file names.
    Symbolic links, pipes and devices are listed with their problem and never opened."""
    root = Path(batch_dir)
    sources: list[EntrySource] = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if is_skipped_name(child.name):
            continue
        problem = None
        try:
            mode = child.lstat().st_mode
        except OSError as exc:
            mode, problem = 0, f"无法读取（{exc.strerror or exc}）/ cannot read"
        if stat.S_ISLNK(mode):
            problem = SYMLINK_REFUSED
        elif mode and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            problem = describe_not_regular(mode)
        if stat.S_ISDIR(mode):
            kind: EntryKind = "folder"
            name = child.name
        else:
            kind = "zip" if child.suffix.lower() == ".zip" else "file"
            name = child.stem or child.name
        sources.append(EntrySource(name=name, path=str(child), kind=kind, problem=problem))
    return _unique_names(sources)


def _unique_names(sources: list[EntrySource]) -> list[EntrySource]:
    """``a/``, ``a.zip`` and ``a.pdf`` are three applications; each needs its own OUT/<name>.json.
    Names are compared as the output file names they become (``a?b`` and ``a*b`` are both
    ``a_b``), ignoring case (``A.pdf`` and ``a.pdf`` are one file on Windows and macOS)."""
    from ..screen import output_stem

    taken: set[str] = set()
    stems = [s.name for s in sources]
    result = []
    for source in sources:
        name = source.name
        if stems.count(name) > 1 and source.kind != "folder":
            name = Path(source.path).name  # keep the extension: a.zip, a.pdf
        if output_stem(name).lower() in _RESERVED_NAMES:
            name = f"{name}_申报"
        base, n = name, 2
        while output_stem(name).casefold() in taken:
            name = f"{base} ({n})"
            n += 1
        taken.add(output_stem(name).casefold())
        result.append(source.model_copy(update={"name": name}))
    return result


def _skipped(parts: tuple[str, ...], is_folder: bool) -> bool:
    return any(is_skipped_name(part) for part in parts)


def folder_files(folder: Path) -> list[Path]:
    """Files of an application folder, recursively, sorted, without hidden/temp files or folders
    (and without symbolic links, pipes or devices: :func:`folder_scan` reports those)."""
    return scan_folder(folder, _skipped)[0]


def folder_scan(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files, problems) of an application folder; see :func:`xdt_rules.fsutil.scan_folder`."""
    return scan_folder(folder, _skipped)


def batch_like_subfolders(folder: Path) -> list[str]:
    """The entries that look like separate applications when ``folder`` is a batch folder rather
    than one application: it has no document at its top level, and either three or more
    subfolders or zips hold documents, or two or more subfolders each hold a 申报书. Empty when
    it looks like one application (申报书.pdf + 佐证材料/)."""
    from ..fsutil import DOCUMENT_SUFFIXES

    top_documents = 0
    candidates: list[str] = []
    forms = 0
    try:
        children = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    for child in children:
        if is_skipped_name(child.name) or child.is_symlink():
            continue
        if child.is_file():
            if child.suffix.lower() == ".zip":
                candidates.append(child.name)
            elif child.suffix.lower() in DOCUMENT_SUFFIXES:
                top_documents += 1
        elif child.is_dir():
            files = [f for f in folder_files(child) if f.suffix.lower() in DOCUMENT_SUFFIXES]
            if files:
                candidates.append(child.name)
                forms += any("申报" in f.name for f in files)
    if top_documents or not (len(candidates) >= 3 or forms >= 2):
        return []
    return candidates


def prepare_entry(source: EntrySource, *, max_file_bytes: int | None = None) -> BatchEntry:
    """List and hash an entry's inputs. Unreadable files become errors, not exceptions; files
    over ``max_file_bytes`` are refused here without being read (hashing 10 GB would take the
    batch's main process minutes)."""
    path = Path(source.path)
    entry = BatchEntry(name=source.name, path=source.path, kind=source.kind)
    problems: list[tuple[str, str]] = []
    if source.kind == "folder":
        candidates, problems = folder_scan(path)
        base = path
    else:
        candidates = [path]
        base = path.parent
    for rel, reason in problems:
        entry.file_errors.append(FileRecord(path=rel, error=reason))
        entry.inputs[rel] = "-"  # so that --resume notices when the real file takes its place
    for file in candidates:
        rel = file.relative_to(base).as_posix()
        try:
            size = file.stat().st_size
            if max_file_bytes is not None and source.kind != "zip" and size > max_file_bytes:
                entry.file_errors.append(FileRecord(path=rel, error=_too_large(size, max_file_bytes)))
                entry.inputs[rel] = f"size:{size}"
                continue
            entry.inputs[rel] = sha256_file(file)
        except NotRegularFileError as exc:
            entry.file_errors.append(FileRecord(path=rel, error=exc.strerror or "不是普通文件 / not a regular file"))
            entry.inputs[rel] = "-"
            continue
        except OSError as exc:
            entry.file_errors.append(FileRecord(path=rel, error=f"无法读取文件：{exc.strerror or exc} / cannot read"))
            continue
        if source.kind != "zip":
            entry.files.append(str(file))
    if source.kind == "folder" and not candidates and not problems:
        entry.file_errors.append(FileRecord(path=path.name, error="文件夹中没有可读取的文件 / empty folder"))
    return entry


def _too_large(size: int, limit: int) -> str:
    return (f"文件过大（{size / 1048576:.2f} MB，上限 {limit / 1048576:g} MB）/ "
            f"file too large ({size / 1048576:.2f} MB, limit {limit / 1048576:g} MB)")


# --------------------------------------------------------------------------- zip packages

class ZipExtraction(BaseModel):
    files: list[str] = Field(default_factory=list)
    errors: list[FileRecord] = Field(default_factory=list)


_UNICODE_PATH_EXTRA = 0x7075  # Info-ZIP Unicode Path: the UTF-8 name next to a legacy one


def decode_member_name(info: zipfile.ZipInfo) -> str:
    """The member name as its author wrote it.

    With the UTF-8 flag (bit 11) Python already decoded it right. Without it Python used cp437;
    zips made by Windows in a Chinese locale hold GBK bytes there, and macOS/Linux tools often
    hold UTF-8 without setting the flag. An Info-ZIP Unicode Path extra field wins if present.
    """
    if info.flag_bits & 0x800:
        return info.filename
    unicode_name = _unicode_path_extra(info)
    if unicode_name:
        return unicode_name
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    if raw.isascii():
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4: pos + 4 + size]
        if header_id == _UNICODE_PATH_EXTRA and len(body) > 5 and body[0] == 1:
            crc = struct.unpack_from("<I", body, 1)[0]
            try:
                legacy = info.filename.encode("cp437")
            except UnicodeEncodeError:
                legacy = info.filename.encode("utf-8")
            if crc == zlib.crc32(legacy):  # stale if the legacy name was edited after
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        pos += 4 + size
    return None


def _safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path a member may be written to, or None if it is absolute or climbs out."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return None
    parts = [p for p in normal.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return PurePosixPath(*(_fit_component(p) for p in parts))


# A path component may hold 255 bytes (ext4, NTFS); longer member names are shortened on disk
# (the report still shows the name as written in the package).
_MAX_COMPONENT_BYTES = 200


def _fit_component(part: str) -> str:
    raw = part.encode("utf-8")
    if len(raw) <= _MAX_COMPONENT_BYTES:
        return part
    import hashlib

    suffix = PurePosixPath(part).suffix
    suffix = suffix if len(suffix.encode("utf-8")) <= 16 else ""
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    room = _MAX_COMPONENT_BYTES - len(tag.encode("utf-8")) - len(suffix.encode("utf-8"))
    stem = raw[:room].decode("utf-8", errors="ignore")
    return f"{stem}{tag}{suffix}"


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """A symlink, device or fifo entry. Only Unix-made zips (create_system 3) carry a file type."""
    if info.create_system != 3:
        return False
    file_type = stat.S_IFMT(info.external_attr >> 16)
    return file_type not in (0, stat.S_IFREG, stat.S_IFDIR)


def extract_zip(zip_path: str | os.PathLike[str], dest: str | os.PathLike[str],
                limits: ZipLimits | None = None) -> ZipExtraction:
    """Extract a package into ``dest`` (emptied first) after checking it; every problem is a FileRecord."""
    limits = limits or ZipLimits()
    zip_path = Path(zip_path)
    dest = Path(dest)
    shown = zip_path.name  # problems are named as the applicant knows them: the package, its members
    result = ZipExtraction()

    def whole_package_error(zh: str, en: str) -> ZipExtraction:
        result.errors.append(FileRecord(path=shown, error=f"{zh} / {en}"))
        return result

    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        return whole_package_error("压缩包已损坏或不是 zip 格式", "corrupt or not a zip file")
    except OSError as exc:
        return whole_package_error(f"无法读取压缩包：{exc.strerror or exc}", "cannot read the zip file")
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            return whole_package_error(f"压缩包成员过多（{len(infos)} 个，上限 {limits.max_members}）",
                                       f"too many members ({len(infos)} > {limits.max_members})")
        total = sum(i.file_size for i in infos)
        if total > limits.max_total_bytes:
            return whole_package_error(
                f"压缩包解压后过大（{total / 2**20:.0f} MB，上限 {limits.max_total_mb:g} MB），疑似压缩炸弹",
                f"uncompressed size {total / 2**20:.0f} MB over {limits.max_total_mb:g} MB (zip bomb?)")
        compressed = sum(i.compress_size for i in infos)
        if total > 2**20 and total > limits.max_ratio * max(compressed, 1):
            return whole_package_error(
                f"压缩比异常（{total / max(compressed, 1):.0f} 倍），疑似压缩炸弹",
                f"compression ratio {total / max(compressed, 1):.0f}:1 (zip bomb?)")

        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        used: set[str] = set()
        for info in infos:
            name = decode_member_name(info)
            shown_member = name
            if info.is_dir():
                continue
            rel = _safe_member_path(name)
            if rel is None:
                result.errors.append(FileRecord(path=shown_member, error="压缩包成员路径不安全（绝对路径或含 ../），已拒绝 / unsafe member path refused"))
                continue
            if any(is_skipped_name(part) for part in rel.parts):
                continue
            if _is_symlink(info):
                result.errors.append(FileRecord(path=shown_member, error="压缩包成员是符号链接或特殊文件，已拒绝 / symlink member refused"))
                continue
            if info.flag_bits & 0x1:
                result.errors.append(FileRecord(path=shown_member, error="压缩包成员已加密，无法读取 / encrypted member"))
                continue
            if rel.suffix.lower() in _NESTED_ARCHIVES:
                result.errors.append(FileRecord(path=shown_member, error="压缩包内嵌套压缩包，请解压后提交 / nested archive not opened"))
                continue
            if info.file_size > limits.max_member_bytes:
                result.errors.append(FileRecord(path=shown_member, error=f"压缩包成员过大（{info.file_size / 2**20:.0f} MB）/ member too large"))
                continue
            if info.file_size > 2**20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                result.errors.append(FileRecord(path=shown_member, error="压缩包成员压缩比异常，疑似压缩炸弹 / suspicious compression ratio"))
                continue
            key = rel.as_posix().lower()
            if key in used:  # the same name twice (or differing only in case): keep both
                rel = rel.with_name(f"{rel.stem}_{len(used)}{rel.suffix}")
                key = rel.as_posix().lower()
            used.add(key)
            target = dest.joinpath(*rel.parts)
            error = _copy_member(archive, info, target)
            if error:
                result.errors.append(FileRecord(path=shown_member, error=error))
            else:
                result.files.append(str(target))
    result.files.sort()
    return result


class _OverDeclaredSize(Exception):
    pass


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> str | None:
    """Copy one member, refusing more bytes than its header declared (a lying header is a bomb too)."""
    limit = info.file_size
    written = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, open(target, "wb") as sink:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise _OverDeclaredSize
                sink.write(chunk)
    except _OverDeclaredSize:
        target.unlink(missing_ok=True)
        return "压缩包成员实际大小超过声明，疑似压缩炸弹 / member larger than declared (zip bomb?)"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        try:
            target.unlink(missing_ok=True)
        except OSError:
            pass
        if is_disk_full(exc):  # not this member's fault: every later write fails too
            raise OutputWriteError(str(target), exc) from exc  # type: ignore[arg-type]
        return f"压缩包成员无法解压（{type(exc).__name__}）/ cannot extract member"
    return None
