"""benchmarks/cachesim.py: reading cachegrind's summary, costs per request, and the middleware/check split."""
from __future__ import annotations

import shutil

import pytest

from benchmarks import cachesim

SUMMARY = """==4242== Cachegrind, a cache and branch-prediction profiler
==4242== I   refs:      6,181,101,153
==4242== I1  misses:      112,887,598
==4242== LLi misses:           10,919
==4242== I1  miss rate:          1.83%
==4242== LLi miss rate:          0.00%
==4242==
==4242== D   refs:      2,675,335,089  (1,763,924,579 rd   + 911,410,510 wr)
==4242== D1  misses:       85,334,789  (   75,329,401 rd   +  10,005,388 wr)
==4242== LLd misses:       27,451,357  (   22,541,222 rd   +   4,910,135 wr)
==4242== LL misses:        27,462,276  (   22,552,141 rd   +   4,910,135 wr)
"""


def test_parse_summary_reads_the_totals():
    assert cachesim.parse_summary(SUMMARY) == {
        "instructions": 6_181_101_153,
        "I1 misses": 112_887_598,
        "D1 misses": 85_334_789,
        "LL misses": 10_919 + 27_451_357,
    }


def test_parse_summary_names_a_missing_line():
    with pytest.raises(ValueError, match="LLd misses"):
        cachesim.parse_summary(SUMMARY.replace("LLd misses", "LLx misses"))


def test_costs_per_request_and_the_split():
    def totals(i, m):
        return {"instructions": i, "I1 misses": m, "D1 misses": 2 * m, "LL misses": m // 10}

    per = {
        kind: cachesim.per_request(totals(base, 1000), totals(base + 400 * cost, 1000 + 400 * miss), 400)
        for kind, base, cost, miss in (("bare", 10**9, 180_000, 4000), ("decided", 2 * 10**9, 300_000, 6000), ("guarded", 3 * 10**9, 600_000, 11000))
    }
    assert per["bare"]["instructions"] == 180_000 and per["guarded"]["D1 misses"] == 22_000
    rows = cachesim.breakdown(per)
    assert rows["middleware"]["instructions"] == 120_000 and rows["check"]["instructions"] == 300_000
    assert rows["check"]["I1 misses"] == 5000 and rows["middleware"]["LL misses"] == 200
    text = cachesim.table(rows)
    assert "| check | 300,000 | 5,000 | 10,000 | 500 |" in text
    assert text.splitlines()[0] == "| per request | instructions | I1 misses | D1 misses | LL misses |"


def test_unknown_kinds_are_refused(capsys):
    with pytest.raises(SystemExit):
        cachesim.main(["--kinds", "bare,fast"])
    assert "unknown kinds: fast" in capsys.readouterr().err


def test_without_valgrind_the_command_says_so(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert cachesim.main(["--kinds", "bare"]) == 2
    assert "valgrind is not installed" in capsys.readouterr().err


def test_the_measured_loop_drives_each_app(guard, tmp_path, monkeypatch):
    """The loop valgrind runs: every app answers the corpus requests (here without valgrind)."""
    import json

    from guard.cache import default_cache_dir
    from middleware import GuardMiddleware

    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps(["Pikachu surfing at sunset", "a red fox in the snow", "ピカチュウが渋谷を走る"]), encoding="utf-8")
    checked = []
    real_guard = GuardMiddleware._guard

    async def counting(self, route, scope, receive, send):
        checked.append(scope["path"])
        await real_guard(self, route, scope, receive, send)

    monkeypatch.setattr(GuardMiddleware, "_guard", counting)
    for kind in cachesim.KINDS:
        checked.clear()
        cachesim.child(kind, 2, str(prompts), str(default_cache_dir()))  # the session's Guard filled this cache
        assert len(checked) == (0 if kind == "bare" else 9), kind  # a warm-up pass and two counted ones


@pytest.mark.parametrize("seconds, message", [("15", "two durations"), ("a,b", "two durations"), ("30,10", "longer than the first")])
def test_server_mode_checks_its_durations(seconds, message, capsys):
    with pytest.raises(SystemExit):
        cachesim.main(["--server", "--seconds", seconds])
    assert message in capsys.readouterr().err


def test_server_mode_without_valgrind_says_so(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert cachesim.main(["--server", "--kinds", "bare"]) == 2
    assert "valgrind is not installed" in capsys.readouterr().err
