"""guard.lexicon.loader and schema: loading lexicon files, and errors that name the file, the line and the field."""
from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import FileFormatError, LexiconError
from guard.lexicon.loader import bundled_lexicon_dir, expand_paths, load_file, load_lexicons
from guard.lexicon.schema import LexiconFile

GOOD = """\
version: 1
franchise:
  id: testfr
  name: Test Franchise
  rightsholder: Test Co
  names:
    en: [Test Franchise]
    ja: [テスト]
characters:
  - id: testfr/zorblax
    names:
      en: [Zorblax]
  - id: testfr/quintar
    names:
      en: [Quintar]
      ja-Latn: [Kuintaa]
"""


def write(tmp_path: Path, text: str | bytes, name: str = "lex.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    raise AssertionError(needle)


def load_error(path: Path) -> LexiconError:
    with pytest.raises(LexiconError) as exc:
        load_file(path)
    err = exc.value
    assert isinstance(err, FileFormatError)
    assert err.path == str(path)
    assert str(path) in str(err)
    return err


# -- good files ---------------------------------------------------------------------------------------------------
def test_a_good_file(tmp_path):
    lex = load_file(write(tmp_path, GOOD))
    assert isinstance(lex, LexiconFile)
    assert lex.franchise.id == "testfr" and lex.franchise.rightsholder == "Test Co"
    assert [c.id for c in lex.characters] == ["testfr/zorblax", "testfr/quintar"]
    assert lex.characters[1].names["ja-Latn"] == ["Kuintaa"]


def test_optional_fields(tmp_path):
    text = GOOD + """\
  - id: testfr/third
    franchise: testfr
    rightsholder: Someone Else
    names: {en: [Third One]}
    aliases: [T1, {text: Thirdy, lang: en, ambiguous: false}]
    cues: [third cue]
    ambiguous: [Third One]
    not_ambiguous: [T1]
    descriptor: a third test character
    examples: {should_match: [Thirdy waves], should_not_match: [a third of it]}
"""
    lex = load_file(write(tmp_path, text))
    third = lex.characters[2]
    assert [a.text for a in third.alias_records()] == ["T1", "Thirdy"]
    assert third.alias_records()[1].ambiguous is False
    assert third.examples.should_match == ["Thirdy waves"]


def test_bundled_lexicons_load():
    loaded = load_lexicons()
    names = [p.name for p, _ in loaded.files]
    assert names == ["genshin_impact.yaml", "horizon.yaml", "pokemon.yaml"]
    ids = [c.id for _, lex in loaded.files for c in lex.characters]
    assert len(ids) == len(set(ids)) == 1025 + 115
    assert loaded.digest == load_lexicons([bundled_lexicon_dir()]).digest  # deterministic


def test_expand_paths(tmp_path):
    a = write(tmp_path, GOOD, "b.yaml")
    b = write(tmp_path, GOOD.replace("testfr", "otherfr"), "a.yml")
    write(tmp_path, "not a lexicon", "notes.txt")
    assert expand_paths([tmp_path]) == [b, a]  # sorted, *.yaml and *.yml only
    assert expand_paths([a]) == [a]


def test_ids_must_be_unique_across_files(tmp_path):
    d = tmp_path / "lex"
    d.mkdir()
    write(d, GOOD, "a.yaml")
    write(d, GOOD.replace("id: testfr\n", "id: otherfr\n"), "b.yaml")
    with pytest.raises(LexiconError) as exc:
        load_lexicons([d])
    assert "b.yaml" in str(exc.value) and "testfr/zorblax" in str(exc.value) and "a.yaml" in str(exc.value)


# -- malformed files: file, line and field ----------------------------------------------------------------------------
def test_bad_yaml_syntax(tmp_path):
    text = GOOD.replace("      en: [Quintar]", "      en: [Quintar")
    err = load_error(write(tmp_path, text))
    assert "YAML syntax error" in err.message
    assert err.line is not None and err.line >= line_of(text, "[Quintar")
    assert f":{err.line}:" in str(err)


def test_bad_yaml_indentation(tmp_path):
    text = GOOD.replace("  - id: testfr/quintar", "    - id: testfr/quintar")
    err = load_error(write(tmp_path, text))
    assert err.line is not None


def test_unknown_field(tmp_path):
    text = GOOD.replace("      ja-Latn: [Kuintaa]", "      ja-Latn: [Kuintaa]\n    nicknames: [Q]")
    err = load_error(write(tmp_path, text))
    assert err.field == "characters.1.nicknames"
    assert err.line == line_of(text, "nicknames:")
    assert "Extra inputs are not permitted" in err.message
    assert str(err).startswith(f"{err.path}:{err.line}: characters.1.nicknames: ")


def test_unknown_top_level_field(tmp_path):
    text = GOOD + "extra_key: 1\n"
    err = load_error(write(tmp_path, text))
    assert err.field == "extra_key" and err.line == line_of(text, "extra_key")


def test_bad_language_tag(tmp_path):
    text = GOOD.replace("      ja-Latn: [Kuintaa]", "      english: [Kuintaa]")
    err = load_error(write(tmp_path, text))
    # the language's own line, not the line of `names:`
    assert err.field == "characters.1.names.english"
    assert err.line == line_of(text, "english:")
    assert "'english' is not a BCP-47 language tag" in err.message


def test_bad_language_tag_in_franchise_names(tmp_path):
    text = GOOD.replace("    ja: [テスト]", "    Japanese: [テスト]")
    err = load_error(write(tmp_path, text))
    assert err.field == "franchise.names.Japanese" and err.line == line_of(text, "Japanese:")


def test_empty_names_list(tmp_path):
    text = GOOD.replace("      en: [Zorblax]", "      en: []")
    err = load_error(write(tmp_path, text))
    assert err.field == "characters.0.names.en"
    assert err.line == line_of(text, "en: []")
    assert "names.en is an empty list" in err.message


def test_empty_name_string(tmp_path):
    text = GOOD.replace("      en: [Zorblax]", "      en: ['  ']")
    err = load_error(write(tmp_path, text))
    assert err.field == "characters.0.names.en" and "empty name" in err.message


def test_duplicate_id(tmp_path):
    text = GOOD.replace("testfr/quintar", "testfr/zorblax")
    err = load_error(write(tmp_path, text))
    assert "testfr/zorblax appears twice" in err.message


def test_duplicate_id_names_line_and_field(tmp_path):
    text = GOOD.replace("testfr/quintar", "testfr/zorblax")
    err = load_error(write(tmp_path, text))
    assert err.line == line_of(text, "testfr/zorblax", occurrence=2)
    assert err.field is not None and err.field.startswith("characters.1")


def test_invalid_utf8(tmp_path):
    raw = GOOD.replace("Quintar]", "Quint\udcffar]").encode("utf-8", "surrogateescape")
    err = load_error(write(tmp_path, raw))
    assert "invalid UTF-8" in err.message
    assert err.line == line_of(GOOD, "en: [Quintar]")


def test_bad_character_id(tmp_path):
    text = GOOD.replace("id: testfr/quintar", "id: Quintar The Great")
    err = load_error(write(tmp_path, text))
    assert err.field == "characters.1.id" and err.line == line_of(text, "Quintar The Great")


def test_wrong_type(tmp_path):
    text = GOOD.replace("      en: [Zorblax]", "      en: Zorblax")
    err = load_error(write(tmp_path, text))
    assert err.field is not None and err.field.startswith("characters.0.names")
    assert err.line is not None


def test_missing_required_field(tmp_path):
    text = GOOD.replace("  name: Test Franchise\n", "")
    err = load_error(write(tmp_path, text))
    assert "Field required" in err.message
    assert err.field is not None and err.field.startswith("franchise")
    assert err.line == line_of(text, "franchise:")


def test_missing_required_field_is_named(tmp_path):
    text = GOOD.replace("  name: Test Franchise\n", "")
    err = load_error(write(tmp_path, text))
    assert err.field == "franchise.name" or "name" in err.message


def test_empty_file(tmp_path):
    err = load_error(write(tmp_path, ""))
    assert err.message == "file is empty"


def test_several_errors_are_counted(tmp_path):
    text = GOOD.replace("      en: [Zorblax]", "      en: []").replace("      en: [Quintar]", "      en: []")
    err = load_error(write(tmp_path, text))
    assert "more error" in err.message


def test_guard_construction_reports_the_file(tmp_path):
    from guard import Guard

    p = write(tmp_path, GOOD.replace("      en: [Zorblax]", "      en: []"))
    with pytest.raises(LexiconError) as exc:
        Guard.from_paths([p])
    assert str(p) in str(exc.value) and "characters.0.names" in str(exc.value)
