"""`guard lexicon add` / `new-character` / `add-example`: in-place edits that keep comments and order and never
leave an invalid file."""
from __future__ import annotations

import pytest

from guard.errors import LexiconError
from guard.lexicon.canonical import canonical_text, write_validated
from guard.lexicon.edit import add_alias, add_example, add_examples, find_character_file, new_character, parse_names
from guard.lexicon.loader import load_file

from .lexkit import TOY


def _diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines only in before, lines only in after), order kept."""
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def _char(path, cid):
    return next(c for c in load_file(path).characters if c.id == cid)


# -- add ------------------------------------------------------------------------------------------------------
def test_add_alias_keeps_comments_order_and_style(toy_file):
    res = add_alias("toyverse/sparky", "Sparky", path=toy_file)
    assert res.changed
    after = toy_file.read_text(encoding="utf-8")
    removed, added = _diff(TOY, after)
    assert removed == []
    assert added == ["    aliases: [Sparky]"]  # a flow list, as the importer writes lists of names
    # Inserted where the schema puts it: after names, before examples.
    lines = after.splitlines()
    assert lines.index("    aliases: [Sparky]") == lines.index("      ko: [스파클턴]") + 1
    assert "# This header comment must survive every edit." in after
    assert "en: [Sparkleton]  # a comment on a name line" in after
    assert after == canonical_text(after)
    assert [a.text for a in _char(toy_file, "toyverse/sparky").alias_records()] == ["Sparky"]


def test_add_alias_appends_to_existing_list(toy_file):
    add_alias("toyverse/sparky", "Sparky", path=toy_file)
    add_alias("toyverse/sparky", "Sparks", path=toy_file)
    assert "    aliases: [Sparky, Sparks]" in toy_file.read_text(encoding="utf-8")


def test_add_alias_with_lang_and_ambiguity_writes_a_record(toy_file):
    add_alias("toyverse/sparky", "スパーキー", lang="ja", ambiguous=False, path=toy_file)
    assert "    aliases: [{text: スパーキー, lang: ja, ambiguous: false}]" in toy_file.read_text(encoding="utf-8")
    rec = _char(toy_file, "toyverse/sparky").alias_records()[0]
    assert (rec.text, rec.lang, rec.ambiguous) == ("スパーキー", "ja", False)
    # Changing an existing alias updates it in place instead of adding a second one.
    res = add_alias("toyverse/sparky", "スパーキー", ambiguous=True, path=toy_file)
    assert res.changed and "updated" in res.message
    recs = _char(toy_file, "toyverse/sparky").alias_records()
    assert len(recs) == 1 and recs[0].ambiguous is True


def test_add_existing_name_is_a_no_op(toy_file):
    res = add_alias("toyverse/sparky", "sparkleton", path=toy_file)  # same after normalization
    assert not res.changed and "already a name" in res.message
    assert toy_file.read_text(encoding="utf-8") == TOY


def test_ambiguity_flags_on_a_name_use_the_override_lists(toy_file):
    res = add_alias("toyverse/amber", "Amber", ambiguous=False, path=toy_file)
    assert res.changed
    c = _char(toy_file, "toyverse/amber")
    assert c.not_ambiguous == ["Amber"] and c.ambiguous == []
    add_alias("toyverse/amber", "Amber", ambiguous=True, path=toy_file)
    c = _char(toy_file, "toyverse/amber")
    assert c.ambiguous == ["Amber"] and c.not_ambiguous == []
    assert not add_alias("toyverse/amber", "Amber", ambiguous=True, path=toy_file).changed


def test_generated_spelling_goes_to_the_override_list(toy_file):
    res = add_alias("toyverse/sparky", "Sparkletons", ambiguous=True, path=toy_file, generated="variant: plural, from 'Sparkleton'")
    assert res.changed
    c = _char(toy_file, "toyverse/sparky")
    assert c.ambiguous == ["Sparkletons"] and c.aliases == []


def test_invalid_alias_leaves_the_file_untouched(toy_file):
    with pytest.raises(LexiconError, match="BCP-47"):
        add_alias("toyverse/sparky", "Sparky", lang="not a tag", path=toy_file)
    with pytest.raises(LexiconError, match="no character"):
        add_alias("toyverse/nobody", "X", paths=[toy_file.parent])
    assert toy_file.read_text(encoding="utf-8") == TOY


@pytest.mark.parametrize("alias, lang, field, message", [
    ("Sparks", "jp", "lang", "'jp' is a country code, not a language: write ja"),
    ("Sparks", "zh-hans", "lang", "must be written zh-Hans"),
    ("Spa\x00rks", None, "alias", "control character U+0000"),
    ("Spa\x1brks", "en", "alias", "control character U+001B"),
])
def test_an_alias_the_loader_would_refuse_is_not_added(toy_file, alias, lang, field, message):
    with pytest.raises(LexiconError) as info:
        add_alias("toyverse/sparky", alias, lang=lang, path=toy_file)
    assert info.value.field == field and message in info.value.message
    assert toy_file.read_text(encoding="utf-8") == TOY


def test_write_validated_never_leaves_an_invalid_file(toy_file):
    bad = TOY.replace("id: toyverse/amber", "id: Not An Id")
    with pytest.raises(LexiconError) as info:
        write_validated(toy_file, bad)
    assert info.value.path == str(toy_file)
    assert info.value.line == bad.splitlines().index("  - id: Not An Id") + 1
    assert "left unchanged" in info.value.message
    assert toy_file.read_text(encoding="utf-8") == TOY
    assert sorted(p.name for p in toy_file.parent.iterdir()) == ["toyverse.yaml"]  # no temporary files left


def test_find_character_file(toy_dir):
    assert find_character_file("toyverse/amber", [toy_dir]) == toy_dir / "toyverse.yaml"


def test_cli_add(cli, toy_dir, toy_file):
    r = cli("lexicon", "add", "toyverse/sparky", "Sparky", "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "added alias 'Sparky'" in r.output
    assert "aliases: [Sparky]" in toy_file.read_text(encoding="utf-8")


def test_cli_add_refuses_another_characters_name(cli, toy_dir, toy_file):
    r = cli("lexicon", "add", "toyverse/sparky", "AMBER", "--lexicon", str(toy_dir))
    assert r.exit_code != 0
    assert "a name of toyverse/amber" in r.output and "--force" in r.output
    assert toy_file.read_text(encoding="utf-8") == TOY
    r = cli("lexicon", "add", "toyverse/sparky", "AMBER", "--force", "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "aliases: [AMBER]" in toy_file.read_text(encoding="utf-8")


def test_cli_add_notes_automatic_ambiguity_and_marks_generated_spellings(cli, toy_dir, toy_file):
    r = cli("lexicon", "add", "toyverse/blocky", "Window", "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "marks it ambiguous" in r.output and "common word" in r.output
    r = cli("lexicon", "add", "toyverse/sparky", "sparkletons", "--not-ambiguous", "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "already generated" in r.output or "not ambiguous" in r.output
    assert _char(toy_file, "toyverse/sparky").not_ambiguous == ["sparkletons"]


# -- new-character --------------------------------------------------------------------------------------------
def test_new_character_appends_a_record(toy_dir, toy_file):
    res = new_character(
        "toyverse/gizmo", franchise="toyverse", names=parse_names(["en=Gizmo Gadgeteer", "ja=ギズモ", "en=Gizmo G."]),
        aliases=["Giz"], ambiguous=["Gizmo Gadgeteer"], paths=[toy_dir],
    )
    assert res.path == toy_file and res.changed
    after = toy_file.read_text(encoding="utf-8")
    removed, added = _diff(TOY, after)
    assert removed == []
    assert added == [
        "  - id: toyverse/gizmo",
        "    names:",
        "      en: [Gizmo Gadgeteer, Gizmo G.]",
        "      ja: [ギズモ]",
        "    aliases: [Giz]",
        "    ambiguous: [Gizmo Gadgeteer]",
    ]
    assert any("zh-Hans, ko" in n for n in res.notes)  # missing main languages are pointed out
    assert _char(toy_file, "toyverse/gizmo").names["en"] == ["Gizmo Gadgeteer", "Gizmo G."]


def test_new_character_errors(toy_dir, toy_file, tmp_path):
    with pytest.raises(LexiconError, match="already exists"):
        new_character("toyverse/amber", franchise="toyverse", names={"en": ["X"]}, paths=[toy_dir])
    with pytest.raises(LexiconError, match="no lexicon file has franchise"):
        new_character("other/x", franchise="other", names={"en": ["X"]}, paths=[toy_dir])
    with pytest.raises(LexiconError, match="franchise/key"):
        new_character("NoSlash", franchise="toyverse", names={"en": ["X"]}, paths=[toy_dir])
    with pytest.raises(LexiconError, match="TAG=NAME"):
        parse_names(["Pikachu"])
    assert toy_file.read_text(encoding="utf-8") == TOY


@pytest.mark.parametrize("names, aliases, field, message", [
    ({"ja": ["ギズモ"], "zh_hans": ["小玩意"]}, [], "names.zh_hans", "must be written zh-Hans"),
    ({"ja": ["ギズ\x00モ"]}, [], "names.ja.0", "control character U+0000"),
    ({"en": ["Gizmo"]}, ["Giz\x07"], "aliases.0", "control character U+0007"),
])
def test_new_character_refuses_what_the_loader_would(toy_dir, toy_file, names, aliases, field, message):
    with pytest.raises(LexiconError) as info:
        new_character("toyverse/gizmo", franchise="toyverse", names=names, aliases=aliases, paths=[toy_dir])
    assert (info.value.path, info.value.field) == ("(command line)", field) and message in info.value.message
    assert toy_file.read_text(encoding="utf-8") == TOY


def test_parse_names_refuses_a_country_code():
    with pytest.raises(LexiconError, match="'kr' is a country code, not a language: write ko") as info:
        parse_names(["en=Gizmo", "kr=기즈모"])
    assert info.value.field == "names"


def test_new_character_creates_a_new_file(toy_dir, tmp_path):
    target = toy_dir / "other.yaml"
    res = new_character("other/x", franchise="other", franchise_name="Other Saga", names={"en": ["Xylo"]}, paths=[toy_dir], file=target)
    lex = load_file(target)
    assert lex.franchise.id == "other" and lex.franchise.name == "Other Saga"
    assert [c.id for c in lex.characters] == ["other/x"]
    assert any("created" in n for n in res.notes)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Other Saga lexicon") and text == canonical_text(text)


def test_cli_new_character(cli, toy_dir, toy_file):
    r = cli("lexicon", "new-character", "toyverse/gizmo", "--franchise", "toyverse", "--name", "en=Gizmo", "--name", "ja=ギズモ",
            "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "added character toyverse/gizmo" in r.output
    r = cli("lexicon", "new-character", "toyverse/gizmo", "--franchise", "toyverse", "--name", "en=Gizmo", "--lexicon", str(toy_dir))
    assert r.exit_code != 0 and "already exists" in r.output


def test_cli_refuses_a_language_tag_the_loader_would_refuse(cli, toy_dir, toy_file):
    r = cli("lexicon", "new-character", "toyverse/gizmo", "--franchise", "toyverse", "--name", "jp=ギズモ", "--lexicon", str(toy_dir))
    assert r.exit_code != 0 and "'jp' is a country code" in r.output and "Traceback" not in r.output
    r = cli("lexicon", "add", "toyverse/sparky", "Sparks", "--lang", "jp", "--lexicon", str(toy_dir))
    assert r.exit_code != 0 and "lang: " in r.output and "'jp' is a country code" in r.output
    assert toy_file.read_text(encoding="utf-8") == TOY


# -- add-example ----------------------------------------------------------------------------------------------
def test_add_example_creates_block_lists(toy_file):
    add_example("toyverse/blocky", "Blockhead Bobbington building a tower", path=toy_file)
    add_example("toyverse/blocky", "a block of wood", should_match=False, path=toy_file)
    after = toy_file.read_text(encoding="utf-8")
    assert after.endswith(
        "    examples:\n      should_match:\n        - Blockhead Bobbington building a tower\n"
        "      should_not_match:\n        - a block of wood\n"
    )
    assert after == canonical_text(after)
    assert not add_example("toyverse/blocky", "a block of wood", should_match=False, path=toy_file).changed


def test_add_examples_in_one_write(toy_file):
    n = add_examples(toy_file, {"toyverse/sparky": {"should_match": ["Sparkleton dancing"]}, "toyverse/amber": {"should_not_match": ["amber waves of grain"]}})
    assert n == 2
    ex = _char(toy_file, "toyverse/sparky").examples
    assert ex.should_match == ["Sparkleton waving at the crowd", "Sparkleton dancing"]


def test_cli_add_example_runs_it(cli, toy_dir, toy_file):
    r = cli("lexicon", "add-example", "toyverse/sparky", "Sparkleton on a skateboard", "--lexicon", str(toy_dir))
    assert r.exit_code == 0, r.output
    assert "ok" in r.output
    r = cli("lexicon", "add-example", "toyverse/sparky", "a sparkler on new year's eve", "--lexicon", str(toy_dir))
    assert r.exit_code == 1  # added, but it does not match: the maintainer sees it at once
    assert "FAIL" in r.output


@pytest.mark.parametrize("args", [
    ("add-example", "toyverse/sparky", "Sparkleton \udcff on a skateboard"),
    ("add", "toyverse/sparky", "Spark\udcffy"),
    ("new-character", "toyverse/gizmo", "--franchise", "toyverse", "--name", "en=Giz\udcffmo"),
    ("explain", "Sparkleton \udcff"),
    ("variants", "Spark\udcffy"),
])
def test_cli_text_that_is_not_utf8_exits_2_and_writes_nothing(cli, toy_dir, toy_file, args):
    """Argument bytes that are not UTF-8 reach Python as lone surrogates: refused, not written to a lexicon."""
    before = toy_file.read_bytes()
    r = cli("lexicon", *args, *(("--lexicon", str(toy_dir)) if args[0] != "variants" else ()))
    assert r.exit_code == 2 and "not valid UTF-8 at character" in r.output
    assert toy_file.read_bytes() == before


def test_quotes_are_kept(toy_file):
    quoted = TOY.replace("en: [Amber]", 'en: ["Amber"]').replace("    ambiguous: [Amber]", "    ambiguous: ['Amber']")
    toy_file.write_text(quoted, encoding="utf-8")
    assert canonical_text(quoted) == quoted  # quoting is the maintainer's choice, not a format error
    add_alias("toyverse/amber", "Ambie", path=toy_file)
    removed, added = _diff(quoted, toy_file.read_text(encoding="utf-8"))
    assert removed == [] and added == ["    aliases: [Ambie]"]
