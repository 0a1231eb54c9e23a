"""Each condition kind, rule order across scopes, and opt-in — on hand-built matches."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from guard.models import CheckContext

from .helpers import HYV, fake_scan, ctx, mk

HOYO_ALLOW = """
kind: policy
id: hyv-test
rightsholder: HoYoverse
opted_in: true
default:
  rules:
    - {id: all, action: allow}
"""
SONY_ALLOW = HOYO_ALLOW.replace("hyv-test", "sie-test").replace("HoYoverse", "Sony Interactive Entertainment")


def one(eng, prompt, surface, cid, context=None, **kw):
    """Decision and the MatchDecision of the first mention."""
    d = eng.decide(prompt, [mk(prompt, surface, cid, **kw)], context or ctx(), rescan=fake_scan)
    return d, d.matches[0]


# -- use -----------------------------------------------------------------------------------------------
def test_use(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: com, when: {use: commercial}, action: tag, licence: L-PREMIUM}
            - {id: per, when: {use: personal}, action: allow}
    """)
    d, md = one(eng, "Pikachu surfing", "Pikachu", "pokemon/pikachu", ctx(commercial=True))
    assert (d.action, md.rule) == ("tag", "tpc-test:default#com")
    assert "use=commercial" in md.reason
    d, md = one(eng, "Pikachu surfing", "Pikachu", "pokemon/pikachu", ctx(commercial=False))
    assert (d.action, md.rule) == ("allow", "tpc-test:default#per")


def test_use_list_means_any(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: both, when: {use: [commercial, personal]}, action: allow}
    """)
    for commercial in (True, False):
        assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=commercial))[1].rule.endswith("#both")


# -- region --------------------------------------------------------------------------------------------
@pytest.fixture
def region_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: jp, when: {region: [JP]}, action: allow}
            - {id: not-cn, when: {region: {exclude: [CN, unknown]}}, action: tag, share_rate: 0.1}
            - {id: rest, action: reject, code: region_blocked}
    """)


@pytest.mark.parametrize("region,rule,action", [
    ("JP", "jp", "allow"), ("jp", "jp", "allow"), ("US", "not-cn", "tag"), ("DE", "not-cn", "tag"),
    ("CN", "rest", "reject"), (None, "rest", "reject"),
])
def test_region_include_exclude_unknown(region_engine, region, rule, action):
    d, md = one(region_engine, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(region=region))
    assert md.rule == f"tpc-test:default#{rule}"
    assert d.action == action
    if action == "tag":
        assert "not in [CN, unknown]" in md.reason
    if action == "reject":
        assert d.rejections[0].code == "region_blocked"


# -- age -------------------------------------------------------------------------------------------------
@pytest.fixture
def age_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: minors, when: {age_group: [child, teen]}, action: reject, code: minor}
            - {id: unknown-age, when: {age_group: unknown}, action: rewrite}
            - {id: verified-adult, when: {age_group: adult, age_verified: true}, action: allow}
            - {id: unverified, when: {age_verified: false}, action: tag, share_rate: 0.2}
    """)


@pytest.mark.parametrize("age,verified,rule", [
    ("child", False, "minors"), ("teen", True, "minors"), (None, False, "unknown-age"), (None, True, "unknown-age"),
    ("adult", True, "verified-adult"), ("adult", False, "unverified"),
])
def test_age_group_and_verification(age_engine, age, verified, rule):
    _, md = one(age_engine, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(age_group=age, age_verified=verified))
    assert md.rule == f"tpc-test:default#{rule}"


# -- themes ----------------------------------------------------------------------------------------------
@pytest.fixture
def theme_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: all-dark, when: {themes: {all: [violence, horror]}}, action: reject, code: too_dark}
            - {id: any-adult, when: {themes: [sexual, drugs]}, action: rewrite}
            - {id: clean, when: {themes: {none: [violence, horror, sexual, drugs, politics, hate]}}, action: allow}
            - {id: rest, action: tag, share_rate: 0.1}
    """)


@pytest.mark.parametrize("prompt,surface,rule", [
    ("Pikachu in a bloody zombie film", "Pikachu", "all-dark"),
    ("ピカチュウが血まみれのゾンビと戦う", "ピカチュウ", "all-dark"),
    ("Pikachu drinking beer", "Pikachu", "any-adult"),
    ("皮卡丘在酒吧喝酒", "皮卡丘", "any-adult"),
    ("피카츄가 술을 마신다", "피카츄", "any-adult"),
    ("Pikachu on a sunny beach", "Pikachu", "clean"),
    ("Pikachu in a zombie film", "Pikachu", "rest"),     # horror without violence: not all, not none
    ("Pikachu auf einem Wahlkampf Plakat", "Pikachu", "rest"),
])
def test_themes_any_all_none(theme_engine, prompt, surface, rule):
    _, md = one(theme_engine, prompt, surface, "pokemon/pikachu")
    assert md.rule == f"tpc-test:default#{rule}"


def test_theme_reason_quotes_the_prompt(theme_engine):
    _, md = one(theme_engine, "Pikachu drinking BEER", "Pikachu", "pokemon/pikachu")
    assert "theme drugs ('BEER')" in md.reason


# -- crossover -------------------------------------------------------------------------------------------
@pytest.fixture
def cross_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: with-hyv, when: {crossover: {rightsholders: [HoYoverse]}}, action: allow}
            - {id: with-horizon, when: {crossover: {franchises: [horizon]}}, action: allow}
            - {id: any-cross, when: {crossover: true}, action: allow}
            - {id: solo, when: {crossover: false}, action: allow}
    """, others=(HOYO_ALLOW, SONY_ALLOW))


@pytest.mark.parametrize("prompt,others,rule", [
    ("Pikachu alone", [], "solo"),
    ("Pikachu and Eevee", [("Eevee", "pokemon/eevee")], "solo"),            # same rightsholder: no crossover
    ("Pikachu and Raiden Shogun", [("Raiden Shogun", "genshin_impact/raidenshogun")], "with-hyv"),
    ("Pikachu and Aloy", [("Aloy", "genshin_impact/aloy")], "with-horizon"),
    ("Pikachu and Blobby", [("Blobby", "indie/mascot")], "any-cross"),     # unknown rightsholder counts
])
def test_crossover(cross_engine, prompt, others, rule):
    matches = [mk(prompt, "Pikachu", "pokemon/pikachu")] + [mk(prompt, s, c) for s, c in others]
    d = cross_engine.decide(prompt, matches, ctx(), rescan=fake_scan)
    pika = [m for m in d.matches if m.character_id == "pokemon/pikachu"][0]
    assert pika.rule == f"tpc-test:default#{rule}"
    if rule == "with-hyv":
        assert "crossover with HoYoverse" in pika.reason
    hyv = [m for m in d.matches if m.rightsholder == HYV]
    assert all(m.rule == "hyv-test:default#all" for m in hyv)


# -- dates and licences ------------------------------------------------------------------------------------
@pytest.fixture
def date_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: promo, when: {date: {start: 2026-03-01, end: 2026-05-31}}, action: tag, share_rate: 0.05}
            - {id: rest, action: allow}
    """)


@pytest.mark.parametrize("at,rule", [
    (datetime(2026, 2, 28, 23, 59, tzinfo=timezone.utc), "rest"),
    (datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc), "promo"),
    (datetime(2026, 5, 31, 23, 59, 59, tzinfo=timezone.utc), "promo"),     # end date is inclusive
    (datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc), "rest"),
    (datetime(2026, 4, 1, 12, 0), "promo"),                               # naive: UTC
    (datetime(2026, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=9))), "promo"),  # 2026-05-31 16:00 UTC
])
def test_date_window(date_engine, at, rule):
    _, md = one(date_engine, "Pikachu", "Pikachu", "pokemon/pikachu", CheckContext(at=at))
    assert md.rule == f"tpc-test:default#{rule}"


def test_date_window_defaults_to_now(engine_from):
    today = datetime.now(timezone.utc).date()
    eng = engine_from(f"""
        default:
          rules:
            - {{id: past, when: {{date: {{end: {today - timedelta(days=10)}}}}}, action: reject, code: past}}
            - {{id: now, when: {{date: {{start: {today - timedelta(days=1)}, end: {today + timedelta(days=1)}}}}}, action: allow}}
    """)
    _, md = one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", CheckContext())
    assert md.rule == "tpc-test:default#now"


@pytest.fixture
def licence_engine(engine_from):
    return engine_from("""
        default:
          rules:
            - {id: licensed, action: tag, licence: L-COM}
            - {id: old-active, when: {licence_active: L-OLD}, action: allow}
            - {id: expired, when: {licence_inactive: L-COM}, action: reject, code: licence_expired}
    """)


def test_tag_rule_fires_only_while_its_licence_is_in_force(licence_engine):
    d, md = one(licence_engine, "Pikachu", "Pikachu", "pokemon/pikachu", CheckContext(at=datetime(2026, 6, 1)))
    assert md.rule == "tpc-test:default#licensed"
    assert [(t.licence_id, t.share_rate) for t in d.tags] == [("L-COM", 0.15)]
    assert "licence L-COM in force (2025-01-01..2026-12-31)" in md.reason
    for at in (datetime(2027, 1, 1), datetime(2024, 12, 31, 23)):
        d, md = one(licence_engine, "Pikachu", "Pikachu", "pokemon/pikachu", CheckContext(at=at))
        assert md.rule == "tpc-test:default#expired"
        assert d.rejections[0].code == "licence_expired"
        assert "licence L-COM not in force" in md.reason


def test_licence_active_condition(licence_engine):
    _, md = one(licence_engine, "Pikachu", "Pikachu", "pokemon/pikachu", CheckContext(at=datetime(2020, 6, 1)))
    assert md.rule == "tpc-test:default#old-active"


# -- unless and AND ---------------------------------------------------------------------------------------------
def test_unless_and_conjunction(engine_from):
    eng = engine_from("""
        default:
          rules:
            - id: com-outside-jp
              when: {use: commercial}
              unless: {region: [JP]}
              action: reject
              code: not_jp
            - id: jp-violent-commercial
              when: {use: commercial, region: [JP], themes: [violence]}
              action: rewrite
            - {id: rest, action: allow}
    """)
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=True, region="US"))[1].rule.endswith(
        "#com-outside-jp")
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=True, region="JP"))[1].rule.endswith("#rest")
    assert one(eng, "a bloody Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=True, region="JP"))[1].rule.endswith(
        "#jp-violent-commercial")
    assert one(eng, "a bloody Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=False, region="JP"))[1].rule.endswith(
        "#rest")


# -- scopes and order ---------------------------------------------------------------------------------------------
@pytest.fixture
def scoped(engine_from):
    return engine_from("""
        always:
          rules:
            - {id: hard, when: {themes: [hate]}, action: reject, code: hate}
        franchises:
          pokemon:
            rules:
              - {id: fr, when: {use: commercial}, action: tag, licence: L-COM}
          horizon:
            rules:
              - {id: horizon-fr, action: reject, code: horizon}
        default:
          rules:
            - {id: def, action: allow}
    """, characters="""
        pokemon/mewtwo:
          rules:
            - {id: ch, when: {use: commercial}, action: tag, licence: L-PREMIUM}
        pokemon/mew:
          opted_in: false
    """)


def test_character_then_franchise_then_default(scoped):
    com = ctx(commercial=True, region="JP")
    d, md = one(scoped, "Mewtwo", "Mewtwo", "pokemon/mewtwo", com)
    assert md.rule == "tpc-test:character:pokemon/mewtwo#ch" and d.tags[0].share_rate == 0.3
    d, md = one(scoped, "Eevee", "Eevee", "pokemon/eevee", com)
    assert md.rule == "tpc-test:franchise:pokemon#fr" and d.tags[0].share_rate == 0.15
    _, md = one(scoped, "Eevee", "Eevee", "pokemon/eevee", ctx())
    assert md.rule == "tpc-test:default#def"
    _, md = one(scoped, "Mewtwo", "Mewtwo", "pokemon/mewtwo", ctx())
    assert md.rule == "tpc-test:default#def"     # character rule does not apply: falls through


def test_always_comes_first(scoped):
    d, md = one(scoped, "a racist Mewtwo", "Mewtwo", "pokemon/mewtwo", ctx(commercial=True))
    assert md.rule == "tpc-test:always#hard" and d.action == "reject"


def test_rule_without_id_is_named_by_position(engine_from):
    eng = engine_from("default:\n  rules:\n    - {when: {use: commercial}, action: reject, code: x}\n    - {action: allow}\n")
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu")[1].rule == "tpc-test:default#2"


# -- opt-in -----------------------------------------------------------------------------------------------------
def test_character_not_opted_in(scoped):
    d, md = one(scoped, "Mew", "Mew", "pokemon/mew")
    assert (d.action, md.rule) == ("reject", "tpc-test:not-opted-in")
    assert d.rejections[0].code == "not_opted_in"
    assert "character pokemon/mew" in md.reason and "unknown_action=reject" in md.reason


def test_policy_not_opted_in_and_character_override(engine_from):
    eng = engine_from("""
        franchises:
          pokemon:
            opted_in: false
        default:
          rules:
            - {id: def, action: allow}
    """, characters="""
        pokemon/charizard:
          opted_in: true
    """)
    assert one(eng, "Eevee", "Eevee", "pokemon/eevee")[1].rule == "tpc-test:not-opted-in"
    assert one(eng, "Charizard", "Charizard", "pokemon/charizard")[1].rule == "tpc-test:default#def"
    assert "(franchise pokemon)" in one(eng, "Eevee", "Eevee", "pokemon/eevee")[1].reason


def test_policy_level_not_opted_in(engine_from):
    other = "kind: policy\nid: other\nrightsholder: Other Co\nopted_in: false\ndefault:\n  rules:\n    - {action: allow}\n"
    eng = engine_from("default:\n  rules:\n    - {action: allow}\n", others=(other,))
    d, md = one(eng, "Zorblax", "Zorblax", "otherco/hero")
    assert (d.action, md.rule) == ("reject", "other:not-opted-in")
    assert "Other Co has not opted in (policy)" in md.reason


def test_rightsholder_without_policy(engine_from):
    eng = engine_from("default:\n  rules:\n    - {action: allow}\n")
    for prompt, surface, cid, who in [("Raiden Shogun", "Raiden Shogun", "genshin_impact/raidenshogun", "'HoYoverse'"),
                                      ("Blobby", "Blobby", "indie/mascot", "unknown")]:
        d, md = one(eng, prompt, surface, cid)
        assert (d.action, md.rule) == ("reject", "opt-in:no-policy")
        assert f"rightsholder {who} has no policy" in md.reason
        assert d.rejections[0].code == "not_opted_in"


def test_no_rule_matched_gets_unknown_action(engine_from):
    eng = engine_from("default:\n  rules:\n    - {when: {use: commercial}, action: allow}\n")
    d, md = one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", ctx(commercial=False))
    assert (d.action, md.rule) == ("reject", "tpc-test:no-rule-matched")
    assert d.rejections[0].code == "no_rule_matched"


@pytest.mark.parametrize("unknown,expected_prompt", [
    ("allow", "Raiden Shogun at the beach"),
    ("tag", "Raiden Shogun at the beach"),
    ("rewrite", "An original character at the beach"),
])
def test_unknown_action_is_configurable(engine_from, unknown, expected_prompt):
    eng = engine_from("default:\n  rules:\n    - {action: allow}\n", unknown_action=unknown, unknown_share_rate=0.02)
    p = "Raiden Shogun at the beach"
    d, md = one(eng, p, "Raiden Shogun", "genshin_impact/raidenshogun")
    assert d.action == unknown and md.action == unknown
    assert f"unknown_action={unknown}" in md.reason and "opt-out model" in md.reason
    assert d.prompt == expected_prompt
    assert d.rejections == []
    if unknown == "tag":
        assert [(t.rightsholder, t.share_rate, t.licence_id) for t in d.tags] == [(HYV, 0.02, None)]


def test_unknown_rewrite_uses_the_descriptor_of_a_not_opted_in_policy(engine_from, tmp_path):
    sony = """
        kind: policy
        id: sie-test
        rightsholder: Sony Interactive Entertainment
        opted_in: false
        characters:
          genshin_impact/aloy:
            franchise: horizon
            descriptor:
              en: a red-haired hunter with a bow
    """
    import textwrap
    eng = engine_from("default:\n  rules:\n    - {action: allow}\n", others=(textwrap.dedent(sony),),
                      unknown_action="rewrite")
    d, md = one(eng, "Aloy in the snow", "Aloy", "genshin_impact/aloy")
    assert md.rule == "sie-test:not-opted-in" and "(policy)" in md.reason
    assert d.prompt == "A red-haired hunter with a bow in the snow"
    strict = engine_from("default:\n  rules:\n    - {action: allow}\n", others=(textwrap.dedent(sony),))
    d, _ = one(strict, "Aloy in the snow", "Aloy", "genshin_impact/aloy")
    assert d.action == "reject"
    assert "Sony Interactive Entertainment has not opted in" in d.rejections[0].message


def test_rightsholder_lookup_ignores_case(engine_from):
    eng = engine_from("default:\n  rules:\n    - {id: def, action: allow}\n")
    from guard.models import Match
    m = Match("pokemon/pikachu", "pokemon", "the pokémon company", 0, 7, "Pikachu", "Pikachu", "exact", 1.0)
    assert eng.decide("Pikachu", [m], ctx()).matches[0].rule == "tpc-test:default#def"


def test_unconfirmed_candidates_are_ignored(engine_from):
    eng = engine_from("default:\n  rules:\n    - {action: reject, code: x}\n")
    p = "a persian cat"
    d = eng.decide(p, [mk(p, "persian", "pokemon/pikachu", confirmed=False)], ctx())
    assert d.action == "allow" and d.matches == []


def test_context_as_dict_and_unknown_fields(engine_from):
    eng = engine_from("default:\n  rules:\n    - {id: com, when: {use: commercial}, action: allow}\n")
    p = "Pikachu"
    d = eng.decide(p, [mk(p, "Pikachu", "pokemon/pikachu")], {"commercial": True})
    assert d.matches[0].rule == "tpc-test:default#com"
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="regoin"):
        eng.decide(p, [mk(p, "Pikachu", "pokemon/pikachu")], {"regoin": "JP"})
    with pytest.raises(ValidationError):
        CheckContext(region="JPN")
    with pytest.raises(ValidationError):
        CheckContext(age_group="senior")


def test_date_is_parsed_from_strings(engine_from):
    eng = engine_from("""
        default:
          rules:
            - {id: w, when: {date: {start: "2026-03-01T12:00:00+09:00", end: "2026-03-02"}}, action: allow}
            - {id: rest, action: reject, code: x}
    """)
    at = lambda s: CheckContext(at=datetime.fromisoformat(s))  # noqa: E731
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", at("2026-03-01T02:59:00+00:00"))[1].rule.endswith("#rest")
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", at("2026-03-01T03:00:00+00:00"))[1].rule.endswith("#w")
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", at("2026-03-02T23:00:00+00:00"))[1].rule.endswith("#w")
    assert one(eng, "Pikachu", "Pikachu", "pokemon/pikachu", at("2026-03-03T00:00:00+00:00"))[1].rule.endswith("#rest")
