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
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{report.README_BEGIN}\nold figures\n{report.README_END}\n\nafter\n", encoding="utf-8")
    results = run.run(
        quick=True,
        sizes=[("bundled", None), ("400", 400)],
        lexicon_paths=[str(lex)],
        prompts=24,
        http=False,
        out_dir=out,
        dev_path=tmp_path / "none.jsonl",
        readme=readme,
        log=lambda *a: None,
    )
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nintro\n\n" + report.README_BEGIN) and text.endswith(report.README_END + "\n\nafter\n")
    assert "old figures" not in text and text.count(report.README_BEGIN) == 1
    assert "| bundled |" in text and "| 400 |" in text and "| check on bundled lexicons, p50 |" in text
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


def _server_run(p50_us: float, rps: float) -> dict:
    return {"latency": {"p50_us": p50_us, "p99_us": 2 * p50_us}, "throughput": {"rps": rps, "p50_us": 3 * p50_us, "p99_us": 9 * p50_us}}


def test_the_middleware_figures_pair_each_round_with_its_own_bare_server():
    runs = {
        "bare": [_server_run(200, 6000), _server_run(260, 7000), _server_run(210, 6500)],
        "guarded": [_server_run(330, 3600), _server_run(350, 3500), _server_run(300, 3000)],
        "decided": [_server_run(240, 5400), _server_run(300, 5600), _server_run(260, 5200)],
    }
    rounds = http_bench.paired_rounds(runs)
    assert [r["added_p50_us"] for r in rounds] == [130, 90, 90]
    assert [r["rps_share"] for r in rounds] == [0.6, 0.5, 0.462]
    assert [r["added_p50_us_middleware_only"] for r in rounds] == [40, 40, 50]
    assert [r["rps_share_middleware_only"] for r in rounds] == [0.9, 0.8, 0.8]
    # The medians of the rounds' own figures (90 µs, 50%; 40 µs, 80%), where the servers' medians would give
    # 330 - 210 = 120 µs, 3,500 / 6,500 = 54%, 260 - 210 = 50 µs and 5,400 / 6,500 = 83%.
    http = {"ran": True, **http_bench.summarize(runs)}
    assert (http["added_p50_us"], http["rps_share"]) == (90.0, 0.5)
    assert (http["added_p50_us_middleware_only"], http["rps_share_middleware_only"]) == (40.0, 0.8)
    assert http["added_p50_us_check_in_server"] == 50.0
    assert (http["summary"]["bare"]["rps"], http["summary"]["guarded"]["rps"]) == (6500, 3500)
    targets = {t["target"]: t for t in report.evaluate_targets({"sizes": [], "http": http})}
    assert targets["middleware: added median latency"]["note"] == "rounds: 130, 90, 90 µs"
    assert targets["middleware: share of bare app requests/s"]["note"] == "rounds: 60%, 50%, 46%"
    assert report._middleware_sentence(http) == (
        "Added median latency: 90 µs (rounds: 130, 90, 90 µs); requests/s kept: 50% (rounds: 60%, 50%, 46%)."
    )
    # A round whose bare server answered nothing has no share, and the others decide the median.
    silent = {kind: [_server_run(200, 0 if kind == "bare" else 3000)] + rs[1:] for kind, rs in runs.items()}
    assert http_bench.paired_rounds(silent)[0]["rps_share"] is None
    assert http_bench.summarize(silent)["rps_share"] == round((0.5 + 0.462) / 2, 3)
    assert report._per_round_note([r["rps_share"] for r in http_bench.paired_rounds(silent)], "{:.0%}") == "rounds: –, 50%, 46%"
    # One round: no per-round note, the figure is that round's.
    one = {"ran": True, "per_round": rounds[:1], "added_p50_us": 130.0, "rps_share": 0.6}
    assert report._middleware_sentence(one) == "Added median latency: 130 µs; requests/s kept: 60%."


def test_readme_block_from_a_full_run():
    """The README summary of the stored full run: every target with its verdict, every size, the middleware."""
    data = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text(encoding="utf-8"))
    block = report.readme_block(data)
    lines = block.splitlines()
    assert lines[0] == report.README_BEGIN and lines[-1] == report.README_END
    for t in data["targets"]:
        row = next(line for line in lines if line.startswith(f"| {t['target']} |"))
        verdict = {True: "PASS", False: "**FAIL**", None: "–"}[t["pass"]]
        assert row.endswith(f"| {verdict} |")
    for size in data["sizes"]:
        assert any(line.startswith(f"| {size['label']} | {size['build']['lexicon_aliases']:,} (") for line in lines)
    if data["http"].get("ran"):
        assert f"{data['http']['summary']['bare']['rps']:,.0f} |" in block


def test_readme_update_refuses_a_file_without_its_markers(tmp_path):
    data = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text(encoding="utf-8"))
    readme = tmp_path / "README.md"
    readme.write_text(f"no markers here\n{report.README_END}\n", encoding="utf-8")
    import pytest

    with pytest.raises(ValueError, match="README.md: the benchmark block markers are missing"):
        report.update_readme(readme, data)
    readme.write_text(f"{report.README_END}\n{report.README_BEGIN}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="in the wrong order"):
        report.update_readme(readme, data)
    assert readme.read_text(encoding="utf-8") == f"{report.README_END}\n{report.README_BEGIN}\n"  # left as it was


def test_which_runs_rewrite_the_readme(tmp_path):
    target = lambda *argv: run.readme_target(run.parser().parse_args(list(argv)))  # noqa: E731
    assert target() == ROOT / "README.md"
    assert target("--profile") == ROOT / "README.md"
    assert target("--quick") is None and target("--sizes", "bundled") is None and target("--prompts", "50") is None
    assert target("--no-readme") is None and target("--out", str(tmp_path)) is None
    assert target("--no-http") is None and target("--http-duration", "2") is None
    assert target("--quick", "--readme", str(tmp_path / "R.md")) == tmp_path / "R.md"


def test_ratios_and_times_read_plainly():
    assert report._fmt_ratio(3.24) == "3.2×" and report._fmt_ratio(0.79) == "0.79×" and report._fmt_ratio(0.96) == "0.96×"
    assert report._fmt_ratio(1 / 307) == "1/307" and report._fmt_ratio(1 / 16667) == "1/16,667"
    assert report._fmt_us(8_625_000) == "8.6 s" and report._fmt_us(30_000) == "30 ms" and report._fmt_us(42.4) == "42 µs"
    # Values that round up to the next unit are written in it.
    assert report._fmt_us(999_999) == "1.0 s" and report._fmt_us(9_996) == "10 ms" and report._fmt_us(999.7) == "1.00 ms"
    assert report._fmt_us(9.97) == "10 µs" and report._fmt_us(9.2) == "9.2 µs"


def test_the_command_checks_the_readme_before_it_runs(tmp_path, monkeypatch):
    """A README without the markers stops `python -m benchmarks.run --readme` at once, not after the run."""
    import pytest

    readme = tmp_path / "README.md"
    readme.write_text("no block here\n", encoding="utf-8")
    monkeypatch.setattr(run, "run", lambda **kw: pytest.fail("the run started"))
    with pytest.raises(ValueError, match="markers are missing"):
        run.main(["--quick", "--readme", str(readme)])
    readme.write_text(f"{report.README_BEGIN}\n{report.README_END}\n", encoding="utf-8")
    called = {}
    monkeypatch.setattr(run, "run", lambda **kw: called.update(kw))
    assert run.main(["--quick", "--readme", str(readme)]) == 0 and called["readme"] == readme


def test_spelling_sweep_spells_each_kind():
    import random

    from benchmarks import spelling_sweep

    rng = random.Random(3)
    assert spelling_sweep.spell("Raichu", "space", rng) == "R a i c h u"
    assert spelling_sweep.spell("Mew", "typo", rng) is None  # too short for a typo
    leet = spelling_sweep.spell("Raichu", "leet", rng)
    assert leet != "Raichu" and len(leet) == 6 and any(c.isdigit() for c in leet)
    invisible = spelling_sweep.spell("Raichu", "invisible", rng)
    assert len(invisible) == 7 and "".join(c for c in invisible if c not in spelling_sweep.INVISIBLE) == "Raichu"
    typo = spelling_sweep.spell("Raichu", "typo", rng)
    assert typo is not None and typo.lower() != "raichu" and abs(len(typo) - 6) <= 1
    try:
        spelling_sweep.spell("Raichu", "upside-down", rng)
    except ValueError as exc:
        assert "upside-down" in str(exc)
    else:
        raise AssertionError("an unknown kind was accepted")


def test_spelling_sweep_counts_what_the_scan_finds(guard, shared_characters):
    from benchmarks import spelling_sweep

    chars = spelling_sweep.characters(shared_characters)
    assert ("pokemon/pikachu", "Pikachu") in chars and len(chars) > 1000
    result = spelling_sweep.sweep(guard, [("pokemon/raichu", "Raichu"), ("pokemon/pikachu", "Pikachu"), ("x/none", "Zorblaxx")],
                                  ["space", "typo"], seed=1)
    assert result["space"]["cases"] == 3 and [m["name"] for m in result["space"]["misses"]] == ["Zorblaxx"]
    assert result["space"]["recall"] == round(2 / 3, 4)
