"""Small file helpers shared by the batch modules, the caches, screening and the audit."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_CHUNK = 1 << 20


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; results are meant to be shared like any file the user writes.
_FILE_MODE = 0o666 & ~_current_umask()


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


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
