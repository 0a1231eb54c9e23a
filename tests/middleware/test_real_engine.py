"""The middleware and the example FastAPI app with the real engine (bundled lexicons, example policies)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from http_testkit import TestClient
from middleware import GuardedRoute, GuardMiddleware

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `examples`


# `guard`: the session-wide Guard.default() from tests/conftest.py (loaded once for the whole run).


@pytest.fixture(scope="module")
def example(guard):
    from examples.fastapi_app import create_app

    with TestClient(create_app(guard)) as client:
        yield client


def test_example_app_allow_rewrite_reject(example):
    r = example.post("/v1/images/generations", json={"prompt": "Pikachu surfing at sunset"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "allow"
    assert r.json()["guard"]["characters"] == ["pokemon/pikachu"]

    r = example.post("/v1/images/generations", json={"prompt": "Pikachu covered in blood", "n": 2})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "rewrite"
    assert r.json()["prompt_used"] == "A small yellow electric mouse covered in blood"
    assert len(r.json()["data"]) == 2

    r = example.post("/v1/images/generations", json={"prompt": "Raiden Shogun nude"})
    assert r.status_code == 451 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["reasons"][0]["code"] == "hyv_adult_content"
    assert r.json()["characters"] == ["genshin_impact/raidenshogun"]


def test_example_app_context_headers_and_revenue_tags(example):
    body = {"prompt": "Pikachu surfing at sunset"}
    r = example.post("/v1/images/generations", json=body, headers={"x-guard-commercial": "true", "x-guard-region": "FR"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "tag"
    assert r.json()["guard"]["revenue_tags"][0]["rightsholder"] == "The Pokémon Company"
    r = example.post("/v1/images/generations", json=body, headers={"x-guard-commercial": "true", "x-guard-region": "BR"})
    assert r.status_code == 451 and r.json()["reasons"][0]["code"] == "tpc_region_not_licensed"


def test_example_app_chat_rewrites_across_messages(example):
    """The theme is in one message, the character in another: checked together, rewritten in place."""
    messages = [{"role": "user", "content": "Pikachu on a hill"}, {"role": "user", "content": "make everything covered in blood"}]
    r = example.post("/v1/chat/completions", json={"messages": messages})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "rewrite"
    content = r.json()["choices"][0]["message"]["content"]
    assert content == "Here is your picture of: make everything covered in blood"
    assert r.json()["guard"]["characters"] == ["pokemon/pikachu"]


def test_example_app_unguarded_and_bad_input(example):
    assert example.get("/v1/models").status_code == 200
    assert example.post("/v1/images/generations", content=b"{oops").status_code == 400
    assert example.post("/v1/images/generations", json={"size": "1x1"}).status_code == 422
    assert example.post("/v1/chat/completions", json={"messages": []}).status_code == 422


def test_real_engine_rewrites_each_message_it_should(guard):
    seen = []

    async def app(scope, receive, send):
        seen.append(json.loads((await receive())["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = GuardMiddleware(app, guard, routes=[GuardedRoute("/chat", prompt_pointers=("/messages/*/content",))])
    client = TestClient(mw)  # used without `with`: the raw app above does not speak lifespan
    messages = [{"content": "Pikachu covered in blood"}, {"content": "a calm sea"}, {"content": "Pikachu at a political rally"}]
    r = client.post("/chat", json={"messages": messages})
    assert r.status_code == 200, r.text
    contents = [m["content"] for m in seen[-1]["messages"]]
    assert contents[1] == "a calm sea"
    assert "Pikachu" not in contents[0] and "Pikachu" not in contents[2]
