"""One lexicon size, in a fresh process: `python -m benchmarks.worker {build|serve} CONFIG.json OUT.json`.

build: parse the lexicon files, compile them (no cache) and write the compiled cache; time and memory of each.
serve: start a Guard from that cache as an application would (`Guard.from_paths(..., cache_dir=...)`), measure
start-up time and memory, then per-prompt latency of scan and check next to the baselines, interleaved.
"""
from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from benchmarks.timing import by_group, interleaved, peak_rss_bytes, rss_bytes, settle, summarize_us

GROUPS = ("latin", "japanese", "chinese", "korean")
MB = 1024 * 1024


def _mb(n: int) -> float:
    return round(n / MB, 1)


def build(cfg: dict) -> dict:
    from benchmarks.synth import count_lexicon_aliases
    from guard.cache import cache_key, cache_path, store
    from guard.compiler import compile_lexicon
    from guard.lexicon.loader import load_lexicons

    settle()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    loaded = load_lexicons(cfg["lexicon_paths"])
    t1 = time.perf_counter()
    with _profiled(cfg, "compile"):
        compiled = compile_lexicon(loaded)
    t2 = time.perf_counter()
    path = cache_path(loaded, Path(cfg["cache_dir"]))
    store(path, cache_key(loaded), compiled)
    t3 = time.perf_counter()
    settle()
    from benchmarks.baselines import lexicon_names

    Path(cfg["names_path"]).write_text(json.dumps(lexicon_names(loaded), ensure_ascii=False), encoding="utf-8")
    return {
        "digest": loaded.digest,
        "lexicon_aliases": count_lexicon_aliases(loaded),
        "lexicon_files": len(loaded.files),
        "lexicon_bytes": sum(Path(p).stat().st_size for p, _ in loaded.files),
        "compiled_patterns": len(compiled.patterns),
        "compiled_alias_entries": compiled.alias_count,
        "fuzzy_targets": len(compiled.fuzzy),
        "parse_s": round(t1 - t0, 3),
        "compile_s": round(t2 - t1, 3),
        "cache_write_s": round(t3 - t2, 3),
        "build_s": round(t3 - t0, 3),
        "cache_bytes": path.stat().st_size if path.exists() else None,
        "rss_after_build_mb": _mb(rss_bytes() - rss0),
        "peak_rss_mb": _mb(peak_rss_bytes()),
    }


def _timed_startup(cfg: dict):
    """Guard.from_paths from the cache, as an application starts, with the time spent in each step it takes:
    hashing the lexicon files, loading the compiled cache, and (on the older path, or on a miss) parsing."""
    import guard.cache as gcache
    import guard.engine as gengine

    spent = {"digest_s": 0.0, "parse_s": 0.0, "cache_load_s": 0.0}
    compiled_flag = {"compiled": False}
    wrapped = {"lexicon_digest": "digest_s", "load_lexicons": "parse_s", "compile_cached": "cache_load_s", "load_compiled": "cache_load_s"}
    originals = {name: getattr(gengine, name) for name in wrapped if hasattr(gengine, name)}
    orig_compile = gcache.compile_lexicon

    def timed(name, fn):
        def inner(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[wrapped[name]] += time.perf_counter() - t

        return inner

    def compile_lexicon(*a, **k):
        compiled_flag["compiled"] = True
        return orig_compile(*a, **k)

    for name, fn in originals.items():
        setattr(gengine, name, timed(name, fn))
    gcache.compile_lexicon = compile_lexicon
    try:
        t = time.perf_counter()
        g = gengine.Guard.from_paths(cfg["lexicon_paths"], cache_dir=cfg["cache_dir"])
        total = time.perf_counter() - t
    finally:
        for name, fn in originals.items():
            setattr(gengine, name, fn)
        gcache.compile_lexicon = orig_compile
    other = total - spent["digest_s"] - spent["parse_s"] - spent["cache_load_s"]
    return g, {
        "startup_s": round(total, 3),
        "startup_digest_s": round(spent["digest_s"], 3),
        "startup_parse_s": round(spent["parse_s"], 3),
        "startup_cache_load_s": round(spent["cache_load_s"], 3),
        "startup_other_s": round(other, 3),
        "cache_hit": not compiled_flag["compiled"],
        "digest_first": "load_compiled" in originals,
    }


def _composed_startup(cfg: dict):
    """For lexicons too large to parse twice in one run: load the compiled cache by the digest the build phase
    computed, then the policies, exactly as Guard.from_paths does after parsing; start-up is that time plus the
    YAML parse time measured in the build phase (Guard.from_paths parses every file before the cache lookup)."""
    import guard.cache as gcache
    import guard.engine as gengine
    from guard.lexicon.loader import LoadedLexicon

    def no_compile(*a, **k):
        raise RuntimeError("compiled cache missing: the build phase did not write it")

    orig = gcache.compile_lexicon
    gcache.compile_lexicon = no_compile
    try:
        t = time.perf_counter()
        compiled = gcache.compile_cached(LoadedLexicon(files=(), digest=cfg["digest"]), cache_dir=Path(cfg["cache_dir"]))
        t_cache = time.perf_counter() - t
        policy = gengine._load_policy(None, "reject")
        g = gengine.Guard(compiled, policy)
        total = time.perf_counter() - t
    finally:
        gcache.compile_lexicon = orig
    parse = cfg["parse_s"]
    return g, {
        "startup_s": round(parse + total, 3),
        "startup_parse_s": round(parse, 3),
        "startup_cache_load_s": round(t_cache, 3),
        "startup_other_s": round(total - t_cache, 3),
        "cache_hit": True,
        "startup_note": "composed: YAML parse time of the build phase + measured cache and policy load",
    }


def _hit_rates(methods: dict, prompts: list[dict]) -> dict:
    """Share of prompts with and without inserted characters on which each method reports anything."""
    out = {}
    pos = [p for p in prompts if p["positive"]]
    neg = [p for p in prompts if not p["positive"]]
    for name, fn in methods.items():
        out[name] = {
            "with_characters_hit": round(sum(1 for p in pos if fn(p["text"])) / max(1, len(pos)), 3),
            "without_characters_hit": round(sum(1 for p in neg if fn(p["text"])) / max(1, len(neg)), 3),
        }
    return out


def serve(cfg: dict) -> dict:
    t = time.perf_counter()
    import guard.engine  # noqa: F401 - import cost is not start-up from the cache
    from benchmarks import baselines

    try:
        import guard.policy.engine  # noqa: F401
    except ImportError:
        pass
    import_s = time.perf_counter() - t
    prompts = json.loads(Path(cfg["corpus_path"]).read_text(encoding="utf-8"))

    settle()
    rss0 = rss_bytes()
    if cfg.get("startup") == "composed":
        g, startup = _composed_startup(cfg)
    else:
        g, startup = _timed_startup(cfg)
    settle()
    guard_mb = _mb(rss_bytes() - rss0)
    result: dict = {"import_s": round(import_s, 3), **startup, "guard_rss_mb": guard_mb, "process_rss_mb": _mb(rss_bytes())}

    methods = {"scan": g.scan}
    if g.policy is not None:
        methods["check"] = g.check
    else:
        result["check_note"] = "no policy engine (guard/policy/engine.py missing): check not measured"

    # Baselines over the same lexicon names (written by the build phase).
    names = json.loads(Path(cfg["names_path"]).read_text(encoding="utf-8"))
    result["baseline_names"] = len(names)
    built: dict[str, object] = {}
    result["baseline_build"] = {}
    for name in cfg["baselines"]:
        if name in cfg.get("skip_baselines", {}):
            result["baseline_build"][name] = {"skipped": cfg["skip_baselines"][name]}
            continue
        t = time.perf_counter()
        built[name] = baselines.BUILDERS[name](names)
        result["baseline_build"][name] = {"build_s": round(time.perf_counter() - t, 3)}

    fast = {**methods, **{n: built[n] for n in cfg["fast_baselines"] if n in built}}
    samples = interleaved(fast, prompts, passes=cfg["passes"], warmup_passes=1, time_budget_s=cfg.get("time_budget_s"))
    result["latency"] = {name: by_group(s, prompts, GROUPS) for name, s in samples.items()}

    # Slow baselines on a sample of prompts, paired with the guard on the same sample.
    result["sampled"] = {}
    for name, k in cfg["sampled_baselines"].items():
        if name not in built:
            continue
        sample = _sample(prompts, k)
        pair = {"scan": g.scan, name: built[name]}
        s = interleaved(pair, sample, passes=1, warmup_passes=0)
        result["sampled"][name] = {
            "prompts": len(sample),
            name: summarize_us([ns for _, ns in s[name]]),
            "scan_same_prompts": summarize_us([ns for _, ns in s["scan"]]),
        }

    hit_methods = {"scan": g.scan, **{n: built[n] for n in cfg["fast_baselines"] if n in built}}
    result["hit_rates"] = _hit_rates(hit_methods, prompts)
    result["peak_rss_mb"] = _mb(peak_rss_bytes())
    for name, fn in methods.items():
        with _profiled(cfg, name):
            for p in prompts:
                fn(p["text"])
    return result


class _profiled:
    """pyinstrument around a block when the config asks for profiles; writes profile-<label>-<what>.txt."""

    def __init__(self, cfg: dict, what: str):
        self.dir = cfg.get("profile_dir")
        self.name = f"profile-{cfg.get('label', 'x')}-{what}.txt"
        self.p = None

    def __enter__(self):
        if self.dir:
            try:
                from pyinstrument import Profiler
            except ImportError:
                return self
            self.p = Profiler(interval=0.001)
            self.p.start()
        return self

    def __exit__(self, *exc):
        if self.p is not None:
            self.p.stop()
            Path(self.dir).mkdir(parents=True, exist_ok=True)
            (Path(self.dir) / self.name).write_text(self.p.output_text(unicode=True, color=False), encoding="utf-8")
        return False


def _sample(prompts: list[dict], k: int) -> list[dict]:
    """k prompts spread over the corpus, every group represented."""
    if k >= len(prompts):
        return list(prompts)
    step = len(prompts) / k
    return [prompts[int(i * step)] for i in range(k)]


def main(argv: list[str]) -> int:
    phase, cfg_path, out_path = argv
    cfg = json.loads(Path(cfg_path).read_text(encoding="utf-8"))
    gc.collect()
    result = build(cfg) if phase == "build" else serve(cfg)
    Path(out_path).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
