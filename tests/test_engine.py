"""guard.engine.Guard and the public API: construction, the Match shape, and scanning at the edges."""
from __future__ import annotations

import re
import threading
from dataclasses import FrozenInstanceError

import pytest

import guard as guard_pkg
from detectkit import assert_offsets, ids, match_for
from guard import Guard, Match
from guard.errors import GuardError, LexiconError


# -- construction -------------------------------------------------------------------------------------------------
def test_default_uses_the_bundled_lexicons(guard):
    assert isinstance(guard, Guard)
    assert {"genshin_impact.yaml", "horizon.yaml", "pokemon.yaml"} <= {p.name for p in guard.lexicon_paths}
    assert re.fullmatch(r"[0-9a-f]{16}", guard.lexicon_version)
    assert len(guard.compiled.characters) == 1025 + 115


def test_from_paths_with_a_file_or_a_directory(mini_guard, mini_lexicon_dir, session_cache):
    from_dir = Guard.from_paths([mini_lexicon_dir], cache_dir=session_cache)
    assert from_dir.lexicon_version == mini_guard.lexicon_version
    assert [p.name for p in from_dir.lexicon_paths] == ["testverse.yaml"]
    for g in (mini_guard, from_dir):
        assert ids(g.scan("Zorblax and Pikachu")) == ["testverse/zorblax"]  # the bundled lexicons are replaced


def test_from_paths_without_the_cache(mini_lexicon_dir):
    g = Guard.from_paths([str(mini_lexicon_dir / "testverse.yaml")], use_cache=False)
    assert ids(g.scan("ゾーブラックスを描いて")) == ["testverse/zorblax"]


def test_from_paths_errors(tmp_path):
    with pytest.raises(LexiconError) as exc:
        Guard.from_paths([tmp_path / "missing.yaml"])
    assert "missing.yaml" in str(exc.value) and "no such file" in str(exc.value)
    with pytest.raises(LexiconError, match="no lexicon files found"):
        Guard.from_paths([tmp_path])
    assert issubclass(LexiconError, GuardError) and issubclass(LexiconError, ValueError)


def test_the_compiled_cache_is_reused(mini_lexicon_dir, session_cache):
    before = set(session_cache.iterdir())
    Guard.from_paths([mini_lexicon_dir], cache_dir=session_cache)
    assert set(session_cache.iterdir()) == before  # a hit writes nothing new


# -- the Match ------------------------------------------------------------------------------------------------------
def test_match_fields(guard):
    m = guard.scan("Pikachu surfing at sunset")[0]
    assert isinstance(m, Match)
    assert (m.character_id, m.franchise, m.rightsholder) == ("pokemon/pikachu", "pokemon", "The Pokémon Company")
    assert (m.start, m.end, m.surface, m.alias, m.method, m.score) == (0, 7, "Pikachu", "Pikachu", "exact", 1.0)
    assert m.normalized == "pikachu" and m.lang == "en" and m.confirmed is True
    assert m.evidence
    with pytest.raises(FrozenInstanceError):
        m.start = 3  # type: ignore[misc]


def test_match_to_dict_is_json_ready(guard):
    import json

    d = guard.scan("Hu Tao")[0].to_dict()
    assert set(d) >= {"character_id", "franchise", "rightsholder", "start", "end", "surface", "alias", "method", "score",
                      "normalized", "lang", "confirmed", "evidence"}
    assert isinstance(d["evidence"], list)
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d


@pytest.mark.parametrize(
    "prompt, cid, franchise, rightsholder",
    [
        ("Hu Tao", "genshin_impact/hutao", "genshin_impact", "HoYoverse"),
        ("Aloy hunting a Thunderjaw", "genshin_impact/aloy", "horizon", "Sony Interactive Entertainment"),
        ("ピカチュウ", "pokemon/pikachu", "pokemon", "The Pokémon Company"),
    ],
)
def test_franchise_and_rightsholder(guard, prompt, cid, franchise, rightsholder):
    m = match_for(guard.scan(prompt), cid)
    assert (m.franchise, m.rightsholder) == (franchise, rightsholder)


@pytest.mark.parametrize(
    "prompt, method",
    [
        ("Pikachu", "exact"),
        ("ぴかちゅう", "variant"),
        ("P i k a c h u", "despaced"),
        ("Pikachoo", "fuzzy"),
        ("Ayaka", "partial"),
    ],
)
def test_methods_and_scores(guard, prompt, method):
    m = guard.scan(prompt)[0]
    assert m.method == method
    assert 0 < m.score <= 1
    assert (m.score == 1.0) == (method == "exact")
    assert m.evidence, "every match explains itself"


def test_lexicon_ids_are_the_data_ids(guard):
    got = {c.id for c in guard.compiled.characters}
    assert {"pokemon/pikachu", "pokemon/mr-mime", "pokemon/nidoran-f", "pokemon/type-null", "genshin_impact/hutao",
            "genshin_impact/kamisatoayaka", "genshin_impact/aloy"} <= got


# -- scanning at the edges ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", " ", "\n", "\u200b", "!!!", "12345", "ー", "ﾞ", "\u0301"])
def test_degenerate_inputs(guard, text):
    assert guard.scan(text, include_candidates=True) == []


def test_long_prompt(guard):
    filler = "a quiet street with lanterns and rain, " * 2000
    text = filler + "Pikachu " + filler + "ピカチュウ"
    matches = guard.scan(text)
    assert_offsets(text, matches)
    assert [m.surface for m in matches if m.character_id == "pokemon/pikachu"] == ["Pikachu", "ピカチュウ"]


def test_repeated_mentions(guard):
    text = " ".join(["Pikachu"] * 50)
    matches = guard.scan(text)
    assert len(matches) == 50
    assert_offsets(text, matches)


def test_threads_share_one_guard(guard):
    prompts = ["Pikachu and Raichu", "ピカチュウとリザードン", "Hu Tao in Liyue", "P1kachu", "Pikachoo", "원신 설탕"] * 20
    expected = [guard.scan(p) for p in prompts]
    results: list = [None] * len(prompts)

    def work(i: int) -> None:
        results[i] = guard.scan(prompts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_module_level_scan_uses_the_default_guard(guard, monkeypatch):
    import guard.engine as engine

    monkeypatch.setattr(engine, "_default", guard)
    assert engine.default_guard() is guard
    assert [m.character_id for m in guard_pkg.scan("Pikachu surfing at sunset")] == ["pokemon/pikachu"]


def test_lone_surrogate_does_not_crash(guard):
    assert ids(guard.scan("Pikachu \ud800 Raichu")) == ["pokemon/pikachu", "pokemon/raichu"]


@pytest.mark.parametrize(
    "prompt",
    [
        "A bloody fight: Pikachu kills a man",             # a rewrite, rescanned once
        "A bloody fight: Pikachu and Eevee kill a man",    # two mentions rewritten
        "ピカチュウが血まみれで戦う",                         # a Japanese rewrite
        "Raiden Shogun and Pikachu at a bloody massacre",  # two rightsholders
    ],
)
def test_check_rescans_rewrites_like_the_policy_engine_with_a_plain_rescan(guard, prompt):
    """Guard.check hands the policy engine the scanner's own normalized text of each rewritten prompt; the
    engine's general path (a rescan that returns matches only, then normalize) must decide the same."""
    matches, titles, nt = guard.scanner.analyze_normalized(prompt)
    via_guard = guard.check(prompt).model_dump(exclude={"decision_id", "elapsed_ms"})
    plain = guard.policy.decide(prompt, matches, None, rescan=guard.scan, normalized=nt, titles=titles or None)
    assert plain.model_dump(exclude={"decision_id", "elapsed_ms"}) == via_guard
    assert via_guard["action"] == "rewrite"


def test_max_rewrites_from_paths():
    from guard import Guard

    prompt = "Kakuna with Yoimiya and Nahida in a garden"  # a crossover: the example policy rewrites both
    assert Guard.default().check(prompt).action == "rewrite"
    d = Guard.from_paths(max_rewrites=1).check(prompt)
    assert d.action == "reject" and [r.code for r in d.rejections] == ["rewrite_too_many"]
    assert Guard.from_paths(max_rewrites=2).check(prompt).action == "rewrite"
    with pytest.raises(ValueError):
        Guard.from_paths(max_rewrites=0)


def test_a_name_two_characters_share_is_rewritten_once(guard):
    # Nidoran names Nidoran♀ and Nidoran♂: two mentions of one span, replaced once.
    d = guard.check("Nidoran covered in blood", {"commercial": False})
    assert d.action == "rewrite" and len(d.matches) == 2
    (replacement,) = {m.replacement for m in d.matches}
    assert d.prompt == replacement[0].upper() + replacement[1:] + " covered in blood"


def test_the_scanners_match_constructor_makes_the_same_frozen_match():
    from guard.models import new_match

    values = ("pokemon/mew", "pokemon", None, 3, 6, "Mew", "Mew", "fuzzy", 0.9, "mew", "en", False, ("a", "b"))
    fast, slow = new_match(*values), Match(*values)
    assert fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow) and fast.to_dict() == slow.to_dict()
    with pytest.raises(FrozenInstanceError):
        fast.start = 4  # type: ignore[misc]


@pytest.mark.parametrize("prompt", ["Pika\x00chu drinking beer", "Pikachu drinking be\x00er", "Pika\x7fchu\x01 drinking beer"])
def test_a_control_character_hides_neither_a_name_nor_a_theme(prompt):
    guard = Guard.default()
    plain = guard.check("Pikachu drinking beer")
    d = guard.check(prompt)
    assert (d.action, d.characters, d.themes) == (plain.action, plain.characters, plain.themes)
    m = d.matches[0]
    assert prompt[m.start:m.end].replace("\x00", "").replace("\x7f", "") == "Pikachu"
