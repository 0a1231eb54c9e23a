"""The bundled EXAMPLE policies (not the companies' real terms) behave as their comments say, and together
use every feature of the format."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from guard.policy import PolicyEngine
from guard.policy.loader import bundled_dir, load_files

from .helpers import ctx, fake_scan

JAN = datetime(2026, 1, 15, tzinfo=timezone.utc)
APR = datetime(2026, 4, 15, tzinfo=timezone.utc)
LATE = datetime(2028, 1, 15, tzinfo=timezone.utc)


def run(eng: PolicyEngine, prompt: str, **context):
    context.setdefault("at", JAN)
    return eng.decide(prompt, fake_scan(prompt), ctx(**context), rescan=fake_scan)


CASES = [
    # prompt, context, action, rule (of the first match), extra check
    ("Pikachu surfing at sunset", {}, "allow", "tpc-example:default#personal", None),
    ("Pikachu surfing at sunset", {"commercial": True, "region": "JP"}, "tag",
     "tpc-example:default#commercial-licensed", ("tags", [("TPC-EX-2025-COM", 0.15)])),
    ("Pikachu surfing at sunset", {"commercial": True, "region": "CN", "at": APR}, "tag",
     "tpc-example:character:pokemon/pikachu#spring-promo", ("tags", [("TPC-EX-2026-SPRING-PROMO", 0.05)])),
    ("Eevee surfing at sunset", {"commercial": True, "region": "JP", "at": APR}, "tag",
     "tpc-example:default#commercial-licensed", ("tags", [("TPC-EX-2025-COM", 0.15)])),
    ("Eevee surfing at sunset", {"commercial": True, "region": "CN"}, "reject",
     "tpc-example:default#commercial-region", ("code", "tpc_region_not_licensed")),
    ("Eevee surfing at sunset", {"commercial": True}, "reject",
     "tpc-example:default#commercial-region", ("code", "tpc_region_not_licensed")),
    ("Eevee surfing at sunset", {"commercial": True, "region": "JP", "at": LATE}, "reject",
     "tpc-example:default#commercial-outside-window", ("code", "tpc_licence_expired")),
    ("a nude Pikachu", {}, "reject", "tpc-example:always#prohibited-themes", ("code", "tpc_prohibited_theme")),
    ("人種差別的なピカチュウ", {}, "reject", "tpc-example:always#prohibited-themes",
     ("message", "ピカチュウを性的・差別的な内容に登場させることはできません。")),
    ("Pikachu at a political protest", {}, "rewrite", "tpc-example:always#politics-drop",
     ("prompt", "At a political protest")),
    ("A bloody fight: Pikachu kills a man", {}, "rewrite", "tpc-example:default#dark-themes-descriptor",
     ("prompt", "A bloody fight: a small yellow electric mouse kills a man")),
    ("ピカチュウがゾンビに襲われる", {"commercial": True, "region": "JP"}, "rewrite",
     "tpc-example:default#dark-themes-descriptor", ("prompt", "黄色い電気ネズミがゾンビに襲われる")),
    ("Pikachu drinking beer", {"age_group": "teen"}, "reject", "tpc-example:franchise:pokemon#minors-drugs",
     ("code", "tpc_minor_drugs")),
    ("Pikachu drinking beer", {"age_group": "adult", "age_verified": True}, "rewrite",
     "tpc-example:franchise:pokemon#adults-drugs-generic", ("prompt", "A cute pocket-sized creature drinking beer")),
    ("Pikachu drinking beer", {"age_group": "adult"}, "reject", "tpc-example:franchise:pokemon#drugs-unverified",
     ("code", "tpc_age_verification_required")),
    ("Mewtwo in a bloody battle", {"age_group": "child"}, "reject",
     "tpc-example:character:pokemon/mewtwo#minors-no-violence", ("code", "tpc_minor_violence")),
    ("Mewtwo in a haunted castle", {"age_group": "adult", "age_verified": True}, "allow",
     "tpc-example:character:pokemon/mewtwo#adult-horror-personal", None),
    ("Mewtwo in a haunted castle", {"age_group": "adult"}, "rewrite",
     "tpc-example:default#dark-themes-descriptor", ("prompt", "A tall psychic feline humanoid in a haunted castle")),
    ("Mewtwo on a mountain", {"commercial": True, "region": "US"}, "tag",
     "tpc-example:character:pokemon/mewtwo#premium-commercial", ("tags", [("TPC-EX-2025-PREMIUM", 0.25)])),
    ("Mew in the clouds", {}, "reject", "tpc-example:not-opted-in", ("code", "not_opted_in")),
    ("Raiden Shogun and Pikachu at the beach", {"commercial": True, "region": "JP"}, "reject",
     "hoyoverse-example:default#pokemon-crossover", ("code", "tpc_no_commercial_crossover")),
    ("Raiden Shogun and Pikachu at the beach", {}, "rewrite", "hoyoverse-example:default#pokemon-crossover",
     ("prompt", "A purple-haired samurai woman in a kimono and Pikachu at the beach")),
    # HoYoverse
    ("Raiden Shogun at a festival", {}, "allow", "hoyoverse-example:default#personal", None),
    ("Raiden Shogun at a festival", {"commercial": True, "region": "CN"}, "tag",
     "hoyoverse-example:default#commercial-cn", ("tags", [("HYV-EX-CN", 0.2)])),
    ("Raiden Shogun at a festival", {"commercial": True, "region": "FR"}, "tag",
     "hoyoverse-example:default#commercial-global", ("tags", [("HYV-EX-GLOBAL", 0.1)])),
    ("Raiden Shogun at a festival", {"commercial": True}, "reject",
     "hoyoverse-example:default#commercial-no-region", ("code", "hyv_region_required")),
    ("Raiden Shogun at a festival", {"commercial": True, "region": "FR", "at": LATE}, "reject",
     "hoyoverse-example:default#commercial-inactive", ("code", "hyv_licence_inactive")),
    ("Raiden Shogun at a festival", {"commercial": True, "region": "FR",
                                      "at": datetime(2026, 10, 4, 23, tzinfo=timezone.utc)}, "tag",
     "hoyoverse-example:default#anniversary-week", ("tags", [(None, 0.0)])),
    ("Raiden Shogun in a bloody zombie film", {"commercial": True, "region": "FR"}, "reject",
     "hoyoverse-example:franchise:genshin_impact#gore-horror-commercial", ("code", "hyv_gore_horror")),
    ("Raiden Shogun in a bloody zombie film", {"region": "FR", "age_group": "adult"}, "allow",
     "hoyoverse-example:default#personal", None),
    ("Raiden Shogun at a festival", {"commercial": True, "region": "KP"}, "reject",
     "hoyoverse-example:no-rule-matched", ("code", "no_rule_matched")),
    ("a racist Raiden Shogun poster", {}, "reject", "hoyoverse-example:always#hate", ("code", "hyv_hate")),
    ("Raiden Shogun in lingerie", {"age_group": "adult"}, "reject", "hoyoverse-example:default#sexual-unverified",
     ("code", "hyv_adult_content")),
    ("Raiden Shogun in lingerie", {"age_group": "adult", "age_verified": True}, "rewrite",
     "hoyoverse-example:default#sexual-adults-generic", ("prompt", "A traveller from a fantasy world in lingerie")),
    ("雷電将軍が選挙ポスターに", {}, "reject", "hoyoverse-example:franchise:genshin_impact#politics",
     ("message", "雷電将軍を政治的な内容に登場させることはできません。")),
    ("Raiden Shogun in a haunted house", {"age_group": "child"}, "rewrite",
     "hoyoverse-example:franchise:genshin_impact#horror-children",
     ("prompt", "A traveller from a fantasy world in a haunted house")),
    ("Raiden Shogun in a haunted house", {"age_group": "adult"}, "allow", "hoyoverse-example:default#personal", None),
    ("Klee drinking beer", {"age_group": "adult", "age_verified": True}, "reject",
     "hoyoverse-example:character:genshin_impact/klee#child-character-safety", ("code", "hyv_child_character")),
    ("Nahida in a garden", {"commercial": True, "region": "JP"}, "reject",
     "hoyoverse-example:character:genshin_impact/nahida#personal-only", ("code", "hyv_not_licensed_commercial")),
    ("胡桃在雪中", {}, "allow", "hoyoverse-example:default#personal", None),
    # Sony: known but not opted in
    ("Aloy hunting in the snow", {}, "reject", "sie-example:not-opted-in", ("code", "not_opted_in")),
]


@pytest.mark.parametrize("prompt,context,action,rule,check", CASES, ids=[f"{i}-{c[0][:30]}" for i, c in enumerate(CASES)])
def test_example_policies(examples, prompt, context, action, rule, check):
    d = run(examples, prompt, **context)
    assert d.action == action, d.model_dump_json(indent=1)
    assert d.matches[0].rule == rule, [m.rule for m in d.matches]
    if check is None:
        return
    what, value = check
    if what == "tags":
        assert [(t.licence_id, t.share_rate) for t in d.tags] == value
    elif what == "code":
        assert value in [r.code for r in d.rejections]
    elif what == "message":
        assert d.rejections[0].message == value
    elif what == "prompt":
        assert d.prompt == value


def test_opt_out_deployment_rewrites_aloy_with_sonys_descriptor():
    eng = PolicyEngine.from_paths([bundled_dir()], unknown_action="rewrite")
    d = run(eng, "Aloy hunting in the snow")
    assert d.action == "rewrite"
    assert d.prompt == "A red-haired hunter in tribal armour with a bow hunting in the snow"


def test_examples_use_every_feature():
    loaded = load_files([bundled_dir()])
    conds, actions, modes, scopes = set(), set(), set(), set()
    crossover, region, themes = set(), set(), set()
    opted_out = []
    for _, p in loaded.policies:
        if not p.opted_in:
            opted_out.append("policy")
        scopes.update(k for k, v in (("always", p.always.rules), ("default", p.default.rules)) if v)
        rule_lists = [p.always.rules, p.default.rules]
        for f in p.franchises.values():
            rule_lists.append(f.rules)
            scopes.add("franchise") if f.rules else None
            if f.generic:
                scopes.add("franchise-generic")
        for c in p.characters.values():
            rule_lists.append(c.rules)
            if c.rules:
                scopes.add("character")
            if c.opted_in is False:
                opted_out.append("character")
        for rules in rule_lists:
            for r in rules:
                actions.add(r.action)
                if r.rewrite:
                    modes.add(r.rewrite)
                if r.unless is not None:
                    conds.add("unless")
                for name in type(r.when).model_fields:
                    if getattr(r.when, name) is not None:
                        conds.add(name)
                if r.when.crossover:
                    x = r.when.crossover
                    crossover.update(k for k in ("present", "rightsholders", "franchises") if getattr(x, k) not in (None, []))
                if r.when.region:
                    region.update(k for k in ("include", "exclude") if getattr(r.when.region, k))
                if r.when.themes:
                    themes.update(k for k in ("any", "all", "none") if getattr(r.when.themes, k))
    assert actions == {"allow", "tag", "rewrite", "reject"}
    assert modes == {"descriptor", "generic", "drop"}
    assert conds >= {"use", "region", "age_group", "age_verified", "themes", "crossover", "date", "licence_active",
                     "licence_inactive", "unless"}
    assert crossover >= {"present", "rightsholders"}
    assert region == {"include", "exclude"}
    assert themes == {"any", "all", "none"}
    assert scopes >= {"always", "default", "franchise", "character", "franchise-generic"}
    assert set(opted_out) == {"policy", "character"}
