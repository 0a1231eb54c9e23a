"""`guard lexicon variants`: the spellings compile-time expansion generates, taken from the compiler itself."""
from __future__ import annotations

import json

import pytest

from guard.errors import LexiconError
from guard.lexicon.variants import guess_lang, variants_of_character, variants_of_name


def _by_pattern(variants):
    return {v.pattern: v for v in variants}


def test_latin_name():
    lang, vs = variants_of_name("Hu Tao")
    assert lang == "en"
    got = _by_pattern(vs)
    assert got["hu tao"].kind == "name"
    assert got["hutao"].note == "lexicon name, separators removed"
    assert got["tao hu"].note == "name order swapped"
    assert got["hu taos"].note == "plural"
    assert all(v.alias == "Hu Tao" for v in vs)


def test_katakana_name_and_ambiguity_marks():
    lang, vs = variants_of_name("ラッキー")
    assert lang == "ja"
    got = _by_pattern(vs)
    assert {"rakki", "rakkii"} & set(got) and all(got[p].note == "romaji" for p in got if p.isascii())
    assert got["らっきー"].note == "hiragana"
    assert got["ラッキー"].ambiguous and "common word" in got["ラッキー"].ambiguous  # ラッキー is "lucky"


def test_explicit_language_changes_the_rules():
    _lang, vs = variants_of_name("Lucky", "ja-Latn")
    assert "English word" in _by_pattern(vs)["lucky"].ambiguous


def test_guess_lang():
    assert [guess_lang(n) for n in ("Pikachu", "ピカチュウ", "피카츄", "皮卡丘")] == ["en", "ja", "ko", "zh-Hans"]


def test_character_variants_and_what_the_full_lexicon_kept(guard):
    from guard.lexicon.loader import load_lexicons

    loaded = load_lexicons()
    vs = variants_of_character("genshin_impact/kamisatoayaka", loaded, guard.compiled)
    got = _by_pattern(vs)
    assert got["ayaka kamisato"].kind == "variant" and got["ayaka kamisato"].status == "kept"
    assert got["ayaka"].kind == "partial"
    # "Kamisato" is a part of Ayato's name too, so the compiler leaves it out.
    assert got["kamisato"].status == "dropped"
    index = {p: i for i, p in enumerate(guard.compiled.patterns)}
    for v in vs:
        if v.status == "kept":
            owners = {guard.compiled.characters[e.char].id for e in guard.compiled.entries[index[v.pattern]] if e.char >= 0}
            assert "genshin_impact/kamisatoayaka" in owners


def test_cli_variants(cli):
    r = cli("lexicon", "variants", "リザードン")
    assert r.exit_code == 0, r.output
    assert "guessed from the script" in r.output and "rizaadon" in r.output and "hiragana" in r.output
    r = cli("lexicon", "variants", "Hu Tao", "--lang", "en", "--json")
    data = json.loads(r.output)
    assert data["lang"] == "en" and any(v["pattern"] == "tao hu" for v in data["variants"])


@pytest.mark.parametrize("cid", ["pokemon/nidoran-f"])
def test_cli_variants_of_a_character(cli, cid):
    r = cli("lexicon", "variants", cid)
    assert r.exit_code == 0, r.output
    assert "shared with pokemon/nidoran-m" in r.output


@pytest.mark.parametrize("name, lang, field", [("Pikachu", "jp", "lang"), ("Pika\x07chu", "en", "name")])
def test_a_tag_or_name_the_loader_would_refuse_is_a_lexicon_error(name, lang, field):
    with pytest.raises(LexiconError) as info:
        variants_of_name(name, lang)
    assert info.value.field == field
