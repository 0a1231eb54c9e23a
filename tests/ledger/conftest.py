"""Fixtures for the ledger tests: hand-built decisions and a ledger URL per backend.

PostgreSQL tests need a real server: set GUARD_TEST_PG_URL (.ci/services.sh starts one on 127.0.0.1 and exports
it). Each test gets a schema of its own, dropped afterwards.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from guard.ledger import Ledger
from ledgerkit import PG_SKIP_REASON, PG_URL, pg_schema_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is not installed (pip install 'psycopg[binary]')")
    schema = "guard_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield pg_schema_url(PG_URL, schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.sqlite3")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger location on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def open_ledger() -> Iterator[Callable[..., Ledger]]:
    """`open_ledger(url, **options)`: a Ledger that is closed when the test ends."""
    opened: list[Ledger] = []

    def _open(url: str, **options) -> Ledger:
        ledger = Ledger.open(url, **options)
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        ledger.close()
