"""GuardMiddleware at the raw ASGI level: what it reads, when it stops reading, what it passes through."""
from __future__ import annotations

import json

import pytest

from http_testkit import ChunkedReceive, Collect, FakeGuard, http_scope
from middleware import GuardMiddleware

pytestmark = pytest.mark.anyio


class RecordingApp:
    def __init__(self) -> None:
        self.calls: list[tuple[dict, object]] = []
        self.chunks: list[bytes] = []
        self.reads_before_first_chunk_seen: list[int] = []

    async def __call__(self, scope, receive, send):
        self.calls.append((scope, receive))
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_non_http_scopes_pass_straight_through():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /**"])

    async def receive():  # pragma: no cover - must not be called by the middleware
        raise AssertionError("the middleware must not read")

    for scope in ({"type": "lifespan"}, {"type": "websocket", "path": "/v1/generate", "headers": []}):
        await mw(scope, receive, Collect())
        assert app.calls[-1][0] is scope and app.calls[-1][1] is receive


async def test_unguarded_request_is_not_buffered():
    """The app gets the first chunk before the middleware has read the second one, with the same receive."""
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"])
    receive = ChunkedReceive([b"\xff" * 10, b"b" * 10, b"c" * 10])
    send = Collect()
    await mw(http_scope("/v1/upload"), receive, send)
    assert app.calls[0][1] is receive  # the original receive, not a buffering wrapper
    assert app.chunks == [b"\xff" * 10, b"b" * 10, b"c" * 10]
    assert send.status == 200 and "x-guard-action" not in send.headers


async def test_guarded_request_gets_one_replayed_message_then_the_servers_receive():
    app_messages = []

    async def app(scope, receive, send):
        app_messages.append(await receive())
        app_messages.append(await receive())  # e.g. a streaming response waiting for disconnect
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"])
    await mw(http_scope(), ChunkedReceive([b'{"prompt":', b' "a cat"}']), Collect())
    assert app_messages == [
        {"type": "http.request", "body": b'{"prompt": "a cat"}', "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_413_stops_reading_at_the_limit_without_content_length():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"], max_body_size=1000)
    receive = ChunkedReceive([b"x" * 400] * 100)  # 40 kB offered
    send = Collect()
    await mw(http_scope(), receive, send)
    assert send.status == 413
    assert receive.calls == 3  # 1200 bytes read, then it stopped
    assert app.calls == []
    assert json.loads(send.body)["code"] == "body-too-large"
    assert send.headers["connection"] == "close"


async def test_413_from_content_length_reads_nothing():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"], max_body_size=1000)
    receive = ChunkedReceive([b"x" * 10])
    send = Collect()
    await mw(http_scope(headers=[(b"content-length", b"5000")]), receive, send)
    assert send.status == 413 and receive.calls == 0 and app.calls == []


async def test_client_disconnect_while_reading_sends_nothing():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"])

    messages = [{"type": "http.request", "body": b'{"prompt"', "more_body": True}, {"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0)

    send = Collect()
    await mw(http_scope(), receive, send)
    assert send.messages == [] and app.calls == []


async def test_rewrite_sets_content_length_in_the_scope_seen_by_the_app():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"])
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"), (b"x-custom", b"kept")]
    original = http_scope(headers=headers)
    await mw(original, ChunkedReceive([b'{"prompt": "Pikachu"}']), Collect())
    scope = app.calls[0][0]
    body = b"".join(app.chunks)
    assert body == '{"prompt":"a yellow electric mouse"}'.encode()
    assert (b"content-length", str(len(body)).encode()) in scope["headers"]
    assert not any(k == b"transfer-encoding" for k, _ in scope["headers"])
    assert (b"x-custom", b"kept") in scope["headers"]
    assert scope["state"]["guard_decision"].action == "rewrite"
    assert original["headers"] is headers and len(headers) == 3  # the server's scope is not mutated


async def test_decision_state_key_is_configurable_and_headers_optional():
    app = RecordingApp()
    mw = GuardMiddleware(app, FakeGuard(), routes=["POST /v1/generate"], state_key="moderation", response_headers=False)
    send = Collect()
    await mw(http_scope(), ChunkedReceive([b'{"prompt": "Mario"}']), send)
    assert app.calls[0][0]["state"]["moderation"].action == "tag"
    assert "x-guard-action" not in send.headers
