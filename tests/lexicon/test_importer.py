"""guard.lexicon.importer: `guard lexicon import` regenerates lexicons from shared/data/characters, keeps ids
exactly, and keeps maintainers' hand edits when it is re-run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.errors import LexiconError
from guard.lexicon.importer import franchise_slug, import_records, read_records
from guard.lexicon.loader import bundled_lexicon_dir, load_file, load_lexicons

SOURCES = ("pokemon.jsonl", "genshin_impact.jsonl")


def data_records(shared_characters: Path) -> list[dict]:
    out = []
    for name in SOURCES:
        with open(shared_characters / name, encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def lexicon_characters(directory: Path) -> dict:
    paths = [directory / f"{slug}.yaml" for slug in ("genshin_impact", "horizon", "pokemon")]
    return {c.id: (lex.franchise.id, c) for _, lex in load_lexicons(paths).files for c in lex.characters}


@pytest.fixture(scope="module")
def first_import(tmp_path_factory, shared_characters) -> Path:
    out = tmp_path_factory.mktemp("import-1")
    for name in SOURCES:
        import_records(shared_characters / name, out)
    return out


@pytest.fixture(scope="module")
def second_import(tmp_path_factory, first_import, shared_characters) -> Path:
    """A copy of the first import, edited by hand, then imported over again."""
    out = tmp_path_factory.mktemp("import-2")
    for p in first_import.iterdir():
        shutil.copy(p, out / p.name)
    path = out / "genshin_impact.yaml"
    text = path.read_text(encoding="utf-8")
    # Franchise record: more names and cues.
    text = text.replace("    en: [Genshin Impact]\n", "    en: [Genshin Impact]\n    ja: [原神]\n", 1)
    text = text.replace("  cues: []\n", "  cues: [Teyvat, Mondstadt]\n", 1)
    # A character: hand-made fields and a comment, and a name changed by hand (the import refreshes names).
    marker = "  - id: genshin_impact/hutao\n"
    assert marker in text
    text = text.replace(
        marker,
        "  # Hu Tao: hand-curated aliases below.\n" + marker
        + "    aliases: [HuTao-chan, {text: Walnut, lang: en, ambiguous: true}]\n"
        + "    cues: [Wangsheng Funeral Parlor]\n"
        + "    not_ambiguous: [호두]\n"
        + "    descriptor: a cheerful funeral director with a plum-blossom hat\n",
        1,
    )
    text = text.replace("en: [Hu Tao]", "en: [Hu Tao EDITED]", 1)
    # A character removed by hand comes back, appended at the end.
    lines = text.splitlines(keepends=True)
    start = lines.index("  - id: genshin_impact/albedo\n")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id: ") or lines[i].startswith("  # "))
    text = "".join(lines[:start] + lines[end:])
    path.write_text(text, encoding="utf-8")
    load_file(path)  # the hand edit is itself valid
    for name in SOURCES:
        import_records(shared_characters / name, out)
    return out


# -- first import -------------------------------------------------------------------------------------------------
def test_one_file_per_franchise(first_import):
    assert sorted(p.name for p in first_import.iterdir()) == ["genshin_impact.yaml", "horizon.yaml", "pokemon.yaml"]
    for p in first_import.iterdir():
        load_file(p)


def test_ids_and_names_are_kept_exactly(first_import, shared_characters):
    records = data_records(shared_characters)
    chars = lexicon_characters(first_import)
    assert set(chars) == {r["id"] for r in records}
    assert len(chars) == len(records)
    for r in records:
        _, c = chars[r["id"]]
        assert c.names == r["names"], r["id"]


def test_order_follows_the_data(first_import, shared_characters):
    lex = load_file(first_import / "pokemon.yaml")
    with open(shared_characters / "pokemon.jsonl", encoding="utf-8") as fh:
        assert [c.id for c in lex.characters] == [json.loads(line)["id"] for line in fh if line.strip()]


def test_franchises_and_rightsholders(first_import):
    pokemon = load_file(first_import / "pokemon.yaml")
    assert (pokemon.franchise.id, pokemon.franchise.name, pokemon.franchise.rightsholder) == (
        "pokemon", "Pokémon", "The Pokémon Company")
    horizon = load_file(first_import / "horizon.yaml")
    assert horizon.franchise.rightsholder == "Sony Interactive Entertainment"
    assert [c.id for c in horizon.characters] == ["genshin_impact/aloy"]
    assert load_file(first_import / "genshin_impact.yaml").franchise.rightsholder == "HoYoverse"
    assert franchise_slug("Pokémon") == "pokemon" and franchise_slug("Genshin Impact") == "genshin_impact"


def test_curated_ambiguous_names_are_written(first_import):
    chars = lexicon_characters(first_import)
    assert "Ditto" in chars["pokemon/ditto"][1].ambiguous
    assert {"Aether", "空", "Leer"} <= set(chars["genshin_impact/aether"][1].ambiguous)
    assert chars["pokemon/pikachu"][1].ambiguous == []


def test_the_import_compiles(first_import, session_cache):
    from guard import Guard

    g = Guard.from_paths([first_import], cache_dir=session_cache)
    assert [m.character_id for m in g.scan("ピカチュウと胡桃")] == ["pokemon/pikachu"]  # 胡桃 needs context
    assert [m.character_id for m in g.scan("Pikachu and Hu Tao")] == ["pokemon/pikachu", "genshin_impact/hutao"]


# -- re-running it ----------------------------------------------------------------------------------------------------
def test_rerun_without_edits_changes_nothing(first_import, second_import):
    for name in ("pokemon.yaml", "horizon.yaml"):
        assert (second_import / name).read_bytes() == (first_import / name).read_bytes()


def test_rerun_keeps_hand_edits(second_import):
    text = (second_import / "genshin_impact.yaml").read_text(encoding="utf-8")
    lex = load_file(second_import / "genshin_impact.yaml")
    assert lex.franchise.names["ja"] == ["原神"]
    assert lex.franchise.cues == ["Teyvat", "Mondstadt"]
    hutao = next(c for c in lex.characters if c.id == "genshin_impact/hutao")
    assert [a.text for a in hutao.alias_records()] == ["HuTao-chan", "Walnut"]
    assert hutao.alias_records()[1].ambiguous is True
    assert hutao.cues == ["Wangsheng Funeral Parlor"]
    assert hutao.not_ambiguous == ["호두"]
    assert hutao.descriptor.startswith("a cheerful funeral director")
    assert "# Hu Tao: hand-curated aliases below." in text
    assert "Names come from genshin_impact.jsonl" in text  # the header comment


def test_rerun_refreshes_names_and_restores_characters(second_import, shared_characters):
    lex = load_file(second_import / "genshin_impact.yaml")
    hutao = next(c for c in lex.characters if c.id == "genshin_impact/hutao")
    assert hutao.names["en"] == ["Hu Tao"]
    assert lex.characters[-1].id == "genshin_impact/albedo"
    ids = [c.id for c in lex.characters]
    assert len(ids) == len(set(ids))
    records = [r for r in data_records(shared_characters) if r["franchise"] == "Genshin Impact"]
    assert set(ids) == {r["id"] for r in records}


def test_rerun_merges_ambiguous_without_duplicates(second_import):
    lex = load_file(second_import / "genshin_impact.yaml")
    aether = next(c for c in lex.characters if c.id == "genshin_impact/aether")
    assert len(aether.ambiguous) == len(set(aether.ambiguous))


def test_bundled_lexicons_match_the_data(shared_characters):
    chars = lexicon_characters(bundled_lexicon_dir())
    records = data_records(shared_characters)
    assert set(chars) == {r["id"] for r in records}
    for r in records:
        assert chars[r["id"]][1].names == r["names"], r["id"]


# -- errors and the command -----------------------------------------------------------------------------------------
def test_read_records_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x/a", "franchise": "X", "names": {"en": ["A"]}}\n{not json\n', encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        read_records(bad)
    assert exc.value.line == 2 and "invalid JSON" in exc.value.message and str(bad) in str(exc.value)
    bad.write_text('{"id": "x/a", "franchise": "X"}\n', encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        read_records(bad)
    assert (exc.value.line, exc.value.field) == (1, "names")


def test_read_records_names_a_line_that_is_not_utf8_and_drops_a_byte_order_mark(tmp_path):
    bad = tmp_path / "bad.jsonl"
    record = '{"id": "x/a", "franchise": "X", "names": {"en": ["A"]}}\n'.encode()
    bad.write_bytes(b"\xef\xbb\xbf" + record + b'{"id": "x/\xff", "franchise": "X", "names": {}}\n')
    with pytest.raises(LexiconError) as exc:
        read_records(bad)
    assert exc.value.line == 2 and "invalid UTF-8 (byte 0xff)" in exc.value.message
    bad.write_bytes(b"\xef\xbb\xbf" + record)
    assert [r["id"] for r in read_records(bad)] == ["x/a"]


def test_the_curated_ambiguous_list_names_its_bad_lines(tmp_path):
    records = tmp_path / "toys.jsonl"
    records.write_text('{"id": "toys/ditto", "franchise": "Toys", "names": {"en": ["Ditto"]}}\n', encoding="utf-8")
    amb = tmp_path / "ambiguous.jsonl"
    amb.write_text('{"id": "toys/ditto", "name": "Ditto"}\n{"id": "toys/mew"}\n', encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        import_records(records, tmp_path / "out", ambiguous_path=amb)
    assert (exc.value.line, exc.value.field) == (2, "name") and str(amb) in str(exc.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


def test_refuses_to_merge_into_an_invalid_file(tmp_path, shared_characters):
    target = tmp_path / "genshin_impact.yaml"
    target.write_text("version: 1\nfranchise: {id: genshin_impact}\n", encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        import_records(shared_characters / "genshin_impact.jsonl", tmp_path)
    assert str(target) in str(exc.value)
    assert target.read_text(encoding="utf-8") == "version: 1\nfranchise: {id: genshin_impact}\n"


def test_lexicon_import_command(tmp_path, shared_characters):
    from guard.cli import main

    result = CliRunner().invoke(main, ["lexicon", "import", str(shared_characters / "genshin_impact.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "genshin_impact.yaml" in result.output and "horizon.yaml" in result.output
    assert len(load_file(tmp_path / "genshin_impact.yaml").characters) == 114


def test_lexicon_import_command_reports_bad_input(tmp_path):
    from guard.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["lexicon", "import", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "bad.jsonl:1" in result.output and "invalid JSON" in result.output
    bad.write_bytes(b'{"id": "x/\xff"}\n')
    result = CliRunner().invoke(main, ["lexicon", "import", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "bad.jsonl:1" in result.output and "invalid UTF-8" in result.output
    assert "Traceback" not in result.output


_GOOD = '{"id": "testverse/zorblax", "franchise": "Testverse", "rightsholder": "T Inc", "names": {"en": ["Zorblax"]}}\n'


@pytest.mark.parametrize(
    "record, field, message",
    [
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": {"en": [123]}}', "names.en.0", "valid string"),
        ('{"id": "zorblax", "franchise": "Testverse", "names": {"en": ["Z"]}}', "id", "franchise/key"),
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": "Zorblax"}', "names", "valid dictionary"),
        ('{"id": "testverse/zorblax", "franchise": 5, "names": {"en": ["Z"]}}', "franchise", "valid string"),
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": {"en": [" "]}}', "names", "empty name"),
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": {"jp": ["Z"]}}', "names", "country code"),
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": {"en": ["Zor\\u0000blax"]}}', "names.en.0", "U+0000"),
        ('{"id": "testverse/zorblax", "franchise": "Testverse", "names": {"en": ["Zor\\ud800blax"]}}', "names.en.0", "lone surrogate"),
    ],
)
def test_a_bad_record_names_its_line_and_field_and_leaves_the_lexicon_as_it_was(tmp_path, record, field, message):
    src = tmp_path / "in.jsonl"
    src.write_text(_GOOD, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    [path] = import_records(src, out)
    before = path.read_bytes()
    src.write_text(_GOOD + record + "\n", encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        import_records(src, out)
    assert (exc.value.path, exc.value.line, exc.value.field) == (str(src), 2, field) and message in exc.value.message
    assert path.read_bytes() == before and sorted(p.name for p in out.iterdir()) == [path.name]


def test_a_document_that_would_not_load_is_never_written(tmp_path):
    from guard.lexicon.importer import _write_checked, _yaml

    path = tmp_path / "x.yaml"
    path.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        _write_checked(_yaml(), {"version": 1, "franchise": {"id": "Not A Slug"}}, path, tmp_path / "in.jsonl")
    assert "x.yaml invalid" in exc.value.message and "unchanged" in exc.value.message
    assert path.read_text(encoding="utf-8") == "keep me\n" and sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"]


@pytest.mark.parametrize(
    "record, field",
    [
        ('{"id": 5, "title": "A"}', "id"), ('{"id": "t1", "title": ["A"]}', "title"), ('{"id": "t1", "title": "A", "synonyms": "B"}', "synonyms"),
        ('{"id": "t1", "title": "A\\u0007"}', "title"), ('{"id": "t1", "title": "A", "synonyms": ["B", "\\udc00"]}', "synonyms.1"),
    ],
)
def test_a_bad_title_record_names_its_line_and_field(tmp_path, record, field):
    from guard.lexicon.importer import import_titles

    chars = tmp_path / "chars.jsonl"
    chars.write_text(_GOOD, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    import_records(chars, out)
    src = tmp_path / "anime_titles.jsonl"
    src.write_text('{"id": "t0", "title": "Fine"}\n' + record + "\n", encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        import_titles(src, out)
    assert (exc.value.line, exc.value.field) == (2, field)
    assert not (out / "anime_titles.yaml").exists()


def test_a_rewritten_lexicon_keeps_its_permissions(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(_GOOD, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    [path] = import_records(src, out)
    path.chmod(0o640)
    import_records(src, out)
    assert path.stat().st_mode & 0o777 == 0o640
