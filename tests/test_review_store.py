"""The decision store: an append-only log, stale writes refused, migrations, nothing lost on kill -9."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from xdt_rules.review.store import MIGRATIONS, SCHEMA_VERSION, NewDecision, StaleWrite, Store, StoreError, _statements


def new(item: str = "1.3.1", *, reviewer: str = "张三", to: str = "met", score: float = 3.0, action: str = "confirm",
        app: str = "甲公司") -> NewDecision:
    return NewDecision(reviewer=reviewer, application=app, item=item, action=action, from_status="met",
                       from_score=3.0, to_status=to, to_score=score, comment="" if action == "confirm" else "理由",
                       rules_version="r1", evidence_hash="h1", prelim_status="met", prelim_score=3.0, max_score=3.0)


def test_decisions_are_appended_and_the_newest_is_current(tmp_path: Path) -> None:
    with Store(tmp_path / "r.sqlite3") as store:
        first = store.record(new(), base_seq=0)
        second = store.record(new(to="partial", score=1.5, action="override", reviewer="李四"), base_seq=first.seq)
        store.record(new("1.3.2"), base_seq=0)
        log = store.decisions()
        assert [d.seq for d in log] == [first.seq, second.seq, second.seq + 1]
        assert log[1].base_seq == first.seq and log[1].reviewer == "李四"
        current = {(d.application, d.item): d for d in store.current()}
        assert current[("甲公司", "1.3.1")].to_status == "partial"  # the newest row, the older one still in the log
        assert len(current) == 2
        assert store.decisions(first.seq) == log[1:]
        assert all(d.at_ms > 0 for d in log)


def test_the_log_refuses_update_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    with Store(path) as store:
        store.record(new(), base_seq=0)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE decisions SET comment = '改过'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM decisions")
    assert db.execute("SELECT COUNT(*), MAX(comment) FROM decisions").fetchone() == (1, "")
    db.close()


def test_a_write_based_on_a_stale_view_is_refused_with_who_changed_it(tmp_path: Path) -> None:
    with Store(tmp_path / "r.sqlite3") as store:
        store.record(new(reviewer="张三"), base_seq=0)
        with pytest.raises(StaleWrite) as caught:
            store.record(new(reviewer="李四", to="planned", score=0, action="override"), base_seq=0)
        assert "张三" in caught.value.reason_zh and "刷新" in caught.value.reason_zh
        assert caught.value.current is not None and caught.value.current.reviewer == "张三"
        assert len(store.decisions()) == 1  # nothing overwritten, nothing added


def test_two_writers_on_the_same_view_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    stores = [Store(path), Store(path)]  # two connections, as two server processes would have
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def write(store: Store, reviewer: str) -> None:
        barrier.wait()
        try:
            store.record(new(reviewer=reviewer), base_seq=0)
            outcomes.append("ok")
        except StaleWrite:
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(s, name)) for s, name in zip(stores, ("张三", "李四"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "stale"]
    assert len(stores[0].decisions()) == 1
    for s in stores:
        s.close()


def test_a_version_1_file_is_migrated_and_keeps_its_decisions(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for statement in _statements(MIGRATIONS[1]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute("COMMIT")
    db.execute("INSERT INTO decisions (at_ms, reviewer, application, item, action, from_status, from_score, to_status,"
               " to_score, comment, rules_version, evidence_hash, prelim_status, prelim_score, max_score, base_seq)"
               " VALUES (1, '张三', '甲公司', '1.3.1', 'override', 'met', 3, 'partial', 1.5, '旧记录', 'r0', 'h', 'met', 3, 3, 0)")
    db.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        assert [d.comment for d in store.decisions()] == ["旧记录"]
        store.put_snapshots({"甲公司": ("1:2", "r1", {"1.3.1": {"hash": "h"}})})  # the table version 2 added
        assert store.snapshots()["甲公司"][0] == "1:2"


def test_a_file_from_a_newer_tool_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="升级"):
        Store(path)


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(path) in caught.value.one_line()


def test_the_store_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    with Store(tmp_path / "r.sqlite3") as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_kill_9_of_a_writer_loses_no_acknowledged_decision(tmp_path: Path) -> None:
    """A process records decisions and prints each seq once record() returned (acknowledged);
    it is killed with SIGKILL mid-stream; every printed seq is in the file afterwards."""
    path = tmp_path / "r.sqlite3"
    script = textwrap.dedent(f"""
        import sys
        from xdt_rules.review.store import NewDecision, Store
        store = Store({str(path)!r})
        base = 0
        for n in range(100000):
            d = store.record(NewDecision(reviewer="张三", application="甲公司", item="1.3.1", action="confirm",
                                         from_status="met", from_score=3.0, to_status="met", to_score=3.0, comment="",
                                         rules_version="r", evidence_hash="h", prelim_status="met", prelim_score=3.0,
                                         max_score=3.0), base_seq=base)
            base = d.seq
            print(d.seq, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 40:
            proc.kill()  # SIGKILL: no cleanup, no flush, no close
            break
    proc.wait(timeout=10)
    with Store(path) as store:
        stored = {d.seq for d in store.decisions()}
    assert set(acknowledged) <= stored
