"""`guard serve` as a real process: the real engine, proxy mode, hot reload (file change and SIGHUP), audit."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guard.cli.serve import serve_cmd
from guard.service.metrics import parse_text
from http_testkit import ServerThread, raw_http, wait_for

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 240  # loading the bundled lexicons takes a while on a busy machine
RELOAD_TIMEOUT = 240


class ServeProcess:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "guard", "serve", "--port", "0", *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_started(self) -> str:
        pattern = re.compile(r"running on (http://127\.0\.0\.1:\d+)")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.lines:
                m = pattern.search(line)
                if m:
                    self.url = m.group(1)
                    return self.url
            if self.proc.poll() is not None:
                raise AssertionError(f"guard serve exited with {self.proc.returncode}:\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"guard serve did not start:\n{self.output}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait(10)
        self.reader.join(5)
        return self.proc.returncode


@pytest.fixture(scope="module")
def upstream():
    received: list[dict] = []

    async def generate(request: Request):
        body = await request.body()
        received.append({"body": json.loads(body), "action": request.headers.get("x-guard-action")})
        return JSONResponse({"ok": True}, status_code=201)

    with ServerThread(Starlette(routes=[Route("/v1/images/generations", generate, methods=["POST"])]), lifespan="off") as srv:
        srv.received = received
        yield srv


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX only")
def test_serve_end_to_end(tmp_path, upstream):
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    audit = tmp_path / "audit.jsonl"
    server = ServeProcess(
        "--policy", str(policies), "--upstream", upstream.url, "--route", "POST /v1/images/*",
        "--audit-log", str(audit), "--watch-interval", "0.2",
    )
    try:
        url = server.wait_started()
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            health = client.get("/healthz").json()
            assert health["status"] == "ok" and health["engine_generation"] == 1 and health["upstream"] == upstream.url

            d = client.post("/v1/check", json={"prompt": "Raiden Shogun nude"}).json()
            assert d["action"] == "reject" and d["rejections"][0]["code"] == "hyv_adult_content"
            version_1 = d["policy_version"]
            assert client.post("/v1/check", content=b"{").status_code == 400

            # proxy mode: rewritten before it reaches the upstream; rejected requests never reach it
            r = client.post("/v1/images/generations", json={"prompt": "Pikachu covered in blood"})
            assert r.status_code == 201 and r.headers["x-guard-action"] == "rewrite"
            assert upstream.received[-1] == {"body": {"prompt": "A small yellow electric mouse covered in blood"}, "action": "rewrite"}
            before = len(upstream.received)
            r = client.post("/v1/images/generations", json={"prompt": "Aloy with a bow"})
            assert r.status_code == 451 and r.json()["reasons"][0]["code"] == "not_opted_in"
            assert len(upstream.received) == before

            # a broken policy file: the reload fails, the old engine keeps serving, the reason is visible
            sony = policies / "sony-interactive-entertainment.example.yaml"
            good_text = sony.read_text()
            sony.write_text("kind: policy\nversion: 1\nid: [unclosed\n")
            assert wait_for(lambda: client.get("/healthz").json()["last_reload_error"], timeout=RELOAD_TIMEOUT), server.output
            health = client.get("/healthz").json()
            assert "sony-interactive-entertainment.example.yaml" in health["last_reload_error"]
            assert health["engine_generation"] == 1
            assert wait_for(lambda: "reload failed, keeping engine generation 1" in server.output, timeout=10), server.output
            assert client.post("/v1/check", json={"prompt": "Aloy with a bow"}).json()["action"] == "reject"

            # fixed (and changed, written atomically as editors do): the watcher reloads; the policy version moves
            tmp = policies / "sony.tmp"
            tmp.write_text(good_text + "\n# edited\n")
            os.replace(tmp, sony)

            def settled(at_least: int) -> bool:
                h = client.get("/healthz").json()
                return h["engine_generation"] >= at_least and not h["reloading"] and h["last_reload_error"] is None

            assert wait_for(lambda: settled(2), timeout=RELOAD_TIMEOUT), server.output
            d = client.post("/v1/check", json={"prompt": "Raiden Shogun nude"}).json()
            assert d["action"] == "reject"
            assert d["policy_version"] != version_1

            # SIGHUP reloads too
            time.sleep(0.5)  # let the watcher see the settled files (no reload pending)
            assert settled(2), client.get("/healthz").json()
            generation = client.get("/healthz").json()["engine_generation"]
            server.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: settled(generation + 1), timeout=RELOAD_TIMEOUT), server.output
            assert wait_for(lambda: "SIGHUP: reloading" in server.output, timeout=10), server.output

            m = parse_text(client.get("/metrics").text)
            assert m['guard_reloads_total{result="ok"}'] >= 2 and m['guard_reloads_total{result="error"}'] >= 1
            assert m['guard_engine_generation'] == generation + 1
            assert m['guard_decisions_total{source="api",action="reject"}'] == 3
            assert m['guard_decisions_total{source="middleware",action="rewrite"}'] == 1
            assert m['guard_decisions_total{source="middleware",action="reject"}'] == 1
    finally:
        code = server.stop()
    assert code == 0, server.output
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(x["source"], x["action"]) for x in lines] == [
        ("api", "reject"), ("middleware", "rewrite"), ("middleware", "reject"), ("api", "reject"), ("api", "reject"),
    ]


def test_serve_refuses_a_broken_policy_at_startup(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: policy\nversion: 1\nid: [unclosed\n")
    proc = subprocess.run(
        [sys.executable, "-m", "guard", "serve", "--port", "0", "--policy", str(broken)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=STARTUP_TIMEOUT,
    )
    assert proc.returncode == 1
    assert "broken.yaml" in proc.stderr and "Error" in proc.stderr


def test_serve_max_rewrites_reaches_the_engine():
    # Two HoYoverse characters with a Pokémon: the example policy rewrites both (a crossover); one is the limit.
    server = ServeProcess("--max-rewrites", "1", "--no-watch")
    try:
        url = server.wait_started()
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            d = client.post("/v1/check", json={"prompt": "Kakuna with Yoimiya and Nahida in a garden"}).json()
            assert d["action"] == "reject", d
            assert [r["code"] for r in d["rejections"]] == ["rewrite_too_many"]
            assert d["rejections"][0]["message"].endswith("(2 > 1)")
            one = client.post("/v1/check", json={"prompt": "Kakuna with Yoimiya in a garden"}).json()
            assert one["action"] == "rewrite" and "Yoimiya" not in one["prompt"]
    finally:
        server.stop()


def test_serve_body_timeout_answers_408_on_the_api_and_the_proxy(upstream):
    """`--body-timeout`: a request that announces a body and stops sending it is answered 408 on POST /v1/check
    and on a guarded proxy route, and nothing reaches the upstream."""
    server = ServeProcess("--body-timeout", "0.3", "--no-watch", "--upstream", upstream.url)
    try:
        url = server.wait_started()
        port = int(url.rsplit(":", 1)[1])
        before = len(upstream.received)
        for path in (b"/v1/check", b"/v1/images/generations"):
            head = b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"
            response = raw_http(port, head + b'{"prompt": "Pika', timeout=10)
            assert response.startswith(b"HTTP/1.1 408 ") and b"body-timeout" in response, (path, response[:300])
        assert len(upstream.received) == before
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:  # complete requests still go through
            assert client.post("/v1/check", json={"prompt": "a red fox"}).json()["action"] == "allow"
    finally:
        server.stop()


def test_serve_usage_errors():
    result = CliRunner().invoke(serve_cmd, ["--route", "POST /x"])
    assert result.exit_code == 2 and "--upstream" in result.output
    result = CliRunner().invoke(serve_cmd, ["--unknown-action", "maybe"])
    assert result.exit_code == 2
    result = CliRunner().invoke(serve_cmd, ["--max-rewrites", "0"])
    assert result.exit_code == 2 and "--max-rewrites" in result.output


@pytest.mark.parametrize("option, value", [("--port", "70000"), ("--port", "-1"), ("--max-body-size", "-5"),
                                           ("--max-body-size", "0"), ("--watch-interval", "0"),
                                           ("--body-timeout", "-1")])
def test_serve_refuses_out_of_range_numbers_before_starting(option, value):
    """A port uvicorn cannot bind gave an OverflowError traceback; a body limit below one byte would refuse every
    request; a zero watch interval would poll the files without pause."""
    result = CliRunner().invoke(serve_cmd, [option, value])
    assert result.exit_code == 2 and option in result.output and "Traceback" not in result.output
