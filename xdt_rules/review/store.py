"""The reviewers' decisions in SQLite: an append-only log that loses nothing.

One table, ``decisions``, is the log: who decided what about which item of which application,
when, from what to what, why, under which rules and on which evidence. Triggers refuse every
UPDATE and DELETE on it, so a decision is never changed or removed, only followed by a newer
one; the current decision of an item is the newest row (the ``current_decisions`` view, and
:mod:`.ledger` in memory). Everything else in the file is a cache or a setting (the snapshot of
each result's fingerprints, the cookie-signing secret) and may be rebuilt.

Durability: WAL with ``synchronous=FULL`` — a decision is acknowledged only after its
transaction is committed and the WAL fsynced, so a ``kill -9`` of the server (or a power cut)
loses no acknowledged decision. A write is checked against the newest decision the reviewer saw
(``base_seq``) inside one ``BEGIN IMMEDIATE`` transaction: a write based on a stale view is
refused (:class:`StaleWrite`), never silently laid over another reviewer's decision.

The schema version is SQLite's ``user_version``; :data:`MIGRATIONS` bring an older file up to
date, in order, each in its own transaction. A file from a newer version of the tool is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import XdtError
from . import STATUSES

ACTIONS: tuple[str, ...] = ("confirm", "override", "settle")
_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)

# Each entry brings the schema from version N-1 to N. Never edit a released step: add one.
MIGRATIONS: dict[int, str] = {
    1: f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms INTEGER NOT NULL,
            reviewer TEXT NOT NULL CHECK (length(reviewer) > 0),
            application TEXT NOT NULL,
            item TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('confirm', 'override', 'settle')),
            from_status TEXT NOT NULL,
            from_score REAL NOT NULL,
            to_status TEXT NOT NULL CHECK (to_status IN ({_STATUS_LIST})),
            to_score REAL NOT NULL CHECK (to_score >= 0),
            comment TEXT NOT NULL DEFAULT '',
            rules_version TEXT NOT NULL,
            evidence_hash TEXT NOT NULL,
            prelim_status TEXT NOT NULL,
            prelim_score REAL NOT NULL,
            max_score REAL NOT NULL,
            base_seq INTEGER NOT NULL
        );
        CREATE INDEX decisions_by_item ON decisions (application, item, seq);
        CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
            BEGIN SELECT RAISE(ABORT, '审核记录只能追加，不能修改 / the decision log is append-only'); END;
        CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
            BEGIN SELECT RAISE(ABORT, '审核记录只能追加，不能删除 / the decision log is append-only'); END;
        CREATE VIEW current_decisions AS
            SELECT d.* FROM decisions d
            WHERE d.seq = (SELECT MAX(x.seq) FROM decisions x WHERE x.application = d.application AND x.item = d.item);
    """,
    # 2: a cache of each result's item fingerprints, so a restart on 700 applications reads no
    # result file it has seen before (the snapshot is keyed by the file's size and mtime).
    2: """
        CREATE TABLE snapshots (
            application TEXT PRIMARY KEY,
            signature TEXT NOT NULL,
            rules_version TEXT NOT NULL,
            items TEXT NOT NULL
        );
    """,
}
SCHEMA_VERSION = max(MIGRATIONS)


@dataclass(frozen=True)
class NewDecision:
    """What a reviewer asks to record (the store adds seq and time)."""

    reviewer: str
    application: str
    item: str
    action: str
    from_status: str
    from_score: float
    to_status: str
    to_score: float
    comment: str
    rules_version: str
    evidence_hash: str
    prelim_status: str
    prelim_score: float
    max_score: float


@dataclass(frozen=True)
class Decision(NewDecision):
    """One row of the log: what was asked, with the store's sequence number and time, and the row it was based on."""

    seq: int
    at_ms: int
    base_seq: int

    def to_json(self) -> dict:
        return asdict(self)


_COLUMNS = tuple(Decision.__dataclass_fields__)
_SELECT = ", ".join(_COLUMNS)


class StoreError(XdtError):
    """The decision file cannot be used (newer schema, damaged, not writable)."""


class StaleWrite(XdtError):
    """A write based on an older view of the item than the log holds: refused, never merged."""

    def __init__(self, current: Decision | None, *, reason_zh: str, reason_en: str):
        super().__init__(reason_zh, reason_en, code="stale")
        self.current = current


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """The decision file. Thread-safe: one connection, one lock (writes are a few per second)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"无法打开审核记录数据库：{exc}", f"cannot open the decision database: {exc}",
                             file=str(self.path)) from exc
        self._db.row_factory = sqlite3.Row
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError("数据库所在文件系统不支持 WAL（请用 --db 指定本地磁盘上的路径）",
                                 "the file system does not support WAL (use --db on a local disk)", file=str(self.path))
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"审核记录数据库已损坏或不是数据库：{exc}", f"the decision database is damaged or not "
                             f"a database: {exc}", file=str(self.path)) from exc

    # ------------------------------------------------------------------ schema

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(f"数据库版本 {version} 高于本程序支持的 {SCHEMA_VERSION}，请升级 xdt-rules",
                             f"database schema {version} is newer than this tool's {SCHEMA_VERSION}; upgrade xdt-rules",
                             file=str(self.path))
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._write():
                for statement in _statements(MIGRATIONS[target]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")
        with self._write():
            if self._meta("created_at") is None:
                self._set_meta("created_at", str(now_ms()))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def secret(self) -> bytes:
        """The key that signs session cookies; made once, kept in the file so restarts keep sessions."""
        with self._lock, self._write():
            found = self._meta("cookie_secret")
            if found is None:
                found = secrets.token_hex(32)
                self._set_meta("cookie_secret", found)
        return bytes.fromhex(found)

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One IMMEDIATE transaction: the write lock is taken at BEGIN, so a check and the
        insert that depends on it cannot be interleaved with another writer (thread or process)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ the log

    def record(self, new: NewDecision, *, base_seq: int) -> Decision:
        """Append a decision if the newest one of its item is still ``base_seq`` (0: none yet).

        Raises :class:`StaleWrite` naming who changed the item meanwhile. Returns the row as
        stored, after the commit (and its fsync): only then is the decision acknowledged."""
        if new.action not in ACTIONS:
            raise ValueError(f"unknown action {new.action}")
        with self._lock, self._write():
            row = self._db.execute(
                "SELECT * FROM decisions WHERE application = ? AND item = ? ORDER BY seq DESC LIMIT 1",
                (new.application, new.item)).fetchone()
            current = _decision(row) if row is not None else None
            if (current.seq if current else 0) != base_seq:
                raise StaleWrite(current, reason_zh=_stale_zh(current), reason_en=_stale_en(current))
            values = asdict(new)
            values.update(at_ms=now_ms(), base_seq=base_seq)
            columns = [c for c in _COLUMNS if c != "seq"]
            cursor = self._db.execute(
                f"INSERT INTO decisions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [values[c] for c in columns])
            seq = int(cursor.lastrowid or 0)
        return Decision(seq=seq, **{c: values[c] for c in _COLUMNS if c != "seq"})

    def decisions(self, after: int = 0, *, application: str | None = None) -> list[Decision]:
        """The log in order (rows after ``after``), of one application or all."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.row_factory = None  # plain tuples in column order: 12,000 rows in a few ms
            if application is None:
                rows = cursor.execute(f"SELECT {_SELECT} FROM decisions WHERE seq > ? ORDER BY seq", (after,)).fetchall()
            else:
                rows = cursor.execute(f"SELECT {_SELECT} FROM decisions WHERE seq > ? AND application = ? ORDER BY seq",
                                      (after, application)).fetchall()
        return [Decision(*row) for row in rows]

    def current(self) -> list[Decision]:
        """The newest decision of every decided item (the ``current_decisions`` view)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM current_decisions ORDER BY application, item").fetchall()
        return [_decision(r) for r in rows]

    def last_seq(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM decisions").fetchone()[0])

    # ------------------------------------------------------------------ snapshot cache

    def snapshots(self) -> dict[str, tuple[str, str, dict]]:
        """application → (signature, rules_version, items) as last seen."""
        with self._lock:
            rows = self._db.execute("SELECT application, signature, rules_version, items FROM snapshots").fetchall()
        out = {}
        for row in rows:
            try:
                out[row[0]] = (row[1], row[2], json.loads(row[3]))
            except ValueError:
                continue
        return out

    def put_snapshots(self, entries: dict[str, tuple[str, str, dict]]) -> None:
        if not entries:
            return
        with self._lock, self._write():
            self._db.executemany(
                "INSERT OR REPLACE INTO snapshots (application, signature, rules_version, items) VALUES (?, ?, ?, ?)",
                [(app, sig, version, json.dumps(items, ensure_ascii=False, separators=(",", ":")))
                 for app, (sig, version, items) in entries.items()])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _statements(script: str) -> list[str]:
    """A migration script as single statements (executescript would commit on its own, outside
    the migration's transaction). Triggers hold ``;`` inside BEGIN … END and stay whole."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines():
        if not line.strip():
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(**{c: row[c] for c in _COLUMNS})


def format_time(at_ms: int) -> str:
    """Beijing time (UTC+8, fixed): the same text on every machine, whatever its time zone."""
    seconds = at_ms / 1000 + 8 * 3600
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def status_zh(status: str) -> str:
    from ..report.html import STATUS_ZH

    return STATUS_ZH.get(status, status)


def _stale_zh(current: Decision | None) -> str:
    if current is None:
        return "该项的审核记录与您看到的不一致，请刷新页面后再决定"
    return (f"该项已由 {current.reviewer} 于 {format_time(current.at_ms)} 改为"
            f"“{status_zh(current.to_status)} {current.to_score:g} 分”，您看到的是旧版本；请刷新页面，看过后再决定")


def _stale_en(current: Decision | None) -> str:
    if current is None:
        return "the item's decisions differ from what you saw; reload the page and decide again"
    return (f"{current.reviewer} changed this item to {current.to_status} {current.to_score:g} at "
            f"{format_time(current.at_ms)} (UTC+8) after you loaded it; reload the page and decide again")
