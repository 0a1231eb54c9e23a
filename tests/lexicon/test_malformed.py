"""Malformed lexicon files: `guard.lexicon.loader.load_file` names the file, the line and the field."""
from __future__ import annotations

import pytest

from guard.errors import LexiconError
from guard.lexicon.loader import load_file, load_lexicons

GOOD = """\
version: 1
franchise:
  id: toyverse
  name: Toyverse
  names:
    en: [Toyverse]
characters:
  - id: toyverse/sparky
    names:
      en: [Sparkleton]
    aliases: [Sparky, {text: Sparks, lang: en}]
    examples:
      should_match: [Sparkleton waving]
  - id: toyverse/amber
    names:
      en: [Amber]
"""


def _line(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first line containing `needle` at or after the first line containing `after`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines[start:], start + 1) if needle in line)


CASES = [
    # (what, replace this, with this, expected field, line containing, message contains)
    ("bad language tag", "      en: [Sparkleton]", "      english: [Sparkleton]", "characters.0.names.english", "english:", "BCP-47"),
    ("empty name list", "      en: [Amber]", "      en: []", "characters.1.names.en", ("toyverse/amber", "      en:"), "empty list"),
    ("unknown character key", "    aliases: [Sparky", "    nicknames: [Sparky]\n    aliases: [Sparky", "characters.0.nicknames", "nicknames:", "Extra inputs"),
    ("bad character id", "  - id: toyverse/amber", "  - id: Amber", "characters.1.id", "id: Amber", "franchise/key"),
    ("bad alias language", "{text: Sparks, lang: en}", "{text: Sparks, lang: e n}", "characters.0.aliases.1.lang", "aliases:", "BCP-47"),
    ("unknown example kind", "      should_match: [Sparkleton waving]", "      should_macth: [Sparkleton waving]", "characters.0.examples.should_macth", "should_macth", "Extra inputs"),
    ("bad franchise id", "  id: toyverse", "  id: Toy Verse", "franchise.id", "id: Toy Verse", "lower-case"),
    ("missing franchise names", "  names:\n    en: [Toyverse]\n", "", "franchise.names", "franchise:", "Field required"),
    ("names not a mapping", "      en: [Amber]", "      - Amber", "characters.1.names", ("toyverse/amber", "    names:"), "valid dictionary"),
    # Language tags that look like tags but that the compiler, which compares tags as written, would misread.
    ("country code for a language", "      en: [Amber]", "      en: [Amber]\n      jp: [アンバー]", "characters.1.names.jp", ("toyverse/amber", "      jp:"), "'jp' is a country code, not a language: write ja"),
    ("tag with an underscore", "      en: [Amber]", "      en: [Amber]\n      zh_hans: [安柏]", "characters.1.names.zh_hans", ("toyverse/amber", "      zh_hans:"), "'zh_hans' must be written zh-Hans"),
    ("script in lower case", "      en: [Sparkleton]", "      en: [Sparkleton]\n      zh-hans: [闪光顿]", "characters.0.names.zh-hans", "      zh-hans:", "'zh-hans' must be written zh-Hans"),
    ("three-letter code of a two-letter language", "      en: [Amber]", "      jpn: [アンバー]", "characters.1.names.jpn", ("toyverse/amber", "      jpn:"), "'jpn' must be written ja"),
    ("script and region", "      en: [Amber]", "      zh-Hans-CN: [安柏]", "characters.1.names.zh-Hans-CN", ("toyverse/amber", "      zh-Hans-CN:"), "write zh-Hans"),
    ("unregistered language", "    en: [Toyverse]", "    xx: [Toyverse]", "franchise.names.xx", "    xx:", "not a registered BCP-47 language tag"),
    ("country code for an alias language", "{text: Sparks, lang: en}", "{text: Sparks, lang: kr}", "characters.0.aliases.1.lang", "aliases:", "write ko"),
    ("country code with a script", "{text: Sparks, lang: en}", "{text: Sparks, lang: jp-Latn}", "characters.0.aliases.1.lang", "aliases:", "write ja-Latn"),
    ("a code that names no language", "{text: Sparks, lang: en}", "{text: Sparks, lang: und}", "characters.0.aliases.1.lang", "aliases:", "names no language"),
    ("a private-use language", "    en: [Toyverse]", "    qab: [Toyverse]", "franchise.names.qab", "    qab:", "names no language"),
    # Control characters and lone surrogates, which only an escape in a quoted string can write.
    ("NUL in a name", "      en: [Amber]", '      en: ["Am\\0ber"]', "characters.1.names.en.0", ("toyverse/amber", "      en:"), "control character U+0000"),
    ("tab in a franchise name", "    en: [Toyverse]", '    en: ["Toy\\tverse"]', "franchise.names.en.0", "    en:", "control character U+0009"),
    ("control character in the franchise's display name", "  name: Toyverse", '  name: "Toy\\x07verse"', "franchise.name", "  name:", "control character U+0007"),
    ("control character in an alias", "    aliases: [Sparky,", '    aliases: ["Spar\\x07ky",', "characters.0.aliases.0", "aliases:", "control character U+0007"),
    ("newline in an alias record", "{text: Sparks, lang: en}", '{text: "Spa\\nrks", lang: en}', "characters.0.aliases.1.text", "aliases:", "control character U+000A"),
    ("C1 control in a cue", "    aliases: [Sparky", '    cues: ["Toy\\x85Box"]\n    aliases: [Sparky', "characters.0.cues.0", "cues:", "control character U+0085"),
    ("lone surrogate in a name", "      en: [Sparkleton]", '      en: ["Spark\\ud800leton"]', "characters.0.names.en.0", "      en:", "lone surrogate (U+D800)"),
    ("surrogate pair written as two escapes", "    aliases: [Sparky,", '    aliases: ["\\ud83d\\ude00",', "characters.0.aliases.0", "aliases:", "lone surrogate (U+D83D)"),
]


@pytest.mark.parametrize("what,old,new,field,line_of,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_file_names_file_line_and_field(tmp_path, what, old, new, field, line_of, message):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = tmp_path / "toyverse.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError) as info:
        load_file(path)
    err = info.value
    assert err.path == str(path)
    assert message in err.message
    if field is not None:
        assert err.field == field
        needle, after = (line_of[1], line_of[0]) if isinstance(line_of, tuple) else (line_of, "")
        assert err.line == _line(text, needle, after)
        assert str(err).startswith(f"{path}:{err.line}: {field}: ")
    else:
        assert err.line is not None


def test_good_file_loads(tmp_path):
    path = tmp_path / "toyverse.yaml"
    path.write_text(GOOD, encoding="utf-8")
    lex = load_file(path)
    assert [c.id for c in lex.characters] == ["toyverse/sparky", "toyverse/amber"]


def test_yaml_syntax_error_has_a_line(tmp_path):
    text = GOOD.replace("    aliases: [Sparky, {text: Sparks, lang: en}]", "    aliases: [Sparky, {text: Sparks")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError) as info:
        load_file(path)
    assert info.value.path == str(path) and "YAML syntax error" in info.value.message
    assert info.value.line is not None and info.value.line >= _line(text, "aliases:")


def test_empty_and_undecodable_files(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(LexiconError, match="file is empty"):
        load_file(empty)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(GOOD.encode("utf-8") + b"\n# \xff\xfe\n")
    with pytest.raises(LexiconError) as info:
        load_file(binary)
    assert "invalid UTF-8" in info.value.message and info.value.line == GOOD.count("\n") + 2


def test_duplicate_ids(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(GOOD.replace("toyverse/amber", "toyverse/sparky"), encoding="utf-8")
    with pytest.raises(LexiconError, match="appears twice") as info:
        load_file(path)
    assert info.value.path == str(path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.yaml").write_text(GOOD, encoding="utf-8")
    (other / "b.yaml").write_text(GOOD.replace("id: toyverse\n", "id: toyverse_two\n").replace("toyverse/amber", "toyverse/other"), encoding="utf-8")
    with pytest.raises(LexiconError, match="already defined") as info:
        load_lexicons([other])
    assert info.value.path == str(other / "b.yaml") and info.value.field == "characters.id"


@pytest.mark.parametrize("tag", ["ja-Latn", "ja-Hrkt", "zh-Hant", "es-419", "pt-BR", "zh-TW", "yue"])
def test_tags_with_a_script_or_a_region_load(tmp_path, tag):
    path = tmp_path / "toyverse.yaml"
    path.write_text(GOOD.replace("      en: [Amber]", f"      en: [Amber]\n      {tag}: [Amber]"), encoding="utf-8")
    assert load_file(path).characters[1].names[tag] == ["Amber"]


def test_control_character_in_a_title(tmp_path):
    text = 'version: 1\ntitles:\n  - id: bangumi/1\n    title: Toy Story\n    synonyms: [Toys, "Toy\\x07s"]\n'
    path = tmp_path / "titles.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LexiconError) as info:
        load_file(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), 5, "titles.0.synonyms.1")
    assert "control character U+0007" in err.message
