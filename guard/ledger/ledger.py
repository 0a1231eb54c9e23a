"""`Ledger`: record revenue-bearing decisions without slowing the request path.

`record()` builds the attribution record on the caller's thread (microseconds) and hands it to one background
writer thread per ledger, which commits records in batches. Two ways to wait:

buffered (default, ``durable=False``)
    `record()` returns as soon as the record is queued. The writer commits when `batch_size` records are
    waiting or `flush_interval` seconds after the oldest waiting one, whichever comes first; `flush()` and
    `close()` (also run at interpreter exit) commit everything queued before them.
durable (``durable=True``, or ``record(..., durable=True)`` for one call)
    `record()` returns only after the transaction holding the record has committed, and raises
    `LedgerWriteError` if that did not happen within `durable_timeout`. Concurrent durable callers share
    commits (group commit), so throughput stays high while each caller waits for about one commit.

What a crash can lose:
- A record that a durable `record()` returned for: nothing. It is committed (SQLite: fsynced, WAL mode,
  synchronous=FULL; PostgreSQL: committed with the server's synchronous_commit, on by default), so it survives
  the process being killed (SIGKILL, OOM killer, segfault), and on SQLite also a power cut.
- A buffered record: everything whose `record()` returned after the last commit that finished before the crash,
  i.e. at most the records of the last `flush_interval` seconds (0.2 s by default) plus the batch being
  committed at that moment, and more if the database was refusing writes (then everything queued since it
  started refusing, up to `max_pending`). Records from before the last completed `flush()` are safe.
- A clean shutdown loses nothing: `close()`, and interpreter exit (atexit: normal return, `sys.exit`, an
  unhandled exception, SIGINT) flush first. SIGTERM's default action ends Python without atexit, so a server
  should turn SIGTERM into a normal exit (uvicorn and gunicorn do).
- Nothing is ever half-written: a decision's row and its share rows commit in one transaction.

If the database refuses a write, the writer retries with backoff (up to 5 s apart) for as long as the ledger is
open, and for `close_timeout` seconds in `close()`; records still unwritten then are counted in
`stats.dropped` and logged. Writing the same record twice is harmless, so a retried batch never double counts.
A record the database rejects for its data (an integrity or data error) is isolated from its batch, logged, counted in
`stats.rejected`, and a durable caller gets `LedgerWriteError`.

After `os.fork()` the child gets a fresh queue and writer; records queued in the parent stay the parent's.
"""
from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Sequence, Union

from guard.ledger.errors import LedgerClosedError, LedgerError, LedgerWriteError
from guard.ledger.records import AttributionRecord, build_record, is_revenue_bearing
from guard.ledger.report import Report, When, build_report
from guard.ledger.split import SplitRule, resolve_split_rule
from guard.ledger.store import Store, open_store
from guard.models import CheckContext, Decision

log = logging.getLogger("guard.ledger")


@dataclass
class LedgerStats:
    """Counters since the ledger was opened (in this process)."""

    recorded: int = 0  # record() calls that produced a record
    skipped: int = 0  # record() calls whose decision is not revenue-bearing
    committed: int = 0  # records in committed batches (new + duplicates)
    inserted: int = 0  # of those, new decisions
    duplicates: int = 0  # of those, ignored as a repeat of a decision id or request id already in the ledger
    rejected: int = 0  # records the database refused outright (logged)
    dropped: int = 0  # records given up on at close because the database kept refusing writes (logged)
    write_errors: int = 0  # failed write attempts (each retried)
    batches: int = 0  # committed transactions
    pending: int = 0  # queued, not yet committed (a snapshot)


class _Durable:
    __slots__ = ("record", "done", "error")

    def __init__(self, record: AttributionRecord):
        self.record = record
        self.done = threading.Event()
        self.error: Optional[BaseException] = None


class _Barrier:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()

_open_ledgers: "weakref.WeakSet[Ledger]" = weakref.WeakSet()


@atexit.register
def _close_open_ledgers() -> None:
    for ledger in list(_open_ledgers):
        try:
            ledger.close()
        except Exception:  # pragma: no cover - logged, never raised at exit
            log.exception("ledger %s: close at exit failed", ledger.url)


def _after_fork_in_child() -> None:
    # The parent's writer thread does not exist in the child, and its lock may have been held at fork time.
    for ledger in list(_open_ledgers):
        ledger._lock = threading.Lock()
        ledger._reset_writer()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Ledger:
    """The attribution ledger. Make one with `Ledger.open`; share it between threads; `close()` it at shutdown."""

    def __init__(
        self,
        store: Store,
        *,
        durable: bool = False,
        split: Union[str, SplitRule] = "equal",
        flush_interval: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 100_000,
        durable_timeout: float = 30.0,
        close_timeout: float = 30.0,
    ):
        if flush_interval < 0 or batch_size < 1 or max_pending < 1 or durable_timeout <= 0 or close_timeout < 0:
            raise ValueError("flush_interval >= 0, batch_size >= 1, max_pending >= 1, durable_timeout > 0, close_timeout >= 0")
        self.store = store
        self.durable = durable
        self.split_name, self._split = resolve_split_rule(split)
        self.flush_interval = float(flush_interval)
        self.batch_size = int(batch_size)
        self.max_pending = int(max_pending)
        self.durable_timeout = float(durable_timeout)
        self.close_timeout = float(close_timeout)
        self.stats = LedgerStats()
        self._lock = threading.Lock()
        self._closed = False
        self._closing_deadline: Optional[float] = None
        self._reset_writer()
        _open_ledgers.add(self)

    # -- opening ------------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        target: Union[str, "os.PathLike[str]"],
        *,
        durable: bool = False,
        split: Union[str, SplitRule] = "equal",
        flush_interval: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 100_000,
        durable_timeout: float = 30.0,
        close_timeout: float = 30.0,
        create: bool = True,
    ) -> "Ledger":
        """Open (and create, unless `create` is false) the ledger at `target`.

        target: a file path or ``sqlite:///path`` for SQLite, ``postgresql://user:pw@host/db`` for PostgreSQL.
        durable: `record()` waits for the commit (see the module docstring). split: a rule name from
        `guard.ledger.SPLIT_RULES` (``equal``, ``per_character``, ``policy_rate``) or a callable.
        The schema is made here, so a wrong URL or an unwritable file fails now rather than in the background.
        """
        store = open_store(target, create=create)
        store.init_schema()
        return cls(store, durable=durable, split=split, flush_interval=flush_interval, batch_size=batch_size,
                   max_pending=max_pending, durable_timeout=durable_timeout, close_timeout=close_timeout)

    @property
    def url(self) -> str:
        """Where the ledger is (passwords masked)."""
        return self.store.url

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        mode = "durable" if self.durable else "buffered"
        return f"<Ledger {self.store.kind} {self.url} {mode} split={self.split_name}{' closed' if self._closed else ''}>"

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- recording ----------------------------------------------------------------------------------------
    def record(
        self,
        decision: Decision,
        context: Optional[CheckContext] = None,
        request_id: Optional[str] = None,
        *,
        at: Optional[datetime] = None,
        durable: Optional[bool] = None,
    ) -> Optional[AttributionRecord]:
        """Record `decision` if it is revenue-bearing; return its record, or None when it makes none.

        request_id: the caller's id for the request (default: `context.request_id`); a retry carrying the same id
        is not counted again. at: when the generation happened (default: `context.at`, else now).
        durable: override the ledger's mode for this call. Raises `LedgerClosedError` after `close()`,
        `LedgerWriteError` when a durable write did not commit in time, ValueError for a malformed decision.
        """
        if self._closed:
            raise LedgerClosedError(f"ledger {self.url} is closed")
        if not is_revenue_bearing(decision):
            with self._lock:
                self.stats.skipped += 1
            return None
        rec = build_record(decision, context, request_id, at, self.split_name, self._split)
        wait = self.durable if durable is None else durable
        item: Any = _Durable(rec) if wait else rec
        self._enqueue(item)
        if wait:
            if not item.done.wait(self.durable_timeout):
                raise LedgerWriteError(
                    f"decision {rec.decision_id} was not committed within {self.durable_timeout:g}s "
                    f"(it stays queued and may still be written)")
            if item.error is not None:
                raise LedgerWriteError(f"decision {rec.decision_id} was not written: {item.error}") from item.error
        return rec

    def flush(self, timeout: Optional[float] = None) -> None:
        """Return once everything recorded before this call is committed (or given up on, see `stats`)."""
        if self._closed or self._thread is None or self._pid != os.getpid():
            return
        barrier = _Barrier()
        try:
            self._enqueue(barrier)
        except LedgerClosedError:  # closed meanwhile: close() commits the queue itself
            return
        limit = self.close_timeout if timeout is None else timeout
        if not barrier.done.wait(limit):
            raise LedgerError(f"ledger {self.url}: flush did not finish within {limit:g}s ({self.pending} pending)")

    def close(self, timeout: Optional[float] = None) -> None:
        """Commit everything queued, stop the writer and close. Idempotent; also run at interpreter exit.

        If the database keeps refusing writes, gives up after `timeout` (default `close_timeout`) seconds and
        logs how many records were dropped.
        """
        limit = self.close_timeout if timeout is None else timeout
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing_deadline = time.monotonic() + limit
            thread = self._thread if self._pid == os.getpid() else None
            if thread is not None:
                self._queue.put(_STOP)
        _open_ledgers.discard(self)
        if thread is not None:
            thread.join(limit + 5.0)
            if thread.is_alive():
                log.error("ledger %s: writer did not stop within %.0fs; %d records not written",
                          self.url, limit, self.pending)

    @property
    def pending(self) -> int:
        """Records queued and not yet committed (approximate)."""
        return self._queue.qsize()

    # -- reading ------------------------------------------------------------------------------------------
    def report(self, start: When, end: When, rightsholder: Optional[str] = None) -> Report:
        """The report for [start, end) (see `guard.ledger.report`; a bare date as `end` includes that day).
        Flushes this ledger first."""
        self.flush()
        return build_report(self.store, start, end, rightsholder)

    def records(
        self,
        start: Optional[datetime] = None,
        end: Optional[datetime] = None,
        *,
        rightsholder: Optional[str] = None,
        request_id: Optional[str] = None,
        decision_id: Optional[str] = None,
    ) -> list[AttributionRecord]:
        """Committed records, oldest first (flushes this ledger first)."""
        self.flush()
        return self.store.fetch(start, end, rightsholder, request_id, decision_id)

    def count(self) -> int:
        """Committed decisions in the ledger (flushes this ledger first)."""
        self.flush()
        return self.store.count()

    # -- the writer ---------------------------------------------------------------------------------------
    def _reset_writer(self) -> None:
        self._pid = os.getpid()
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=self.max_pending)
        self._thread: Optional[threading.Thread] = None

    def _enqueue(self, item: Any) -> None:
        while True:
            with self._lock:
                if self._closed:
                    raise LedgerClosedError(f"ledger {self.url} is closed")
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="guard-ledger-writer", daemon=True)
                    self._thread.start()
                try:
                    self._queue.put_nowait(item)
                except queue.Full:
                    pass
                else:
                    if not isinstance(item, _Barrier):
                        self.stats.recorded += 1
                    return
            # max_pending records are waiting (the database is down or far too slow): wait for room, without
            # holding the lock so that close() can still get in.
            time.sleep(0.005)

    def _run(self) -> None:
        conn = None
        q = self._queue
        stop = False
        while not stop:
            item = q.get()
            records: list[AttributionRecord] = []
            waiters: list[_Durable] = []
            barriers: list[_Barrier] = []
            deadline = time.monotonic() + self.flush_interval
            urgent = False
            while True:
                if item is _STOP:
                    stop = urgent = True
                elif isinstance(item, _Barrier):
                    barriers.append(item)
                    urgent = True
                elif isinstance(item, _Durable):
                    records.append(item.record)
                    waiters.append(item)
                    urgent = True
                else:
                    records.append(item)
                if len(records) >= self.batch_size:
                    break
                try:
                    if urgent:
                        item = q.get_nowait()
                    else:
                        item = q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            try:
                if records:
                    conn = self._commit_batch(conn, records, waiters)
            except BaseException:  # never let the writer die silently
                log.exception("ledger %s: writer error", self.url)
                for w in waiters:
                    if w.error is None and not w.done.is_set():
                        w.error = LedgerError("writer error")
            finally:
                for w in waiters:
                    w.done.set()
                for b in barriers:
                    b.done.set()
                self.stats.pending = q.qsize()
        self.store.discard(conn)

    def _commit_batch(self, conn: Any, records: list[AttributionRecord], waiters: list[_Durable]) -> Any:
        """Commit `records`, retrying transient failures; returns the (possibly new) connection."""
        delay = 0.05
        while True:
            try:
                if conn is None:
                    conn = self.store.connect()
                rejected = self._write_isolating(conn, records)
                break
            except Exception as exc:
                self.stats.write_errors += 1
                self.store.discard(conn)
                conn = None
                deadline = self._closing_deadline
                if deadline is not None and time.monotonic() >= deadline:
                    self.stats.dropped += len(records)
                    log.error("ledger %s: giving up on %d records at close after repeated write failures: %s",
                              self.url, len(records), exc)
                    for w in waiters:
                        w.error = exc
                    return None
                log.warning("ledger %s: write of %d records failed, retrying in %.2fs: %s",
                            self.url, len(records), delay, exc)
                wait = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
                time.sleep(wait)
                delay = min(delay * 2, 5.0)
        if rejected:
            by_id = {id(r): exc for r, exc in rejected}
            for w in waiters:
                if id(w.record) in by_id:
                    w.error = by_id[id(w.record)]
        return conn

    def _write_isolating(self, conn: Any, records: Sequence[AttributionRecord]) -> list[tuple[AttributionRecord, BaseException]]:
        """Write `records`; if the database rejects the batch outright, split it to find and drop the culprits.

        Other errors propagate (the caller retries the whole batch, which is harmless: duplicates are
        ignored). Returns the rejected records with their errors.
        """
        try:
            inserted = self.store.write(conn, records)
        except Exception as exc:
            if not self.store.is_data_error(exc):
                raise
            if len(records) == 1:
                self.stats.rejected += 1
                log.error("ledger %s: decision %s rejected by the database: %s", self.url, records[0].decision_id, exc)
                return [(records[0], exc)]
            mid = len(records) // 2
            return self._write_isolating(conn, records[:mid]) + self._write_isolating(conn, records[mid:])
        self.stats.batches += 1
        self.stats.committed += len(records)
        self.stats.inserted += inserted
        self.stats.duplicates += len(records) - inserted
        return []


def open_ledger(target: Union[str, "os.PathLike[str]"], **options: Any) -> Ledger:
    """Same as `Ledger.open`."""
    return Ledger.open(target, **options)

