"""Loading policy and theme files: every malformed file is a PolicyError naming the file, the line and the field."""
from __future__ import annotations

import pytest

from guard.errors import PolicyError
from guard.policy import PolicyEngine
from guard.policy.loader import bundled_dir, expand_paths, load_files

from .helpers import write

GOOD = """
kind: policy
id: acme
rightsholder: Acme
opted_in: true
licences:
  L1: {share_rate: 0.1}
default:
  rules:
    - id: ok
      action: allow
"""


def _err(tmp_path, text: str, name: str = "p.yaml") -> PolicyError:
    path = write(tmp_path, name, text)
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([path])
    err = info.value
    assert err.path == str(path)
    assert str(path) in str(err)
    return err


def test_good_file_loads(tmp_path):
    eng = PolicyEngine.from_paths([write(tmp_path, "p.yaml", GOOD)])
    assert [p.id for p in eng.policies] == ["acme"]
    assert eng.version and len(eng.version) == 16


def test_yaml_syntax_error_names_line(tmp_path):
    err = _err(tmp_path, GOOD + "  - broken: [unclosed\n")
    assert err.line is not None and err.line >= 11
    assert "YAML" in err.message


def test_unknown_field_names_line_and_field(tmp_path):
    text = GOOD.replace("    - id: ok\n", "    - id: ok\n      wehn: {use: commercial}\n")
    err = _err(tmp_path, text)
    assert err.field == "default.rules.0.wehn"
    assert err.line == 10
    assert "Extra inputs" in err.message or "not permitted" in err.message


def test_bad_action_value(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: permit"))
    assert err.field == "default.rules.0.action"
    assert err.line == 10


def test_invalid_region_code(tmp_path):
    text = GOOD.replace("      action: allow", "      when: {region: [JP, UK]}\n      action: allow")
    err = _err(tmp_path, text)
    assert err.field.startswith("default.rules.0.when.region")
    assert "'UK' is not an ISO 3166-1 alpha-2" in err.message
    assert err.line == 10


def test_invalid_use_and_age_group(tmp_path):
    err = _err(tmp_path, GOOD.replace("      action: allow", "      when: {use: business}\n      action: allow"))
    assert err.field.startswith("default.rules.0.when.use")
    err = _err(tmp_path, GOOD.replace("      action: allow", "      when: {age_group: [elderly]}\n      action: allow"))
    assert err.field.startswith("default.rules.0.when.age_group")


def test_share_rate_out_of_range(tmp_path):
    err = _err(tmp_path, GOOD.replace("share_rate: 0.1", "share_rate: 1.5"))
    assert err.field == "licences.L1.share_rate"
    assert err.line == 6


def test_licence_dates_reversed(tmp_path):
    err = _err(tmp_path, GOOD.replace("{share_rate: 0.1}", "{share_rate: 0.1, start: 2026-01-01, end: 2025-01-01}"))
    assert err.field == "licences.L1"
    assert "end is before start" in err.message


def test_bad_date_window(tmp_path):
    text = GOOD.replace("      action: allow", "      when: {date: {start: 2026-13-45}}\n      action: allow")
    err = _err(tmp_path, text)
    assert err.line == 10
    assert "2026-13-45" in err.message
    text = GOOD.replace("      action: allow", "      when: {date: {start: 2026-02-01, end: 2026-01-01}}\n      action: allow")
    err = _err(tmp_path, text)
    assert err.field == "default.rules.0.when.date" and "end is before start" in err.message
    text = GOOD.replace("      action: allow", "      when: {date: {}}\n      action: allow")
    assert _err(tmp_path, text).field == "default.rules.0.when.date"


def test_tag_without_licence(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: tag"))
    assert err.field == "default.rules.0.action"
    assert "needs a licence" in err.message
    assert err.line == 10


def test_reject_without_code(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: reject"))
    assert err.field == "default.rules.0.action"
    assert "needs a code" in err.message


def test_field_not_allowed_for_action(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: allow\n      licence: L1"))
    assert err.field == "default.rules.0.licence"
    assert err.line == 11
    assert "not allowed with action allow" in err.message
    err = _err(tmp_path, GOOD.replace("action: allow", "action: rewrite\n      code: x"))
    assert err.field == "default.rules.0.code"


def test_unknown_licence_reference(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: tag\n      licence: NOPE"))
    assert err.field == "default.rules.0.licence"
    assert "unknown licence 'NOPE'" in err.message and "L1" in err.message
    assert err.line == 11


def test_unknown_licence_in_condition(tmp_path):
    text = GOOD.replace("      action: allow", "      when: {licence_inactive: NOPE}\n      action: allow")
    err = _err(tmp_path, text)
    assert err.field == "default.rules.0.when.licence_inactive"
    assert err.line == 10


def test_unknown_theme(tmp_path):
    text = GOOD.replace("      action: allow", "      when:\n        themes: [violence, gambling]\n      action: allow")
    err = _err(tmp_path, text)
    assert err.field == "default.rules.0.when.themes.any.1"
    assert "unknown theme 'gambling'" in err.message
    assert err.line == 11


def test_custom_theme_makes_it_known(tmp_path):
    text = GOOD.replace("      action: allow", "      when:\n        themes: [gambling]\n      action: allow")
    themes = write(tmp_path, "t.yaml", "kind: themes\nthemes:\n  gambling:\n    en: [casino, poker]\n")
    eng = PolicyEngine.from_paths([write(tmp_path, "p.yaml", text), themes])
    assert "gambling" in eng.theme_names and "violence" in eng.theme_names


def test_empty_unless(tmp_path):
    err = _err(tmp_path, GOOD.replace("action: allow", "action: allow\n      unless: {}"))
    assert err.field == "default.rules.0.unless"


def test_duplicate_rule_id(tmp_path):
    err = _err(tmp_path, GOOD + "    - id: ok\n      action: allow\n")
    assert err.field == "default.rules.1.id"
    assert err.line == 11


def test_bad_character_and_franchise_ids(tmp_path):
    err = _err(tmp_path, GOOD + "characters:\n  Pikachu:\n    opted_in: false\n")
    assert err.field == "characters"
    assert "not a character id" in err.message
    err = _err(tmp_path, GOOD + "franchises:\n  Pokémon:\n    opted_in: false\n")
    assert err.field == "franchises"


def test_missing_required_fields(tmp_path):
    err = _err(tmp_path, GOOD.replace("opted_in: true\n", ""))
    assert err.field == "opted_in"
    assert "required" in err.message.lower()


def test_missing_and_wrong_kind(tmp_path):
    err = _err(tmp_path, GOOD.replace("kind: policy\n", ""))
    assert err.field == "kind"
    err = _err(tmp_path, GOOD.replace("kind: policy", "kind: rules"))
    assert err.field == "kind" and err.line == 1


def test_empty_and_non_mapping_files(tmp_path):
    assert "empty" in _err(tmp_path, "").message
    assert "mapping" in _err(tmp_path, "- a\n- b\n").message


def test_invalid_utf8(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"kind: policy\nid: x\nrightsholder: \xff\xfe\n")
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([path])
    assert info.value.line == 3


def test_missing_file(tmp_path):
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([tmp_path / "nope.yaml"])
    assert "cannot read" in info.value.message


def test_duplicate_rightsholder_across_files(tmp_path):
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD.replace("id: acme", "id: acme2"))
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([a, b])
    assert info.value.path == str(b)
    assert info.value.field == "rightsholder" and info.value.line == 3
    assert "one file per rightsholder" in info.value.message


def test_duplicate_policy_id_across_files(tmp_path):
    a = write(tmp_path, "a.yaml", GOOD)
    b = write(tmp_path, "b.yaml", GOOD.replace("rightsholder: Acme", "rightsholder: Other"))
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([a, b])
    assert info.value.field == "id"


def test_bad_theme_file(tmp_path):
    t = write(tmp_path, "t.yaml", "kind: themes\nthemes:\n  Bad-Name:\n    en: [x]\n")
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([t])
    assert info.value.field == "themes"
    t = write(tmp_path, "t2.yaml", "kind: themes\nthemes:\n  gambling:\n    english: [x]\n")
    with pytest.raises(PolicyError) as info:
        PolicyEngine.from_paths([t])
    assert "language tag" in info.value.message


def test_phrase_and_message_language_tags(tmp_path):
    err = _err(tmp_path, GOOD + "generic:\n  English: a thing\n")
    assert err.field == "generic" and "language tag" in err.message
    err = _err(tmp_path, GOOD + "characters:\n  acme/roadrunner:\n    descriptor:\n      en: {txt: a bird}\n")
    assert err.field.startswith("characters.acme/roadrunner.descriptor.en")


def test_unknown_action_must_be_valid(tmp_path):
    with pytest.raises(ValueError):
        PolicyEngine.from_paths([write(tmp_path, "p.yaml", GOOD)], unknown_action="ignore")


def test_directories_expand_and_version_is_content_hash(tmp_path):
    d = tmp_path / "pols"
    d.mkdir()
    write(d, "a.yaml", GOOD)
    (d / "notes.txt").write_text("ignored")
    assert [p.name for p in expand_paths([d])] == ["a.yaml"]
    v1 = PolicyEngine.from_paths([d]).version
    assert PolicyEngine.from_paths([d]).version == v1
    write(d, "a.yaml", GOOD.replace("0.1", "0.2"))
    assert PolicyEngine.from_paths([d]).version != v1
    assert PolicyEngine.from_paths([d], unknown_action="allow").version != PolicyEngine.from_paths([d]).version


def test_bundled_files_load_and_are_examples():
    loaded = load_files([bundled_dir()])
    ids = {p.id: p for _, p in loaded.policies}
    assert {"tpc-example", "hoyoverse-example", "sie-example"} <= set(ids)
    assert all(p.example for p in ids.values())
    for path, _ in loaded.policies:
        assert "EXAMPLE POLICY" in path.read_text(encoding="utf-8")
    assert set(loaded.themes) == {"violence", "sexual", "politics", "drugs", "horror", "hate"}
    for theme, by_lang in loaded.themes.items():
        assert {"en", "ja", "zh-Hans", "zh-Hant", "ko", "fr", "de", "es", "it"} <= set(by_lang), theme


@pytest.mark.parametrize(
    "message, bad",
    [("'{nme} is not allowed'", "{nme}"), ("'{name is not allowed'", "{name is not allowed"), ("{en: '{Name} here'}", "{Name}"),
     ("'{name} and {rightsholder}}'", "}")],
)
def test_a_message_placeholder_that_is_none_names_the_line_and_field(tmp_path, message, bad):
    text = GOOD.replace("      action: allow", f"      action: reject\n      message: {message}\n      code: no_x")
    err = _err(tmp_path, text)
    assert err.field.startswith("default.rules.0.message") and err.line == 11  # the message line
    assert repr(bad) in err.message
    ok = GOOD.replace("      action: allow", "      action: reject\n      message: '{name} is not allowed by {rightsholder}'\n      code: no_x")
    assert PolicyEngine.from_paths([write(tmp_path, "ok.yaml", ok)]).policies


def test_a_default_message_placeholder_that_is_none_is_refused_too(tmp_path):
    err = _err(tmp_path, GOOD + "messages:\n  rejected: 'No {nmae}.'\n")
    assert err.field.startswith("messages") and "'{nmae}'" in err.message
