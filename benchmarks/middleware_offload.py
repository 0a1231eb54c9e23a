"""Inline vs worker-thread checks in GuardMiddleware: what each costs and what it does to the event loop.

    .venv/bin/python benchmarks/middleware_offload.py [--requests 400] [--concurrency 8]

For each prompt size it drives the middleware directly over ASGI (no sockets, so only the guard's own cost
is measured) with `offload="inline"` and `offload="thread"`, and reports:

- engine: the bare `Guard.check` time (median);
- latency: per-request time through the middleware, median and p99, one request at a time;
- throughput: requests/s with `--concurrency` requests in flight;
- loop lag: while that concurrent load runs, a ticker task sleeps 1 ms in a loop and records how late it
  wakes up (max and p99). This is what every other request on the same event loop (health checks,
  streaming responses) feels. receive() and send() yield to the loop like socket I/O does, so with
  `inline` a ticker wake-up can be late by the checks that became ready in the same loop iteration
  (up to --concurrency of them).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from middleware import GuardMiddleware  # noqa: E402

BASE = "Pikachu surfing a huge wave at sunset, dramatic lighting, 35mm film, highly detailed, "
FILLER = "a quiet harbour town with fishing boats, gulls over the pier and warm lanterns in the windows, "


def prompts() -> dict[str, dict]:
    return {
        "short (60 B)": {"prompt": BASE[:60]},
        "typical (400 B)": {"prompt": BASE + FILLER * 3},
        "long (2 KB)": {"prompt": BASE + FILLER * 20},
        "long (4 KB)": {"prompt": BASE + FILLER * 40},
        "chat 40 msgs (16 KB)": {"messages": [{"role": "user", "content": FILLER * 4} for _ in range(39)] + [{"role": "user", "content": BASE}]},
        "huge (256 KB)": {"prompt": BASE + FILLER * 2600},
    }


async def app(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def scope_for(body: bytes) -> dict:
    return {"type": "http", "method": "POST", "path": "/gen", "headers": [(b"content-length", str(len(body)).encode())], "state": {}}


async def one(mw, body: bytes) -> float:
    sent = False

    async def receive():  # yields to the loop like a socket read would
        nonlocal sent
        await asyncio.sleep(0)
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    status = []

    async def send(message):
        await asyncio.sleep(0)
        if message["type"] == "http.response.start":
            status.append(message["status"])

    started = time.perf_counter()
    await mw(scope_for(body), receive, send)
    elapsed = time.perf_counter() - started
    assert status and status[0] in (200, 451), status
    return elapsed


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - t - 0.001)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def measure(engine, body: bytes, mode: str, n: int, concurrency: int) -> dict:
    mw = GuardMiddleware(app, engine, routes=["POST /gen"], prompt_pointers=["/prompt", "/messages/*/content"],
                         offload=mode, max_body_size=1 << 20)
    for _ in range(20):
        await one(mw, body)
    serial = [await one(mw, body) for _ in range(n // 2)]

    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    sem = asyncio.Semaphore(concurrency)

    async def bounded():
        async with sem:
            await one(mw, body)

    started = time.perf_counter()
    await asyncio.gather(*(bounded() for _ in range(n)))
    wall = time.perf_counter() - started
    stop.set()
    await tick
    return {
        "p50_ms": statistics.median(serial) * 1000,
        "p99_ms": pct(serial, 0.99) * 1000,
        "rps": n / wall,
        "lag_p99_ms": pct(lags, 0.99) * 1000 if lags else 0.0,
        "lag_max_ms": max(lags) * 1000 if lags else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from guard.engine import Guard

    engine = Guard.default()
    results = []
    for label, doc in prompts().items():
        body = json.dumps(doc).encode()
        text = doc.get("prompt") or "\n\n".join(m["content"] for m in doc["messages"])
        for _ in range(5):
            engine.check(text)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            engine.check(text)
            times.append(time.perf_counter() - t)
        n = args.requests if len(body) < 100_000 else max(40, args.requests // 10)
        row = {"prompt": label, "engine_ms": statistics.median(times) * 1000}
        for mode in ("inline", "thread"):
            row[mode] = asyncio.run(measure(engine, body, mode, n, args.concurrency))
        results.append(row)
        print(json.dumps(row), flush=True)

    print()
    print(f"| prompt | engine check | mode | latency p50 / p99 | throughput (c={args.concurrency}) | loop lag p99 / max |")
    print("|---|---|---|---|---|---|")
    for row in results:
        for mode in ("inline", "thread"):
            r = row[mode]
            print(f"| {row['prompt']} | {row['engine_ms']:.3f} ms | {mode} | {r['p50_ms']:.3f} / {r['p99_ms']:.3f} ms | "
                  f"{r['rps']:.0f} req/s | {r['lag_p99_ms']:.2f} / {r['lag_max_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
