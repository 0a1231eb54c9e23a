"""The PostgreSQL ledger, for deployments where several guard instances share one ledger.

Selected by a ``postgresql://`` (or ``postgres://``) URL in libpq's syntax; libpq parameters go in the query
string (``?sslmode=require``, ``?options=-csearch_path%3Dmyschema`` to keep the tables in a schema of their
own). Needs psycopg 3: ``pip install 'character-guard[postgres]'``.

A record counts as written when PostgreSQL has committed it, with the server's `synchronous_commit` (on by
default: the commit is flushed to the server's WAL before it returns). Idempotency is enforced by the unique
keys, so it holds across instances: of two instances recording the same request id, the first to commit wins
and the other's insert does nothing.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, Sequence

from guard.ledger.errors import LedgerError
from guard.ledger.records import AttributionRecord, to_utc
from guard.ledger.store import _INSERT_DECISION, SCHEMA_VERSION, Store

try:  # optional extra
    import psycopg
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_LOCK_KEY = 0x6775617264  # "guard": serialises schema creation between instances starting together

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS ledger_attributions (
        decision_id TEXT PRIMARY KEY,
        request_id TEXT UNIQUE,
        recorded_at TIMESTAMPTZ NOT NULL,
        action TEXT NOT NULL,
        region TEXT,
        commercial BOOLEAN NOT NULL,
        policy_version TEXT NOT NULL,
        split_rule TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ledger_attributions_recorded_at ON ledger_attributions (recorded_at)",
    """CREATE TABLE IF NOT EXISTS ledger_shares (
        decision_id TEXT NOT NULL REFERENCES ledger_attributions (decision_id) ON DELETE CASCADE,
        line INTEGER NOT NULL,
        rightsholder TEXT NOT NULL,
        character_id TEXT NOT NULL,
        licence_id TEXT,
        share_rate DOUBLE PRECISION NOT NULL,
        share DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (decision_id, line)
    )""",
    "CREATE INDEX IF NOT EXISTS ledger_shares_rightsholder ON ledger_shares (rightsholder)",
    f"INSERT INTO ledger_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}') ON CONFLICT DO NOTHING",
]


def mask_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class PostgresStore(Store):
    kind = "postgresql"
    insert_share_sql = (
        "INSERT INTO ledger_shares (decision_id, line, rightsholder, character_id, licence_id, share_rate, share) "
        "SELECT %s::text, %s::integer, %s::text, %s::text, %s::text, %s::double precision, %s::double precision "
        "WHERE EXISTS (SELECT 1 FROM ledger_attributions WHERE decision_id = %s::text) ON CONFLICT DO NOTHING"
    )

    def __init__(self, url: str, connect_timeout: int = 10):
        if psycopg is None:
            raise LedgerError("the PostgreSQL ledger needs psycopg 3: pip install 'character-guard[postgres]'")
        self.conninfo = url
        self.connect_timeout = connect_timeout
        self.url = mask_password(url)

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def from_ts(self, value: Any) -> datetime:
        return to_utc(value)  # timestamptz comes back in the session's time zone

    def connect(self) -> Any:
        try:
            return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout,
                                   application_name="character-guard-ledger")
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to PostgreSQL ledger {self.url}: {exc}".strip()) from exc

    def init_schema(self) -> None:
        conn = self.connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                for stmt in _SCHEMA:
                    conn.execute(stmt)
            version = conn.execute("SELECT value FROM ledger_meta WHERE key = 'schema_version'").fetchone()[0]
        except psycopg.Error as exc:
            raise LedgerError(f"cannot initialise PostgreSQL ledger {self.url}: {exc}") from exc
        finally:
            self.discard(conn)
        if version != SCHEMA_VERSION:
            raise LedgerError(f"PostgreSQL ledger {self.url} has schema version {version}; this guard reads {SCHEMA_VERSION}")

    def is_data_error(self, exc: BaseException) -> bool:
        return isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)) or super().is_data_error(exc)

    def write(self, conn: Any, records: Sequence[AttributionRecord]) -> int:
        decisions, shares = self.rows(records)
        with conn.transaction():
            with conn.cursor() as cur:
                cur.executemany(self.sql(_INSERT_DECISION), decisions)
                inserted = cur.rowcount
                cur.executemany(self.insert_share_sql, shares)
        return inserted

    def _read(self, conn: Any, queries: Iterable[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        out: list[list[tuple]] = []
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for all queries
        with conn.transaction():
            for q, params in queries:
                out.append(conn.execute(q, list(params)).fetchall())
        return out
