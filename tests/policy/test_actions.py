"""Each action, their combination over several characters, the rewrite loop, and the Decision itself."""
from __future__ import annotations

import json

import pytest

from guard.models import Decision, Match

from .helpers import HYV, TPC, ctx, fake_scan, mk

HOYO = """
kind: policy
id: hyv-test
rightsholder: HoYoverse
opted_in: true
licences:
  H1: {share_rate: 0.1}
default:
  rules:
    - {id: violent, when: {themes: [violence]}, action: reject, code: hyv_violence, message: {en: "No {name} in violence.", ja: "{name}は暴力的な場面に登場できません。"}}
    - {id: com, when: {use: commercial}, action: tag, licence: H1}
    - {id: all, action: allow}
characters:
  genshin_impact/raidenshogun:
    descriptor:
      en: a purple-haired samurai woman
      ja: 紫髪の女武士
"""

ACTIONS = """
messages:
  tpc_reject:
    en: "{name} is not allowed here ({rightsholder})."
    ja: "{name}はここでは使えません。"
default:
  rules:
    - {id: sexual, when: {themes: [sexual]}, action: reject, code: tpc_reject}
    - {id: politics, when: {themes: [politics]}, action: rewrite, rewrite: drop}
    - {id: horror, when: {themes: [horror]}, action: rewrite, rewrite: generic}
    - {id: violence, when: {themes: [violence]}, action: rewrite}
    - {id: com, when: {use: commercial}, action: tag, licence: L-COM}
    - {id: inline, when: {region: [FR]}, action: tag, share_rate: 0.07}
    - {id: all, action: allow}
"""


@pytest.fixture
def eng(engine_from):
    return engine_from(ACTIONS, others=(HOYO,))


def decide(eng, prompt, mentions, context=None, **kw):
    matches = [mk(prompt, s, c, **kw) for s, c in mentions]
    return eng.decide(prompt, matches, context or ctx(), rescan=fake_scan)


def test_allow(eng):
    d = decide(eng, "Pikachu on a beach", [("Pikachu", "pokemon/pikachu")])
    assert d.action == "allow" and d.prompt == "Pikachu on a beach" and d.tags == [] and d.rejections == []
    assert d.matches[0].reason.startswith("allowed by policy")


def test_tag_with_licence_and_inline_share(eng):
    d = decide(eng, "Pikachu on a beach", [("Pikachu", "pokemon/pikachu")], ctx(commercial=True))
    assert d.action == "tag"
    assert [t.model_dump() for t in d.tags] == [
        {"rightsholder": TPC, "character_ids": ["pokemon/pikachu"], "share_rate": 0.15, "licence_id": "L-COM"}]
    d = decide(eng, "Pikachu on a beach", [("Pikachu", "pokemon/pikachu")], ctx(region="FR"))
    assert [(t.share_rate, t.licence_id) for t in d.tags] == [(0.07, None)]


def test_tags_group_characters_per_rightsholder_and_licence(eng):
    p = "Pikachu, Eevee, Pikachu and Raiden Shogun"
    d = decide(eng, p, [("Pikachu", "pokemon/pikachu"), ("Eevee", "pokemon/eevee"),
                        ("Raiden Shogun", "genshin_impact/raidenshogun")], ctx(commercial=True))
    d2 = eng.decide(p, fake_scan(p), ctx(commercial=True), rescan=fake_scan)
    for dec in (d, d2):
        assert dec.action == "tag"
        assert sorted((t.rightsholder, tuple(t.character_ids), t.share_rate, t.licence_id) for t in dec.tags) == [
            (HYV, ("genshin_impact/raidenshogun",), 0.1, "H1"),
            (TPC, ("pokemon/eevee", "pokemon/pikachu"), 0.15, "L-COM"),
        ]
    assert len(d2.matches) == 4 and [m.surface for m in d2.matches] == ["Pikachu", "Eevee", "Pikachu", "Raiden Shogun"]


def test_rewrite_with_descriptor(eng):
    d = decide(eng, "A bloody Pikachu", [("Pikachu", "pokemon/pikachu")])
    assert d.action == "rewrite"
    assert d.prompt == "A bloody small yellow electric mouse"
    assert d.original_prompt == "A bloody Pikachu"
    md = d.matches[0]
    assert (md.action, md.replacement, md.round) == ("rewrite", "small yellow electric mouse", 0)
    assert "theme violence ('bloody')" in md.reason


def test_rewrite_generic_and_drop(eng):
    d = decide(eng, "Pikachu in a zombie film", [("Pikachu", "pokemon/pikachu")])
    assert d.prompt == "A cute creature in a zombie film"           # the policy's generic phrase
    d = decide(eng, "ピカチュウがゾンビ映画に出る", [("ピカチュウ", "pokemon/pikachu")])
    assert d.prompt == "かわいい生き物がゾンビ映画に出る"
    d = decide(eng, "Eevee in a zombie film", [("Eevee", "pokemon/eevee")])
    assert d.prompt == "A cute creature in a zombie film"           # no descriptor needed for generic
    d = decide(eng, "Pikachu and a cat at an election rally", [("Pikachu", "pokemon/pikachu")])
    assert d.prompt == "A cat at an election rally"
    assert d.matches[0].replacement == ""


def test_descriptor_falls_back_to_generic_then_builtin(eng):
    # Eevee has no descriptor: the policy's generic phrase (en) stands in; no Korean generic: the built-in one
    d = decide(eng, "a bloody Eevee", [("Eevee", "pokemon/eevee")])
    assert d.prompt == "a bloody cute creature"
    d = decide(eng, "피투성이 이브이가 서 있다", [("이브이", "pokemon/eevee")])
    assert d.prompt == "피투성이 오리지널 캐릭터가 서 있다"


@pytest.mark.parametrize("prompt,surface,expected", [
    ("ピカチュウが血まみれで立つ", "ピカチュウ", "黄色い電気ネズミが血まみれで立つ"),
    ("皮卡丘站在血腥的战场上", "皮卡丘", "黄色的电气小鼠站在血腥的战场上"),
    ("皮卡丘站在血腥的戰場上", "皮卡丘", "黃色的電氣小鼠站在血腥的戰場上"),  # traditional prompt: converted descriptor
    ("피투성이 피카츄가 서 있다", "피카츄", "피투성이 노란 전기 쥐가 서 있다"),
    ("Le Pikachu sanglant", "Pikachu", "Une petite souris électrique jaune sanglant"),
])
def test_rewrite_in_several_languages(eng, prompt, surface, expected):
    d = decide(eng, prompt, [(surface, "pokemon/pikachu")])
    assert d.action == "rewrite"
    assert d.prompt == expected


def test_reject_with_code_and_message_in_prompt_language(eng):
    d = decide(eng, "a nude Pikachu", [("Pikachu", "pokemon/pikachu")])
    assert d.action == "reject" and d.prompt == "a nude Pikachu"
    assert [r.model_dump() for r in d.rejections] == [
        {"code": "tpc_reject", "message": "Pikachu is not allowed here (The Pokémon Company).",
         "character_id": "pokemon/pikachu"}]
    d = decide(eng, "全裸のピカチュウ", [("ピカチュウ", "pokemon/pikachu")])
    assert d.rejections[0].message == "ピカチュウはここでは使えません。"
    d = decide(eng, "une Pikachu nue sur la plage", [("Pikachu", "pokemon/pikachu")])
    assert d.rejections[0].message.startswith("Pikachu is not allowed")     # no French message: English


def test_combination_reject_beats_everything(eng):
    p = "Pikachu and Raiden Shogun in a bloody duel"
    d = decide(eng, p, [("Pikachu", "pokemon/pikachu"), ("Raiden Shogun", "genshin_impact/raidenshogun")])
    assert d.action == "reject"
    assert [(m.character_id, m.action) for m in d.matches] == [
        ("pokemon/pikachu", "rewrite"), ("genshin_impact/raidenshogun", "reject")]
    assert d.prompt == p and d.tags == []
    assert d.rejections[0].message == "No Raiden Shogun in violence."


def test_combination_rewrite_beats_tag_and_keeps_tags(eng):
    p = "Raiden Shogun and Pikachu at an election"
    d = decide(eng, p, [("Raiden Shogun", "genshin_impact/raidenshogun"), ("Pikachu", "pokemon/pikachu")],
               ctx(commercial=True))
    assert d.action == "rewrite"
    assert d.prompt == "Raiden Shogun at an election"
    assert [(t.rightsholder, t.licence_id) for t in d.tags] == [(HYV, "H1")]
    assert [m.action for m in d.matches] == ["tag", "rewrite"]


def test_combination_tag_beats_allow(eng):
    p = "Pikachu and Raiden Shogun"
    d = decide(eng, p, [("Pikachu", "pokemon/pikachu"), ("Raiden Shogun", "genshin_impact/raidenshogun")],
               ctx(region="FR"))
    assert d.action == "tag"
    assert [m.action for m in d.matches] == ["tag", "allow"]


def test_rewrite_rescans_and_rejects_what_the_rewrite_revealed(engine_from):
    # Eevee's descriptor names another character whose policy rejects it here: the rewrite cannot be used.
    tricky = engine_from("""
        default:
          rules:
            - {id: rw, when: {themes: [violence]}, action: rewrite}
            - {id: all, action: allow}
    """, characters="""
        pokemon/eevee:
          descriptor:
            en: a fox that looks like Raiden Shogun
    """, others=(HOYO,))
    p = "a bloody Eevee"
    d = tricky.decide(p, [mk(p, "Eevee", "pokemon/eevee")], ctx(), rescan=fake_scan)
    assert d.action == "reject"
    assert d.prompt == p
    assert [(m.character_id, m.action, m.round) for m in d.matches] == [
        ("pokemon/eevee", "rewrite", 0), ("genshin_impact/raidenshogun", "reject", 1)]
    assert d.rejections[0].code == "hyv_violence"


def test_rewrite_that_never_converges_is_rejected(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: rw, action: rewrite}
    """, characters="""
        pokemon/eevee:
          descriptor:
            en: Eevee's twin
    """)
    p = "Eevee in a field"
    d = eng.decide(p, [mk(p, "Eevee", "pokemon/eevee")], ctx(), rescan=fake_scan)
    assert d.action == "reject"
    assert d.rejections[0].code == "rewrite_not_converged"
    assert d.prompt == p
    assert max(m.round for m in d.matches) == eng.max_rounds


def test_a_prompt_with_more_mentions_to_rewrite_than_the_limit_is_rejected(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: rw, action: rewrite}
    """, characters="""
        pokemon/eevee:
          descriptor:
            en: a small fox
    """, max_rewrites=3)
    assert eng.max_rewrites == 3
    three = "Eevee, Eevee and Eevee in a field"
    d = eng.decide(three, fake_scan(three), ctx(), rescan=fake_scan)
    assert d.action == "rewrite" and "Eevee" not in d.prompt
    four = "Eevee, Eevee, Eevee and Eevee in a field"
    d = eng.decide(four, fake_scan(four), ctx(), rescan=fake_scan)
    assert d.action == "reject" and d.prompt == four
    assert [r.code for r in d.rejections] == ["rewrite_too_many"]
    assert "too many times" in d.rejections[0].message and d.rejections[0].message.endswith("(4 > 3)")
    with pytest.raises(ValueError):
        engine_from("", max_rewrites=0)


def test_rewrite_converging_in_two_rounds(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: rw, action: rewrite}
    """, characters="""
        pokemon/eevee:
          descriptor:
            en: a fox like Charizard
        pokemon/charizard:
          descriptor:
            en: a dragon
    """)
    p = "Eevee in a field"
    d = eng.decide(p, [mk(p, "Eevee", "pokemon/eevee")], ctx(), rescan=fake_scan)
    assert d.action == "rewrite"
    assert d.prompt == "A fox like a dragon in a field"
    assert [(m.character_id, m.round, m.replacement) for m in d.matches] == [
        ("pokemon/eevee", 0, "A fox like Charizard"), ("pokemon/charizard", 1, "a dragon")]


def test_rewrite_without_rescan_is_rejected(eng):
    p = "A bloody Pikachu"
    d = eng.decide(p, [mk(p, "Pikachu", "pokemon/pikachu")], ctx())
    assert d.action == "reject" and d.rejections[0].code == "rewrite_unverified"


def test_rewrite_leaving_nothing_is_rejected(engine_from):
    eng = engine_from("default:\n  rules:\n    - {action: rewrite, rewrite: drop}\n")
    d = eng.decide("Pikachu!", [mk("Pikachu!", "Pikachu", "pokemon/pikachu")], ctx(), rescan=fake_scan)
    assert d.action == "reject" and d.rejections[0].code == "rewrite_empty"


def test_every_mention_of_a_character_is_rewritten(eng):
    p = "Pikachu fights. A bloody Pikachu wins."
    d = eng.decide(p, fake_scan(p), ctx(), rescan=fake_scan)
    assert d.prompt == "A small yellow electric mouse fights. A bloody small yellow electric mouse wins."


def test_decision_is_json_serializable_and_complete(eng):
    p = "A bloody Pikachu next to Raiden Shogun"
    for context in (ctx(), ctx(commercial=True)):
        d = eng.decide(p, fake_scan(p), context, rescan=fake_scan)
        data = json.loads(d.model_dump_json())
        assert set(data) >= {"decision_id", "action", "prompt", "original_prompt", "matches", "tags", "rejections",
                              "themes", "policy_version", "elapsed_ms"}
        assert Decision.model_validate_json(d.model_dump_json()) == d
        assert len(d.decision_id) == 32 and int(d.decision_id, 16) >= 0 and d.decision_id[12] == "4"
        assert d.policy_version == eng.version
        assert 0 < d.elapsed_ms < 1000
        assert d.themes == ["violence"]
        for m in data["matches"]:
            assert m["rule"] and m["reason"]


def test_fast_path_decision_is_a_real_decision(eng):
    d = eng.decide("a quiet lake at dawn", [], None)
    assert d.action == "allow" and d.matches == [] and d.themes == []
    assert Decision.model_validate_json(d.model_dump_json()) == d
    d2 = eng.decide("a quiet lake at dawn", [], None)
    assert d.decision_id != d2.decision_id
    d2.matches.append("x")  # lists are not shared between decisions
    assert eng.decide("a quiet lake at dawn", [], None).matches == []


def test_elapsed_can_start_earlier(eng):
    import time
    t0 = time.perf_counter() - 0.5
    assert eng.decide("a lake", [], None, started=t0).elapsed_ms >= 500


def test_offsets_in_matches_slice_the_original_prompt(eng):
    p = "Pikachu and Eevee in a zombie film, Pikachu again"
    d = eng.decide(p, fake_scan(p), ctx(), rescan=fake_scan)
    for m in d.matches:
        if m.round == 0:
            assert p[m.start:m.end] == m.surface


def test_matches_need_not_be_sorted(eng):
    p = "Eevee and Pikachu"
    ms = list(reversed(fake_scan(p)))
    d = eng.decide(p, ms, ctx(), rescan=fake_scan)
    assert [m.surface for m in d.matches] == ["Eevee", "Pikachu"]


def test_match_type_is_unchanged():
    m = Match("a/b", "a", None, 0, 1, "x", "x", "exact", 1.0)
    assert m.to_dict()["evidence"] == []
