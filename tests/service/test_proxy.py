"""Reverse-proxy mode: a real upstream and a real guard proxy, both uvicorn on 127.0.0.1, driven by httpx."""
from __future__ import annotations

import gzip
import json
import threading
import time

import anyio
import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from guard.service import create_app
from guard.service.metrics import parse_text
from http_testkit import FakeGuard, ServerThread, TestClient, raw_http
from middleware import AuditLog


class Upstream:
    """A fake generation API that records what reached it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.release = threading.Event()
        routes = [
            Route("/v1/images/generations", self.generate, methods=["POST"]),
            Route("/v1/chat/completions", self.generate, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/events", self.events, methods=["GET", "POST"]),
            Route("/gzip", self.gzipped, methods=["GET"]),
            Route("/slow", self.slow, methods=["GET"]),
            Route("/upload", self.upload, methods=["PUT"]),
            Route("/healthz", self.models, methods=["GET"]),
            Route("/endless", self.endless, methods=["GET"]),
        ]
        self.endless_closed = threading.Event()
        self.app = Starlette(routes=routes)

    async def generate(self, request: Request):
        body = await request.body()
        self.received.append({"path": request.url.path, "body": body, "headers": dict(request.headers)})
        return JSONResponse({"images": [{"url": "https://img/1.png"}], "prompt_seen": json.loads(body).get("prompt")}, status_code=201,
                            headers={"x-upstream": "1"})

    async def models(self, request: Request):
        return JSONResponse({"query": dict(request.query_params), "path": request.url.path, "raw": request.scope["raw_path"].decode()})

    async def events(self, request: Request):
        async def gen():
            yield b"data: first\n\n"
            await anyio.to_thread.run_sync(self.release.wait, 5)
            yield b"data: second\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def endless(self, request: Request):
        async def gen():
            try:
                while True:
                    yield b"data: tick\n\n"
                    await anyio.sleep(0.02)
            finally:
                self.endless_closed.set()

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def gzipped(self, request: Request):
        return Response(gzip.compress(b"hello " * 100), headers={"content-encoding": "gzip", "content-type": "text/plain"})

    async def slow(self, request: Request):
        await anyio.sleep(3)
        return Response(b"late")

    async def upload(self, request: Request):
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return JSONResponse({"bytes": total, "chunked": request.headers.get("transfer-encoding")})


@pytest.fixture(scope="module")
def upstream():
    up = Upstream()
    with ServerThread(up.app, lifespan="off") as srv:
        srv.up = up
        yield srv


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    audit_path = tmp_path_factory.mktemp("proxy") / "audit.jsonl"
    audit = AuditLog(audit_path)
    app = create_app(
        FakeGuard(),
        upstream=upstream.url,
        audit=audit,
        sighup=False,
        max_body_size=64 * 1024,
        upstream_timeout=httpx.Timeout(5.0, read=1.0),
    )
    with ServerThread(app) as srv:
        srv.audit = audit
        srv.audit_path = audit_path
        srv.service = app
        yield srv
    audit.close()


@pytest.fixture
def client(proxy):
    with httpx.Client(base_url=proxy.url, timeout=10, trust_env=False) as c:
        yield c


def test_allowed_request_reaches_upstream_unchanged(upstream, proxy, client):
    raw = b'{"prompt": "a lighthouse",   "n": 1}'
    r = client.post("/v1/images/generations", content=raw, headers={"content-type": "application/json", "authorization": "Bearer k"})
    assert r.status_code == 201 and r.headers["x-upstream"] == "1" and r.headers["x-guard-action"] == "allow"
    got = upstream.up.received[-1]
    assert got["body"] == raw
    assert got["headers"]["authorization"] == "Bearer k"
    assert got["headers"]["x-guard-action"] == "allow"
    assert got["headers"]["x-guard-decision-id"] == r.headers["x-guard-decision-id"]
    assert got["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert got["headers"]["host"] == f"127.0.0.1:{upstream.port}"
    assert got["headers"]["x-forwarded-host"] == f"127.0.0.1:{proxy.port}"
    assert "accept-encoding" not in got["headers"] or got["headers"]["accept-encoding"] == r.request.headers["accept-encoding"]


def test_rewritten_request_reaches_upstream_with_fixed_content_length(upstream, client):
    r = client.post("/v1/images/generations", json={"prompt": "Pikachu in the snow", "size": "1024x1024"})
    assert r.status_code == 201 and r.json()["prompt_seen"] == "a yellow electric mouse in the snow"
    got = upstream.up.received[-1]
    assert json.loads(got["body"]) == {"prompt": "a yellow electric mouse in the snow", "size": "1024x1024"}
    assert int(got["headers"]["content-length"]) == len(got["body"])
    assert r.headers["x-guard-action"] == "rewrite" and r.headers["x-guard-characters"] == "pokemon/pikachu"


def test_chat_messages_are_guarded_by_default(upstream, client):
    before = len(upstream.up.received)
    r = client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "Mickey please"}]})
    assert r.status_code == 451 and r.json()["reasons"][0]["character_id"] == "disney/mickey-mouse"
    assert len(upstream.up.received) == before


def test_rejected_request_never_reaches_upstream(upstream, proxy, client):
    before = len(upstream.up.received)
    r = client.post("/v1/images/generations", json={"prompt": "Mickey"})
    assert r.status_code == 451 and r.headers["content-type"] == "application/problem+json"
    assert len(upstream.up.received) == before
    assert proxy.audit.flush()
    last = json.loads(proxy.audit_path.read_text().splitlines()[-1])
    assert last["decision_id"] == r.headers["x-guard-decision-id"] and last["action"] == "reject"


@pytest.mark.parametrize(
    "content, headers, status, code",
    [
        (b"{", {}, 400, "invalid-json"),
        (b'{"prompt": "\xff"}', {}, 400, "invalid-utf8"),
        (b'{"model": "m"}', {}, 422, "missing-prompt"),
        (b'{"prompt": "' + b"x" * 70_000 + b'"}', {}, 413, "body-too-large"),
        (b'{"prompt": "explode"}', {}, 503, "guard-unavailable"),
        (b'{"prompt": "x", "a": ' + b"[" * 100 + b"]" * 100 + b"}", {}, 400, "json-too-deep"),
        (b'{"prompt": "x"}', {"x-guard-commercial": "perhaps"}, 422, "invalid-context"),
    ],
)
def test_bad_input_through_the_proxy(upstream, client, content, headers, status, code):
    before = len(upstream.up.received)
    r = client.post("/v1/images/generations", content=content, headers={"content-type": "application/json", **headers})
    assert r.status_code == status and r.json()["code"] == code
    assert len(upstream.up.received) == before


def test_client_cannot_forge_decision_headers_to_upstream(upstream, client):
    r = client.post("/v1/images/generations", json={"prompt": "Mario"}, headers={"x-guard-action": "allow", "x-guard-characters": ""})
    assert r.status_code == 201
    got = upstream.up.received[-1]["headers"]
    assert got["x-guard-action"] == "tag" and got["x-guard-characters"] == "nintendo/mario"
    r = client.get("/v1/models", headers={"x-guard-action": "allow"})
    assert r.status_code == 200


def test_get_passes_with_path_and_query(client):
    r = client.get("/v1/models?owner=me&q=a%20b&q=c")
    assert r.status_code == 200 and "x-guard-action" not in r.headers
    assert r.json()["query"] == {"owner": "me", "q": "c"} and r.json()["path"] == "/v1/models"


def test_guard_endpoints_take_precedence(client):
    r = client.get("/healthz")
    assert r.json()["upstream"].startswith("http://127.0.0.1:")
    r = client.post("/v1/check", json={"prompt": "Mario"})
    assert r.status_code == 200 and r.json()["action"] == "tag"


def test_streaming_response_arrives_chunk_by_chunk(upstream, client):
    upstream.up.release.clear()
    try:
        with client.stream("GET", "/v1/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            chunks = r.iter_raw()
            first = next(chunks)
            assert first == b"data: first\n\n"  # arrived while the upstream is still blocked
            upstream.up.release.set()
            rest = b"".join(chunks)
        assert rest == b"data: second\n\n"
    finally:
        upstream.up.release.set()


def test_client_going_away_cancels_the_upstream_stream(upstream, proxy):
    upstream.up.endless_closed.clear()
    with httpx.Client(base_url=proxy.url, timeout=10, trust_env=False) as c:
        with c.stream("GET", "/endless") as r:
            assert next(r.iter_raw()).startswith(b"data: tick")
    # the client connection is closed: the proxy notices and closes its upstream request
    assert upstream.up.endless_closed.wait(5)


def test_compressed_upstream_response_passes_raw(client):
    r = client.get("/gzip", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.text == "hello " * 100  # httpx decodes what the proxy passed through untouched
    assert int(r.headers["content-length"]) == len(gzip.compress(b"hello " * 100))


def test_upstream_timeout_is_504(client):
    started = time.monotonic()
    r = client.get("/slow")
    assert r.status_code == 504 and r.json()["code"] == "upstream-timeout"
    assert time.monotonic() - started < 2.5


def test_guarded_put_upload_streams_when_routes_are_narrowed(upstream):
    app = create_app(FakeGuard(), upstream=upstream.url, sighup=False, routes=["POST /v1/images/*"], max_body_size=1024)
    with ServerThread(app) as srv, httpx.Client(base_url=srv.url, timeout=10, trust_env=False) as client:
        def body():
            for _ in range(64):
                yield b"\x00" * 16384

        r = client.put("/upload", content=body())
        assert r.status_code == 200 and r.json() == {"bytes": 64 * 16384, "chunked": "chunked"}  # 1 MiB, limit 1 KiB: not buffered
        r = client.put("/upload", content=b"abc")
        assert r.json() == {"bytes": 3, "chunked": None}
        assert client.post("/v1/images/generations", json={"prompt": "Mickey"}).status_code == 451
        assert client.post("/v1/chat/completions", json={"messages": [{"content": "Mickey"}]}).status_code == 201


def test_upstream_down_is_502_and_fail_open_proxy(upstream):
    with ServerThread(Starlette()) as dead:
        url = dead.url
    app = create_app(FakeGuard(), upstream=url, sighup=False)
    with TestClient(app) as client:
        r = client.post("/v1/images/generations", json={"prompt": "a cat"})
        assert r.status_code == 502 and r.json()["code"] == "upstream-unavailable"
        assert parse_text(client.get("/metrics").text)['guard_upstream_errors_total{kind="upstream-unavailable"}'] == 1

    open_app = create_app(FakeGuard(), upstream=upstream.url, sighup=False, fail_open=True)
    with TestClient(open_app) as client:
        r = client.post("/v1/images/generations", json={"prompt": "explode Mickey"})
        assert r.status_code == 201 and r.headers["x-guard-action"] == "unchecked"
        assert upstream.up.received[-1]["headers"]["x-guard-action"] == "unchecked"
        m = parse_text(client.get("/metrics").text)
        assert m['guard_engine_errors_total{source="middleware",fail_open="true"}'] == 1


def test_a_proxied_response_has_one_date_and_one_server_header():
    """uvicorn writes its own Date and Server; the upstream's are not relayed next to them (as nginx does)."""

    async def dated(request: Request):
        return JSONResponse({"ok": True}, headers={"date": "Tue, 01 Jan 2030 00:00:00 GMT", "server": "painter/1.0"})

    up_app = Starlette(routes=[Route("/v1/images/generations", dated, methods=["POST"]), Route("/dated", dated)])
    with ServerThread(up_app, lifespan="off") as up:
        app = create_app(FakeGuard(), upstream=up.url, sighup=False, watch=False)
        with ServerThread(app) as srv, httpx.Client(base_url=srv.url, timeout=10, trust_env=False) as client:
            for r in (client.get("/dated"), client.post("/v1/images/generations", json={"prompt": "Pikachu"})):
                assert r.status_code == 200 and r.json() == {"ok": True}
                assert len(r.headers.get_list("date")) == 1 and r.headers["date"] != "Tue, 01 Jan 2030 00:00:00 GMT"
                assert r.headers.get_list("server") == ["uvicorn"]


def test_proxy_metrics_count_middleware_decisions(proxy, client):
    client.post("/v1/images/generations", json={"prompt": "Mario"})
    m = parse_text(client.get("/metrics").text)
    assert m['guard_decisions_total{source="middleware",action="tag"}'] >= 1
    assert m['guard_check_duration_seconds_count{source="middleware"}'] >= 1


def test_upstream_prefix_is_kept(upstream):
    app = create_app(FakeGuard(), upstream=upstream.url + "/v1", sighup=False)
    with TestClient(app) as client:
        r = client.get("/models?x=1")
    assert r.status_code == 200 and r.json()["path"] == "/v1/models" and r.json()["query"] == {"x": "1"}


def test_bad_upstream_url_is_refused():
    with pytest.raises(ValueError):
        create_app(FakeGuard(), upstream="ftp://example.com")


def _post_raw(port: int, target: bytes, body: bytes, method: bytes = b"POST") -> bytes:
    return raw_http(port, method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


@pytest.mark.parametrize("routes", [None, ["POST /v1/images/generations"]])
def test_a_target_that_is_not_a_path_never_leaves_for_another_host(upstream, routes):
    """`@host:port/x` joined to the upstream URL would read the upstream as a user name and `host:port` as the host;
    and with narrowed routes the guard, which matched the path `/@host:port/...`, would not have checked it."""
    options = {"routes": routes} if routes else {}
    with ServerThread(Starlette(routes=[Route("/healthz", lambda r: JSONResponse({"other": True}))])) as other:
        app = create_app(FakeGuard(), upstream=upstream.url, sighup=False, **options)
        with ServerThread(app) as srv:
            before = len(upstream.up.received)
            for target in (b"@127.0.0.1:%d/healthz" % other.port, b"@127.0.0.1:%d/v1/images/generations" % upstream.port):
                reply = _post_raw(srv.port, target, b'{"prompt": "a cat"}', method=b"GET" if b"healthz" in target else b"POST")
                assert reply.startswith(b"HTTP/1.1 400") and b'"invalid-target"' in reply and b"other" not in reply
            assert len(upstream.up.received) == before


def test_a_fragment_in_the_target_is_not_forwarded(upstream):
    app = create_app(FakeGuard(), upstream=upstream.url, sighup=False, routes=["POST /v1/images/generations"])
    with ServerThread(app) as srv:
        before = len(upstream.up.received)
        for prompt in (b"Mickey", b"a cat"):  # not the narrowed route as written: the proxy refuses the target
            reply = _post_raw(srv.port, b"/v1/images/generations#x", b'{"prompt": "' + prompt + b'"}')
            assert reply.startswith(b"HTTP/1.1 400") and b'"invalid-target"' in reply
        assert len(upstream.up.received) == before
        assert _post_raw(srv.port, b"/v1/images/generations", b'{"prompt": "a cat"}').startswith(b"HTTP/1.1 201")



@pytest.mark.parametrize(
    "raw_path, query, url",
    [
        (b"/x", b"q=\xc3\xa9", "http://127.0.0.1:9/v1/x?q=%C3%A9"),  # h11 refuses such a target; other servers may not
        (b"/a b", b"", "http://127.0.0.1:9/v1/a%20b"),
        (b"/a", b"b=1&c=%20", "http://127.0.0.1:9/v1/a?b=1&c=%20"),
        (b"//other.example/x", b"", "http://127.0.0.1:9/v1//other.example/x"),  # a path on the upstream's host
        (b"@other.example/x", b"", None),
        (b"/x#y", b"", None),
        # dot segments, however written: the guard resolves them at the root, the URL under the upstream's prefix
        (b"/../v1/images", b"", None),
        (b"/a/%2E%2e/b", b"", None),
        (b"/a/..;x/b", b"", None),
        (b"/a\\..\\b", b"", None),
        (b"/a/./b", b"", None),
        (b"/a/..b/c.", b"", "http://127.0.0.1:9/v1/a/..b/c."),
    ],
)
def test_upstream_urls_are_built_from_parts(raw_path, query, url):
    from guard.service.proxy import ProxyApp

    got = ProxyApp("http://127.0.0.1:9/v1")._url({"raw_path": raw_path, "query_string": query, "path": raw_path.decode("latin-1")})
    assert (str(got) if got is not None else None) == url


def test_dot_segments_cannot_reach_an_unguarded_route_under_the_upstream_prefix(upstream):
    """The guard matched `/../v1/images/generations` as `/v1/images/generations`, not the narrowed route
    `/images/generations`; under the upstream's prefix `/v1` the URL resolved to that very route."""
    app = create_app(FakeGuard(), upstream=upstream.url + "/v1", sighup=False, routes=["POST /images/generations"])
    with ServerThread(app) as srv:
        before = len(upstream.up.received)
        for target in (b"/../v1/images/generations", b"/%2e%2e/v1/images/generations", b"/x/../images/generations"):
            reply = _post_raw(srv.port, target, b'{"prompt": "Mickey"}')
            assert reply.startswith((b"HTTP/1.1 400", b"HTTP/1.1 451")), reply[:100]
        assert len(upstream.up.received) == before
        assert _post_raw(srv.port, b"/images/generations", b'{"prompt": "Mickey"}').startswith(b"HTTP/1.1 451")
        assert _post_raw(srv.port, b"/images/generations", b'{"prompt": "a cat"}').startswith(b"HTTP/1.1 201")


def test_a_path_without_raw_path_stays_a_path():
    from guard.service.proxy import ProxyApp

    url = ProxyApp("http://127.0.0.1:9")._url({"path": "//evil.example/v1/images", "query_string": b""})
    assert url.host == "127.0.0.1" and url.raw_path == b"//evil.example/v1/images"
    assert ProxyApp("http://127.0.0.1:9")._url({"path": "/v1/sd#x/gen", "query_string": b""}).raw_path == b"/v1/sd%23x/gen"
