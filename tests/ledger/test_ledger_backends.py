"""The ledger on both backends: round trip, idempotency, modes, restart, concurrency, failures."""
from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from guard.ledger import Ledger, LedgerClosedError, LedgerError, LedgerWriteError
from guard.ledger.sqlite import SqliteStore
from guard.ledger.store import open_store
from guard.models import CheckContext
from ledgerkit import decision, tag

AT = datetime(2025, 5, 1, 10, 0, tzinfo=timezone.utc)


def d(i, *tags, **kw):
    return decision(f"dec-{i}", *(tags or (tag("acme", "a1", rate=0.1, licence="L1"), tag("bolt", "b1", rate=0.2))), **kw)


def assert_complete(records):
    """Every record has all its share lines: nothing is half-written."""
    for r in records:
        assert r.shares, r
        assert math.isclose(sum(s.share for s in r.shares), 1.0), r


def test_round_trip(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url)
    rec = ledger.record(d(1), CheckContext(region="fr", commercial=True), "req-1", at=AT)
    assert ledger.record(d(2, action="reject"), request_id="req-2") is None
    (stored,) = ledger.records()
    assert stored == rec
    assert stored.recorded_at == AT and stored.region == "FR" and stored.commercial is True
    assert ledger.records(request_id="req-1") == [rec]
    assert ledger.records(decision_id="dec-1") == [rec]
    assert ledger.records(rightsholder="bolt") == [rec]
    assert ledger.records(rightsholder="nobody") == []
    assert ledger.stats.skipped == 1 and ledger.stats.recorded == 1


def test_not_revenue_bearing_decisions_leave_no_record(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url)
    assert ledger.record(decision("x1", tag("acme", "a"), action="reject")) is None
    assert ledger.record(decision("x2", action="allow")) is None
    assert ledger.record(decision("x3", tag("acme", "a"), action="allow")) is not None
    assert [r.decision_id for r in ledger.records()] == ["x3"]


def test_retried_request_is_counted_once(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url)
    ledger.record(d(1), request_id="req-1", at=AT)
    # the client retried: a new decision (new id, maybe other tags) for the same request
    ledger.record(d(2, tag("zeta", "z1")), request_id="req-1", at=AT)
    ledger.record(d(1), request_id="req-1", at=AT)  # the same decision recorded twice
    ledger.record(d(1), at=AT)  # and once more without its request id
    ledger.record(d(1), CheckContext(request_id="req-1"), at=AT)
    records = ledger.records()
    assert [(r.decision_id, r.request_id) for r in records] == [("dec-1", "req-1")]
    assert [s.rightsholder for s in records[0].shares] == ["acme", "bolt"]  # the first committed one wins
    assert ledger.stats.inserted == 1 and ledger.stats.duplicates == 4
    rep = ledger.report("2025-05-01", "2025-05-01")
    assert rep.totals.decisions == 1 and rep.totals.share == 1.0


def test_decisions_without_request_id_are_idempotent_by_decision_id(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url)
    for _ in range(3):
        ledger.record(d(1))
        ledger.record(d(2))
    assert sorted(r.decision_id for r in ledger.records()) == ["dec-1", "dec-2"]


def test_idempotency_survives_a_restart(open_ledger, ledger_url):
    first = open_ledger(ledger_url)
    first.record(d(1), request_id="req-1")
    first.close()
    second = open_ledger(ledger_url)
    second.record(d(99), request_id="req-1")  # retried after the guard restarted
    assert [r.decision_id for r in second.records()] == ["dec-1"]


def test_durable_record_is_committed_when_it_returns(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url, durable=True, flush_interval=60)
    reader = open_store(ledger_url)
    for i in range(5):
        ledger.record(d(i), request_id=f"r{i}")
        assert reader.count() == i + 1  # visible to another connection right away: committed


def test_buffered_records_wait_for_the_batch_and_flush(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url, flush_interval=60, batch_size=1000)
    reader = open_store(ledger_url)
    for i in range(10):
        ledger.record(d(i), request_id=f"r{i}")
    time.sleep(0.2)
    assert reader.count() == 0  # still buffered
    ledger.record(d(10), request_id="r10", durable=True)  # one durable call commits what is queued before it
    assert reader.count() == 11
    ledger.record(d(11), request_id="r11")
    ledger.flush()
    assert reader.count() == 12


def test_batch_size_triggers_a_commit(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url, flush_interval=60, batch_size=5)
    reader = open_store(ledger_url)
    for i in range(5):
        ledger.record(d(i))
    deadline = time.monotonic() + 10
    while reader.count() < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reader.count() == 5


def test_flush_interval_commits_without_being_asked(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url, flush_interval=0.05)
    reader = open_store(ledger_url)
    ledger.record(d(1))
    deadline = time.monotonic() + 10
    while reader.count() < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reader.count() == 1


def test_close_flushes_and_is_final(ledger_url):
    ledger = Ledger.open(ledger_url, flush_interval=60)
    for i in range(20):
        ledger.record(d(i))
    ledger.close()
    ledger.close()  # idempotent
    assert ledger.closed
    assert open_store(ledger_url).count() == 20
    with pytest.raises(LedgerClosedError):
        ledger.record(d(100))
    ledger.flush()  # a no-op once closed
    with Ledger.open(ledger_url) as again:
        again.record(d(21))
    assert again.closed and open_store(ledger_url).count() == 21


def test_reopen_keeps_everything(ledger_url):
    for round_ in range(3):
        with Ledger.open(ledger_url) as ledger:
            for i in range(10):
                ledger.record(d(f"{round_}-{i}"), request_id=f"{round_}-{i}")
    with Ledger.open(ledger_url) as ledger:
        records = ledger.records()
    assert len(records) == 30
    assert_complete(records)


@pytest.mark.parametrize("durable", [False, True], ids=["buffered", "durable"])
def test_many_writer_threads_lose_nothing_and_duplicate_nothing(open_ledger, ledger_url, durable):
    threads, per_thread = 8, 150
    ledger = open_ledger(ledger_url, durable=durable, batch_size=64, flush_interval=0.01)
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                ledger.record(d(f"own-{t}-{i}"), request_id=f"own-{t}-{i}")  # unique
                # every thread also "retries" the same shared requests, each time as a new decision
                ledger.record(d(f"shared-{t}-{i}"), CheckContext(region="DE"), request_id=f"shared-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    records = ledger.records()
    request_ids = Counter(r.request_id for r in records)
    assert len(records) == threads * per_thread + per_thread
    assert max(request_ids.values()) == 1
    assert {f"own-{t}-{i}" for t in range(threads) for i in range(per_thread)} <= set(request_ids)
    assert {f"shared-{i}" for i in range(per_thread)} <= set(request_ids)
    assert_complete(records)
    s = ledger.stats
    assert s.recorded == 2 * threads * per_thread
    assert s.inserted == len(records) and s.duplicates == s.recorded - len(records)
    assert ledger.report("2000-01-01", "2100-01-01").totals.decisions == len(records)


def test_two_ledgers_on_one_database_do_not_double_count(open_ledger, ledger_url):
    """Two guard instances (here: two Ledger objects with their own writers) sharing one database."""
    a, b = open_ledger(ledger_url, flush_interval=0.01), open_ledger(ledger_url, flush_interval=0.01)

    def work(ledger: Ledger, name: str) -> None:
        for i in range(300):
            ledger.record(d(f"{name}-{i}"), request_id=f"req-{i}")

    ta, tb = threading.Thread(target=work, args=(a, "a")), threading.Thread(target=work, args=(b, "b"))
    ta.start(), tb.start()
    ta.join(), tb.join()
    a.flush(), b.flush()
    records = a.records()
    assert sorted(r.request_id for r in records) == sorted(f"req-{i}" for i in range(300))
    assert_complete(records)
    assert a.stats.inserted + b.stats.inserted == 300


def test_schema_creation_races_are_harmless(ledger_url):
    errors = []

    def open_close():
        try:
            Ledger.open(ledger_url).close()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    ts = [threading.Thread(target=open_close) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_bad_targets():
    with pytest.raises(LedgerError, match="unknown ledger URL scheme"):
        Ledger.open("mysql://x/y")
    with pytest.raises(LedgerError, match="in-memory"):
        Ledger.open(":memory:")
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger.open("/nonexistent/dir/ledger.db", create=False)


def test_sqlite_url_spellings_and_wal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Ledger.open("sqlite:///rel.db") as ledger:
        ledger.record(d(1))
    assert (tmp_path / "rel.db").exists()
    with Ledger.open(f"sqlite:///{tmp_path}/sub/abs.db") as ledger:  # sqlite:////abs/path
        ledger.record(d(1))
        assert ledger.store.kind == "sqlite"
    assert (tmp_path / "sub" / "abs.db").exists()
    conn = sqlite3.connect(tmp_path / "rel.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sqlite_writer_waits_out_a_locked_database(open_ledger, sqlite_url):
    ledger = open_ledger(sqlite_url)
    ledger.store.busy_timeout = 0.05  # so the writer's first attempts fail fast and it has to retry
    blocker = sqlite3.connect(sqlite_url, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    done = threading.Event()
    result = {}

    def durable_record():
        result["rec"] = ledger.record(d(1), request_id="r1", durable=True)
        done.set()

    t = threading.Thread(target=durable_record)
    t.start()
    time.sleep(0.5)
    assert not done.is_set()  # waiting for the lock, not failing
    blocker.execute("COMMIT")
    blocker.close()
    t.join(20)
    assert done.is_set() and result["rec"] is not None
    assert ledger.stats.write_errors >= 1
    assert [r.request_id for r in ledger.records()] == ["r1"]


def test_durable_record_times_out_while_the_database_refuses(open_ledger, sqlite_url):
    ledger = open_ledger(sqlite_url, durable=True, durable_timeout=0.3)
    ledger.store.busy_timeout = 0.02
    blocker = sqlite3.connect(sqlite_url, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerWriteError, match="not committed within"):
            ledger.record(d(1), request_id="r1")
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    ledger.flush()  # the writer kept the record and commits it once the lock is gone
    assert [r.request_id for r in ledger.records()] == ["r1"]


def test_close_gives_up_after_its_timeout_and_counts_the_dropped(sqlite_url, caplog):
    ledger = Ledger.open(sqlite_url, flush_interval=60)
    ledger.store.busy_timeout = 0.02
    blocker = sqlite3.connect(sqlite_url, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(3):
            ledger.record(d(i))
        ledger.close(timeout=0.5)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert ledger.stats.dropped == 3
    assert "giving up on 3 records" in caplog.text
    assert open_store(sqlite_url).count() == 0


class PickyStore(SqliteStore):
    """Refuses any batch holding the decision 'dec-bad', as a database refuses data it cannot store."""

    def write(self, conn, records):
        if any(r.decision_id == "dec-bad" for r in records):
            raise sqlite3.IntegrityError("refused")
        return super().write(conn, records)


def test_a_record_the_database_refuses_is_isolated_from_its_batch(sqlite_url, caplog):
    store = PickyStore(sqlite_url)
    store.init_schema()
    ledger = Ledger(store, flush_interval=60)
    try:
        for i in range(10):
            ledger.record(d(i))
        ledger.record(d("bad"))
        for i in range(10, 20):
            ledger.record(d(i))
        with pytest.raises(LedgerWriteError, match="refused"):
            ledger.record(d("bad"), durable=True)
        ledger.flush()
        assert ledger.count() == 20
        assert ledger.stats.rejected == 2
        assert "dec-bad rejected" in caplog.text
    finally:
        ledger.close()


def test_stats_and_repr(open_ledger, sqlite_url):
    ledger = open_ledger(sqlite_url, durable=True, split="per_character")
    ledger.record(d(1))
    assert "durable" in repr(ledger) and "per_character" in repr(ledger)
    assert ledger.stats.batches == 1 and ledger.pending == 0


def test_postgres_url_password_is_masked(pg_url):
    with Ledger.open(pg_url) as ledger:
        assert ledger.store.kind == "postgresql"
        if "@" in pg_url and ":" in pg_url.split("://", 1)[1].split("@", 1)[0]:
            password = pg_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
            assert password not in ledger.url and "***" in ledger.url


def test_postgres_unreachable_server_fails_at_open():
    pytest.importorskip("psycopg")
    with pytest.raises(LedgerError, match="cannot connect"):
        # port 9 on loopback: nothing listens there
        Ledger.open("postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=2")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_writer(sqlite_url):
    ledger = Ledger.open(sqlite_url, flush_interval=60)
    try:
        ledger.record(d("parent-1"))  # starts the parent's writer; still queued at fork time
        pid = os.fork()
        if pid == 0:  # the child: record, flush through its own writer, leave without running atexit
            code = 0
            try:
                ledger.record(d("child-1"))
                ledger.flush(timeout=20)
                ledger.close()
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        ledger.record(d("parent-2"))
        ids = sorted(r.decision_id for r in ledger.records())
        # the child's record is written once; the parent's queued record is written by the parent only
        assert ids == ["dec-child-1", "dec-parent-1", "dec-parent-2"]
    finally:
        ledger.close()


def test_a_full_queue_holds_callers_back_without_blocking_close(sqlite_url):
    ledger = Ledger.open(sqlite_url, flush_interval=0.01, batch_size=2, max_pending=3)
    ledger.store.busy_timeout = 0.02
    blocker = sqlite3.connect(sqlite_url, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    outcome: list = []

    def produce():
        try:
            for i in range(10):
                ledger.record(d(i))
            outcome.append("all queued")
        except LedgerClosedError:
            outcome.append("closed")

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.5)
    assert t.is_alive() and ledger.pending == 3  # the writer holds 2, the queue 3, the caller waits for room
    blocker.execute("COMMIT")
    t.join(20)
    assert outcome == ["all queued"]
    assert ledger.count() == 10

    # the same again, but close() while the caller waits: close still gets in, and the caller is told
    blocker.execute("BEGIN EXCLUSIVE")
    outcome.clear()
    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.3)
    ledger.close(timeout=0.3)
    t.join(20)
    blocker.execute("COMMIT")
    blocker.close()
    assert outcome == ["closed"]
    assert ledger.stats.dropped == 5


def test_times_come_back_in_utc(open_ledger, ledger_url):
    ledger = open_ledger(ledger_url)
    ledger.record(d(1), at=datetime(2025, 5, 1, 19, 0, tzinfo=timezone(timedelta(hours=9))))
    (r,) = ledger.records()
    assert r.recorded_at == AT and r.recorded_at.utcoffset() == timedelta(0)


def test_sqlite_wal_switch_waits_out_a_locked_database(tmp_path, monkeypatch):
    """Opening a new file while another process initialises it: SQLite may answer the switch to WAL with
    "database is locked" at once (the busy handler does not cover it); the store tries again."""
    from guard.ledger.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "ledger.sqlite3", busy_timeout=5)
    real_connect = store.connect
    refusals = {"left": 3}

    class Busy:
        def __init__(self, conn):
            self._conn = conn

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and refusals["left"]:
                refusals["left"] -= 1
                raise sqlite3.OperationalError("database is locked")
            return self._conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(store, "connect", lambda: Busy(real_connect()))
    store.init_schema()
    assert refusals["left"] == 0
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
