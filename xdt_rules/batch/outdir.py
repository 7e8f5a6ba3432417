"""The output folder of a batch: one batch at a time, no stale results mixed in, no litter.

- :class:`OutLock` — an exclusive lock on ``OUT/.xdt-batch/lock`` for the whole run: a second
  ``xdt batch`` into the same OUT stops at once with the other run's process id, instead of
  both writing and the summary holding whichever finished last.
- :func:`set_aside_old_outputs` — reports in OUT of applications that are not in this batch
  (another batch written there before, or applications since removed from BATCH_DIR) are moved
  to ``OUT/.xdt-batch/previous/<time>/``, never deleted, and the move is told.
- :func:`unlisted_results` — result files in OUT that no batch manifest names (written there by
  ``xdt screen``): left alone, but named in a notice, since the summary does not list them.
- :func:`remove_litter` — temp files of runs killed mid-write (``.manifest.json.*.tmp``, cache
  entries' ``.*.tmp``) are removed: in OUT (locked, so nobody else writes there) at once, in a
  cache folder that other batches may share only when older than an hour.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ..errors import XdtError
from ..fsutil import remove_stale_temp_files
from .resume import Manifest, state_dir

try:  # POSIX; elsewhere the run goes unlocked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "lock"
PREVIOUS_DIR = "previous"
# Other processes may be writing into a shared cache right now: only their old temp files go.
SHARED_TEMP_AGE_S = 3600.0
# Files of OUT that belong to the batch itself, not to an application.
_OWN_FILES = {"summary.xlsx", "summary.csv", "index.html"}


class OutLock:
    """Held while a batch writes into OUT; the lock file says which process holds it."""

    def __init__(self, out: Path):
        self.path = state_dir(out) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> OutLock:
        if fcntl is None:  # pragma: no cover
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = f"（进程 {holder}）" if holder else ""
            who_en = f" (process {holder})" if holder else ""
            raise XdtError(f"另一个批量预审正在写入这个输出目录{who}；请等它结束，或换一个 --out",
                           f"another xdt batch is writing into this output folder{who_en}; wait for it to finish "
                           f"or choose another --out", file=str(self.path.parent.parent), code="out_locked") from None
        except OSError:  # a file system without locks (some network shares): run unlocked
            pass
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays (unlinking it would race)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", errors="ignore").strip()
    except OSError:
        return ""


def set_aside_old_outputs(out: Path, previous: Manifest, names: set[str]) -> tuple[int, Path | None]:
    """Move the outputs of the previous manifest's applications that are not in this batch
    (by name) out of OUT's top level; returns (how many applications, where to)."""
    old = [record for name, record in previous.applications.items() if name not in names and record.outputs]
    if not old:
        return 0, None
    target = state_dir(out) / PREVIOUS_DIR / time.strftime("%Y%m%d-%H%M%S")
    moved = 0
    for record in old:
        moved_any = False
        for output in record.outputs:
            source = out / output
            if not source.is_file():
                continue
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(target / output))
            moved_any = True
        moved += moved_any
    return moved, (target if moved else None)


def unlisted_results(out: Path, own_outputs: set[str]) -> list[str]:
    """Top-level result files in OUT (``*.json`` with an ``.html`` beside it) that this batch
    does not write: the summary will not list them."""
    found = []
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if not entry.name.endswith(".json") or entry.name in own_outputs or entry.name in _OWN_FILES:
            continue
        if entry.is_file(follow_symlinks=False) and (out / (entry.name[:-5] + ".html")).is_file():
            found.append(entry.name)
    return found


def remove_litter(out: Path, cache_dir: str | None) -> int:
    """Temp files that killed runs left behind (see the module docstring)."""
    removed = remove_stale_temp_files(out, recursive=False)
    removed += remove_stale_temp_files(state_dir(out))
    if cache_dir:
        cache = Path(cache_dir)
        inside_out = _is_inside(cache, out)
        removed += remove_stale_temp_files(cache, older_than=0.0 if inside_out else SHARED_TEMP_AGE_S)
    return removed


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False
