"""Smoke test of the benchmark machinery (benchmarks/): a tiny synthetic lexicon and a few prompts, through the
same build and serve worker processes and the report. It checks the structure of the output, never timings."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import baselines, corpus, http_bench, report, run, synth  # noqa: E402
from benchmarks.timing import by_group, interleaved, percentile  # noqa: E402


def test_synthetic_lexicon_follows_the_schema(tmp_path):
    from guard.lexicon.loader import load_lexicons

    summary = synth.write_lexicons(tmp_path, 400, per_file=20)
    assert summary["files"] == 3 and summary["aliases"] == 400
    loaded = load_lexicons([tmp_path])
    assert synth.count_lexicon_aliases(loaded) == 400
    scripts = "".join(v for _, lex in loaded.files for c in lex.characters for vs in c.names.values() for v in vs)
    assert any("\u30a0" <= ch <= "\u30ff" for ch in scripts)  # katakana
    assert any("\uac00" <= ch <= "\ud7a3" for ch in scripts)  # hangul
    assert any("\u4e00" <= ch <= "\u9fff" for ch in scripts)  # hanzi


def test_corpus_shape(tmp_path):
    synth.write_lexicons(tmp_path, 80, per_file=10)
    prompts = corpus.build_corpus(60, lexicon_paths=[tmp_path], dev_path=tmp_path / "none.jsonl")
    assert len(prompts) == 60
    assert all(50 <= len(p["text"]) <= 500 for p in prompts)
    assert {p["group"] for p in prompts} <= set(corpus.GROUPS)
    stats = corpus.corpus_stats(prompts)
    assert stats["prompts"] == 60 and sum(stats["by_group"].values()) == 60


def test_baselines_find_names():
    names = ["pikachu", "ピカチュウ", "raichu"]
    text = "Pikachu and ピカチュウ on a hill"
    for name in ("regex", "flashtext", "ahocorasick", "rapidfuzz"):
        assert baselines.BUILDERS[name](names)(text), name


def test_timing_helpers():
    prompts = [{"text": "a", "group": "latin"}, {"text": "b", "group": "korean"}]
    samples = interleaved({"len": len}, prompts, passes=3, warmup_passes=0)
    assert len(samples["len"]) == 6
    stats = by_group(samples["len"], prompts, ("latin", "korean"))
    assert {"p50_us", "p99_us", "best_p50_us", "best_p99_us"} <= set(stats["all"])
    assert stats["latin"]["prompts"] == 1
    assert percentile([1, 2, 3, 4], 50) == 2


def test_wrk_script_quotes_bodies(tmp_path):
    path = tmp_path / "b.lua"
    http_bench._wrk_script(['{"prompt": "x]=]y"}', '{"prompt": "z"}'], path)
    text = path.read_text(encoding="utf-8")
    assert "[==[" in text and "done = function" in text


def test_run_end_to_end_on_a_tiny_lexicon(tmp_path):
    lex = tmp_path / "lex"
    synth.write_lexicons(lex, 160, per_file=20)
    out = tmp_path / "results"
    results = run.run(
        quick=True,
        sizes=[("bundled", None), ("400", 400)],
        lexicon_paths=[str(lex)],
        prompts=24,
        http=False,
        out_dir=out,
        dev_path=tmp_path / "none.jsonl",
        log=lambda *a: None,
    )
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["label"] for s in data["sizes"]] == ["bundled", "400"]
    for size in data["sizes"]:
        build, serve = size["build"], size["serve"]
        assert build["lexicon_aliases"] > 0 and build["compiled_patterns"] > 0
        assert {"parse_s", "compile_s", "cache_write_s", "peak_rss_mb"} <= set(build)
        assert serve["cache_hit"] is True
        assert {"startup_s", "guard_rss_mb", "latency", "hit_rates", "baseline_build"} <= set(serve)
        assert {"scan", "ahocorasick", "flashtext"} <= set(serve["latency"])
        for group in ("all", *corpus.GROUPS):
            assert group in serve["latency"]["scan"]
        assert "rapidfuzz" in serve["sampled"]
        assert size["ratios"]
    assert data["sizes"][1]["build"]["lexicon_aliases"] >= 400
    assert data["http"]["ran"] is False
    names = {t["target"] for t in data["targets"]}
    assert any("start-up" in n for n in names) and any("middleware" in n for n in names)
    assert all(t["pass"] in (True, False, None) for t in data["targets"])
    md = (out / "results.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## Latency per prompt", "## Ratios against the baselines", "## Build, start-up and memory"):
        assert heading in md
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        assert (out / "latency_vs_size.png").stat().st_size > 0
    assert results["meta"]["quick"] is True
    assert report.TARGETS["check_p99_1m_us"] == 1000.0


def test_decided_in_advance_answers_its_prompts_and_passes_on_the_rest():
    from guard import Guard

    g = Guard.default()
    engine = http_bench.DecidedInAdvance(g, ["Pikachu surfing at sunset"])
    first = engine.check("Pikachu surfing at sunset")
    assert first is engine.check("Pikachu surfing at sunset")  # the decision made at start-up, every time
    assert first.characters == ["pokemon/pikachu"]
    other = engine.check("Eevee in the rain")
    assert other.characters == ["pokemon/eevee"] and other is not engine.check("Eevee in the rain")


def test_http_run_measures_bare_guarded_and_decided_servers():
    """Three real uvicorn servers on loopback, a short load each (wrk if installed, else the Python client)."""
    prompts = ["Pikachu surfing at sunset", "a red fox in the snow", "ピカチュウが渋谷を走る", "Raiden Shogun in the rain"]
    out = http_bench.run(prompts, duration=1.0, connections=2, rounds=1, cache_dir=None, log=lambda *a: None)
    assert out["ran"] is True, out.get("reason")
    for kind in ("bare", "guarded", "decided"):
        assert out["summary"][kind]["rps"] > 0
        assert out["summary"][kind]["p50_us_1conn"] > 0
    assert out["added_p50_us"] == round(out["summary"]["guarded"]["p50_us_1conn"] - out["summary"]["bare"]["p50_us_1conn"], 1)
    assert round(out["added_p50_us_middleware_only"] + out["added_p50_us_check_in_server"], 1) == out["added_p50_us"]
    results = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text(encoding="utf-8"))
    results["http"] = out  # the committed results of the last full run, with this run's middleware part
    md = report.markdown(results)
    assert "| with GuardMiddleware, decisions made in advance |" in md
    assert f"the middleware and its JSON handling take {out['added_p50_us_middleware_only']:.0f} µs" in md
