"""Policies acting on titles (works): "a video in the style of <title>" (issue 7).

Titles are not opt-in: a title is allowed unless a rule of its rightsholder's policy (`titles.<id>`, then
`titles."*"`) fires. Title verdicts combine with the characters' verdicts.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from guard.engine import Guard
from guard.errors import PolicyError
from guard.models import CheckContext, Match
from guard.policy import PolicyEngine
from guard.policy.loader import bundled_dir

from .helpers import TPC, ctx, fake_scan, write

AT = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
POKEMON_ANIME = "bangumi/3019"  # ポケットモンスター, linked to the pokemon franchise
STYLE = "a video in the style of ポケットモンスター"


def check(guard, prompt: str, **context):
    context.setdefault("at", AT)
    return guard.check(prompt, CheckContext(**context))


# -- through the real Guard and the bundled example policies -------------------------------------------------
def test_title_is_found_and_linked(guard):
    [t] = guard.scan_titles(STYLE)
    assert (t.character_id, t.franchise, t.rightsholder) == (POKEMON_ANIME, "pokemon", TPC)


def test_title_without_applicable_rule_is_allowed(guard):
    d = check(guard, STYLE)  # personal use: no title rule of the example fires
    assert d.action == "allow"
    assert d.prompt == STYLE
    assert d.matches == [] and d.rejections == [] and d.tags == []


def test_title_rule_tags(guard):
    d = check(guard, STYLE, commercial=True, region="JP")
    assert d.action == "tag"
    [m] = d.matches
    assert (m.character_id, m.action, m.rule) == (POKEMON_ANIME, "tag", "tpc-example:title:bangumi/3019#anime-style-commercial")
    assert "use=commercial" in m.reason
    assert [(t.rightsholder, t.character_ids, t.licence_id, t.share_rate) for t in d.tags] == [
        (TPC, [POKEMON_ANIME], "TPC-EX-2025-COM", 0.15)
    ]


def test_title_rule_rejects(guard):
    d = check(guard, STYLE, commercial=True, region="CN")
    assert d.action == "reject"
    assert d.matches[0].rule == "tpc-example:title:*#title-commercial"
    [r] = d.rejections
    assert (r.code, r.character_id) == ("tpc_title_not_licensed", POKEMON_ANIME)
    assert "ポケットモンスター" in r.message
    assert d.tags == []


def test_title_rule_rewrites_through_the_rescan_loop(guard):
    d = check(guard, "ポケットモンスターの選挙ポスター")
    assert d.action == "rewrite"
    assert d.prompt == "アニメ作品の選挙ポスター"
    [m] = d.matches
    assert (m.action, m.rule, m.replacement) == ("rewrite", "tpc-example:title:*#title-politics", "アニメ作品")


def test_title_combines_with_a_character(guard):
    # personal use: Pikachu is allowed by its rule, no title rule fires (the title is not reported)
    d = check(guard, "ピカチュウとポケットモンスターの海辺")
    assert d.action == "allow"
    assert [m.character_id for m in d.matches] == ["pokemon/pikachu"]
    # commercial in CN: Pikachu is tagged (spring promo, any region), the title is rejected: the prompt is rejected
    d = check(guard, "ピカチュウとポケットモンスターの海辺", commercial=True, region="CN")
    assert d.action == "reject"
    assert {m.character_id: (m.action, m.rule) for m in d.matches} == {
        "pokemon/pikachu": ("tag", "tpc-example:character:pokemon/pikachu#spring-promo"),
        POKEMON_ANIME: ("reject", "tpc-example:title:*#title-commercial"),
    }
    assert [(r.code, r.character_id) for r in d.rejections] == [("tpc_title_not_licensed", POKEMON_ANIME)]
    assert d.tags == []
    # commercial in JP: both are tagged, each under its licence
    d = check(guard, "ピカチュウとポケットモンスターの海辺", commercial=True, region="JP")
    assert d.action == "tag"
    assert sorted((t.licence_id, tuple(t.character_ids)) for t in d.tags) == [
        ("TPC-EX-2025-COM", (POKEMON_ANIME,)), ("TPC-EX-2026-SPRING-PROMO", ("pokemon/pikachu",))
    ]
    # politics: the character is dropped, the title replaced, in the same rewrite
    d = check(guard, "ピカチュウとポケットモンスターの選挙ポスター")
    assert d.action == "rewrite"
    assert d.prompt == "アニメ作品の選挙ポスター"
    assert [(m.character_id, m.action) for m in d.matches] == [("pokemon/pikachu", "rewrite"), (POKEMON_ANIME, "rewrite")]


def test_title_does_not_make_a_character_crossover(guard):
    # an unlinked title (no rightsholder) must not count as another rightsholder's character
    d = check(guard, "Pikachu in the style of ONE PIECE", commercial=True, region="JP")
    assert d.action == "tag"
    assert [m.character_id for m in d.matches] == ["pokemon/pikachu"]


def test_unlinked_title_is_allowed(guard):
    d = check(guard, "a poster in the style of ONE PIECE", commercial=True)
    assert d.action == "allow" and d.matches == []


def test_title_of_rightsholder_without_policy_is_allowed(guard):
    # only the HoYoverse example: The Pokémon Company has no policy here
    g = Guard(guard.compiled, PolicyEngine.from_paths([bundled_dir() / "hoyoverse.example.yaml"]))
    d = check(g, STYLE, commercial=True, region="CN")
    assert d.action == "allow" and d.matches == []


# -- the engine alone, on hand-built matches -----------------------------------------------------------------
def title(prompt: str, surface: str, tid: str = POKEMON_ANIME, *, holder=TPC, franchise="pokemon") -> Match:
    s = prompt.index(surface)
    return Match(tid, franchise, holder, s, s + len(surface), surface, surface, "title", 1.0, surface.casefold())


TITLES = """
titles:
  bangumi/3019:
    rules:
      - {id: violent-generic, when: {themes: [violence]}, action: rewrite, rewrite: generic}
  "*":
    rules:
      - {id: any-commercial, when: {use: commercial}, action: reject, code: no_style}
"""


def test_decide_without_titles_keyword_is_unchanged(engine_from):
    p = "Pikachu in the style of Pokemon"
    c = ctx(at=AT, commercial=True)
    d = engine_from(TITLES).decide(p, fake_scan(p), c, rescan=fake_scan)
    before = engine_from().decide(p, fake_scan(p), c, rescan=fake_scan)
    assert [(m.character_id, m.action, m.rule) for m in d.matches] == [
        (m.character_id, m.action, m.rule) for m in before.matches]
    assert (d.action, d.prompt) == (before.action, before.prompt)


def test_decide_title_rules(engine_from):
    eng = engine_from(TITLES)
    p = "a bloody battle in the style of Pokemon"
    rescan = lambda text: [title(text, "Pokemon")] if "Pokemon" in text else []  # noqa: E731
    d = eng.decide(p, [], ctx(at=AT), rescan=rescan, titles=[title(p, "Pokemon")])
    assert d.action == "rewrite" and d.prompt == "a bloody battle in the style of an original work"
    assert d.matches[0].rule == "tpc-test:title:bangumi/3019#violent-generic"  # built-in phrase for titles
    # the "*" rules apply to any title linked to the policy's rightsholder
    p = "a poster in the style of Pocket Monsters"
    d = eng.decide(p, [], ctx(at=AT, commercial=True), titles=[title(p, "Pocket Monsters", "bangumi/1")])
    assert d.action == "reject" and d.matches[0].rule == "tpc-test:title:*#any-commercial"
    # no rule fires: allowed, not reported
    d = eng.decide(p, [], ctx(at=AT), titles=[title(p, "Pocket Monsters", "bangumi/1")])
    assert d.action == "allow" and d.matches == []
    # another rightsholder without a policy, and an unconfirmed title: allowed
    other = title(p, "Pocket Monsters", "bangumi/2", holder="Other Co", franchise="otherco")
    assert eng.decide(p, [], ctx(at=AT, commercial=True), titles=[other]).action == "allow"
    unconfirmed = Match("bangumi/1", "pokemon", TPC, 25, 40, "Pocket Monsters", "Pocket Monsters", "title", 1.0,
                        confirmed=False)
    assert eng.decide(p, [], ctx(at=AT, commercial=True), titles=[unconfirmed]).action == "allow"


def test_bad_title_id_is_an_error(tmp_path):
    path = write(tmp_path, "bad.yaml", """
        kind: policy
        id: bad
        rightsholder: Bad Co
        opted_in: true
        titles:
          "no slash": {rules: [{action: allow}]}
    """)
    with pytest.raises(PolicyError, match="title id"):
        PolicyEngine.from_paths([path])
