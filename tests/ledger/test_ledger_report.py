"""Report arithmetic on a hand-computed scenario, on both backends, and `guard ledger report`."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from guard.cli.ledger import ledger_group
from guard.ledger import Ledger, LedgerError, parse_when
from guard.models import CheckContext
from ledgerkit import decision, tag


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def fill(url: str, split: str = "equal") -> None:
    """January 2025, split `equal`:

    d1  Jan 5, JP, commercial   acme[a1] @10%                    acme/a1 1.0
    d2  Jan 10, US, personal    acme[a1,a2] @10%, bolt[b1] @20%  acme/a1 .25, acme/a2 .25, bolt/b1 .5
    d3  Jan 31 23:59:59, no region, commercial, an *allow* tagged bolt[b1] @20%   bolt/b1 1.0
    outside the period or not counted: d4 Feb 1 00:00:00, d5 Dec 31 23:59:59, d6 a reject, d7 a retry of d2
    """
    ctx_jp = CheckContext(region="JP", commercial=True)
    ctx_us = CheckContext(region="US", commercial=False)
    ctx_none = CheckContext(commercial=True)
    with Ledger.open(url, split=split) as ledger:
        ledger.record(decision("d1", tag("acme", "a1", rate=0.1)), ctx_jp, "r1", at=utc(2025, 1, 5, 12))
        ledger.record(decision("d2", tag("acme", "a1", "a2", rate=0.1), tag("bolt", "b1", rate=0.2)), ctx_us, "r2",
                      at=utc(2025, 1, 10))
        ledger.record(decision("d3", tag("bolt", "b1", rate=0.2), action="allow"), ctx_none, "r3",
                      at=utc(2025, 1, 31, 23, 59, 59))
        ledger.record(decision("d4", tag("acme", "a1", rate=0.1)), ctx_jp, "r4", at=utc(2025, 2, 1))
        ledger.record(decision("d5", tag("acme", "a1", rate=0.1)), ctx_jp, "r5", at=utc(2024, 12, 31, 23, 59, 59))
        assert ledger.record(decision("d6", tag("acme", "a1"), action="reject"), ctx_jp, "r6", at=utc(2025, 1, 15)) is None
        ledger.record(decision("d7", tag("zeta", "z1", rate=0.5)), ctx_us, "r2", at=utc(2025, 1, 11))


EXPECTED = {
    "totals": {"decisions": 3, "share": 3.0, "royalty": 0.45},
    "by_rightsholder": [
        {"rightsholder": "acme", "characters": 2, "decisions": 2, "share": 1.5, "royalty": 0.15},
        {"rightsholder": "bolt", "characters": 1, "decisions": 2, "share": 1.5, "royalty": 0.3},
    ],
    "by_character": [
        {"rightsholder": "acme", "character_id": "a1", "decisions": 2, "share": 1.25, "royalty": 0.125},
        {"rightsholder": "acme", "character_id": "a2", "decisions": 1, "share": 0.25, "royalty": 0.025},
        {"rightsholder": "bolt", "character_id": "b1", "decisions": 2, "share": 1.5, "royalty": 0.3},
    ],
    "by_region": [
        {"region": "JP", "decisions": 1, "share": 1.0, "royalty": 0.1},
        {"region": "US", "decisions": 1, "share": 1.0, "royalty": 0.15},
        {"region": None, "decisions": 1, "share": 1.0, "royalty": 0.2},
    ],
    "by_use": [
        {"use": "commercial", "decisions": 2, "share": 2.0, "royalty": 0.3},
        {"use": "personal", "decisions": 1, "share": 1.0, "royalty": 0.15},
    ],
}

EXPECTED_BOLT = {
    "totals": {"decisions": 2, "share": 1.5, "royalty": 0.3},
    "by_rightsholder": [{"rightsholder": "bolt", "characters": 1, "decisions": 2, "share": 1.5, "royalty": 0.3}],
    "by_character": [{"rightsholder": "bolt", "character_id": "b1", "decisions": 2, "share": 1.5, "royalty": 0.3}],
    "by_region": [
        {"region": "US", "decisions": 1, "share": 0.5, "royalty": 0.1},
        {"region": None, "decisions": 1, "share": 1.0, "royalty": 0.2},
    ],
    "by_use": [
        {"use": "commercial", "decisions": 1, "share": 1.0, "royalty": 0.2},
        {"use": "personal", "decisions": 1, "share": 0.5, "royalty": 0.1},
    ],
}


def body(report) -> dict:
    d = report.model_dump(mode="json")
    return {k: d[k] for k in ("totals", "by_rightsholder", "by_character", "by_region", "by_use")}


def test_report_arithmetic(ledger_url):
    fill(ledger_url)
    with Ledger.open(ledger_url) as ledger:
        rep = ledger.report("2025-01-01", "2025-01-31")
        assert rep.start == utc(2025, 1, 1) and rep.end == utc(2025, 2, 1)
        assert body(rep) == EXPECTED
        assert body(ledger.report("2025-01-01", "2025-01-31", rightsholder="bolt")) == EXPECTED_BOLT
        # the whole range holds d4 and d5 too; the retried request (d7) and the reject (d6) never count
        everything = ledger.report("2024-01-01", "2025-12-31")
        assert everything.totals.decisions == 5
        assert "zeta" not in {r.rightsholder for r in everything.by_rightsholder}
        # an exact end instant is excluded
        assert ledger.report("2025-01-01", "2025-01-31T23:59:59Z").totals.decisions == 2
        assert ledger.report("2025-01-01", utc(2025, 2, 1)).totals.decisions == 3
        empty = ledger.report("2030-01-01", "2030-01-31")
        assert empty.totals.decisions == 0 and empty.totals.share == 0.0 and empty.by_rightsholder == []


def test_report_under_other_split_rules(sqlite_url):
    fill(sqlite_url, split="policy_rate")
    with Ledger.open(sqlite_url) as ledger:
        rep = ledger.report("2025-01-01", "2025-01-31")
    # d2 under policy_rate: acme 0.1/(0.1+0.2) = 1/3 (a1 1/6, a2 1/6), bolt 2/3
    by_rh = {r.rightsholder: (r.share, r.royalty) for r in rep.by_rightsholder}
    assert by_rh == {"acme": (round(1 + 1 / 3, 6), round(0.1 + 0.1 / 3, 6)), "bolt": (round(1 + 2 / 3, 6), round(0.2 + 0.4 / 3, 6))}
    assert rep.totals.share == 3.0


def test_parse_when():
    assert parse_when("2025-01-31") == utc(2025, 1, 31)
    assert parse_when("2025-01-31", end=True) == utc(2025, 2, 1)
    assert parse_when("2025-01-31T09:00:00+09:00", end=True) == utc(2025, 1, 31)
    assert parse_when("2025-01-31T09:00") == utc(2025, 1, 31, 9)
    for bad in ("yesterday", "2025-13-01", "2025/01/01"):
        with pytest.raises(LedgerError):
            parse_when(bad)


def run(args, env=None):
    result = CliRunner().invoke(ledger_group, args, env=env, catch_exceptions=False)
    return result


def test_cli_report_formats(sqlite_url):
    fill(sqlite_url)
    args = ["report", "--from", "2025-01-01", "--to", "2025-01-31", "--ledger", sqlite_url]

    res = run(args + ["--format", "json"])
    assert res.exit_code == 0, res.output
    assert {k: v for k, v in json.loads(res.output).items() if k in EXPECTED} == EXPECTED

    res = run(args + ["--format", "csv", "--rightsholder", "bolt"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    total = [r for r in rows if r["section"] == "total"][0]
    assert (total["decisions"], total["share"], total["royalty"]) == ("2", "1.500000", "0.300000")
    personal = [r for r in rows if r["section"] == "use" and r["use"] == "personal"][0]
    assert (personal["decisions"], personal["share"]) == ("1", "0.500000")
    assert [r["section"] for r in rows] == ["total", "rightsholder", "character", "region", "region", "use", "use"]

    res = run(args)  # table is the default
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Generations: 3   share-weighted: 3.000000   royalty: 0.450000" in out
    for section in ("By rightsholder", "By character", "By region", "By use"):
        assert section in out
    assert "(unknown)" in out and "commercial" in out and "personal" in out

    res = run(args[:-2], env={"GUARD_LEDGER": sqlite_url})  # the ledger from the environment
    assert res.exit_code == 0 and "Generations: 3" in res.output


def test_cli_errors(tmp_path, sqlite_url):
    res = run(["report", "--from", "2025-01-01", "--to", "2025-01-31", "--ledger", str(tmp_path / "missing.db")])
    assert res.exit_code != 0 and "no ledger at" in res.output
    assert not (tmp_path / "missing.db").exists()
    fill(sqlite_url)
    res = run(["report", "--from", "2025-02-01", "--to", "2025-01-01", "--ledger", sqlite_url])
    assert res.exit_code != 0 and "empty period" in res.output
    res = run(["report", "--from", "soon", "--to", "2025-01-01", "--ledger", sqlite_url])
    assert res.exit_code != 0 and "not a date" in res.output
    res = run(["report", "--to", "2025-01-01", "--ledger", sqlite_url])
    assert res.exit_code != 0 and "--from" in res.output
    not_a_ledger = tmp_path / "other.db"
    not_a_ledger.write_bytes(b"")
    res = run(["report", "--from", "2025-01-01", "--to", "2025-01-31", "--ledger", str(not_a_ledger)])
    assert res.exit_code != 0 and "cannot read ledger" in res.output


def test_cli_report_on_postgres(pg_url):
    fill(pg_url)
    res = run(["report", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "json", "--ledger", pg_url])
    assert res.exit_code == 0, res.output
    assert {k: v for k, v in json.loads(res.output).items() if k in EXPECTED} == EXPECTED
