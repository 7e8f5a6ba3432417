"""Small file helpers shared by the batch modules, the caches, screening and the audit.

Reading: :func:`sha256_file` opens only regular files (a FIFO would block the reader for ever, a
device such as ``/dev/zero`` never ends) and :func:`scan_folder` lists an application folder
without following symbolic links, so nothing outside the folder is read.
Writing: :func:`atomic_write_bytes` names the file it could not write (a full disk, a name too
long) instead of leaving a bare ``OSError``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .errors import XdtError

_CHUNK = 1 << 20
# A temp file is named after its target, shortened: a target name of 255 bytes must still fit.
_TEMP_NAME_BYTES = 48
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class OutputWriteError(XdtError, OSError):
    """A file that could not be written, with its path named. Still an ``OSError``, so code that
    treats a failed write as a lost cache entry keeps doing so."""

    def __init__(self, path: str, exc: OSError):
        reason = exc.strerror or type(exc).__name__
        if exc.errno in _DISK_FULL:
            zh, en, code = "磁盘空间不足，无法写入", "no space left on the device, cannot write", "disk_full"
        else:
            zh, en, code = f"无法写入（{reason}）", f"cannot write ({reason})", "write_failed"
        super().__init__(zh, en, file=path, code=code)
        self.errno = exc.errno
        self.strerror = exc.strerror
        self.filename = path

    @property
    def disk_full(self) -> bool:
        return self.errno in _DISK_FULL


def is_disk_full(exc: BaseException) -> bool:
    """An error that every further write would meet too (ENOSPC, EDQUOT)."""
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


class NotRegularFileError(OSError):
    """A pipe, device, socket or folder where a file was expected."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; results are meant to be shared like any file the user writes.
_FILE_MODE = 0o666 & ~_current_umask()


def open_regular(path: str | os.PathLike[str]):
    """Open a file for reading only if it is a regular file (checked on the opened descriptor, so
    it cannot be swapped in between). O_NONBLOCK: opening a FIFO must not wait for a writer."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, describe_not_regular(mode), str(path))
        if hasattr(os, "O_NONBLOCK"):  # back to ordinary reads (POSIX; Windows has no such flag)
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def describe_not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "是文件夹，不是文件 / a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "是管道（FIFO），不是普通文件 / a pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "是设备文件，不是普通文件 / a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "是套接字，不是普通文件 / a socket, not a regular file"
    return "不是普通文件 / not a regular file"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a regular file; a pipe or device raises :class:`NotRegularFileError` at once."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_or_none(path: str | os.PathLike[str]) -> str | None:
    """sha256 of a file, or None when it cannot be read (the caller reports the file's problem)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` so that a reader (or a crash) sees the old file or the new one,
    never half of one: a temp file in the same folder, flushed, then ``os.replace``.

    ``durable`` also fsyncs, so a finished result survives a power cut; the cache skips that
    because a lost cache entry is only rebuilt.
    """
    target = Path(path)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{_short_name(target.name)}.", suffix=TEMP_SUFFIX, dir=target.parent)
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputWriteError):
            raise OutputWriteError(str(target), exc) from exc
        raise
    return target


TEMP_SUFFIX = ".tmp"


def _short_name(name: str) -> str:
    """At most ``_TEMP_NAME_BYTES`` bytes of ``name`` (whole characters), for temp file names."""
    raw = name.encode("utf-8")
    if len(raw) <= _TEMP_NAME_BYTES:
        return name
    return raw[:_TEMP_NAME_BYTES].decode("utf-8", errors="ignore")


def remove_stale_temp_files(folder: str | os.PathLike[str], *, older_than: float = 0.0,
                            recursive: bool = True) -> int:
    """Delete the temp files (``.<name>.<random>.tmp``) that runs killed mid-write left in ``folder``.
    ``older_than`` (seconds) spares files another live process may still be writing (a shared
    cache). Returns how many were removed."""
    removed = 0
    deadline = time.time() - older_than
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(entry.path)
                    continue
                if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
                    continue
                if older_than and entry.stat(follow_symlinks=False).st_mtime > deadline:
                    continue
                os.unlink(entry.path)
                removed += 1
            except OSError:
                continue
    return removed


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", durable: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode(encoding), durable=durable)


def walk_files(root: str, suffix: str = "") -> list[tuple[str, str, os.stat_result]]:
    """(relative name, path, stat) of the files under ``root``, sorted; ``root`` itself if a file.
    ``__pycache__`` folders are left out. os.scandir, not Path.rglob: this runs for every
    application of a re-score."""
    try:
        if not os.path.isdir(root):
            return [(os.path.basename(root), root, os.stat(root))]
    except OSError:
        return []
    found: list[tuple[str, str, os.stat_result]] = []
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir():
                if entry.name != "__pycache__":
                    stack.append((rel + "/", entry.path))
            elif entry.name.endswith(suffix):
                try:
                    found.append((rel, entry.path, entry.stat()))
                except OSError:
                    continue
    return sorted(found, key=lambda f: f[0])


# --------------------------------------------------------------------------- application folders

# Names a reviewer reads as documents; a FOLDER with such a name is reported, not silently skipped.
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc", ".wps", ".xlsx", ".xls", ".txt", ".md", ".png", ".jpg", ".jpeg",
                     ".tif", ".tiff", ".bmp", ".zip")
SYMLINK_REFUSED = ("符号链接，出于安全未读取（请放入文件本身）/ "
                   "symbolic link not followed, for safety (put the file itself in the folder)")
EMPTY_FOLDER_NAMED_LIKE_FILE = "这是一个文件夹而不是文件，其中没有可读取的文件 / a folder named like a file, with no files in it"


def scan_folder(folder: str | os.PathLike[str], skip: Callable[[tuple[str, ...], bool], bool]
                ) -> tuple[list[Path], list[tuple[str, str]]]:
    """The regular files under ``folder`` (recursively, sorted by relative path) and the entries
    that are not read, as (relative path, bilingual reason): symbolic links (never followed: a
    link to /etc/passwd or to a folder elsewhere must not end up in a report), pipes, devices,
    unreadable subfolders, and empty folders named like documents (``申报书.pdf/``).
    ``skip(relative parts, is_folder)`` leaves out hidden and temporary entries without a word."""
    root = Path(folder)
    files: list[tuple[str, Path]] = []
    problems: list[tuple[str, str]] = []

    def walk(current: Path, parts: tuple[str, ...]) -> int:
        """Files found under ``current`` (for the empty-folder check)."""
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            if parts:
                problems.append(("/".join(parts), f"无法读取文件夹（{exc.strerror or exc}）/ cannot read the folder"))
            else:
                raise
            return 0
        found = 0
        for entry in entries:
            rel = parts + (entry.name,)
            shown = "/".join(rel)
            try:
                if entry.is_symlink():
                    if not skip(rel, False):
                        problems.append((shown, SYMLINK_REFUSED))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if skip(rel, True):
                        continue
                    count = walk(Path(entry.path), rel)
                    if count == 0 and entry.name.lower().endswith(DOCUMENT_SUFFIXES) and not any(
                            p == shown or p.startswith(shown + "/") for p, _ in problems):
                        problems.append((shown, EMPTY_FOLDER_NAMED_LIKE_FILE))
                    found += count
                    continue
                if skip(rel, False):
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                problems.append((shown, f"无法读取（{exc.strerror or exc}）/ cannot read"))
                continue
            if stat.S_ISREG(mode):
                files.append((shown, Path(entry.path)))
                found += 1
            else:
                problems.append((shown, describe_not_regular(mode)))
        return found

    walk(root, ())
    files.sort(key=lambda f: f[0])
    problems.sort()
    return [path for _, path in files], problems
