"""guard.expand: spellings the lexicon does not list, generated at compile time, and their detection."""
from __future__ import annotations

import json

import pytest

from detectkit import assert_offsets, ids, match_for
from guard.expand import (
    despaced,
    hangul_variants,
    is_latin,
    kana_spellings,
    kana_variants,
    kanji_split,
    latin_variants,
    name_parts,
    romaji_forms,
)
from guard.normalize import normalize


def norm(s: str) -> str:
    return normalize(s).text


def test_despaced_and_is_latin():
    assert despaced("hu tao") == "hutao"
    assert despaced("Porygon-Z") == "PorygonZ"
    assert despaced("ピ・カ") == "ピカ"
    assert is_latin("Hu Tao") and is_latin("Flabébé")
    assert not is_latin("ピカチュウ") and not is_latin("123")


def test_latin_variants_name_order_and_plural():
    out = dict(latin_variants("hu tao"))
    assert out["tao hu"] == "name order swapped"
    assert out["taohu"] == "name order swapped, joined"
    assert dict(latin_variants("charizard")) == {"charizards": "plural"}
    assert dict(latin_variants("lapras"))["lapras" + "es"] == "plural"
    assert latin_variants("porygon2") == []  # no plural after a digit


def test_romaji_forms_with_and_without_long_vowels():
    assert {"rizaadon", "rizadon"} <= set(romaji_forms("リザードン"))
    assert {"myuutsuu", "myutsu"} <= set(romaji_forms("ミュウツー"))
    assert all(f.isascii() for f in romaji_forms("ピカチュウ"))


def test_kana_variants():
    out = dict(kana_variants("ピカチュウ", norm))
    assert out[norm("ぴかちゅう")] == "hiragana"
    assert out["pikachu"] == "romaji" and out["pikachuu"] == "romaji"
    assert kana_variants("神里綾華", norm) == []  # only katakana names


def test_kana_spellings():
    assert kana_spellings("ヌヴィレット") == ["ヌビレット"]
    assert kana_spellings("ヴォルカニオン") == ["ボルカニオン"]
    # each small vowel written large on its own, as people write them; not the vowel of ヴ
    assert kana_spellings("ウェンティ") == ["ウエンティ", "ウェンテイ"]
    assert kana_spellings("ヴァネッサ") == ["バネッサ"]
    assert kana_spellings("ピカチュウ") == []
    assert ("ぬびれっと", "hiragana") not in kana_variants("ヌヴィレット", norm)
    assert (norm("ヌビレット"), "katakana spelling") in kana_variants("ヌヴィレット", norm)
    # a large vowel that normalization reads as a long one makes another word (ピイ is ピー, a beep): not generated
    assert kana_spellings("ピィ") == ["ピイ"]
    assert all(note != "katakana spelling" for _v, note in kana_variants("ピィ", norm))
    assert (norm("ウェンテイ"), "katakana spelling") not in kana_variants("ウェンティ", norm)


@pytest.mark.parametrize("prompt", ["ピーという音が鳴った", "インコのピーちゃん", "ケーシー・アフレックの映画ポスター風", "ケイシーの笑顔"])
def test_katakana_spellings_that_are_other_words_name_no_one(guard, prompt):
    assert guard.scan(prompt, include_candidates=True) == []


def test_hangul_variants():
    assert hangul_variants("카미사토 아야카") == [("카미사토아야카", "joined")]
    assert hangul_variants("피카츄") == []


def test_kanji_split():
    assert kanji_split("神里綾華", "Kamisato Ayaka") == 2
    assert kanji_split("荒瀧一斗", "Arataki Itto") == 2
    assert kanji_split("胡桃", "Hu Tao") is None  # a Chinese name, not family + given
    assert kanji_split("神里綾華", "Ayaka") is None


def _record(shared_characters, cid: str) -> dict:
    fname = "genshin_impact.jsonl" if cid.startswith("genshin_impact/") else "pokemon.jsonl"
    with open(shared_characters / fname, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["id"] == cid:
                return rec
    raise KeyError(cid)


def test_name_parts_of_a_japanese_style_name(shared_characters):
    parts = name_parts(_record(shared_characters, "genshin_impact/kamisatoayaka")["names"], norm)
    by = {(p, lang) for p, lang, _ in parts}
    assert ("ayaka", "en") in by and ("kamisato", "en") in by
    assert (norm("綾華"), "ja") in by and (norm("绫华"), "zh-Hans") in by
    assert ("아야카", "ko") in by


def test_name_parts_skip_names_that_are_not_personal(shared_characters):
    # "Iron Moth" and "Tapu Koko" must not yield "moth" or "koko"; Hu Tao is not family + given name.
    assert name_parts(_record(shared_characters, "pokemon/iron-moth")["names"], norm) == []
    assert name_parts(_record(shared_characters, "pokemon/tapu-koko")["names"], norm) == []
    assert name_parts(_record(shared_characters, "genshin_impact/hutao")["names"], norm) == []


# -- end to end ----------------------------------------------------------------------------------------------------
EXPANDED = [
    ("romaji", "Rizaadon flying over Kanto", "pokemon/charizard", "Rizaadon"),
    ("romaji", "Rizadon flying", "pokemon/charizard", "Rizadon"),
    ("romaji", "Myuutsuu in a lab", "pokemon/mewtwo", "Myuutsuu"),
    ("romaji macron", "Myūtsū in a lab", "pokemon/mewtwo", "Myūtsū"),
    ("romaji", "Raichuu sprinting in the rain", "pokemon/raichu", "Raichuu"),
    ("official romaji", "Bangirasu roaring in a city", "pokemon/tyranitar", "Bangirasu"),
    ("hiragana", "らいちゅうが走る", "pokemon/raichu", "らいちゅう"),
    ("name order", "Ayaka Kamisato at a tea ceremony", "genshin_impact/kamisatoayaka", "Ayaka Kamisato"),
    ("name order", "Kamisato Ayaka at a tea ceremony", "genshin_impact/kamisatoayaka", "Kamisato Ayaka"),
    ("joined", "HuTao in Wangsheng", "genshin_impact/hutao", "HuTao"),
    ("space", "Hu Tao in Wangsheng", "genshin_impact/hutao", "Hu Tao"),
    ("hyphen", "Hu-Tao in Wangsheng", "genshin_impact/hutao", "Hu-Tao"),
    ("joined", "KamisatoAyaka dancing", "genshin_impact/kamisatoayaka", "KamisatoAyaka"),
    ("hyphen", "Kamisato-Ayaka dancing", "genshin_impact/kamisatoayaka", "Kamisato-Ayaka"),
    ("underscore", "Raiden_Shogun portrait", "genshin_impact/raidenshogun", "Raiden_Shogun"),
    ("split", "Xing Qiu reading a book", "genshin_impact/xingqiu", "Xing Qiu"),
    ("split", "Zhong Li drinking tea", "genshin_impact/zhongli", "Zhong Li"),
    ("korean joined", "카미사토아야카의 초상화", "genshin_impact/kamisatoayaka", "카미사토아야카"),
    ("plural", "three Raichus dancing", "pokemon/raichu", "Raichus"),
    ("plural", "a herd of Charizards", "pokemon/charizard", "Charizards"),
    ("plural", "Eevees everywhere", "pokemon/eevee", "Eevees"),
    # A possessive is not part of the name (the generated plural Keqings would join across the apostrophe).
    ("possessive", "Keqing's sword glowing purple", "genshin_impact/keqing", "Keqing"),
    ("possessive", "Charizard’s flame", "pokemon/charizard", "Charizard"),
    ("possessive", "Hu Tao's staff", "genshin_impact/hutao", "Hu Tao"),
    ("possessive", "P i k a c h u's tail", "pokemon/pikachu", "P i k a c h u"),
    ("diacritics", "Flabebe on a flower", "pokemon/flabebe", "Flabebe"),
    ("diacritics", "Salameche dans la forêt", "pokemon/charmander", "Salameche"),
    ("katakana ヴィ as ビ", "ヌビレットが雨の街角に立つ", "genshin_impact/neuvillette", "ヌビレット"),
    ("katakana large vowel", "ウエンティが風車の上で歌う", "genshin_impact/venti", "ウエンティ"),
    ("katakana large vowel", "フイッシュルとオズ", "genshin_impact/fischl", "フイッシュル"),
]


@pytest.mark.parametrize("kind, prompt, cid, surface", EXPANDED, ids=[f"{e[0]}:{e[3]}" for e in EXPANDED])
def test_generated_spellings_are_found(guard, kind, prompt, cid, surface):
    matches = guard.scan(prompt)
    assert ids(matches) == [cid]
    assert_offsets(prompt, matches)
    assert match_for(matches, cid).surface == surface


# -- partial given names --------------------------------------------------------------------------------------------
PARTIALS = [
    ("Ayaka at a tea ceremony", "genshin_impact/kamisatoayaka", "Ayaka"),
    ("Ayato at a tea ceremony", "genshin_impact/kamisatoayato", "Ayato"),
    ("Kazuha under the maple trees", "genshin_impact/kaedeharakazuha", "Kazuha"),
    ("Itto wrestling an oni", "genshin_impact/aratakiitto", "Itto"),
    ("綾華が茶会を開く", "genshin_impact/kamisatoayaka", "綾華"),
    ("綾人が茶会を開く", "genshin_impact/kamisatoayato", "綾人"),
    ("绫华在茶会上", "genshin_impact/kamisatoayaka", "绫华"),
    ("万叶在枫树下", "genshin_impact/kaedeharakazuha", "万叶"),
    ("万葉が紅葉の下で", "genshin_impact/kaedeharakazuha", "万葉"),
    ("아야카가 차를 마신다", "genshin_impact/kamisatoayaka", "아야카"),
    ("카즈하의 초상화", "genshin_impact/kaedeharakazuha", "카즈하"),
]


@pytest.mark.parametrize("prompt, cid, surface", PARTIALS, ids=[p[2] for p in PARTIALS])
def test_partial_given_names(guard, prompt, cid, surface):
    matches = guard.scan(prompt)
    assert ids(matches) == [cid]
    m = match_for(matches, cid)
    assert m.surface == surface
    assert m.method == "partial"
    assert_offsets(prompt, matches)


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("Kokomi leading her army", "genshin_impact/sangonomiyakokomi"),
        ("Heizou solving a case", "genshin_impact/shikanoinheizou"),
        ("Shinobu on patrol", "genshin_impact/kukishinobu"),
        ("Mizuki reading dreams", "genshin_impact/yumemizukimizuki"),
        ("心海が海辺を歩く", "genshin_impact/sangonomiyakokomi"),
    ],
)
def test_partial_given_names_of_longer_kanji_names(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


def test_partial_names_that_are_common_words_need_context(guard):
    # Kujou Sara's "Sara" is an everyday given name: alone it is only a candidate.
    assert ids(guard.scan("Sara walking her dog")) == []
    assert ids(guard.scan("Sara and Raiden Shogun in Inazuma")) == [
        "genshin_impact/kujousara",
        "genshin_impact/raidenshogun",
    ]


def test_family_names_shared_by_siblings_are_not_partials(guard):
    # Kamisato is the family name of both Ayaka and Ayato: alone it names neither.
    assert ids(guard.scan("the Kamisato clan estate")) == []


@pytest.mark.parametrize(
    "prompt, cid",
    [("Bai Zhu in his pharmacy", "genshin_impact/baizhu"), ("Chong-Yun eating ice cream", "genshin_impact/chongyun"),
     ("Yan-Fei reading a law book", "genshin_impact/yanfei")],
)
def test_split_pinyin_names(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]
