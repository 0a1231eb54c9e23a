"""The service in process: POST /v1/check, GET /healthz, GET /metrics."""
from __future__ import annotations

import json

import pytest

from guard.service import Metrics, create_app
from guard.service.metrics import parse_text
from http_testkit import BrokenGuard, FakeGuard, TestClient
from middleware import EngineHolder


@pytest.fixture
def service():
    engine = FakeGuard()
    app = create_app(engine, sighup=False)
    with TestClient(app) as client:
        client.engine = engine
        client.app_ = app
        yield client


def test_check_returns_the_decision(service):
    r = service.post("/v1/check", json={"prompt": "Pikachu and Mario", "context": {"region": "FR", "user_id": "u1"}})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    d = r.json()
    assert d["action"] == "rewrite" and d["prompt"] == "a yellow electric mouse and Mario"
    assert [m["character_id"] for m in d["matches"]] == ["pokemon/pikachu", "nintendo/mario"]
    assert r.headers["x-guard-decision-id"] == d["decision_id"] and r.headers["x-guard-action"] == "rewrite"
    assert service.engine.calls[-1][1].region == "FR" and service.engine.calls[-1][1].user_id == "u1"


def test_check_reject_is_a_200_answer(service):
    r = service.post("/v1/check", json={"prompt": "Mickey"})
    assert r.status_code == 200 and r.json()["action"] == "reject"
    assert r.json()["rejections"][0]["code"] == "character-not-licensed"


@pytest.mark.parametrize(
    "content, status, code",
    [
        (b"nope", 400, "invalid-json"),
        (b'{"prompt": "\xc3"}', 400, "invalid-utf8"),
        (b"[" * 100 + b"]" * 100, 400, "json-too-deep"),
        (b'{"prompt": "a", "prompt": "b"}', 400, "duplicate-key"),
        (b'{"prompt": "x", "seed": 1e999}', 400, "invalid-json"),
        (b"", 400, "empty-body"),
        (b"[]", 422, "invalid-request"),
        (b'{"context": {}}', 422, "missing-prompt"),
        (b'{"prompt": 1}', 422, "invalid-prompt"),
        (b'{"prompt": "x", "extra": 1}', 422, "invalid-request"),
        (b'{"prompt": "x", "context": {"regoin": "FR"}}', 422, "invalid-context"),
        (b'{"prompt": "x", "context": {"region": "France"}}', 422, "invalid-context"),
        (b'{"prompt": "x", "context": "FR"}', 422, "invalid-context"),
        # a lone surrogate in an unknown key (quoted in the detail), and in an id that a ledger record would hold
        (b'{"prompt": "x", "\\ud800": 1}', 422, "invalid-request"),
        (b'{"prompt": "x", "context": {"request_id": "\\ud800"}}', 422, "invalid-context"),
        (b'{"prompt": "x", "context": {"user_id": "a\\udc80"}}', 422, "invalid-context"),
        (b'{"prompt": "' + b"x" * (1 << 20) + b'"}', 413, "body-too-large"),
        (b'{"prompt": "explode"}', 503, "guard-unavailable"),
    ],
)
def test_check_bad_input(service, content, status, code):
    r = service.post("/v1/check", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code


def test_negative_json_depth_is_refused():
    with pytest.raises(ValueError, match="max_json_depth"):
        create_app(FakeGuard(), sighup=False, max_json_depth=-1)


def test_check_large_prompt_is_checked_in_a_worker_thread():
    engine = FakeGuard()
    app = create_app(engine, sighup=False, offload_threshold=1000)
    with TestClient(app) as client:
        r = client.post("/v1/check", json={"prompt": "Mario " * 1000})
        assert r.status_code == 200 and r.json()["action"] == "tag"
        assert engine.thread_names[-1] == "AnyIO worker thread"
        client.post("/v1/check", json={"prompt": "Mario"})
        assert engine.thread_names[-1] != "AnyIO worker thread"  # small prompts: inline


def test_healthz(service):
    r = service.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["engine_generation"] == 1 and body["last_reload_error"] is None and body["upstream"] is None


def test_metrics_count_decisions_and_latency(service):
    for prompt in ("cat", "Mario", "Pikachu", "Mickey", "Mickey"):
        service.post("/v1/check", json={"prompt": prompt})
    service.post("/v1/check", content=b"{")
    service.post("/v1/check", json={"prompt": "explode"})
    r = service.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert "# TYPE guard_decisions_total counter" in text and "# TYPE guard_check_duration_seconds histogram" in text
    m = parse_text(text)
    assert m['guard_decisions_total{source="api",action="allow"}'] == 1
    assert m['guard_decisions_total{source="api",action="tag"}'] == 1
    assert m['guard_decisions_total{source="api",action="rewrite"}'] == 1
    assert m['guard_decisions_total{source="api",action="reject"}'] == 2
    assert m['guard_decisions_total{source="middleware",action="allow"}'] == 0
    assert m['guard_problems_total{source="api",status="400",code="invalid-json"}'] == 1
    assert m['guard_engine_errors_total{source="api",fail_open="false"}'] == 1
    assert m['guard_check_duration_seconds_count{source="api"}'] == 5
    assert m['guard_check_duration_seconds_bucket{source="api",le="+Inf"}'] == 5
    assert 0 < m['guard_check_duration_seconds_sum{source="api"}'] < 5
    buckets = [v for k, v in m.items() if k.startswith('guard_check_duration_seconds_bucket{source="api"')]
    assert buckets == sorted(buckets)  # cumulative
    assert m["guard_engine_generation"] == 1
    assert m['guard_reloads_total{result="ok"}'] == 0


def test_metrics_render_is_valid_exposition_text():
    metrics = Metrics()
    metrics.observe_decision("api", "allow", 0.00007)
    metrics.observe_decision("api", "allow", 3.0)
    text = metrics.render()
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE")
        else:
            name, value = line.rsplit(" ", 1)
            float(value)
            assert name.startswith("guard_")
    m = parse_text(text)
    assert m['guard_check_duration_seconds_bucket{source="api",le="0.0001"}'] == 1
    assert m['guard_check_duration_seconds_bucket{source="api",le="1"}'] == 1
    assert m['guard_check_duration_seconds_bucket{source="api",le="+Inf"}'] == 2


def test_api_decisions_are_audited(tmp_path):
    path = tmp_path / "audit.jsonl"
    app = create_app(FakeGuard(), sighup=False, audit=str(path))
    with TestClient(app) as client:
        r = client.post("/v1/check", json={"prompt": "Mario"})
        client.post("/v1/check", json={"prompt": "explode"})
    # the service owns the audit log it opened and closed it (flushed) at shutdown
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["event"], line["source"]) for line in lines] == [("decision", "api"), ("engine-error", "api")]
    assert lines[0]["decision_id"] == r.json()["decision_id"] and lines[0]["decision"]["action"] == "tag"


def test_service_uses_the_holders_current_engine(tmp_path):
    engines = iter([FakeGuard(name="one"), FakeGuard(name="two")])
    holder = EngineHolder(lambda: next(engines))
    app = create_app(holder, sighup=False)
    with TestClient(app) as client:
        assert client.post("/v1/check", json={"prompt": "x"}).json()["policy_version"] == "one"
        assert holder.reload().ok
        assert client.post("/v1/check", json={"prompt": "x"}).json()["policy_version"] == "two"
        assert client.get("/healthz").json()["engine_generation"] == 2
        assert parse_text(client.get("/metrics").text)['guard_reloads_total{result="ok"}'] == 1


def test_broken_engine_healthz_still_answers():
    app = create_app(BrokenGuard(), sighup=False)
    with TestClient(app) as client:
        assert client.post("/v1/check", json={"prompt": "x"}).status_code == 503
        assert client.get("/healthz").status_code == 200


def test_unknown_paths_are_404_without_upstream(service):
    assert service.post("/v1/generate", json={"prompt": "x"}).status_code == 404
    assert service.get("/v1/check").status_code == 405
