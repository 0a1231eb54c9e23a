"""End to end through `Guard.check`: the real scanner and the bundled EXAMPLE policies."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from guard.models import CheckContext, Decision

from .helpers import write

JAN = "2026-01-15T12:00:00Z"


def test_allow_without_characters(real_guard):
    d = real_guard.check("A cinematic shot of a girl walking through a quiet forest at dawn")
    assert isinstance(d, Decision)
    assert (d.action, d.matches, d.tags, d.rejections, d.themes) == ("allow", [], [], [], [])
    assert d.policy_version == real_guard.policy.version


def test_themes_without_characters(real_guard):
    d = real_guard.check("a zombie drinking beer")
    assert d.action == "allow" and d.themes == ["drugs", "horror"]


def test_personal_allow_and_commercial_tag(real_guard):
    d = real_guard.check("Pikachu surfing at sunset")
    assert d.action == "allow"
    assert [(m.character_id, m.rule) for m in d.matches] == [("pokemon/pikachu", "tpc-example:default#personal")]
    d = real_guard.check("Pikachu surfing at sunset", {"commercial": True, "region": "JP", "at": JAN})
    assert d.action == "tag"
    assert [(t.rightsholder, t.character_ids, t.share_rate, t.licence_id) for t in d.tags] == [
        ("The Pokémon Company", ["pokemon/pikachu"], 0.15, "TPC-EX-2025-COM")]


@pytest.mark.parametrize("prompt,expected", [
    ("A bloody fight: Pikachu kills a man", "A bloody fight: a small yellow electric mouse kills a man"),
    ("ピカチュウがゾンビに襲われる", "黄色い電気ネズミがゾンビに襲われる"),
    ("皮卡丘在血腥的战场上", "黄色的电气小鼠在血腥的战场上"),
    ("피투성이 피카츄가 서 있다", "피투성이 노란 전기 쥐가 서 있다"),
])
def test_rewrite_is_rescanned_and_clean(real_guard, prompt, expected):
    d = real_guard.check(prompt)
    assert d.action == "rewrite", d.model_dump_json(indent=1)
    assert d.prompt == expected
    assert d.original_prompt == prompt
    assert real_guard.scan(d.prompt) == []


def test_a_rewrite_in_chinese_text_stays_chinese(real_guard):
    # 宵宫 (simplified) folds to the pattern of the Japanese alias 宵宮, which the lexicon lists first.
    from guard.policy.lang import script_counts

    prompt = "鐵殼蛹在小公寓里煮拉面，和宵宫一起，写实质感"
    d = real_guard.check(prompt)
    assert d.action == "rewrite", d.model_dump_json(indent=1)
    (md,) = [m for m in d.matches if m.action == "rewrite"]
    assert md.surface == "宵宫"
    counts = script_counts(d.prompt)
    assert counts.get("kata", 0) == counts.get("hira", 0) == 0, d.prompt
    # Written as the Japanese alias (宵宮 is traditional Chinese too): the Chinese words around it decide.
    traditional = real_guard.check("鐵殼蛹和宵宮一起在城堡裡")
    assert traditional.action == "rewrite" and "一起在城堡裡" in traditional.prompt
    assert script_counts(traditional.prompt).keys() == {"han"}, traditional.prompt
    japanese = real_guard.check("トランセルと宵宮が小さな部屋でラーメンを作る")
    assert japanese.action == "rewrite" and "宵宮" not in japanese.prompt
    assert script_counts(japanese.prompt.replace("トランセルと", "")).get("kata", 0) > 0, japanese.prompt


def test_a_rewrite_reads_the_words_around_a_mention_not_the_other_names(real_guard):
    from guard.policy.lang import script_counts

    d = real_guard.check("Keqing and 甘雨 walking with Pikachu through a lantern festival")
    assert d.action == "rewrite", d.model_dump_json(indent=1)
    assert set(script_counts(d.prompt)) == {"latin"}, d.prompt  # both phrases English, as the sentence is
    d = real_guard.check("鐵殼蛹在小公寓里煮拉面，和宵宫一起，写实质感")
    assert "来自" in d.prompt, d.prompt  # simplified, as the sentence is; 鐵殼蛹 is a name, not its words


def test_politics_drop(real_guard):
    d = real_guard.check("Pikachu at a political protest")
    assert (d.action, d.prompt) == ("rewrite", "At a political protest")


def test_crossover(real_guard):
    p = "Raiden Shogun and Pikachu at the beach"
    d = real_guard.check(p)
    assert d.action == "rewrite"
    assert d.prompt == "A purple-haired samurai woman in a kimono and Pikachu at the beach"
    assert [m.action for m in d.matches] == ["rewrite", "allow"]
    d = real_guard.check(p, CheckContext(commercial=True, region="JP", at=datetime(2026, 1, 15, tzinfo=timezone.utc)))
    assert d.action == "reject" and d.prompt == p
    assert [r.code for r in d.rejections] == ["tpc_no_commercial_crossover"]


def test_not_opted_in_and_opt_out_deployment(real_guard, guard_with):
    from guard.policy.loader import bundled_dir

    d = real_guard.check("Aloy hunting in the snow")
    assert d.action == "reject" and d.rejections[0].code == "not_opted_in"
    g = guard_with([bundled_dir()], unknown_action="rewrite")
    d = g.check("Aloy hunting in the snow")
    assert (d.action, d.prompt) == ("rewrite", "A red-haired hunter in tribal armour with a bow hunting in the snow")
    assert g.check("Aloy hunting in the snow").policy_version != real_guard.policy.version


def test_rightsholder_without_policy_is_rejected(real_guard, guard_with, tmp_path):
    only_tpc = write(tmp_path, "tpc.yaml", """
        kind: policy
        id: tpc-only
        rightsholder: The Pokémon Company
        opted_in: true
        default:
          rules:
            - {action: allow}
    """)
    g = guard_with([only_tpc])
    d = g.check("Raiden Shogun and Pikachu dancing")
    assert d.action == "reject"
    by_char = {m.character_id: m for m in d.matches}
    assert by_char["genshin_impact/raidenshogun"].rule == "opt-in:no-policy"
    assert by_char["pokemon/pikachu"].action == "allow"
    assert guard_with([only_tpc], unknown_action="tag").check("Raiden Shogun and Pikachu dancing").action == "tag"


def test_several_languages_and_obfuscation(real_guard):
    for prompt in ("P1kachu surfing", "ピカチュウが海で泳ぐ", "皮卡丘在海里游泳", "피카츄가 바다에서 수영한다",
                   "Pikachu nage dans la mer", "Ｐｉｋａｃｈｕ surfing"):
        d = real_guard.check(prompt, {"commercial": True, "region": "US", "at": JAN})
        assert d.action == "tag", prompt
        assert d.tags[0].character_ids == ["pokemon/pikachu"]


def test_unknown_context_field_is_an_error(real_guard):
    with pytest.raises(ValidationError, match="regoin"):
        real_guard.check("Pikachu", {"regoin": "JP"})


def test_decision_json(real_guard):
    d = real_guard.check("A bloody Pikachu next to Raiden Shogun", {"age_group": "child"})
    data = json.loads(d.model_dump_json())
    assert data["action"] in ("reject", "rewrite")
    assert data["decision_id"] and data["policy_version"] and data["elapsed_ms"] > 0
    assert Decision.model_validate(data) == d


def test_module_level_check(real_guard, monkeypatch):
    import guard
    import guard.engine

    monkeypatch.setattr(guard.engine, "_default", real_guard)
    d = guard.check("Pikachu surfing", {"region": "JP"})
    assert d.action == "allow" and d.matches[0].character_id == "pokemon/pikachu"


_NAME_AND_REWRITE_POLICY = """
    kind: policy
    id: tpc-names
    rightsholder: The Pokémon Company
    opted_in: true
    generic:
      en: a bloody monster
      zh-Hans: 一只小动物
    characters:
      pokemon/pikachu:
        rules:
          - {id: always-generic, action: rewrite, rewrite: generic}
      pokemon/banette:
        rules:
          - {id: no-horror, when: {themes: [horror]}, action: reject, code: no_horror}
      pokemon/eevee:
        rules:
          - {id: no-violence, when: {themes: [violence]}, action: reject, code: no_violence}
    default:
      rules:
        - {action: allow}
"""


def test_a_theme_word_inside_a_name_does_not_count_after_a_rewrite_either(tmp_path, guard_with):
    g = guard_with([write(tmp_path, "p.yaml", _NAME_AND_REWRITE_POLICY)])
    # 诅咒 (curse) occurs only inside 诅咒娃娃, Banette's name: no horror before or after Pikachu is rewritten.
    d = g.check("皮卡丘和诅咒娃娃在公园里")
    assert d.action == "rewrite" and d.themes == []
    assert {m.character_id: m.action for m in d.matches} == {"pokemon/pikachu": "rewrite", "pokemon/banette": "allow"}
    assert g.check("皮卡丘和诅咒娃娃在鬼屋里").action == "reject"      # 鬼屋 (haunted house) is horror


def test_a_rewritten_prompt_is_judged_on_its_own_themes(tmp_path, guard_with):
    g = guard_with([write(tmp_path, "p.yaml", _NAME_AND_REWRITE_POLICY)])
    # The policy's generic phrase brings "bloody" in: the second round sees violence and rejects Eevee.
    d = g.check("Pikachu and Eevee at the beach")
    assert d.action == "reject"
    assert [(m.character_id, m.action, m.round) for m in d.matches] == [
        ("pokemon/pikachu", "rewrite", 0), ("pokemon/eevee", "allow", 0), ("pokemon/eevee", "reject", 1)]


def test_words_of_a_title_are_not_a_theme_without_title_rules(tmp_path, guard_with):
    p = write(tmp_path, "p.yaml", "kind: policy\nid: t\nrightsholder: Other Co\nopted_in: true\ndefault:\n  rules:\n    - {action: allow}\n")
    g = guard_with([p])
    assert g.policy.has_title_rules is False
    assert [t.character_id for t in g.scan_titles("a Kill la Kill poster")] == ["bangumi/72941"]
    assert g.check("a Kill la Kill poster").themes == []                  # "kill" is part of the title
    assert g.policy.detect_themes("a Kill la Kill poster") == ["violence"]
    assert g.check("a Kill la Kill poster, killing a man").themes == ["violence"]
