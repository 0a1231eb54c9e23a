"""The benchmark suite, in one command:

    .venv/bin/python -m benchmarks.run            # full: bundled lexicons, 100k and 1M aliases, middleware (~15 min)
    .venv/bin/python -m benchmarks.run --quick    # bundled and 30k aliases, fewer prompts (about a minute)

Writes benchmarks/results/results.json, results.md and latency_vs_size.png (see docs/benchmarks.md).

Each lexicon size runs in two fresh processes: `build` (parse the YAML files, compile without a cache, write
the cache) and `serve` (start a Guard from the cache, then per-prompt latency of scan and check next to the
baselines, interleaved prompt by prompt). Synthetic sizes are the bundled lexicons plus generated files
(benchmarks/synth.py) in a temporary directory. The middleware runs last, on the bundled lexicons.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results"

# (label, total aliases or None for the bundled lexicons)
FULL_SIZES = [("bundled", None), ("100k", 100_000), ("1M", 1_000_000)]
QUICK_SIZES = [("bundled", None), ("30k", 30_000)]

# Only for a Guard.from_paths that parses every file before it looks up the cache (before the digest-first
# lookup): above this many bytes of YAML the serve phase does not parse the files a second time, and start-up is
# composed of the build phase's parse time and the measured cache load (see worker._composed_startup).
REPARSE_LIMIT_BYTES = 8_000_000


def _label_size(text: str) -> tuple[str, Optional[int]]:
    t = text.strip().lower()
    if t == "bundled":
        return "bundled", None
    mult = 1
    if t.endswith("k"):
        mult, t = 1000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    n = int(float(t) * mult)
    return (f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)), n


def plan(quick: bool, label: str, total: Optional[int]) -> dict:
    """How much to measure at one size: passes over the corpus and prompt samples for the slow baselines."""
    big = total is not None and total >= 500_000
    mid = total is not None and not big
    if quick:
        return {
            "passes": 2,
            "fast_baselines": ["ahocorasick", "flashtext"] + ([] if total else ["regex"]),
            "sampled_baselines": {"rapidfuzz": 5} if total else {"rapidfuzz": 20},
            "baselines": ["ahocorasick", "flashtext", "regex", "rapidfuzz"] if not total else ["ahocorasick", "flashtext", "rapidfuzz"],
            "time_budget_s": 20,
        }
    return {
        "passes": 2 if big else 3,
        "fast_baselines": ["ahocorasick", "flashtext"] + ([] if total else ["regex"]),
        "sampled_baselines": ({"regex": 20, "rapidfuzz": 3} if big else {"regex": 100, "rapidfuzz": 10} if mid else {"rapidfuzz": 100}),
        "baselines": ["ahocorasick", "flashtext", "regex", "rapidfuzz"],
        "time_budget_s": 120,
    }


def _run_worker(phase: str, cfg: dict, tmp: Path, label: str, timeout: float) -> dict:
    cfg_path = tmp / f"{label}-{phase}.json"
    out_path = tmp / f"{label}-{phase}-out.json"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", phase, str(cfg_path), str(out_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"{label} {phase} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    out = json.loads(out_path.read_text(encoding="utf-8"))
    out["wall_s"] = round(time.perf_counter() - t, 1)
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def _text_kernels() -> str:
    """Whether the workers' scan uses the C text kernels (guard._speedups) or the pure-Python code."""
    from guard import speedups

    return "C (guard._speedups)" if speedups.kernels is not None else "pure Python"


def run(
    *,
    quick: bool = False,
    sizes: Optional[list[tuple[str, Optional[int]]]] = None,
    out_dir: Path = DEFAULT_OUT,
    prompts: Optional[int] = None,
    http: bool = True,
    http_duration: Optional[float] = None,
    keep_tmp: bool = False,
    lexicon_paths: Optional[list[str]] = None,
    dev_path: Optional[Path] = None,
    profile: bool = False,
    readme: Optional[Path] = None,
    log=print,
) -> dict:
    from benchmarks import corpus as corpus_mod
    from benchmarks import report, synth

    started = time.time()
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    n_prompts = prompts or (400 if quick else 2000)
    tmp = Path(tempfile.mkdtemp(prefix="guard-bench-"))
    base_paths = [str(p) for p in (lexicon_paths or [str(_bundled_dir())])]
    notes: list[str] = []
    results: dict = {"sizes": [], "notes": notes}
    try:
        log(f"corpus: {n_prompts} prompts")
        kw = {"lexicon_paths": base_paths}
        if dev_path is not None:
            kw["dev_path"] = dev_path
        prompts_list = corpus_mod.build_corpus(n_prompts, **kw)
        corpus_path = tmp / "corpus.json"
        corpus_path.write_text(json.dumps(prompts_list, ensure_ascii=False), encoding="utf-8")
        results["corpus"] = corpus_mod.corpus_stats(prompts_list)
        base_aliases = sum(
            sum(len(v) for v in rec.names.values()) + len(rec.aliases)
            for lex in corpus_mod.character_lexicons(base_paths)
            for rec in lex.characters
        )

        bundled_cache: Optional[str] = None
        for label, total in sizes:
            size: dict = {"label": label, "target_aliases": total}
            paths = list(base_paths)
            if total is not None:
                synth_dir = tmp / f"synth-{label}"
                extra = max(synth.NAMES_PER_CHARACTER, total - base_aliases)
                t = time.perf_counter()
                size["synthetic"] = synth.write_lexicons(synth_dir, extra, prefix="bench_" + label.lower())
                size["synthetic"]["generate_s"] = round(time.perf_counter() - t, 2)
                paths.append(str(synth_dir))
            cache_dir = tmp / f"cache-{label}"
            cfg = {
                "label": label,
                "lexicon_paths": paths,
                "cache_dir": str(cache_dir),
                "corpus_path": str(corpus_path),
                "names_path": str(tmp / f"names-{label}.json"),
                **plan(quick, label, total),
            }
            if profile and label == sizes[-1][0]:
                cfg["profile_dir"] = str(out_dir / "profiles")
            log(f"[{label}] build (parse, compile, write cache) ...")
            size["build"] = _run_worker("build", cfg, tmp, label, timeout=1800)
            b = size["build"]
            log(f"[{label}] {b['lexicon_aliases']:,} aliases -> {b['compiled_patterns']:,} patterns; parse {b['parse_s']} s, compile {b['compile_s']} s, peak RSS {b['peak_rss_mb']} MB")
            if b["lexicon_bytes"] > REPARSE_LIMIT_BYTES and not _digest_first():
                cfg.update(startup="composed", digest=b["digest"], parse_s=b["parse_s"])
            log(f"[{label}] serve (start-up from cache, latency, baselines) ...")
            size["serve"] = _run_worker("serve", cfg, tmp, label, timeout=1800)
            if not size["serve"].get("cache_hit", True):
                # The code or a lexicon file changed between the phases (someone is editing): the serve phase
                # compiled and wrote a fresh cache; measure again from that one.
                log(f"[{label}] the compiled cache was stale (code or lexicon changed during the run); serving again")
                size["serve_first_attempt"] = {k: size["serve"].get(k) for k in ("startup_s", "guard_rss_mb", "cache_hit")}
                size["serve"] = _run_worker("serve", cfg, tmp, label, timeout=1800)
            v = size["serve"]
            lat = v["latency"]
            msg = f"[{label}] start-up {v['startup_s']} s, RSS {v['guard_rss_mb']} MB; scan p50/p99 {lat['scan']['all']['p50_us']}/{lat['scan']['all']['p99_us']} us"
            if "check" in lat:
                msg += f"; check {lat['check']['all']['p50_us']}/{lat['check']['all']['p99_us']} us"
            msg += f"; ahocorasick {lat['ahocorasick']['all']['p50_us']}/{lat['ahocorasick']['all']['p99_us']} us"
            log(msg)
            if not v.get("cache_hit", True):
                notes.append(
                    f"{label}: the serve phase missed the compiled cache (a lexicon file or the compiler code changed "
                    "between the two phases), so its start-up time includes a compile."
                )
            if label == "bundled":
                bundled_cache = str(cache_dir)
            results["sizes"].append(size)

        if http:
            from benchmarks import http_bench

            log("middleware: bare echo app vs GuardMiddleware ...")
            hp = [p["text"] for p in prompts_list[:500]]
            results["http"] = http_bench.run(
                hp,
                duration=http_duration or (3.0 if quick else 8.0),
                connections=16,
                rounds=1 if quick else 5,
                cache_dir=bundled_cache or str(tmp / "cache-http"),
                log=log,
            )
            if not results["http"].get("ran"):
                log(f"middleware not measured: {results['http'].get('reason')}")
        else:
            results["http"] = {"ran": False, "reason": "skipped (--no-http)"}

        if any(s.get("serve", {}).get("startup_note") for s in results["sizes"]):
            notes.append(
                "Start-up at the largest size is composed: Guard.from_paths parses every lexicon file before it looks up "
                "the compiled cache, so its start-up is the YAML parse time (measured in the build phase) plus the cache "
                "load (measured); the files are not parsed a second time to save the run several minutes."
            )
        notes.append(
            "Baselines see the lexicon names as written, case-folded; they do no normalization, variants, boundary rules "
            "for CJK, typo matching or ambiguity handling. Their hits on prompts without characters are false alarms."
        )
        results["meta"] = {
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "elapsed_s": round(time.time() - started, 1),
            "quick": quick,
            "machine": _machine(),
            "python": platform.python_version(),
            "text_kernels": _text_kernels(),
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "command": "python -m benchmarks.run" + (" --quick" if quick else ""),
            "commit": _commit(),
        }
        paths = report.write(results, out_dir)
        log(f"wrote {paths['md']}, {paths['json']}, {paths['png']} in {results['meta']['elapsed_s']:.0f} s")
        if readme is not None:
            report.update_readme(readme, results)
            log(f"updated the benchmark block of {readme}")
        return results
    finally:
        if keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _digest_first() -> bool:
    """Whether Guard.from_paths looks up the compiled cache before parsing any lexicon file."""
    import guard.engine

    return hasattr(guard.engine, "load_compiled")


def _commit() -> Optional[str]:
    """The checkout's commit (with "+changes" when the tree differs from it), or None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "guard", "middleware", "lexicons", "benchmarks/*.py"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + ("+changes" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def _bundled_dir() -> Path:
    from guard.lexicon.loader import bundled_lexicon_dir

    return bundled_lexicon_dir()


def readme_target(args: argparse.Namespace) -> Optional[Path]:
    """The README whose benchmark block a run rewrites: --readme, else README.md after a full run with the
    default sizes, corpus, HTTP runs and output directory (the run the README describes), else none."""
    if args.readme:
        return Path(args.readme)
    if args.no_readme or args.quick or args.sizes or args.prompts or args.no_http or args.http_duration:
        return None
    return ROOT / "README.md" if Path(args.out).resolve() == DEFAULT_OUT.resolve() else None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="character-guard benchmarks (issue 6)")
    ap.add_argument("--quick", action="store_true", help="bundled and 30k aliases, 400 prompts, short HTTP runs")
    ap.add_argument("--sizes", help="comma-separated sizes, e.g. bundled,100k,1m")
    ap.add_argument("--prompts", type=int, help="corpus size (default 2000, quick 400)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default benchmarks/results)")
    ap.add_argument("--no-http", action="store_true", help="skip the middleware throughput benchmark")
    ap.add_argument("--http-duration", type=float, help="seconds per HTTP measurement")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (synthetic lexicons, caches)")
    ap.add_argument("--profile", action="store_true", help="pyinstrument profiles of compile, scan and check at the largest size, in OUT/profiles")
    ap.add_argument("--readme", help="the README whose benchmark block to rewrite (default: README.md after a full run "
                    "with the default sizes and output directory; never after --quick)")
    ap.add_argument("--no-readme", action="store_true", help="leave the README as it is")
    return ap


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    sizes = [_label_size(s) for s in args.sizes.split(",")] if args.sizes else None
    readme = readme_target(args)
    if readme is not None:
        from benchmarks import report

        report.check_readme(readme)  # before a run of ten minutes, not after it
    run(quick=args.quick, sizes=sizes, out_dir=Path(args.out), prompts=args.prompts, http=not args.no_http,
        http_duration=args.http_duration, keep_tmp=args.keep_tmp, profile=args.profile, readme=readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
