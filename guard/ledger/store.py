"""Storage backends: the SQL the two databases share, and how a ledger target picks one.

Two tables (plus `ledger_meta` holding the schema version):

ledger_attributions: one row per recorded decision.
    decision_id PRIMARY KEY, request_id UNIQUE (NULLs allowed), recorded_at, action, region, commercial,
    policy_version, split_rule
ledger_shares: one row per (rightsholder, character) of a decision, PRIMARY KEY (decision_id, line).
    rightsholder, character_id, licence_id, share_rate, share

Idempotency lives in the database, so it holds across threads, processes and guard instances sharing a
PostgreSQL database: the decision row is inserted with ON CONFLICT DO NOTHING (a second record of the same
decision id or the same request id is ignored, the first committed one stays), and the share rows are inserted
only if a decision row with *their* decision id exists, in the same transaction.
"""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from guard.ledger.errors import LedgerError
from guard.ledger.records import AttributionRecord, ShareLine

SCHEMA_VERSION = "1"

_INSERT_DECISION = (
    "INSERT INTO ledger_attributions (decision_id, request_id, recorded_at, action, region, commercial, "
    "policy_version, split_rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


class Store:
    """What the writer thread and the reports need from a database. Subclasses fill in the dialect."""

    kind = "sql"
    url = ""
    insert_share_sql = ""  # dialect-specific (casts)

    # -- connections -------------------------------------------------------------------------------------
    def connect(self) -> Any:  # a new DB-API connection (autocommit; transactions are explicit)
        raise NotImplementedError

    def init_schema(self) -> None:
        raise NotImplementedError

    def is_data_error(self, exc: BaseException) -> bool:
        """True when the database refused a write because of the data itself (a record it will never accept).

        Every other failure (locked, busy, connection lost, deadlock, a missing table, a full disk) is retried:
        the writer would rather wait than drop records.
        """
        return isinstance(exc, (ValueError, TypeError, OverflowError))

    def sql(self, text: str) -> str:
        return text

    def ts(self, at: datetime) -> Any:
        return at

    def from_ts(self, value: Any) -> datetime:
        return value

    @staticmethod
    def discard(conn: Any) -> None:
        if conn is None:
            return
        try:
            conn.close()
        except Exception:
            pass

    # -- writing -----------------------------------------------------------------------------------------
    def rows(self, records: Sequence[AttributionRecord]) -> tuple[list[tuple], list[tuple]]:
        # Kept in record() order: within a batch, as across batches, the first record of a request id wins.
        # (Two instances sharing a PostgreSQL database can still deadlock on each other's keys; PostgreSQL
        # aborts one transaction and its writer retries the batch.)
        ordered = records
        decisions = [
            (r.decision_id, r.request_id, self.ts(r.recorded_at), r.action, r.region, r.commercial,
             r.policy_version, r.split_rule)
            for r in ordered
        ]
        shares = [
            (r.decision_id, i, s.rightsholder, s.character_id, s.licence_id, s.share_rate, s.share, r.decision_id)
            for r in ordered
            for i, s in enumerate(r.shares)
        ]
        return decisions, shares

    def write(self, conn: Any, records: Sequence[AttributionRecord]) -> int:
        """Commit `records` in one transaction; return how many decisions were new (the rest were duplicates)."""
        raise NotImplementedError

    # -- reading -----------------------------------------------------------------------------------------
    def _read(self, conn: Any, queries: Iterable[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        raise NotImplementedError

    def read(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        """Run read-only queries (written with ? placeholders) in one snapshot on a fresh connection."""
        conn = self.connect()
        try:
            return self._read(conn, [(self.sql(q), p) for q, p in queries])
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(f"cannot read ledger {self.url}: {exc}") from exc
        finally:
            self.discard(conn)

    def aggregate(self, start: datetime, end: datetime, rightsholder: Optional[str]) -> dict[str, list[tuple]]:
        """The grouped sums a report is made of, read in one snapshot."""
        where = "WHERE a.recorded_at >= ? AND a.recorded_at < ?"
        params: list[Any] = [self.ts(start), self.ts(end)]
        if rightsholder is not None:
            where += " AND s.rightsholder = ?"
            params.append(rightsholder)
        base = f"FROM ledger_shares s JOIN ledger_attributions a ON a.decision_id = s.decision_id {where}"
        sums = "COUNT(DISTINCT s.decision_id), COALESCE(SUM(s.share), 0), COALESCE(SUM(s.share * s.share_rate), 0)"
        names = ["totals", "by_rightsholder", "by_character", "by_region", "by_use"]
        queries = [
            f"SELECT {sums} {base}",
            f"SELECT s.rightsholder, COUNT(DISTINCT s.character_id), {sums} {base} GROUP BY s.rightsholder",
            f"SELECT s.rightsholder, s.character_id, {sums} {base} GROUP BY s.rightsholder, s.character_id",
            f"SELECT a.region, {sums} {base} GROUP BY a.region",
            f"SELECT a.commercial, {sums} {base} GROUP BY a.commercial",
        ]
        results = self.read([(q, params) for q in queries])
        return dict(zip(names, results))

    def fetch(
        self,
        start: Optional[datetime] = None,
        end: Optional[datetime] = None,
        rightsholder: Optional[str] = None,
        request_id: Optional[str] = None,
        decision_id: Optional[str] = None,
    ) -> list[AttributionRecord]:
        conds: list[str] = []
        params: list[Any] = []
        if start is not None:
            conds.append("a.recorded_at >= ?")
            params.append(self.ts(start))
        if end is not None:
            conds.append("a.recorded_at < ?")
            params.append(self.ts(end))
        if rightsholder is not None:
            conds.append("a.decision_id IN (SELECT decision_id FROM ledger_shares WHERE rightsholder = ?)")
            params.append(rightsholder)
        if request_id is not None:
            conds.append("a.request_id = ?")
            params.append(request_id)
        if decision_id is not None:
            conds.append("a.decision_id = ?")
            params.append(decision_id)
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        q = (
            "SELECT a.decision_id, a.request_id, a.recorded_at, a.action, a.region, a.commercial, a.policy_version, "
            "a.split_rule, s.line, s.rightsholder, s.character_id, s.licence_id, s.share_rate, s.share "
            "FROM ledger_attributions a LEFT JOIN ledger_shares s ON s.decision_id = a.decision_id "
            f"{where} ORDER BY a.recorded_at, a.decision_id, s.line"
        )
        (rows,) = self.read([(q, params)])
        heads: dict[str, tuple] = {}
        lines: dict[str, list[ShareLine]] = defaultdict(list)
        for row in rows:
            heads.setdefault(row[0], row[:8])
            if row[8] is not None:
                lines[row[0]].append(ShareLine(row[9], row[10], row[11], float(row[12]), float(row[13])))
        return [
            AttributionRecord(
                decision_id=h[0], request_id=h[1], recorded_at=self.from_ts(h[2]), action=h[3], region=h[4],
                commercial=bool(h[5]), policy_version=h[6], split_rule=h[7], shares=tuple(lines[h[0]]),
            )
            for h in heads.values()
        ]

    def count(self) -> int:
        (rows,) = self.read([("SELECT COUNT(*) FROM ledger_attributions", [])])
        return int(rows[0][0])


def open_store(target: Union[str, os.PathLike], *, create: bool = True) -> Store:
    """A store for `target`.

    - ``postgresql://...`` or ``postgres://...``: PostgreSQL (needs the `postgres` extra, psycopg 3).
    - ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's spelling), or a plain
      file path: SQLite. The file and its folder are made when missing, unless `create` is false.
    """
    text = os.fspath(target)
    if text.startswith(("postgresql://", "postgres://")):
        from guard.ledger.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:"):
        if not text.startswith("sqlite:///"):
            raise LedgerError(f"cannot read SQLite ledger URL {text!r}: use sqlite:///relative.db or sqlite:////abs.db")
        text = text[len("sqlite:///"):]
    elif "://" in text:
        raise LedgerError(f"unknown ledger URL scheme in {text!r} (use a file path, sqlite:///..., or postgresql://...)")
    if not text or text == ":memory:":
        raise LedgerError("the SQLite ledger needs a file path (an in-memory database cannot be shared with the writer)")
    from guard.ledger.sqlite import SqliteStore

    path = Path(text)
    if not create and not path.exists():
        raise LedgerError(f"no ledger at {path}")
    return SqliteStore(path)
