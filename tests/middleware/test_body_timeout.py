"""GuardMiddleware's body timeout, in process over raw ASGI: a body that does not arrive is answered 408 and
never reaches the app; one that is already there is read without a timer."""
from __future__ import annotations

import asyncio
import json

import pytest

import middleware.core as core
from http_testkit import Collect, FakeGuard, http_scope, plain_app
from middleware import GuardMiddleware

BODY = json.dumps({"prompt": "a cat on a sofa"}).encode()


class ScriptedReceive:
    """receive(): each step is ("now", message), ("after", seconds, message) or ("never",)."""

    def __init__(self, *steps):
        self.steps = list(steps)

    async def __call__(self) -> dict:
        step = self.steps.pop(0) if self.steps else ("now", {"type": "http.disconnect"})
        if step[0] == "now":
            return step[1]
        if step[0] == "after":
            await asyncio.sleep(step[1])
            return step[2]
        await asyncio.Event().wait()  # never set
        raise AssertionError("unreachable")


def request(body: bytes, more: bool = False) -> dict:
    return {"type": "http.request", "body": body, "more_body": more}


def run(app, receive, *, within: float = 5.0) -> Collect:
    send = Collect()
    asyncio.run(asyncio.wait_for(app(http_scope(), receive, send), within))
    return send


def guarded(**options):
    inner = plain_app()
    events = []
    app = GuardMiddleware(inner, FakeGuard(), routes=["POST /v1/generate"], on_event=events.append, **options)
    return app, inner, events


def assert_timed_out(send: Collect, inner, events):
    assert send.status == 408
    assert send.headers["connection"] == "close"
    problem = json.loads(send.body)
    assert problem["code"] == "body-timeout" and problem["title"] == "Request Timeout"
    assert inner.received == []
    assert [(e.kind, e.status, e.code) for e in events] == [("problem", 408, "body-timeout")]


def test_a_body_that_never_comes_is_answered_408():
    app, inner, events = guarded(body_timeout=0.1)
    assert_timed_out(run(app, ScriptedReceive(("never",))), inner, events)


def test_a_body_that_stops_halfway_is_answered_408():
    app, inner, events = guarded(body_timeout=0.1)
    receive = ScriptedReceive(("now", request(BODY[:5], more=True)), ("never",))
    assert_timed_out(run(app, receive), inner, events)


def test_the_limit_covers_the_whole_body_not_each_part():
    """A client that trickles its body, each part well within the limit, is cut off all the same."""
    app, inner, events = guarded(body_timeout=0.2)
    parts = [("after", 0.05, request(BODY[i : i + 1], more=True)) for i in range(len(BODY) - 1)]
    receive = ScriptedReceive(*parts, ("now", request(BODY[-1:])))
    assert_timed_out(run(app, receive), inner, events)


@pytest.mark.parametrize("steps", [
    [("after", 0.02, request(BODY))],
    [("now", request(BODY[:7], more=True)), ("after", 0.02, request(BODY[7:]))],
    [("after", 0.01, request(BODY[:7], more=True)), ("after", 0.01, request(BODY[7:]))],
])
def test_a_body_that_arrives_in_time_goes_through(steps):
    app, inner, events = guarded(body_timeout=2.0)
    send = run(app, ScriptedReceive(*steps))
    assert send.status == 200 and inner.received == [BODY]
    assert [e.kind for e in events] == ["decision"]


def test_a_body_that_is_already_there_is_read_without_a_timer(monkeypatch):
    def no_timer(*args, **kwargs):
        raise AssertionError("a timer was started for a body that was already there")

    monkeypatch.setattr(core.anyio, "move_on_after", no_timer)
    app, inner, _ = guarded()  # the default timeout
    send = run(app, ScriptedReceive(("now", request(BODY))))
    assert send.status == 200 and inner.received == [BODY]


def test_without_a_timeout_the_guard_waits_as_the_app_would(monkeypatch):
    monkeypatch.setattr(core.anyio, "move_on_after", lambda *a, **k: pytest.fail("timer started"))
    app, inner, _ = guarded(body_timeout=None)
    send = run(app, ScriptedReceive(("now", request(BODY[:7], more=True)), ("after", 0.02, request(BODY[7:]))))
    assert send.status == 200 and inner.received == [BODY]
    with pytest.raises(asyncio.TimeoutError):
        run(app, ScriptedReceive(("never",)), within=0.2)


def test_a_client_that_leaves_while_the_guard_waits_gets_no_answer():
    app, inner, events = guarded(body_timeout=2.0)
    send = run(app, ScriptedReceive(("after", 0.02, {"type": "http.disconnect"})))
    assert send.messages == [] and inner.received == [] and events == []


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan")])
def test_the_timeout_must_be_a_positive_number_or_none(value):
    with pytest.raises(ValueError, match="body_timeout"):
        GuardMiddleware(plain_app(), FakeGuard(), routes=["POST /v1/generate"], body_timeout=value)
