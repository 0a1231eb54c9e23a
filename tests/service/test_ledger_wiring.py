"""The service with a ledger: POST /v1/check and the guarded proxy record revenue-bearing decisions in a real
SQLite ledger; ledger failures are counted, never answered; `guard serve --ledger` end to end.

The example HoYoverse policy tags commercial use of Hu Tao outside CN/KP under licence HYV-EX-GLOBAL
(2025-06-01..2026-12-31); the tests pin the evaluation time (`context.at`) inside that window.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guard.cli.serve import serve_cmd
from guard.ledger import Ledger, LedgerWriteError
from guard.ledger.store import open_store
from guard.service import create_app
from guard.service.metrics import parse_text
from http_testkit import FakeGuard, TestClient, broken_ledger

REPO = Path(__file__).resolve().parents[2]
AT = "2026-03-02T12:00:00Z"
DAY = "2026-03-02"
TAGGED = {"region": "US", "commercial": True, "at": AT}


def check(client, prompt, context=None, **kwargs):
    return client.post("/v1/check", json={"prompt": prompt, "context": context or {}}, **kwargs)


def test_check_records_a_tag_decision_once(guard, ledger):
    app = create_app(guard, sighup=False, ledger=ledger)
    with TestClient(app) as client:
        r = check(client, "Hu Tao dancing", {**TAGGED, "request_id": "api-1"})
        retry = check(client, "Hu Tao dancing", {**TAGGED, "request_id": "api-1"})
        rejected = check(client, "Raiden Shogun nude", {**TAGGED, "request_id": "api-2"})
        personal = check(client, "Hu Tao dancing", {"at": AT, "request_id": "api-3"})
        m = parse_text(client.get("/metrics").text)
        health = client.get("/healthz").json()
    assert r.status_code == retry.status_code == rejected.status_code == personal.status_code == 200
    assert r.json()["action"] == "tag" and rejected.json()["action"] == "reject" and personal.json()["action"] == "allow"
    assert r.json()["decision_id"] != retry.json()["decision_id"]

    [rec] = ledger.records()
    assert rec.decision_id == r.json()["decision_id"] and rec.request_id == "api-1"
    assert rec.region == "US" and rec.commercial is True and rec.recorded_at == datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    assert rec.rightsholder_ids == ["HoYoverse"] and rec.character_ids == ["genshin_impact/hutao"]
    assert rec.licence_ids == ["HYV-EX-GLOBAL"] and rec.policy_version == r.json()["policy_version"]

    assert m['guard_ledger_errors_total{source="api"}'] == 0
    assert m['guard_ledger_records_total{result="recorded"}'] == 2  # the first and its retry; the database kept one
    assert m['guard_ledger_records_total{result="skipped"}'] == 2
    assert health["ledger"]["url"] == ledger.url and health["ledger"]["durable"] is False and health["ledger"]["closed"] is False
    assert ledger.stats.duplicates == 1


def test_check_takes_the_request_id_from_x_request_id(guard, ledger):
    app = create_app(guard, sighup=False, ledger=ledger)
    with TestClient(app) as client:
        a = check(client, "Hu Tao dancing", TAGGED, headers={"x-request-id": "hdr-9"})
        b = check(client, "Hu Tao dancing", TAGGED, headers={"x-request-id": "hdr-9"})
        c = check(client, "Hu Tao dancing", {**TAGGED, "request_id": "ctx-1"}, headers={"x-request-id": "hdr-9"})  # the context wins
    assert a.status_code == b.status_code == c.status_code == 200
    records = sorted(ledger.records(), key=lambda x: x.request_id)
    assert [(x.request_id, x.decision_id) for x in records] == [("ctx-1", c.json()["decision_id"]), ("hdr-9", a.json()["decision_id"])]


def test_check_with_a_durable_ledger_answers_after_the_commit(guard, tmp_path):
    durable = Ledger.open(tmp_path / "durable.sqlite3", durable=True, flush_interval=60)
    try:
        with TestClient(create_app(guard, sighup=False, ledger=durable)) as client:
            r = check(client, "Hu Tao dancing", {**TAGGED, "request_id": "d-1"})
            assert r.status_code == 200
            # committed before the answer: another reader sees it, with no flush and a 60 s flush interval
            [rec] = open_store(durable.url, create=False).fetch()
            assert rec.decision_id == r.json()["decision_id"] and rec.request_id == "d-1"
            assert client.get("/healthz").json()["ledger"]["durable"] is True
    finally:
        durable.close()


def test_service_flushes_a_ledger_it_was_given_and_closes_one_it_owns(guard, tmp_path):
    given = Ledger.open(tmp_path / "given.sqlite3", flush_interval=60)  # nothing is committed before the flush
    with TestClient(create_app(guard, sighup=False, ledger=given)) as client:
        assert check(client, "Hu Tao dancing", TAGGED).status_code == 200
    assert not given.closed and open_store(given.url, create=False).count() == 1
    given.close()

    owned = Ledger.open(tmp_path / "owned.sqlite3", flush_interval=60)
    with TestClient(create_app(guard, sighup=False, ledger=owned, close_ledger=True)) as client:
        assert check(client, "Hu Tao dancing", TAGGED).status_code == 200
    assert owned.closed and open_store(owned.url, create=False).count() == 1


def test_a_failing_ledger_is_counted_not_answered(guard, tmp_path, caplog):
    closed = Ledger.open(tmp_path / "closed.sqlite3")
    closed.close()
    with TestClient(create_app(guard, sighup=False, ledger=closed)) as client:
        r = check(client, "Hu Tao dancing", TAGGED)
        assert r.status_code == 200 and r.json()["action"] == "tag"
        assert check(client, "a cat", {}).status_code == 200
        m = parse_text(client.get("/metrics").text)
        assert client.get("/healthz").json()["ledger"]["closed"] is True
    assert m['guard_ledger_errors_total{source="api"}'] == 1 and m['guard_ledger_errors_total{source="middleware"}'] == 0
    assert "LedgerClosedError" in caplog.text

    broken = broken_ledger(tmp_path, durable=True, durable_timeout=0.2)
    with TestClient(create_app(guard, sighup=False, ledger=broken, close_ledger=True)) as client:
        r = check(client, "Hu Tao dancing", TAGGED)
        assert r.status_code == 200 and r.json()["action"] == "tag"
        m = parse_text(client.get("/metrics").text)
    # the shutdown gave up on the record instead of hanging, and said so
    assert m['guard_ledger_errors_total{source="api"}'] == 1 and m["guard_ledger_write_errors_total"] >= 1
    assert broken.closed and broken.stats.dropped == 1
    assert LedgerWriteError.__name__ in caplog.text


def test_proxy_mode_records_middleware_decisions(guard, ledger):
    seen: list[dict] = []

    async def generate(request: Request):
        seen.append(json.loads(await request.body()))
        return JSONResponse({"ok": True}, status_code=201)

    upstream = Starlette(routes=[Route("/v1/images/generations", generate, methods=["POST"])])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://upstream")
    app = create_app(guard, sighup=False, upstream="http://upstream", client=client, ledger=ledger,
                     context_headers={"x-guard-region": "region", "x-guard-commercial": "commercial", "x-request-id": "request_id", "x-at": "at"})
    headers = {"x-guard-region": "FR", "x-guard-commercial": "true", "x-at": AT, "x-request-id": "px-1"}
    with TestClient(app) as tc:
        r = tc.post("/v1/images/generations", json={"prompt": "Pikachu surfing at sunset"}, headers=headers)
        retry = tc.post("/v1/images/generations", json={"prompt": "Pikachu surfing at sunset"}, headers=headers)
        rejected = tc.post("/v1/images/generations", json={"prompt": "Raiden Shogun nude"}, headers={**headers, "x-request-id": "px-2"})
        m = parse_text(tc.get("/metrics").text)
    assert r.status_code == retry.status_code == 201 and rejected.status_code == 451 and len(seen) == 2
    [rec] = ledger.records()
    assert rec.decision_id == r.headers["x-guard-decision-id"] and rec.request_id == "px-1"
    assert rec.rightsholder_ids == ["The Pokémon Company"] and rec.region == "FR" and rec.commercial is True
    assert m['guard_ledger_errors_total{source="middleware"}'] == 0


def test_proxy_mode_counts_middleware_ledger_errors(tmp_path):
    closed = Ledger.open(tmp_path / "closed.sqlite3")
    closed.close()

    async def generate(request: Request):
        return JSONResponse({"ok": True})

    upstream = Starlette(routes=[Route("/gen", generate, methods=["POST"])])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://upstream")
    app = create_app(FakeGuard(), sighup=False, upstream="http://upstream", client=client, ledger=closed)
    with TestClient(app) as tc:
        assert tc.post("/gen", json={"prompt": "Mario"}).headers["x-guard-action"] == "tag"
        m = parse_text(tc.get("/metrics").text)
    assert m['guard_ledger_errors_total{source="middleware"}'] == 1 and m['guard_ledger_errors_total{source="api"}'] == 0


# -- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def fake_serve(monkeypatch):
    """Run serve_cmd without loading the lexicons or starting uvicorn; returns what uvicorn.run was given."""
    import uvicorn

    from middleware.holder import EngineHolder

    ran: dict = {}
    engine = FakeGuard()
    monkeypatch.setattr(EngineHolder, "from_paths", classmethod(lambda cls, *a, **k: EngineHolder(lambda: engine, engine=engine)))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: ran.update(app=app, **kwargs))
    return ran


def test_serve_opens_the_ledger_from_the_option_or_the_environment(fake_serve, tmp_path):
    path = tmp_path / "opt.sqlite3"
    result = CliRunner().invoke(serve_cmd, ["--ledger", str(path), "--ledger-durable", "--ledger-split", "per_character"])
    assert result.exit_code == 0, result.output
    ledger = fake_serve["app"].ledger
    assert ledger.url == str(path) and ledger.durable is True and ledger.split_name == "per_character"
    assert fake_serve["app"].close_ledger is True
    ledger.close()

    env_path = tmp_path / "env.sqlite3"
    result = CliRunner(env={"GUARD_LEDGER": str(env_path)}).invoke(serve_cmd, [])
    assert result.exit_code == 0, result.output
    ledger = fake_serve["app"].ledger
    assert ledger.url == str(env_path) and ledger.durable is False and ledger.split_name == "equal"
    ledger.close()

    result = CliRunner(env={"GUARD_LEDGER": None}).invoke(serve_cmd, [])
    assert result.exit_code == 0 and fake_serve["app"].ledger is None  # default: no ledger


def test_serve_refuses_a_bad_ledger_url(fake_serve):
    result = CliRunner().invoke(serve_cmd, ["--ledger", "postgresql+nope://u:secret@h/db"])
    assert result.exit_code == 1 and "--ledger" in result.output and "app" not in fake_serve
    result = CliRunner().invoke(serve_cmd, ["--ledger", "mysql://u:secret@h/db"])
    assert result.exit_code == 1 and "unknown ledger URL scheme" in result.output
    result = CliRunner().invoke(serve_cmd, ["--ledger", "x.sqlite3", "--ledger-split", "random"])
    assert result.exit_code == 2


STARTUP_TIMEOUT = 240  # loading the bundled lexicons takes a while on a busy machine


def test_guard_serve_ledger_end_to_end(tmp_path):
    """`guard serve --ledger` as a real process: records written through /v1/check are in `guard ledger report`
    after a clean shutdown (SIGTERM, as a process manager sends it)."""
    path = tmp_path / "served.sqlite3"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("GUARD_LEDGER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "guard", "serve", "--host", "127.0.0.1", "--port", "0", "--no-watch", "--ledger", str(path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    try:
        url = None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while url is None and time.monotonic() < deadline:
            m = next((re.search(r"running on (http://127\.0\.0\.1:\d+)", line) for line in list(lines) if "running on" in line), None)
            if m:
                url = m.group(1)
            elif proc.poll() is not None:
                raise AssertionError("guard serve exited:\n" + "\n".join(lines))
            else:
                time.sleep(0.05)
        assert url, "guard serve did not start:\n" + "\n".join(lines)
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            assert client.get("/healthz").json()["ledger"]["url"] == str(path)
            ids = []
            for request_id in ("e2e-1", "e2e-1", "e2e-2"):  # e2e-1 is retried
                r = check(client, "Hu Tao dancing", {**TAGGED, "request_id": request_id})
                assert r.status_code == 200 and r.json()["action"] == "tag"
                ids.append(r.json()["decision_id"])
            r = check(client, "Pikachu surfing at sunset", {"region": "JP", "commercial": True, "at": AT}, headers={"x-request-id": "e2e-3"})
            assert r.status_code == 200 and r.json()["action"] == "tag", r.text
            assert check(client, "Raiden Shogun nude", {**TAGGED, "request_id": "e2e-4"}).json()["action"] == "reject"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(10)
            raise
        reader.join(5)
    output = "\n".join(lines)
    # uvicorn shuts down gracefully on SIGTERM (lifespan shutdown: the ledger is flushed and closed), then
    # re-raises the signal so that the exit status says how it ended. atexit does not run then: the
    # records below are there because the app closed the ledger itself.
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output
    assert "recording attributions in <Ledger sqlite" in output
    assert "was not recorded" not in output

    records = {rec.request_id: rec for rec in open_store(path, create=False).fetch()}
    assert set(records) == {"e2e-1", "e2e-2", "e2e-3"}
    assert records["e2e-1"].decision_id == ids[0]

    report = subprocess.run(
        [sys.executable, "-m", "guard", "ledger", "report", "--from", DAY, "--to", DAY, "--ledger", str(path), "--format", "json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["totals"]["decisions"] == 3 and data["totals"]["share"] == 3.0
    holders = {row["rightsholder"]: row for row in data["by_rightsholder"]}
    assert set(holders) == {"HoYoverse", "The Pokémon Company"}
    assert holders["HoYoverse"]["decisions"] == 2 and holders["HoYoverse"]["royalty"] == pytest.approx(0.2)
    assert holders["The Pokémon Company"]["decisions"] == 1
    assert {row["region"]: row["decisions"] for row in data["by_region"]} == {"US": 2, "JP": 1}
    assert {row["use"]: row["decisions"] for row in data["by_use"] if row["decisions"]} == {"commercial": 3}
    table = subprocess.run(
        [sys.executable, "-m", "guard", "ledger", "report", "--from", DAY, "--to", DAY, "--rightsholder", "HoYoverse"],
        cwd=REPO, env={**env, "GUARD_LEDGER": str(path)}, capture_output=True, text=True, timeout=120,
    )
    assert table.returncode == 0, table.stderr
    assert "genshin_impact/hutao" in table.stdout and "pokemon/pikachu" not in table.stdout
