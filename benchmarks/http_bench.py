"""Throughput and latency through the ASGI middleware against the same bare JSON echo app.

Both apps are one Starlette route, `POST /v1/generate`, that parses the JSON body and echoes it back; the
guarded one is wrapped in `middleware.GuardMiddleware` over the bundled lexicons and policies. A third server,
`decided`, splits the guard's cost in two: it is the guarded app, but the decisions for the benchmark's
prompts were made at start-up, so its requests pay for the middleware and its JSON handling and not for the
check. Each runs in its own uvicorn process on 127.0.0.1 with one worker. The load generator is wrk when it is installed (Debian
package `wrk`), else the small asyncio HTTP/1.1 client below, in a separate process in both cases. Every
run is bounded in time (wrk -d, or the client's deadline) and only talks to 127.0.0.1.

    python -m benchmarks.http_bench serve --kind bare|guarded|decided --port N [--cache-dir DIR] [--bodies FILE]
    python -m benchmarks.http_bench load --port N --bodies FILE --connections C --duration S
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

PATH = "/v1/generate"
HOST = "127.0.0.1"


# -- the apps ------------------------------------------------------------------------------------------------


class DecidedInAdvance:
    """An engine for the `decided` server: the real Guard's decisions, made once per prompt at start-up.
    Prompts it was not given go to the Guard."""

    def __init__(self, guard, prompts: list[str]):
        self.guard = guard
        self.policy = guard.policy
        self.decisions = {p: guard.check(p) for p in prompts}

    def check(self, prompt, context=None):
        decision = self.decisions.get(prompt)
        return decision if decision is not None else self.guard.check(prompt, context)


def make_app(kind: str, cache_dir: Optional[str] = None, lexicon_paths=None, prompts: Optional[list[str]] = None):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def generate(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    app = Starlette(routes=[Route(PATH, generate, methods=["POST"])])
    if kind == "bare":
        return app
    from guard import Guard
    from middleware import GuardMiddleware

    g = Guard.from_paths(lexicon_paths, cache_dir=cache_dir)
    if g.policy is None:
        raise RuntimeError("no policy engine: the middleware needs Guard.check")
    engine = DecidedInAdvance(g, prompts or []) if kind == "decided" else g
    return GuardMiddleware(app, engine=engine, routes=[f"POST {PATH}"])


def middleware_status() -> tuple[bool, str]:
    """Whether the middleware can be benchmarked here, and why not."""
    try:
        from middleware import GuardMiddleware  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means: not ready
        return False, f"middleware does not import: {type(exc).__name__}: {exc}"
    try:
        import guard.policy.engine  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return False, f"policy engine does not import: {type(exc).__name__}: {exc}"
    return True, ""


def serve(kind: str, port: int, cache_dir: Optional[str], bodies_path: Optional[str] = None) -> None:
    import uvicorn

    prompts = None
    if bodies_path:
        prompts = [json.loads(b)["prompt"] for b in json.loads(Path(bodies_path).read_text(encoding="utf-8"))]
    app = make_app(kind, cache_dir, prompts=prompts)
    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="warning", access_log=False, lifespan="off")


# -- the fallback load generator --------------------------------------------------------------------------


async def _client(bodies: list[bytes], port: int, deadline: float, offset: int, lat: list[int], errs: dict) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    i = offset
    try:
        while time.monotonic() < deadline:
            body = bodies[i % len(bodies)]
            i += 1
            req = (
                f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            t0 = time.perf_counter_ns()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter_ns() - t0)
            if status >= 400 and status != 451:
                errs["status"] += 1
    finally:
        writer.close()


async def _load(bodies: list[bytes], port: int, connections: int, duration: float) -> dict:
    lat: list[int] = []
    errs = {"status": 0}
    start = time.monotonic()
    deadline = start + duration
    await asyncio.gather(*(_client(bodies, port, deadline, k * 7, lat, errs) for k in range(connections)))
    elapsed = time.monotonic() - start
    lat.sort()
    from benchmarks.timing import percentile

    return {
        "requests": len(lat),
        "duration_s": round(elapsed, 3),
        "rps": round(len(lat) / elapsed, 1),
        "p50_us": round(percentile(lat, 50) / 1000, 1),
        "p90_us": round(percentile(lat, 90) / 1000, 1),
        "p99_us": round(percentile(lat, 99) / 1000, 1),
        "errors_status": errs["status"],
    }


def load(port: int, bodies_path: str, connections: int, duration: float) -> dict:
    bodies = [b.encode() for b in json.loads(Path(bodies_path).read_text(encoding="utf-8"))]
    return asyncio.run(_load(bodies, port, connections, duration))


# -- wrk ------------------------------------------------------------------------------------------------------

_WRK_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests":%d,"duration_us":%d,"errors_status":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def _wrk_script(bodies: list[str], path: Path) -> None:
    items = []
    for b in bodies:
        level = 1
        while ("]" + "=" * level + "]") in b:
            level += 1
        eq = "=" * level
        items.append(f"[{eq}[{b}]{eq}]")
    path.write_text(
        "local bodies = {\n" + ",\n".join(items) + "\n}\n"
        "local i = 0\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format(nil, "{PATH}", nil, bodies[i])\n'
        "end\n" + _WRK_DONE,
        encoding="utf-8",
    )


def run_wrk(port: int, script: Path, connections: int, duration: float) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, int(round(duration)))}s", "--timeout", "5s", "-s", str(script), f"http://{HOST}:{port}{PATH}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    r = json.loads(line[len("RESULT ") :])
    secs = r.pop("duration_us") / 1e6
    r["duration_s"] = round(secs, 3)
    r["rps"] = round(r["requests"] / secs, 1)
    return r


# -- orchestration --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("POST", PATH, body=b'{"prompt": "a red fox in the snow"}', headers={"Content-Type": "application/json"})
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def _start(kind: str, cache_dir: Optional[str], bodies_path: Optional[Path] = None) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    cmd = [sys.executable, "-m", "benchmarks.http_bench", "serve", "--kind", kind, "--port", str(port)]
    if cache_dir:
        cmd += ["--cache-dir", cache_dir]
    if bodies_path is not None:
        cmd += ["--bodies", str(bodies_path)]
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, proc)
    except Exception:
        _stop(proc)
        raise
    return proc, port


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(prompts: list[str], *, duration: float, connections: int, rounds: int, cache_dir: Optional[str], log=print) -> dict:
    """Latency (1 connection) and throughput (`connections`) for the bare app, the guarded app and the guarded
    app with decisions made in advance, in the order bare, guarded, decided, then reversed, over `rounds`
    rounds. Returns the per-run figures and the medians."""
    ok, why = middleware_status()
    if not ok:
        return {"ran": False, "reason": why}
    bodies = [json.dumps({"prompt": p, "n": 1, "size": "1024x1024"}, ensure_ascii=False) for p in prompts]
    use_wrk = shutil.which("wrk") is not None
    tmp = Path(tempfile.mkdtemp(prefix="guard-http-"))
    script = tmp / "bodies.lua"
    bodies_json = tmp / "bodies.json"
    _wrk_script(bodies, script)
    bodies_json.write_text(json.dumps(bodies, ensure_ascii=False), encoding="utf-8")

    def measure(port: int, conns: int) -> dict:
        if use_wrk:
            return run_wrk(port, script, conns, duration)
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.http_bench", "load", "--port", str(port), "--bodies", str(bodies_json),
             "--connections", str(conns), "--duration", str(duration)],
            capture_output=True, text=True, cwd=root, timeout=duration + 60,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    runs: dict[str, list[dict]] = {"bare": [], "guarded": [], "decided": []}
    order = []
    for r in range(rounds):
        order += ["bare", "guarded", "decided"] if r % 2 == 0 else ["decided", "guarded", "bare"]
    try:
        for kind in order:
            proc, port = _start(kind, cache_dir, bodies_json if kind == "decided" else None)
            try:
                measure(port, connections)  # warm-up, not recorded
                lat = measure(port, 1)
                thr = measure(port, connections)
            finally:
                _stop(proc)
            log(f"  http {kind}: 1 conn p50 {lat['p50_us']} us p99 {lat['p99_us']} us; {connections} conns {thr['rps']} req/s p99 {thr['p99_us']} us")
            runs[kind].append({"latency": lat, "throughput": thr})
    except Exception as exc:  # noqa: BLE001 - report, don't crash the whole benchmark
        return {"ran": False, "reason": f"{type(exc).__name__}: {exc}", "runs": runs}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    return {
        "ran": True,
        "load_generator": "wrk 1 thread" if use_wrk else "python asyncio client",
        "server": "uvicorn, 1 worker, 127.0.0.1",
        "connections": connections,
        "duration_s": duration,
        "rounds": rounds,
        "prompts": len(bodies),
        "runs": runs,
        **summarize(runs),
    }


def summarize(runs: dict[str, list[dict]]) -> dict:
    """Each server's medians over the rounds, and the middleware's figures: the medians of the rounds' own
    differences and ratios (`paired_rounds`)."""
    summary = {}
    for kind in runs:
        summary[kind] = {
            "p50_us_1conn": _median([x["latency"]["p50_us"] for x in runs[kind]]),
            "p99_us_1conn": _median([x["latency"]["p99_us"] for x in runs[kind]]),
            "rps": _median([x["throughput"]["rps"] for x in runs[kind]]),
            "p50_us_loaded": _median([x["throughput"]["p50_us"] for x in runs[kind]]),
            "p99_us_loaded": _median([x["throughput"]["p99_us"] for x in runs[kind]]),
        }
    per_round = paired_rounds(runs)
    added = _median([r["added_p50_us"] for r in per_round])
    # The split of the added latency: the middleware with its JSON handling (decisions made in advance), and
    # the check itself as it runs inside the server (the difference of the two medians).
    middleware_only = _median([r["added_p50_us_middleware_only"] for r in per_round])
    return {
        "summary": summary,
        "per_round": per_round,
        "added_p50_us": round(added, 1),
        "added_p50_us_middleware_only": round(middleware_only, 1),
        "added_p50_us_check_in_server": round(added - middleware_only, 1),
        "rps_share": round(_median([r["rps_share"] for r in per_round]), 3),
        "rps_share_middleware_only": round(_median([r["rps_share_middleware_only"] for r in per_round]), 3),
    }


def paired_rounds(runs: dict[str, list[dict]]) -> list[dict]:
    """Per round, the guarded and the decided server against the bare one of the same round: the three ran one
    after the other, so a machine that is slower for a while weighs on all three. On a shared machine the bare
    app's latency moves by up to 30% from one round to the next and its requests/s by up to 10%, and a difference
    or ratio of medians can take its two terms from different rounds. A round whose bare server answered nothing
    has no share (None)."""
    out = []
    for bare, guarded, decided in zip(runs["bare"], runs["guarded"], runs["decided"]):
        b_lat, b_rps = bare["latency"]["p50_us"], bare["throughput"]["rps"]
        out.append({
            "added_p50_us": round(guarded["latency"]["p50_us"] - b_lat, 1),
            "added_p50_us_middleware_only": round(decided["latency"]["p50_us"] - b_lat, 1),
            "rps_share": round(guarded["throughput"]["rps"] / b_rps, 3) if b_rps else None,
            "rps_share_middleware_only": round(decided["throughput"]["rps"] / b_rps, 3) if b_rps else None,
        })
    return out


def _median(values: list[Optional[float]]) -> float:
    """The median of the values that are not None; 0.0 when there are none."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return 0.0
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--kind", choices=("bare", "guarded", "decided"), required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cache-dir")
    s.add_argument("--bodies", help="the JSON bodies whose prompts a `decided` server decides at start-up")
    lg = sub.add_parser("load")
    lg.add_argument("--port", type=int, required=True)
    lg.add_argument("--bodies", required=True)
    lg.add_argument("--connections", type=int, default=16)
    lg.add_argument("--duration", type=float, default=5.0)
    args = ap.parse_args(argv)
    if args.cmd == "serve":
        serve(args.kind, args.port, args.cache_dir, args.bodies)
    else:
        print(json.dumps(load(args.port, args.bodies, args.connections, min(args.duration, 120.0))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
