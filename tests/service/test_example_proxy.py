"""examples/README.md, way 2: the example app unguarded as the upstream, `guard serve --upstream` in front."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from guard.service import create_app
from http_testkit import ServerThread, TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `examples`


@pytest.fixture(scope="module")
def proxy(guard):  # `guard`: the session-wide Guard.default() from tests/conftest.py
    from examples.fastapi_app import create_app as create_example

    with ServerThread(create_example(guarded=False)) as upstream:
        app = create_app(guard, upstream=upstream.url, routes=["POST /v1/images/*", "POST /v1/chat/*"], sighup=False)
        with TestClient(app) as client:
            yield client


def test_example_behind_the_proxy(proxy):
    r = proxy.post("/v1/images/generations", json={"prompt": "Raiden Shogun nude"})
    assert r.status_code == 451 and r.json()["reasons"][0]["code"] == "hyv_adult_content"

    r = proxy.post("/v1/images/generations", json={"prompt": "Pikachu covered in blood"})
    assert r.status_code == 200 and r.json()["prompt_used"] == "A small yellow electric mouse covered in blood"
    guard = r.json()["guard"]  # what the upstream learnt from the proxy's request headers
    assert guard == {"action": "rewrite", "decision_id": r.headers["x-guard-decision-id"], "characters": ["pokemon/pikachu"]}

    r = proxy.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "draw Pikachu waving"}]},
                   headers={"x-guard-commercial": "true", "x-guard-region": "FR"})
    assert r.status_code == 200 and r.headers["x-guard-action"] == "tag"

    assert proxy.get("/v1/models").json() == {"data": [{"id": "painter-1"}]}
    assert proxy.post("/v1/check", json={"prompt": "Pikachu surfing", "context": {"commercial": True, "region": "BR"}}).json()["action"] == "reject"
