"""The embedded SQLite ledger (the default).

The file is in WAL mode, so reports read while the writer writes, and several processes (or guard workers)
may share one file: writers take turns through SQLite's lock, waiting up to `busy_timeout`.
`synchronous=FULL`: a commit is fsynced before it returns, so a committed record survives a killed process
and also a power cut or OS crash. Batching makes that one fsync per batch, not per record.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from guard.ledger.errors import LedgerError
from guard.ledger.records import AttributionRecord, format_ts, parse_ts
from guard.ledger.store import _INSERT_DECISION, SCHEMA_VERSION, Store

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_attributions (
    decision_id TEXT PRIMARY KEY,
    request_id TEXT UNIQUE,
    recorded_at TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT,
    commercial INTEGER NOT NULL,
    policy_version TEXT NOT NULL,
    split_rule TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_attributions_recorded_at ON ledger_attributions (recorded_at);
CREATE TABLE IF NOT EXISTS ledger_shares (
    decision_id TEXT NOT NULL REFERENCES ledger_attributions (decision_id),
    line INTEGER NOT NULL,
    rightsholder TEXT NOT NULL,
    character_id TEXT NOT NULL,
    licence_id TEXT,
    share_rate REAL NOT NULL,
    share REAL NOT NULL,
    PRIMARY KEY (decision_id, line)
);
CREATE INDEX IF NOT EXISTS ledger_shares_rightsholder ON ledger_shares (rightsholder);
INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
"""


class SqliteStore(Store):
    kind = "sqlite"
    insert_share_sql = (
        "INSERT INTO ledger_shares (decision_id, line, rightsholder, character_id, licence_id, share_rate, share) "
        "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM ledger_attributions WHERE decision_id = ?) "
        "ON CONFLICT DO NOTHING"
    )

    def __init__(self, path: Path, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.url = str(self.path)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open SQLite ledger {self.path}: {exc}") from exc
        return conn

    def init_schema(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the folder of SQLite ledger {self.path}: {exc}") from exc
        conn = self.connect()
        try:
            # Switching a new file to WAL needs it to itself; another process opening it at the same moment makes
            # SQLite keep the old mode and say so, or answer "database is locked" at once (the busy handler does
            # not cover this switch), so try again for a while.
            deadline = time.monotonic() + self.busy_timeout
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() >= deadline:
                        raise
                    mode = None
                if str(mode).lower() == "wal" or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            if str(mode).lower() != "wal":
                raise LedgerError(f"SQLite ledger {self.path}: could not switch to WAL mode (got {mode!r})")
            try:
                conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            version = conn.execute("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise LedgerError(f"SQLite ledger {self.path} has schema version {version}; this guard reads {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot initialise SQLite ledger {self.path}: {exc}") from exc
        finally:
            self.discard(conn)

    def is_data_error(self, exc: BaseException) -> bool:
        return isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError)) or super().is_data_error(exc)

    def ts(self, at: datetime) -> str:
        return format_ts(at)

    def from_ts(self, value: Any) -> datetime:
        return parse_ts(value)

    def write(self, conn: sqlite3.Connection, records: Sequence[AttributionRecord]) -> int:
        decisions, shares = self.rows(records)
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.executemany(_INSERT_DECISION, decisions)
            inserted = cur.rowcount
            conn.executemany(self.insert_share_sql, shares)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        return inserted

    def _read(self, conn: sqlite3.Connection, queries: Iterable[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        out: list[list[tuple]] = []
        conn.execute("BEGIN")  # one read snapshot for all queries
        try:
            for q, params in queries:
                out.append(conn.execute(q, list(params)).fetchall())
        finally:
            conn.execute("COMMIT")
        return out


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
