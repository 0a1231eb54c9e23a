"""Instructions and simulated cache misses per guarded request, counted by valgrind's cachegrind.

On a shared machine wall-clock A/B runs of the middleware move by 10-20% from one hour to the next. Counts do
not: this tool runs the benchmark's three apps (`http_bench.make_app`: bare echo app, guarded, decisions made in
advance) in process over ASGI, one request at a time, each after a turn of the event loop as on an idle server,
under `valgrind --tool=cachegrind` with a simulated cache (L1 32 KiB, last level 1 MiB like one core's L2
here) and a fixed hash seed, so a run repeats its counts. Each app runs twice, over the corpus once and three
times after a warm-up pass; the difference divided by the extra requests is the cost of one request, without
start-up. Then "middleware" is decided - bare and "check" is guarded - decided.

    python -m benchmarks.cachesim [--kinds bare,decided,guarded] [--prompts 200] [--ll-kib 1024]

With `--server`, each app runs instead in the benchmark's own uvicorn server (`http_bench serve`) under
valgrind, loaded over loopback with 16 connections (wrk if installed, else the benchmark's asyncio client) for
two durations; the difference per request then includes uvicorn and h11, whose work between requests evicts
the guard's data from the simulated cache as it does from the real one. The kernel's network stack is not
simulated. This takes about a quarter of an hour.

    python -m benchmarks.cachesim --server [--seconds 15,45]

Needs valgrind (Debian package `valgrind`); an in-process run takes a few minutes, most of it the apps'
start-up under valgrind.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("bare", "decided", "guarded")
EVENTS = ("instructions", "I1 misses", "D1 misses", "LL misses")

_SUMMARY = {
    "instructions": re.compile(r"I\s+refs:\s+([\d,]+)"),
    "I1 misses": re.compile(r"I1\s+misses:\s+([\d,]+)"),
    "LLi misses": re.compile(r"LLi\s+misses:\s+([\d,]+)"),
    "D1 misses": re.compile(r"D1\s+misses:\s+([\d,]+)"),
    "LLd misses": re.compile(r"LLd\s+misses:\s+([\d,]+)"),
}


def parse_summary(text: str) -> dict[str, int]:
    """The totals of cachegrind's summary (its stderr): instructions, I1, D1 and last-level misses."""
    found = {}
    for name, pattern in _SUMMARY.items():
        m = pattern.search(text)
        if m is None:
            raise ValueError(f"cachegrind summary has no {name!r} line")
        found[name] = int(m.group(1).replace(",", ""))
    return {
        "instructions": found["instructions"],
        "I1 misses": found["I1 misses"],
        "D1 misses": found["D1 misses"],
        "LL misses": found["LLi misses"] + found["LLd misses"],
    }


def per_request(short: dict[str, int], long: dict[str, int], extra_requests: int) -> dict[str, float]:
    return {k: (long[k] - short[k]) / extra_requests for k in EVENTS}


def breakdown(costs: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per request: each app, and the parts: middleware = decided - bare, check = guarded - decided."""
    out = dict(costs)
    if "bare" in costs and "decided" in costs:
        out["middleware"] = {k: costs["decided"][k] - costs["bare"][k] for k in EVENTS}
    if "decided" in costs and "guarded" in costs:
        out["check"] = {k: costs["guarded"][k] - costs["decided"][k] for k in EVENTS}
    return out


def table(rows: dict[str, dict[str, float]]) -> str:
    lines = ["| per request | " + " | ".join(EVENTS) + " |", "| --- |" + " ---: |" * len(EVENTS)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:,.0f}" for k in EVENTS) + " |")
    return "\n".join(lines)


# -- the measured process -------------------------------------------------------------------------------------


def _scope(body: bytes) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/generate", "raw_path": b"/v1/generate", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }


async def _request(app, body: bytes) -> None:
    messages = iter(({"type": "http.request", "body": body, "more_body": False},))

    async def receive() -> dict:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict) -> None:
        pass

    await app(_scope(body), receive, send)
    await asyncio.sleep(0)  # end the loop's turn, as between two requests of an idle server


def child(kind: str, passes: int, prompts_path: str, cache_dir: str) -> None:
    from benchmarks import http_bench

    prompts = json.loads(Path(prompts_path).read_text(encoding="utf-8"))
    bodies = [json.dumps({"prompt": p, "n": 1, "size": "1024x1024"}, ensure_ascii=False).encode() for p in prompts]
    app = http_bench.make_app(kind, cache_dir, prompts=prompts)

    async def main() -> None:
        for _ in range(1 + passes):  # a warm-up pass, then the counted ones
            for body in bodies:
                await _request(app, body)

    asyncio.run(main())


# -- the driver -------------------------------------------------------------------------------------------------


def _cachegrind(kind: str, passes: int, prompts_path: Path, cache_dir: Path, ll_bytes: int, tmp: Path) -> dict[str, int]:
    cmd = _valgrind_cmd(tmp / f"{kind}.{passes}.out", ll_bytes) + [
        sys.executable, "-m", "benchmarks.cachesim", "--child", kind, str(passes), str(prompts_path), str(cache_dir),
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=_measured_env(), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"cachegrind run of {kind} failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse_summary(done.stderr)


def _measured_env() -> dict[str, str]:
    """The measured processes import this checkout, keep numpy to one thread and fix the hash seed."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


@contextmanager
def _workspace(prompts: int) -> Iterator[tuple[Path, Path, list[str]]]:
    """(a temporary directory, a compiled cache in it, the first `prompts` corpus prompts); removed after."""
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (Debian package `valgrind`)")
    from benchmarks.corpus import build_corpus
    from guard import Guard

    tmp = Path(tempfile.mkdtemp(prefix="guard-cachesim-"))
    try:
        cache_dir = tmp / "cache"
        Guard.from_paths(cache_dir=str(cache_dir))  # compile once; the measured processes load the cache
        yield tmp, cache_dir, [c["text"] for c in build_corpus(prompts)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(kinds=KINDS, *, prompts: int = 200, ll_kib: int = 1024, log=print) -> dict[str, dict[str, float]]:
    with _workspace(prompts) as (tmp, cache_dir, texts):
        prompts_path = tmp / "prompts.json"
        prompts_path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        costs = {}
        for kind in kinds:
            short = _cachegrind(kind, 1, prompts_path, cache_dir, ll_kib * 1024, tmp)
            long = _cachegrind(kind, 3, prompts_path, cache_dir, ll_kib * 1024, tmp)
            costs[kind] = per_request(short, long, 2 * len(texts))
            log(f"  {kind}: " + ", ".join(f"{k} {v:,.0f}" for k, v in costs[kind].items()))
        return breakdown(costs)


def _valgrind_cmd(out_file: Path, ll_bytes: int) -> list[str]:
    return ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--LL={ll_bytes},16,64", "--D1=32768,8,64",
            "--I1=32768,8,64", f"--cachegrind-out-file={out_file}"]


def _served(kind: str, seconds: float, bodies_path: Path, script: Path, cache_dir: Path, ll_bytes: int, tmp: Path) -> tuple[dict[str, int], int]:
    """(cachegrind totals, requests answered) of one server of `kind` under valgrind, loaded for `seconds`."""
    import signal

    from benchmarks import http_bench

    port = http_bench._free_port()
    cmd = _valgrind_cmd(tmp / f"server-{kind}-{seconds}.out", ll_bytes) + [
        sys.executable, "-m", "benchmarks.http_bench", "serve", "--kind", kind, "--port", str(port), "--cache-dir", str(cache_dir)]
    if kind == "decided":
        cmd += ["--bodies", str(bodies_path)]
    err_path = tmp / f"server-{kind}-{seconds}.err"
    with open(err_path, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_measured_env(), stdout=subprocess.DEVNULL, stderr=err)
        try:
            http_bench._wait_ready(port, proc, timeout=900.0)
            if shutil.which("wrk"):
                requests = http_bench.run_wrk(port, script, 16, seconds)["requests"]
            else:
                requests = http_bench.load(port, str(bodies_path), 16, seconds)["requests"]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly; valgrind then writes its summary
                try:
                    proc.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return parse_summary(err_path.read_text(encoding="utf-8", errors="replace")), int(requests)


def measure_servers(kinds=KINDS, *, seconds: tuple[float, float] = (15.0, 45.0), prompts: int = 200, ll_kib: int = 1024,
                    log=print) -> dict[str, dict[str, float]]:
    from benchmarks import http_bench

    with _workspace(prompts) as (tmp, cache_dir, texts):
        bodies = [json.dumps({"prompt": t, "n": 1, "size": "1024x1024"}, ensure_ascii=False) for t in texts]
        bodies_path = tmp / "bodies.json"
        bodies_path.write_text(json.dumps(bodies, ensure_ascii=False), encoding="utf-8")
        script = tmp / "bodies.lua"
        http_bench._wrk_script(bodies, script)
        costs = {}
        for kind in kinds:
            (short, n_short), (long, n_long) = (
                _served(kind, sec, bodies_path, script, cache_dir, ll_kib * 1024, tmp) for sec in seconds)
            if n_long <= n_short:
                raise RuntimeError(f"{kind}: the longer run answered no more requests ({n_long} vs {n_short})")
            costs[kind] = per_request(short, long, n_long - n_short)
            log(f"  {kind} (server, {n_short} and {n_long} requests): " + ", ".join(f"{k} {v:,.0f}" for k, v in costs[kind].items()))
        return breakdown(costs)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", default=",".join(KINDS), help="apps to count, of: " + ", ".join(KINDS))
    ap.add_argument("--prompts", type=int, default=200, help="corpus prompts per pass")
    ap.add_argument("--ll-kib", type=int, default=1024, help="simulated last-level cache, KiB")
    ap.add_argument("--server", action="store_true", help="count inside the benchmark's uvicorn servers under load")
    ap.add_argument("--seconds", default="15,45", help="with --server: the two load durations, seconds")
    ap.add_argument("--child", nargs=4, metavar=("KIND", "PASSES", "PROMPTS", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, passes, prompts_path, cache_dir = args.child
        child(kind, int(passes), prompts_path, cache_dir)
        return 0
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        ap.error(f"unknown kinds: {', '.join(unknown)}")
    try:
        if args.server:
            try:
                short, long = (float(x) for x in args.seconds.split(","))
            except ValueError:
                ap.error("--seconds takes two durations, e.g. 15,45")
            if not 0 < short < long:
                ap.error("--seconds: the second duration must be longer than the first")
            rows = measure_servers(kinds, seconds=(short, long), prompts=args.prompts, ll_kib=args.ll_kib)
        else:
            rows = measure(kinds, prompts=args.prompts, ll_kib=args.ll_kib)
    except RuntimeError as exc:
        print(f"cachesim: {exc}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
