"""GuardMiddleware in process: outcomes, headers, scope state, context, bad input, fail-open/closed, audit."""
from __future__ import annotations

import json
import threading

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from guard.models import CheckContext, Decision
from http_testkit import BrokenGuard, FakeGuard, TestClient, plain_app
from middleware import AuditLog, GuardedRoute, GuardEvent, GuardMiddleware


def make_app(engine=None, **options):
    """A Starlette "generation" app that echoes what it received, behind the middleware."""
    seen: list[dict] = []

    async def generate(request: Request):
        body = await request.body()
        decision = request.state.guard_decision if hasattr(request.state, "guard_decision") else "absent"
        record = {
            "body": body.decode(),
            "content_length": request.headers.get("content-length"),
            "transfer_encoding": request.headers.get("transfer-encoding"),
            "decision": decision.model_dump(mode="json") if isinstance(decision, Decision) else decision,
            "guard_error": getattr(request.state, "guard_error", None),
            "thread": threading.get_ident(),
        }
        seen.append(record)
        return JSONResponse(record, headers={"x-app": "yes"})

    async def other(request: Request):
        body = await request.body()
        return PlainTextResponse(f"other:{len(body)}")

    app = Starlette(routes=[
        Route("/v1/generate", generate, methods=["POST", "GET"]),
        Route("/v1/chat", generate, methods=["POST"]),
        Route("/v1/risky", generate, methods=["POST"]),
        Route("/v1/other", other, methods=["POST"]),
    ])
    options.setdefault("routes", ["POST /v1/generate", GuardedRoute("/v1/chat", prompt_pointers=("/messages/*/content",)), GuardedRoute("/v1/risky", fail_open=True)])
    app.add_middleware(GuardMiddleware, engine=engine or FakeGuard(), **options)
    return app, seen


@pytest.fixture
def client_and_seen():
    app, seen = make_app()
    with TestClient(app) as client:
        yield client, seen


# -- outcomes --------------------------------------------------------------------------------------------


def test_allow_passes_original_bytes_and_sets_headers_and_state(client_and_seen):
    client, seen = client_and_seen
    raw = b'{ "prompt" : "a cat in a hat",  "size": "1024x1024" }'
    r = client.post("/v1/generate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert r.headers["x-guard-action"] == "allow"
    assert r.headers["x-guard-characters"] == ""
    assert len(r.headers["x-guard-decision-id"]) == 32
    assert r.headers["x-app"] == "yes"
    assert seen[-1]["body"] == raw.decode()  # byte for byte, spacing included
    assert seen[-1]["decision"]["action"] == "allow"
    assert seen[-1]["decision"]["decision_id"] == r.headers["x-guard-decision-id"]


def test_tag_passes_original_body(client_and_seen):
    client, seen = client_and_seen
    raw = json.dumps({"prompt": "Mario jumping", "n": 1})
    r = client.post("/v1/generate", content=raw)
    assert r.status_code == 200
    assert r.headers["x-guard-action"] == "tag"
    assert r.headers["x-guard-characters"] == "nintendo/mario"
    assert seen[-1]["body"] == raw
    assert seen[-1]["decision"]["tags"][0]["rightsholder"] == "Nintendo"


def test_rewrite_replaces_prompt_and_fixes_content_length(client_and_seen):
    client, seen = client_and_seen
    raw = json.dumps({"prompt": "Pikachu surfing, ünïcode ✓", "size": "512x512", "nested": {"x": [1, 2.5, None, True]}})
    r = client.post("/v1/generate", content=raw)
    assert r.status_code == 200
    assert r.headers["x-guard-action"] == "rewrite"
    assert r.headers["x-guard-characters"] == "pokemon/pikachu"
    got = seen[-1]
    body = json.loads(got["body"])
    assert body == {"prompt": "a yellow electric mouse surfing, ünïcode ✓", "size": "512x512", "nested": {"x": [1, 2.5, None, True]}}
    assert int(got["content_length"]) == len(got["body"].encode("utf-8"))
    assert int(got["content_length"]) != len(raw.encode())
    assert got["decision"]["prompt"] == body["prompt"]


def test_rewrite_of_chunked_request_sets_content_length_and_drops_transfer_encoding(client_and_seen):
    client, seen = client_and_seen

    def chunks():
        yield b'{"prompt": "Pika'
        yield b'chu at the beach"}'

    r = client.post("/v1/generate", content=chunks())
    assert r.status_code == 200
    got = seen[-1]
    assert got["transfer_encoding"] is None
    assert json.loads(got["body"]) == {"prompt": "a yellow electric mouse at the beach"}
    assert int(got["content_length"]) == len(got["body"].encode())


def test_reject_is_451_problem_json_and_app_not_called(client_and_seen):
    client, seen = client_and_seen
    r = client.post("/v1/generate", json={"prompt": "Mickey and Mario"})
    assert r.status_code == 451
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-guard-action"] == "reject"
    assert r.headers["x-guard-characters"] == "disney/mickey-mouse,nintendo/mario"
    problem = r.json()
    assert problem["status"] == 451 and problem["title"] == "Unavailable For Legal Reasons"
    assert problem["decision_id"] == r.headers["x-guard-decision-id"]
    assert problem["reasons"] == [{"code": "character-not-licensed", "message": "Mickey is not licensed here", "character_id": "disney/mickey-mouse"}]
    assert problem["characters"] == ["disney/mickey-mouse", "nintendo/mario"]
    assert seen == []


def test_app_cannot_spoof_guard_headers():
    app = plain_app(b"ok", headers=[(b"x-guard-action", b"allow"), (b"x-other", b"1")])
    guarded = GuardMiddleware(app, FakeGuard(), routes=["/x"])
    with TestClient(guarded) as client:
        r = client.post("/x", json={"prompt": "Mario"})
    assert r.headers.get_list("x-guard-action") == ["tag"]
    assert r.headers["x-other"] == "1"


# -- several prompts, wildcards --------------------------------------------------------------------------


def test_wildcard_pointer_rewrites_only_the_affected_messages(client_and_seen):
    client, seen = client_and_seen
    messages = [
        {"role": "system", "content": "You draw pictures."},
        {"role": "user", "content": "Draw Pikachu"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "now with a hat\n"},
    ]
    r = client.post("/v1/chat", json={"model": "m", "messages": messages})
    assert r.status_code == 200, r.text
    body = json.loads(seen[-1]["body"])
    assert [m["content"] for m in body["messages"]] == ["You draw pictures.", "Draw a yellow electric mouse", None, "now with a hat\n"]
    assert body["model"] == "m"


def test_several_prompts_are_checked_together_for_cross_message_rules(client_and_seen):
    client, seen = client_and_seen
    r = client.post("/v1/chat", json={"messages": [{"content": "Mario at the castle"}, {"content": "lots of blood"}]})
    assert r.status_code == 451
    assert seen == []
    r2 = client.post("/v1/chat", json={"messages": [{"content": "Mario at the castle"}, {"content": "a sunny day"}]})
    assert r2.status_code == 200 and r2.headers["x-guard-action"] == "tag"


def test_content_parts_under_a_pointer_are_all_checked():
    app, seen = make_app(routes=[GuardedRoute("/v1/chat", prompt_pointers=("/messages/*/content",))])
    with TestClient(app) as client:
        parts = [{"type": "text", "text": "draw Mickey"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
        r = client.post("/v1/chat", json={"messages": [{"role": "user", "content": parts}]})
    assert r.status_code == 451


def test_more_specific_pointer_narrows_what_is_checked():
    engine = FakeGuard()
    app, seen = make_app(engine, routes=[GuardedRoute("/v1/chat", prompt_pointers=("/messages/*/content", "/messages/*/content/*/text"))])
    with TestClient(app) as client:
        parts = [{"type": "text", "text": "draw Pikachu"}, {"type": "image_url", "image_url": {"url": "https://mickey.example/y.png"}}]
        r = client.post("/v1/chat", json={"messages": [{"role": "user", "content": parts}, {"role": "user", "content": "plain"}]})
    assert r.status_code == 200, r.text
    body = json.loads(seen[-1]["body"])
    assert body["messages"][0]["content"][0]["text"] == "draw a yellow electric mouse"
    assert body["messages"][0]["content"][1]["image_url"]["url"] == "https://mickey.example/y.png"
    assert engine.calls[0][0] == "draw Pikachu\n\nplain"


def test_rewrite_falls_back_to_per_string_checks_when_separators_are_unsafe():
    engine = FakeGuard()
    app, seen = make_app(engine, routes=[GuardedRoute("/v1/chat", prompt_pointers=("/messages/*/content",))])
    with TestClient(app) as client:
        r = client.post("/v1/chat", json={"messages": [{"content": "Pikachu\n\nand friends"}, {"content": "\nalso Pikachu"}]})
    assert r.status_code == 200, r.text
    body = json.loads(seen[-1]["body"])
    assert [m["content"] for m in body["messages"]] == ["a yellow electric mouse\n\nand friends", "\nalso a yellow electric mouse"]
    assert len(engine.calls) == 3  # the combined check, then each string


def test_default_pointer_and_multiple_pointers():
    app, seen = make_app(routes=["/v1/generate"], prompt_pointers=("/prompt", "/negative_prompt"))
    with TestClient(app) as client:
        assert client.post("/v1/generate", json={"negative_prompt": "no Mickey"}).status_code == 451
        r = client.post("/v1/generate", json={"prompt": "a dog", "negative_prompt": "Pikachu"})
        assert r.status_code == 200
        assert json.loads(seen[-1]["body"]) == {"prompt": "a dog", "negative_prompt": "a yellow electric mouse"}


# -- bad input -------------------------------------------------------------------------------------------


def test_a_byte_order_mark_is_named(client_and_seen):
    client, seen = client_and_seen
    r = client.post("/v1/generate", content=b"\xef\xbb\xbf" + b'{"prompt": "x"}', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "byte order mark" in r.json()["detail"] and seen == []


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"not json", 400, "invalid-json"),
        (b'{"prompt": "caf\xe9"}', 400, "invalid-utf8"),
        (b"\xef\xbb\xbf" + b'{"prompt": "x"}', 400, "invalid-json"),  # BOM
        (b"", 400, "empty-body"),
        (b"   ", 400, "empty-body"),
        (b'{"prompt": "a", "prompt": "Mickey"}', 400, "duplicate-key"),
        (b'{"prompt": "a", "n": NaN}', 400, "invalid-json"),
        (b'{"prompt": "\\ud800 lone surrogate"}', 400, "invalid-unicode"),
        (b'{"pr\\u006fmpt": "upper-case \\uDC00 escape"}', 400, "invalid-unicode"),
        (b'{"prompt": "encoded \xed\xa0\x80 surrogate"}', 400, "invalid-utf8"),  # UTF-8 decoding refuses it
        (b'{"prompt": "a"} trailing', 400, "invalid-json"),
        (b'{"n": 1' + b"1" * 5000 + b'}', 400, "invalid-json"),  # integer too long to convert
        (b'{"text": "no prompt here"}', 422, "missing-prompt"),
        (b'{"prompt": 42}', 422, "missing-prompt"),
        (b'{"prompt": null}', 422, "missing-prompt"),
        (b'["a list"]', 422, "missing-prompt"),
        (b'"just a string"', 422, "missing-prompt"),
    ],
)
def test_bad_bodies(client_and_seen, raw, status, code):
    client, seen = client_and_seen
    r = client.post("/v1/generate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert r.json()["status"] == status
    assert seen == []


def test_deeply_nested_json_is_refused_without_crashing(client_and_seen):
    client, seen = client_and_seen
    for depth in (65, 5_000, 200_000):
        raw = b'{"prompt": "x", "a": ' + b"[" * depth + b"]" * depth + b"}"
        r = client.post("/v1/generate", content=raw)
        assert r.status_code == 400 and r.json()["code"] == "json-too-deep", depth
    ok = b'{"prompt": "x", "a": ' + b"[" * 60 + b"]" * 60 + b"}"
    assert client.post("/v1/generate", content=ok).status_code == 200
    # brackets inside strings do not count as nesting
    assert client.post("/v1/generate", json={"prompt": "[" * 1000}).status_code == 200
    assert len(seen) == 2


def test_body_over_limit_by_content_length_is_413():
    app, seen = make_app(max_body_size=100)
    with TestClient(app) as client:
        r = client.post("/v1/generate", content=json.dumps({"prompt": "x" * 200}))
        assert r.status_code == 413 and r.json()["code"] == "body-too-large"
        assert r.headers["connection"] == "close"
        assert client.post("/v1/generate", json={"prompt": "x" * 50}).status_code == 200
    assert len(seen) == 1


def test_invalid_content_length_is_400(client_and_seen):
    client, _ = client_and_seen
    r = client.post("/v1/generate", content=b'{"prompt": "x"}', headers={"content-length": "abc"})
    assert r.status_code == 400 and r.json()["code"] == "invalid-content-length"


def test_compressed_body_is_415(client_and_seen):
    client, seen = client_and_seen
    import gzip

    r = client.post("/v1/generate", content=gzip.compress(b'{"prompt": "Mickey"}'), headers={"content-encoding": "gzip"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported-content-encoding"
    assert seen == []


def test_large_body_under_limit_is_checked_in_a_thread():
    engine = FakeGuard()
    app, seen = make_app(engine, routes=[GuardedRoute("/v1/chat", prompt_pointers=("/messages/*/content",))], max_body_size=2 << 20)
    # (the app records the event-loop thread; the engine records the thread it ran on)
    messages = [{"role": "user", "content": f"message {i} about a cat " * 20} for i in range(2000)]
    messages[1234]["content"] += " Pikachu"
    with TestClient(app) as client:
        r = client.post("/v1/chat", json={"messages": messages})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "rewrite"
    body = json.loads(seen[-1]["body"])
    assert body["messages"][1234]["content"].endswith(" a yellow electric mouse")
    assert body["messages"][1233] == messages[1233]
    assert engine.threads[-1] != seen[-1]["thread"]


# -- context ---------------------------------------------------------------------------------------------


def test_context_from_headers(client_and_seen):
    client, _ = client_and_seen
    assert client.post("/v1/generate", json={"prompt": "Totoro"}).status_code == 451
    assert client.post("/v1/generate", json={"prompt": "Totoro"}, headers={"x-guard-region": "JP"}).status_code == 200
    assert client.post("/v1/generate", json={"prompt": "Mario"}, headers={"x-guard-commercial": "true"}).status_code == 451
    assert client.post("/v1/generate", json={"prompt": "Mario"}, headers={"x-guard-commercial": "no"}).status_code == 200


@pytest.mark.parametrize("headers", [{"x-guard-commercial": "maybe"}, {"x-guard-region": "Germany"}, {"x-guard-age-group": "elder"}])
def test_invalid_context_header_is_422(client_and_seen, headers):
    client, seen = client_and_seen
    r = client.post("/v1/generate", json={"prompt": "a cat"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "invalid-context"
    assert seen == []


def test_age_verified_is_not_read_from_headers_by_default():
    engine = FakeGuard()
    app, _ = make_app(engine)
    with TestClient(app) as client:
        client.post("/v1/generate", json={"prompt": "a cat"}, headers={"x-guard-age-verified": "true", "x-request-id": "req-1"})
    assert engine.calls[-1][1].age_verified is False
    assert engine.calls[-1][1].request_id == "req-1"


def test_context_from_body_fields():
    engine = FakeGuard()
    app, _ = make_app(engine, context_fields={"commercial": "/meta/commercial", "user_id": "/user"})
    with TestClient(app) as client:
        assert client.post("/v1/generate", json={"prompt": "Mario", "meta": {"commercial": True}, "user": "u1"}).status_code == 451
        assert engine.calls[-1][1].user_id == "u1"
        assert client.post("/v1/generate", json={"prompt": "Mario", "meta": {"commercial": False}}).status_code == 200
        # headers win over body fields
        assert client.post("/v1/generate", json={"prompt": "Mario", "meta": {"commercial": True}}, headers={"x-guard-commercial": "0"}).status_code == 200
        r = client.post("/v1/generate", json={"prompt": "Mario", "meta": {"commercial": "lots"}})
        assert r.status_code == 422


@pytest.mark.parametrize("is_async", [False, True])
def test_context_from_a_callable_overrides_the_client(is_async):
    engine = FakeGuard()

    def sync_factory(scope, body):
        assert scope["path"] == "/v1/generate" and "prompt" in body
        return CheckContext(region="JP", user_id="from-auth")

    async def async_factory(scope, body):
        return {"region": "JP", "user_id": "from-auth"}

    app, _ = make_app(engine, context_factory=async_factory if is_async else sync_factory)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Totoro"}, headers={"x-guard-region": "US", "x-guard-user-id": "spoofed"})
    assert r.status_code == 200
    assert engine.calls[-1][1].region == "JP" and engine.calls[-1][1].user_id == "from-auth"


def test_failing_context_callable_fails_closed():
    def factory(scope, body):
        raise RuntimeError("auth service down")

    app, seen = make_app(context_factory=factory)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "a cat"})
        assert r.status_code == 503
        r = client.post("/v1/generate", json={"prompt": "bad", "x": "y"}, headers={"x-guard-commercial": "perhaps"})
        assert r.status_code == 422  # client errors are still client errors
    assert seen == []


# -- engine failure --------------------------------------------------------------------------------------


def test_engine_failure_fails_closed_by_default(client_and_seen):
    client, seen = client_and_seen
    r = client.post("/v1/generate", json={"prompt": "please explode"})
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.json()["code"] == "guard-unavailable"
    assert seen == []


def test_fail_open_route_passes_request_unchecked(client_and_seen):
    client, seen = client_and_seen
    raw = '{"prompt": "please explode Mickey"}'
    r = client.post("/v1/risky", content=raw)
    assert r.status_code == 200
    assert r.headers["x-guard-action"] == "unchecked"
    assert seen[-1]["body"] == raw
    assert seen[-1]["decision"] is None
    assert "engine exploded" in seen[-1]["guard_error"]
    # bad input is still refused on a fail-open route
    assert client.post("/v1/risky", content=b"nope").status_code == 400
    # and a working engine still rejects there
    assert client.post("/v1/risky", json={"prompt": "Mickey"}).status_code == 451


def test_app_cannot_spoof_guard_headers_on_unchecked_requests():
    app = plain_app(b"ok", headers=[(b"x-guard-characters", b"nobody"), (b"X-Guard-Decision-Id", b"forged"), (b"x-other", b"1")])
    guarded = GuardMiddleware(app, BrokenGuard(), routes=["/x"], fail_open=True)
    with TestClient(guarded) as client:
        r = client.post("/x", json={"prompt": "Mario"})
    assert r.status_code == 200
    assert r.headers.get_list("x-guard-action") == ["unchecked"]
    assert "x-guard-characters" not in r.headers and "x-guard-decision-id" not in r.headers
    assert r.headers["x-other"] == "1"


@pytest.mark.parametrize(
    "headers, code",
    [
        ([(b"content-length", b"15")], None),
        ([(b"Content-Length", b"15"), (b"content-length", b"15")], "invalid-content-length"),  # read as "15,15"
        ([(b"content-length", b"-1")], "invalid-content-length"),
        ([(b"content-length", b"101")], "body-too-large"),
        ([(b"content-encoding", b"identity")], None),
        ([(b"content-encoding", b"identity"), (b"Content-Encoding", b"gzip")], "unsupported-content-encoding"),
        ([(b"content-encoding", b" GZIP ")], "unsupported-content-encoding"),
        ([(b"content-type", b"application/x-www-form-urlencoded")], "unsupported-media-type"),
        ([(b"Content-Type", b"Multipart/Form-Data; boundary=x")], "unsupported-media-type"),
        ([(b"content-type", b"application/json; charset=utf-8")], None),
        ([(b"content-type", b"text/plain")], None),  # JSON sent without its type is still read as JSON
        ([], None),
    ],
)
def test_request_headers_are_checked_before_the_body_is_read(headers, code):
    from middleware.core import check_request_headers

    problem = check_request_headers({"type": "http", "headers": [(b"host", b"x"), *headers]}, 100)
    assert (problem.code if problem else None) == code
    assert check_request_headers({"type": "http"}, 100) is None


def test_fail_open_as_middleware_default_and_route_override():
    app, seen = make_app(BrokenGuard(), fail_open=True, routes=["/v1/generate", GuardedRoute("/v1/chat", fail_open=False)])
    with TestClient(app) as client:
        assert client.post("/v1/generate", json={"prompt": "x"}).status_code == 200
        assert client.post("/v1/chat", json={"prompt": "x"}).status_code == 503
    assert len(seen) == 1


def test_engine_holder_failure_fails_closed():
    def getter():
        raise RuntimeError("no engine")

    app, seen = make_app(getter)
    with TestClient(app) as client:
        assert client.post("/v1/generate", json={"prompt": "x"}).status_code == 503
    assert seen == []


# -- routing ---------------------------------------------------------------------------------------------


def test_unguarded_routes_and_methods_pass_untouched(client_and_seen):
    client, seen = client_and_seen
    r = client.post("/v1/other", content=b"\xff not json at all")
    assert r.status_code == 200 and r.text == "other:17"
    assert "x-guard-action" not in r.headers
    r = client.get("/v1/generate")
    assert r.status_code == 200 and "x-guard-action" not in r.headers
    assert seen[-1]["decision"] == "absent"


@pytest.mark.parametrize("path", ["/v1/generate/", "/v1//generate", "/V1/Generate", "/v1/./generate", "/v1/x/../generate", "/v1/generate;v=1", "/v1;a/generate"])
def test_path_variants_of_a_guarded_route_are_guarded(path):
    with TestClient(GuardMiddleware(plain_app(), FakeGuard(), routes=["POST /v1/generate"])) as client:
        assert client.post(path, json={"prompt": "Mickey"}).status_code == 451


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
def test_method_override_headers_are_guarded_like_the_method_they_name(header):
    with TestClient(GuardMiddleware(plain_app(), FakeGuard(), routes=["POST /v1/generate"])) as client:
        r = client.request("PUT", "/v1/generate", content=b'{"prompt": "Mickey"}', headers={header: "post"})
        assert r.status_code == 451
        assert client.request("PUT", "/v1/generate", content=b"anything").status_code == 200


def test_route_patterns_and_methods():
    mw = GuardMiddleware(lambda *a: None, FakeGuard(), routes=[
        "POST,PUT /v1/images/*/edit",
        "PATCH /v2/**",
        GuardedRoute("/v3/{model}/generate", methods=("*",)),
        ("/v4/gen-*", ["post"]),
    ])
    assert mw.match("POST", "/v1/images/abc/edit") and mw.match("PUT", "/v1/images/abc/edit")
    assert not mw.match("GET", "/v1/images/abc/edit")
    assert not mw.match("POST", "/v1/images/a/b/edit")
    assert mw.match("PATCH", "/v2") and mw.match("PATCH", "/v2/a/b/c")
    assert mw.match("DELETE", "/v3/sdxl/generate") and not mw.match("POST", "/v3/generate")
    assert mw.match("POST", "/v4/gen-image") and not mw.match("POST", "/v4/other")


def test_invalid_configuration_is_refused_at_construction():
    with pytest.raises(ValueError):
        GuardMiddleware(lambda *a: None, FakeGuard(), routes=[])
    with pytest.raises(ValueError):
        GuardMiddleware(lambda *a: None, FakeGuard(), routes=["v1/no-slash"])
    with pytest.raises(ValueError):
        GuardMiddleware(lambda *a: None, FakeGuard(), routes=["/x"], prompt_pointers=["prompt"])
    with pytest.raises(ValueError):
        GuardMiddleware(lambda *a: None, FakeGuard(), routes=["/x"], context_headers={"x-foo": "no_such_field"})
    with pytest.raises(ValueError):
        GuardMiddleware(lambda *a: None, FakeGuard(), routes=["/x"], offload="sometimes")
    with pytest.raises(TypeError):
        GuardMiddleware(lambda *a: None, 42, routes=["/x"])


# -- offloading ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offload, size, in_thread", [("inline", 50_000, False), ("thread", 10, True), ("auto", 10, False), ("auto", 50_000, True)])
def test_offload_modes(offload, size, in_thread):
    engine = FakeGuard()
    app, seen = make_app(engine, offload=offload, offload_threshold=16_384)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Pikachu", "padding": "x" * size})
    assert r.status_code == 200 and json.loads(seen[-1]["body"])["prompt"] == "a yellow electric mouse"
    assert len(engine.threads) == 1
    assert (engine.threads[0] != seen[-1]["thread"]) is in_thread


# -- events and audit ------------------------------------------------------------------------------------


def test_on_event_reports_decisions_problems_and_errors(client_and_seen):
    events: list[GuardEvent] = []
    app, _ = make_app(on_event=events.append)
    with TestClient(app) as client:
        client.post("/v1/generate", json={"prompt": "Mario"})
        client.post("/v1/generate", content=b"{")
        client.post("/v1/generate", json={"prompt": "explode"})
        client.post("/v1/risky", json={"prompt": "explode"})
    kinds = [(e.kind, e.decision.action if e.decision else None, e.status, e.code, e.fail_open) for e in events]
    assert kinds == [
        ("decision", "tag", None, None, False),
        ("problem", None, 400, "invalid-json", False),
        ("engine-error", None, None, None, False),
        ("engine-error", None, None, None, True),
    ]
    assert events[0].route == "POST /v1/generate" and events[0].seconds > 0


def test_audit_log_file_one_line_per_decision(tmp_path):
    path = tmp_path / "logs" / "audit.jsonl"
    audit = AuditLog(path)
    app, _ = make_app(audit=audit)
    with TestClient(app) as client:
        r1 = client.post("/v1/generate", json={"prompt": "Mickey"})
        r2 = client.post("/v1/generate", json={"prompt": "Pikachu"}, headers={"x-guard-region": "FR"})
        client.post("/v1/generate", content=b"garbage")  # no decision, no line
        r3 = client.post("/v1/risky", json={"prompt": "explode"})
    assert audit.flush()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["decision", "decision", "engine-error"]
    assert lines[0]["decision_id"] == r1.headers["x-guard-decision-id"] and lines[0]["action"] == "reject"
    assert lines[0]["decision"]["rejections"][0]["character_id"] == "disney/mickey-mouse"
    assert lines[1]["decision_id"] == r2.headers["x-guard-decision-id"] and lines[1]["action"] == "rewrite"
    assert lines[1]["decision"]["original_prompt"] == "Pikachu"
    assert lines[1]["path"] == "/v1/generate" and lines[1]["method"] == "POST" and lines[1]["source"] == "middleware"
    assert lines[2]["fail_open"] is True and lines[2]["action"] == "unchecked" and "exploded" in lines[2]["error"]
    assert r3.status_code == 200
    audit.close()


def test_audit_log_callable_and_redaction():
    records: list[dict] = []
    audit = AuditLog(records.append, include_prompts=False)
    app, _ = make_app(audit=audit)
    with TestClient(app) as client:
        client.post("/v1/generate", json={"prompt": "Pikachu secret"})
    assert audit.flush()
    assert len(records) == 1
    decision = records[0]["decision"]
    assert "prompt" not in decision and "original_prompt" not in decision
    assert "surface" not in decision["matches"][0] and decision["matches"][0]["character_id"] == "pokemon/pikachu"
    audit.close()


def test_audit_log_stdout(capsys):
    audit = AuditLog("-")
    app, _ = make_app(audit=audit)
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"prompt": "Mario"})
    assert audit.flush()
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0])["decision_id"] == r.headers["x-guard-decision-id"]
    audit.close()


def test_audit_path_string_is_accepted(tmp_path):
    app, _ = make_app(audit=str(tmp_path / "a.jsonl"))
    with TestClient(app) as client:
        client.post("/v1/generate", json={"prompt": "Mario"})
    mw = app.middleware_stack  # built by TestClient
    while not isinstance(mw, GuardMiddleware):
        mw = mw.app
    assert mw.audit.flush()
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 1


def test_conflicting_duplicate_context_headers_are_422(client_and_seen):
    client, seen = client_and_seen
    headers = [("x-guard-region", "US"), ("x-guard-region", "JP"), ("content-type", "application/json")]
    r = client.post("/v1/generate", content=b'{"prompt": "Totoro"}', headers=headers)
    assert r.status_code == 422 and "more than once" in r.json()["detail"]
    same = [("x-guard-region", "JP"), ("x-guard-region", "JP")]
    assert client.post("/v1/generate", content=b'{"prompt": "Totoro"}', headers=same).status_code == 200


@pytest.mark.parametrize("options, message", [({"max_body_size": 0}, "max_body_size"), ({"max_json_depth": -1}, "max_json_depth"), ({"offload": "never"}, "offload"), ({"routes": []}, "routes")])
def test_bad_options_are_refused_at_construction(options, message):
    options = {"routes": ["/x"], **options}
    with pytest.raises(ValueError, match=message):
        GuardMiddleware(plain_app(b"ok"), FakeGuard(), **options)
