"""Timing and memory helpers shared by the benchmark workers."""
from __future__ import annotations

import gc
import os
import random
import resource
import time
from typing import Callable, Optional, Sequence

perf_ns = time.perf_counter_ns


def rss_bytes() -> int:
    """Resident set size of this process now."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:  # pragma: no cover - psutil is in the bench extra
        with open(f"/proc/{os.getpid()}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def settle() -> None:
    gc.collect()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending sequence."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summarize_us(samples_ns: Sequence[int]) -> dict:
    """p50, p90, p99, mean and max in microseconds."""
    s = sorted(samples_ns)
    if not s:
        return {"n": 0}
    us = 1e-3
    return {
        "n": len(s),
        "p50_us": round(percentile(s, 50) * us, 2),
        "p90_us": round(percentile(s, 90) * us, 2),
        "p99_us": round(percentile(s, 99) * us, 2),
        "mean_us": round(sum(s) / len(s) * us, 2),
        "max_us": round(s[-1] * us, 2),
    }


def interleaved(
    methods: dict[str, Callable[[str], object]],
    prompts: Sequence[dict],
    *,
    passes: int,
    warmup_passes: int = 1,
    seed: int = 5,
    time_budget_s: Optional[float] = None,
) -> dict[str, list[tuple[int, int]]]:
    """Time every method on every prompt, one prompt at a time, the methods in turn, so that noise from other
    processes falls on all methods alike. The order of the methods rotates from prompt to prompt, so that none
    is always the one that runs on a prompt the CPU caches have just seen. Returns per method a list of
    (prompt index, nanoseconds)."""
    order = list(range(len(prompts)))
    names = list(methods)
    r = random.Random(seed)
    for _ in range(warmup_passes):
        for i in order:
            for name in names:
                methods[name](prompts[i]["text"])
    out: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    started = time.monotonic()
    rotations = [names[k:] + names[:k] for k in range(len(names))] or [names]
    step = 0
    for _ in range(passes):
        r.shuffle(order)
        for i in order:
            text = prompts[i]["text"]
            step += 1
            for name in rotations[step % len(rotations)]:
                fn = methods[name]
                t0 = perf_ns()
                fn(text)
                out[name].append((i, perf_ns() - t0))
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
    return out


def _with_best(samples: list[tuple[int, int]]) -> dict:
    """Summary of all samples, plus best_* figures over the fastest of the passes of each prompt: the
    per-prompt minimum removes most of the time other processes take from this one on a shared machine,
    while slow prompts stay slow."""
    out = summarize_us([ns for _, ns in samples])
    best: dict[int, int] = {}
    for i, ns in samples:
        if i not in best or ns < best[i]:
            best[i] = ns
    b = summarize_us(list(best.values()))
    if b.get("n"):
        out.update({"prompts": b["n"], "best_p50_us": b["p50_us"], "best_p90_us": b["p90_us"], "best_p99_us": b["p99_us"], "best_mean_us": b["mean_us"]})
    return out


def by_group(samples: list[tuple[int, int]], prompts: Sequence[dict], groups: Sequence[str]) -> dict:
    out = {"all": _with_best(samples)}
    for g in groups:
        out[g] = _with_best([(i, ns) for i, ns in samples if prompts[i]["group"] == g])
    return out
