"""The two exact indexes agree: the hashed index finds what the automaton finds, except windows inside Latin
words, which the boundary rule rejects anyway; and a scanner built on either gives the same matches."""
from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest

from guard.compiler import compile_lexicon
from guard.exact import AUTOMATON_LIMIT, AutomatonIndex, HashedIndex, build_index, pattern_hashes
from guard.lexicon.loader import lexicon_digest, load_lexicons
from guard.matcher import Scanner
from guard.normalize import is_latin_or_digit, remove_separators, script_of, separator_cuts
from guard.tables import StringColumn

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
FILLERS = [" ", "", "a", "x1", "の", "が", "和", "가", "-", "・", "2", "ä", "ー", " and ", "𠮷", "\u200b"]


def _inside_latin_word(t: str, s: int, e: int) -> bool:
    """The windows HashedIndex leaves out: the edge character has the Latin boundary rule and it and its
    neighbour outside the window are both Latin letters or digits."""
    def edge(c: str) -> bool:
        return script_of(c) in ("latin", "digit") and ord(c) < 0x2000

    def word(c: str) -> bool:
        return is_latin_or_digit(c)

    starts_inside = s > 0 and word(t[s - 1]) and word(t[s]) and edge(t[s])
    ends_inside = e < len(t) and word(t[e]) and word(t[e - 1]) and edge(t[e - 1])
    return starts_inside or ends_inside


@pytest.fixture(scope="module")
def indexes(guard):
    patterns = guard.compiled.patterns
    return AutomatonIndex(patterns), HashedIndex.build(patterns), list(patterns)


def _texts(patterns: list[str], n: int, seed: int) -> list[str]:
    r = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(r.randint(1, 12)):
            parts.append(r.choice(patterns) if r.random() < 0.6 else r.choice(FILLERS))
            parts.append(r.choice(FILLERS))
        out.append("".join(parts))
    return out


def test_hashed_index_finds_what_the_automaton_finds(indexes):
    auto, hashed, patterns = indexes
    for t in _texts(patterns, 400, seed=1):
        expected = sorted(h for h in auto.find(t) if not _inside_latin_word(t, h[1], h[2]))
        assert sorted(hashed.find(t)) == expected, t


def test_hashed_index_on_text_longer_than_its_power_table(indexes):
    auto, hashed, patterns = indexes
    t = " ".join(_texts(patterns, 300, seed=2))
    assert len(t) > 4096
    expected = sorted(h for h in auto.find(t) if not _inside_latin_word(t, h[1], h[2]))
    assert expected and sorted(hashed.find(t)) == expected


def test_breaks_count_as_word_edges(indexes):
    _auto, hashed, patterns = indexes
    pid = patterns.index("pikachu")
    text = "a p i k a c h u b"
    joined = remove_separators(text)
    assert (pid, 1, 8) not in hashed.find(joined)  # inside the joined word "apikachub"
    assert (pid, 1, 8) in hashed.find(joined, separator_cuts(text))


def test_hashes_of_patterns_and_of_windows_agree():
    patterns = ["ab", "b", "ピカ", "𠮷", "x" * 5000]
    index = HashedIndex.build(StringColumn.of(patterns))
    assert sorted(index.find("ab ピカ 𠮷 " + "x" * 5000)) == [(0, 0, 2), (2, 3, 5), (3, 6, 7), (4, 8, 5008)]
    assert len(set(pattern_hashes(patterns).tolist())) == len(patterns)
    with pytest.raises(ValueError, match="empty pattern"):
        pattern_hashes(["a", ""])
    assert index.find("") == []


def test_hashed_index_survives_pickling(indexes):
    _auto, hashed, patterns = indexes
    restored = pickle.loads(pickle.dumps(hashed, protocol=pickle.HIGHEST_PROTOCOL))
    for t in _texts(patterns, 50, seed=3):
        assert restored.find(t) == hashed.find(t)


def test_index_kind_follows_size():
    assert build_index(["a", "b"]).kind == "automaton"
    assert build_index(["a", "b"], "hashed").kind == "hashed"
    assert AUTOMATON_LIMIT >= 100_000  # the bundled lexicons stay on the faster automaton
    with pytest.raises(ValueError, match="unknown exact index kind"):
        build_index(["a"], "trie")


@pytest.fixture(scope="module")
def hashed_scanner(session_cache):
    files, _digest = lexicon_digest(None)
    compiled = compile_lexicon(load_lexicons(files), exact_kind="hashed")
    assert compiled.exact.kind == "hashed"
    return Scanner(pickle.loads(pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL)))


@pytest.mark.skipif(not DEV.exists(), reason="needs ../shared/eval/dev.jsonl")
def test_scanner_matches_are_the_same_on_either_index(guard, hashed_scanner):
    assert guard.compiled.exact.kind == "automaton"
    prompts = [json.loads(line)["prompt"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts += ["P i k a c h u and h u t a o", "ピ・カ・チュウ", "zzpikachuzz pikachu2 pikachu", "皮 卡 丘"]
    for prompt in prompts:
        for include in (False, True):
            assert hashed_scanner.analyze(prompt, include_candidates=include) == guard.scanner.analyze(
                prompt, include_candidates=include
            ), prompt


def test_pair_search_is_two_searches(indexes):
    auto, hashed, patterns = indexes
    for t in _texts(patterns, 200, seed=4) + ["P i k a c h u", "ピ・カ・チュウ", "\x00pikachu\x00"]:
        joined, cuts = remove_separators(t), separator_cuts(t)
        assert hashed.find_pair(t, joined, cuts) == (hashed.find(t), hashed.find(joined, cuts))
        assert auto.find_pair(t, joined, cuts) == (auto.find(t), auto.find(joined))


def test_latin_tables_agree_with_the_boundary_rule_everywhere():
    from guard.exact import _EDGE, _WORD
    from guard.normalize import is_latin_or_digit

    for o in range(0x110000):
        if 0xD800 <= o < 0xE000:
            continue
        c = chr(o)
        assert _WORD[min(o, 0x10000)] == is_latin_or_digit(c), hex(o)
        # A False edge only lets more windows through; a True one must be right.
        assert not _EDGE[min(o, 0x10000)] or script_of(c) in ("latin", "digit"), hex(o)


@pytest.mark.parametrize("native", [True, False], ids=["C automaton", "ahocorasick-rs"])
def test_pattern_finder_gives_the_same_hits_either_way(monkeypatch, native):
    import guard.exact as exact

    if native and exact.kernels is None:
        pytest.skip("the C kernels are not built in this install")
    if not native:
        monkeypatch.setattr(exact, "kernels", None)
    patterns = ["ab", "b", "abc", "bc"]
    assert exact.pattern_finder(patterns)("xabcx") == [(0, 1, 3), (1, 2, 3), (2, 1, 4), (3, 2, 4)]
    assert exact.pattern_finder(patterns, leftmost_longest=True)("xabcx ab") == [(2, 1, 4), (0, 6, 8)]
    index = exact.AutomatonIndex(patterns)
    assert (index.native is not None) == native
    assert index.find_pair("abc", "bc") == ([(0, 0, 2), (1, 1, 2), (2, 0, 3), (3, 1, 3)], [(1, 0, 1), (3, 0, 2)])
