"""GuardMiddleware behind a real uvicorn server on 127.0.0.1, driven by httpx and raw sockets."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from http_testkit import FakeGuard, ServerThread, raw_http
from middleware import AuditLog, GuardedRoute, GuardMiddleware


def build_app(audit=None):
    seen: list[dict] = []

    async def generate(request: Request):
        body = await request.body()
        seen.append({"body": body, "content_length": request.headers.get("content-length")})
        decision = request.state.guard_decision
        return JSONResponse({"received": json.loads(body), "action": decision.action if decision else None})

    async def stream(request: Request):
        async def chunks():
            for i in range(3):
                yield f"data: {i}\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app = Starlette(routes=[
        Route("/v1/generate", generate, methods=["POST"]),
        Route("/v1/lenient", generate, methods=["POST"]),
        Route("/v1/stream", stream, methods=["GET", "POST"]),
    ])
    app.add_middleware(
        GuardMiddleware,
        engine=FakeGuard(),
        routes=["POST /v1/generate", GuardedRoute("/v1/lenient", fail_open=True)],
        max_body_size=64 * 1024,
        audit=audit,
    )
    return app, seen


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    audit_path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    audit = AuditLog(audit_path)
    app, seen = build_app(audit)
    with ServerThread(app) as srv:
        srv.seen = seen
        srv.audit = audit
        srv.audit_path = audit_path
        yield srv
    audit.close()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as c:
        yield c


def test_outcomes_over_the_wire(server, client):
    r = client.post("/v1/generate", json={"prompt": "a quiet lake"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "allow" and r.json()["action"] == "allow"

    r = client.post("/v1/generate", json={"prompt": "Pikachu on a lake", "steps": 30})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "rewrite"
    assert r.json()["received"] == {"prompt": "a yellow electric mouse on a lake", "steps": 30}
    assert int(server.seen[-1]["content_length"]) == len(server.seen[-1]["body"])

    r = client.post("/v1/generate", json={"prompt": "Mario"})
    assert r.status_code == 200 and r.headers["x-guard-characters"] == "nintendo/mario"

    before = len(server.seen)
    r = client.post("/v1/generate", json={"prompt": "Mickey"})
    assert r.status_code == 451 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["reasons"][0]["character_id"] == "disney/mickey-mouse"
    assert len(server.seen) == before

    assert server.audit.flush()
    lines = [json.loads(line) for line in server.audit_path.read_text().splitlines()]
    assert lines[-1]["decision_id"] == r.headers["x-guard-decision-id"] and lines[-1]["action"] == "reject"


@pytest.mark.parametrize(
    "content, headers, status, code",
    [
        (b"{not json", {}, 400, "invalid-json"),
        (b'{"prompt": "\xff\xfe"}', {}, 400, "invalid-utf8"),
        (b'{"prompt": "x", "deep": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", {}, 400, "json-too-deep"),
        (b'{"no_prompt": true}', {}, 422, "missing-prompt"),
        (b'{"prompt": "x"}', {"x-guard-region": "not-a-region"}, 422, "invalid-context"),
        (b'{"prompt": "explode"}', {}, 503, "guard-unavailable"),
        (b'{"prompt": "' + b"a" * 70_000 + b'"}', {}, 413, "body-too-large"),
        (b'{"prompt": "x"}', {"content-encoding": "br"}, 415, "unsupported-content-encoding"),
        (b'{"prompt": "cat", "x": "&prompt=Mickey"}', {"content-type": "application/x-www-form-urlencoded"}, 415,
         "unsupported-media-type"),
    ],
)
def test_bad_input_over_the_wire(server, client, content, headers, status, code):
    before = len(server.seen)
    r = client.post("/v1/generate", content=content, headers={"content-type": "application/json", **headers})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert len(server.seen) == before


def test_chunked_upload_over_the_limit_is_cut_off(server, client):
    def body():
        yield b'{"prompt": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    before = len(server.seen)
    r = client.post("/v1/generate", content=body())
    assert r.status_code == 413 and len(server.seen) == before


def test_413_is_sent_before_the_body_is_uploaded(server):
    """Only the headers are sent, announcing 10 MB: the answer comes without waiting for the body."""
    response = raw_http(
        server.port,
        b"POST /v1/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
        timeout=5,
    )
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"body-too-large" in response


def test_fail_open_over_the_wire(server, client):
    r = client.post("/v1/lenient", json={"prompt": "explode Mickey"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "unchecked"
    assert r.json() == {"received": {"prompt": "explode Mickey"}, "action": None}


def test_unguarded_streaming_route_streams(server, client):
    with client.stream("POST", "/v1/stream", content=b"\x00 anything") as r:
        assert r.status_code == 200 and "x-guard-action" not in r.headers
        assert "".join(r.iter_text()) == "data: 0\n\ndata: 1\n\ndata: 2\n\n"


def test_keep_alive_connection_survives_guarded_requests(server, client):
    for prompt in ("Mickey", "Pikachu", "cat", "Mickey"):
        client.post("/v1/generate", json={"prompt": prompt})
    r = client.post("/v1/generate", content=b"{")
    assert r.status_code == 400
    assert client.post("/v1/generate", json={"prompt": "dog"}).status_code == 200


@pytest.fixture(scope="module")
def impatient_server():
    app = Starlette(routes=[Route("/v1/generate", lambda request: JSONResponse({"reached": True}), methods=["POST"])])
    calls = FakeGuard()
    app.add_middleware(GuardMiddleware, engine=calls, routes=["POST /v1/generate"], body_timeout=0.3)
    with ServerThread(app) as srv:
        srv.engine = calls
        yield srv


@pytest.mark.parametrize("sent", [b"", b'{"prompt": '], ids=["headers only", "part of the body"])
def test_a_body_that_does_not_arrive_is_answered_408_and_the_connection_closed(impatient_server, sent):
    """The client announces 40 bytes and sends fewer, then waits: the guard answers 408 after its timeout and
    closes the connection, without checking anything or calling the app."""
    head = b"POST /v1/generate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    before = len(impatient_server.engine.calls)
    started = time.monotonic()
    response = raw_http(impatient_server.port, head + sent, timeout=5)
    elapsed = time.monotonic() - started
    assert response.startswith(b"HTTP/1.1 408 ")
    assert b"body-timeout" in response and b"reached" not in response
    assert 0.25 < elapsed < 4.5  # answered after the timeout, and the server closed the connection (no 5 s wait)
    assert len(impatient_server.engine.calls) == before
    with httpx.Client(base_url=impatient_server.url, timeout=5, trust_env=False) as c:  # and the server goes on
        assert c.post("/v1/generate", json={"prompt": "a red fox"}).json() == {"reached": True}
