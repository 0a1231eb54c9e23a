"""GuardMiddleware(ledger=...): the real engine (bundled lexicons, example policies) and a real SQLite ledger.

The example HoYoverse policy tags commercial use of Hu Tao outside CN/KP under licence HYV-EX-GLOBAL
(2025-06-01..2026-12-31, share rate 0.1); the tests pin the evaluation time inside that window (and outside the
policy's anniversary week) through a test-only context header, so they do not depend on today's date.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from guard.ledger import Ledger, LedgerClosedError, LedgerWriteError
from guard.ledger.store import open_store
from http_testkit import TestClient, broken_ledger, plain_app
from middleware import DEFAULT_CONTEXT_HEADERS, GuardEvent, GuardMiddleware

AT = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
TAGGED = {"x-guard-region": "us", "x-guard-commercial": "true", "x-test-at": AT.isoformat()}
CONTEXT_HEADERS = {**DEFAULT_CONTEXT_HEADERS, "x-test-at": "at"}


def make(guard, ledger, **options):
    events: list[GuardEvent] = []
    inner = plain_app(b'{"ok": true}')
    app = GuardMiddleware(inner, guard, routes=["POST /v1/generate"], ledger=ledger, on_event=events.append,
                          context_headers=options.pop("context_headers", CONTEXT_HEADERS), **options)
    return app, inner, events


def test_tagged_request_makes_exactly_one_record(guard, ledger):
    app, inner, events = make(guard, ledger)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-request-id": "req-1"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "tag"
    assert inner.received == [b'{"prompt":"Hu Tao dancing"}']  # the app was called: the record does not block it

    [rec] = ledger.records()
    assert rec.decision_id == r.headers["x-guard-decision-id"]
    assert rec.request_id == "req-1"
    assert rec.action == "tag"
    assert rec.region == "US" and rec.commercial is True
    assert rec.recorded_at == AT
    assert rec.rightsholder_ids == ["HoYoverse"] and rec.character_ids == ["genshin_impact/hutao"]
    assert rec.licence_ids == ["HYV-EX-GLOBAL"] and rec.shares[0].share_rate == 0.1 and rec.share_of("HoYoverse") == 1.0
    assert rec.policy_version == guard.check("Hu Tao dancing").policy_version
    assert ledger.stats.recorded == 1 and ledger.stats.inserted == 1

    # GuardEvent carries the context the decision was made with
    [event] = events
    assert event.kind == "decision" and event.context is not None and event.context.region == "us"
    assert event.context.commercial is True and event.context.request_id == "req-1"


def test_retried_request_with_the_same_request_id_is_counted_once(guard, ledger):
    app, _, _ = make(guard, ledger)
    with TestClient(app) as client:
        first = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-request-id": "req-7"})
        retry = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-request-id": "req-7"})
        other = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-guard-request-id": "req-8"})
    assert first.status_code == retry.status_code == other.status_code == 200
    assert first.headers["x-guard-decision-id"] != retry.headers["x-guard-decision-id"]  # a new decision...
    records = sorted(ledger.records(), key=lambda x: x.request_id)  # (same time: the ledger orders by decision id)
    assert [(x.request_id, x.decision_id) for x in records] == [  # ...but one record per request id, the first
        ("req-7", first.headers["x-guard-decision-id"]),
        ("req-8", other.headers["x-guard-decision-id"]),
    ]
    assert ledger.stats.duplicates == 1


def test_request_id_falls_back_to_the_x_request_id_header(guard, ledger):
    """Without a request id in the context (here: no context headers at all), X-Request-Id is used."""
    app, _, events = make(guard, ledger, context_headers={}, context_fields={"region": "/region", "commercial": "/commercial", "at": "/at"})
    body = {"prompt": "Hu Tao dancing", "region": "DE", "commercial": True, "at": AT.isoformat()}
    with TestClient(app) as client:
        r1 = client.post("/v1/generate", json=body, headers={"x-request-id": "hdr-1"})
        r2 = client.post("/v1/generate", json=body, headers={"x-request-id": "hdr-1"})
        r3 = client.post("/v1/generate", json=body)  # no id at all: recorded, never deduplicated
    assert r1.status_code == r2.status_code == r3.status_code == 200
    assert events[0].context.request_id is None
    records = sorted(ledger.records(), key=lambda x: x.request_id or "")
    assert [(x.request_id, x.region, x.commercial) for x in records] == [(None, "DE", True), ("hdr-1", "DE", True)]
    assert records[1].decision_id == r1.headers["x-guard-decision-id"] and records[0].decision_id == r3.headers["x-guard-decision-id"]


def test_rejected_and_untagged_requests_make_no_record(guard, ledger):
    app, inner, _ = make(guard, ledger)
    with TestClient(app) as client:
        rejected = client.post("/v1/generate", json={"prompt": "Raiden Shogun nude"}, headers={**TAGGED, "x-request-id": "r-1"})
        no_region = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={"x-guard-commercial": "true"})
        personal = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"})
        unrelated = client.post("/v1/generate", json={"prompt": "a cat on a sofa"})
    assert rejected.status_code == 451 and no_region.status_code == 451
    assert personal.headers["x-guard-action"] == "allow" and unrelated.headers["x-guard-action"] == "allow"
    assert ledger.count() == 0
    assert ledger.stats.recorded == 0 and ledger.stats.skipped == 4


def test_buffered_ledger_is_called_on_the_event_loop_durable_in_a_worker_thread(guard, tmp_path):
    for durable in (False, True):
        led = Ledger.open(tmp_path / f"ledger-{durable}.sqlite3", durable=durable)
        threads: list[str] = []
        record = led.record

        def spy(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return record(*args, **kwargs)

        led.record = spy  # type: ignore[method-assign]
        app, _, _ = make(guard, led)
        try:
            with TestClient(app) as client:
                r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-request-id": "q"})
                assert r.status_code == 200
                if durable:  # acknowledged before the app ran: committed, visible to another reader without a flush
                    assert open_store(led.url, create=False).count() == 1
                client.post("/v1/generate", json={"prompt": "Raiden Shogun nude"})  # not revenue-bearing: inline
        finally:
            led.close()
        assert threads[0].startswith("AnyIO worker thread") is durable, threads
        assert not threads[1].startswith("AnyIO worker thread")
        assert open_store(led.url, create=False).count() == 1


def test_a_closed_ledger_does_not_break_requests(guard, ledger, caplog):
    ledger.close()
    app, inner, events = make(guard, ledger)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers={**TAGGED, "x-request-id": "c-1"})
        rejected = client.post("/v1/generate", json={"prompt": "Raiden Shogun nude"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "tag" and len(inner.received) == 1
    assert rejected.status_code == 451
    errors = [e for e in events if e.kind == "ledger-error"]
    assert len(errors) == 1  # the rejected request would have made no record: nothing lost, no error
    assert errors[0].code == LedgerClosedError.__name__ and errors[0].decision.action == "tag"
    assert errors[0].context is not None and errors[0].context.request_id == "c-1"
    assert "was not recorded" in caplog.text and r.headers["x-guard-decision-id"] in caplog.text


def test_a_broken_store_does_not_break_requests(guard, tmp_path):
    led = broken_ledger(tmp_path, durable=True, durable_timeout=0.2)
    app, inner, events = make(guard, led)
    try:
        with TestClient(app) as client:
            r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers=TAGGED)
            again = client.post("/v1/generate", json={"prompt": "Pikachu surfing at sunset"}, headers={**TAGGED, "x-guard-region": "FR"})
    finally:
        led.close()
    assert r.status_code == 200 and again.status_code == 200 and len(inner.received) == 2
    assert [e.code for e in events if e.kind == "ledger-error"] == [LedgerWriteError.__name__] * 2
    assert led.stats.dropped == 2 and led.stats.write_errors >= 1


def test_a_ledger_raising_anything_does_not_break_requests(guard):
    class Exploding:
        durable = False

        def record(self, *args, **kwargs):
            raise RuntimeError("boom")

    app, inner, events = make(guard, Exploding())
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers=TAGGED)
    assert r.status_code == 200 and len(inner.received) == 1
    assert [e.code for e in events if e.kind == "ledger-error"] == ["RuntimeError"]


def test_request_id_with_nul_characters_is_still_recorded(guard, ledger):
    """A request id the ledger would refuse must not be a way to go unrecorded."""
    app, _, _ = make(guard, ledger, context_fields={"request_id": "/id"})
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Hu Tao dancing", "id": "a\u0000b"}, headers=TAGGED)
    assert r.status_code == 200
    [rec] = ledger.records()
    assert rec.request_id == "ab" and rec.decision_id == r.headers["x-guard-decision-id"]


def test_a_nearly_full_buffered_ledger_is_called_in_a_worker_thread(guard):
    """record() waits for room when max_pending records are queued (the database is down): not on the loop."""

    class Backlogged:
        durable = False
        max_pending = 100

        def __init__(self, pending: int) -> None:
            self.pending = pending
            self.threads: list[str] = []

        def record(self, *args, **kwargs):
            self.threads.append(threading.current_thread().name)

    for pending, in_thread in ((10, False), (95, True)):
        led = Backlogged(pending)
        app, _, _ = make(guard, led)
        with TestClient(app) as client:
            assert client.post("/v1/generate", json={"prompt": "Hu Tao dancing"}, headers=TAGGED).status_code == 200
        assert [name.startswith("AnyIO worker thread") for name in led.threads] == [in_thread]
