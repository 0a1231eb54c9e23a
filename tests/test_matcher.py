"""guard.matcher: one pass over the normalized prompt, script-aware word boundaries, longest match wins."""
from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectkit import assert_offsets, ids, match_for
from guard.matcher import boundary_ok


# -- unspaced Japanese and Chinese ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("ピカチュウを描いて", "pokemon/pikachu", "ピカチュウ"),
        ("夜の街を走るリザードンのイラスト", "pokemon/charizard", "リザードン"),
        ("森の中でフシギダネが眠っている", "pokemon/bulbasaur", "フシギダネ"),
        ("画一只皮卡丘在草地上", "pokemon/pikachu", "皮卡丘"),
        ("刻晴在璃月的屋顶上飞奔", "genshin_impact/keqing", "刻晴"),
        ("請畫一隻噴火龍飛過城市", "pokemon/charizard", "噴火龍"),
        ("行秋が船の上で小説を読む", "genshin_impact/xingqiu", "行秋"),
        ("雷電将軍が稲妻城に立つ", "genshin_impact/raidenshogun", "雷電将軍"),
    ],
)
def test_unspaced_cjk(guard, prompt, cid, surface):
    matches = guard.scan(prompt)
    assert ids(matches) == [cid]
    assert_offsets(prompt, matches)
    assert match_for(matches, cid).surface == surface


# -- Korean with particles -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt",
    [
        "피카츄가 웃고 있다",
        "피카츄는 귀엽다",
        "피카츄를 그려줘",
        "피카츄와 함께",
        "피카츄의 꼬리",
        "피카츄에게 편지를",
        "피카츄처럼 웃는 아이",
        "피카츄도 왔다",
        "피카츄랑 놀기",
        "피카츄한테 주기",
        "피카츄들이 뛰어논다",
        "리자몽이 하늘을 난다",
        "리자몽을 그려줘",
        "리자몽과 함께",
        "리자몽으로 변신",
        "리자몽이랑 놀기",
    ],
)
def test_korean_particles(guard, prompt):
    matches = guard.scan(prompt)
    assert len(ids(matches)) == 1
    m = matches[0]
    assert m.start == 0 and m.surface in ("피카츄", "리자몽")


@pytest.mark.parametrize("prompt", ["리자몽에게서 받은 편지", "피카츄한테서 온 선물", "피카츄만큼 큰 케이크", "피카츄로서 살아가기"])
def test_korean_particles_missing(guard, prompt):
    assert len(ids(guard.scan(prompt))) == 1


def test_korean_name_inside_a_longer_word_is_not_a_match(guard):
    # 이상해씨 (Bulbasaur) is not matched inside an unrelated longer hangul word.
    assert ids(guard.scan("이상해씨앗들")) == []
    assert ids(guard.scan("이상해씨가 잔다")) == ["pokemon/bulbasaur"]


# -- Latin word boundaries --------------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt", ["abracadabra", "a candelabra on a table", "Abracadabra!", "kadabra2000x"])
def test_no_match_inside_words(guard, prompt):
    assert [m.character_id for m in guard.scan(prompt, include_candidates=True) if m.character_id == "pokemon/abra"] == []


@pytest.mark.parametrize(
    "prompt, surface",
    [
        ("Pikachu's tail", "Pikachu"),  # the possessive is not part of the name
        ("Pikachu’s tail", "Pikachu"),
        ("look at Pikachu, then Raichu", "Pikachu"),
        ("(Pikachu)", "Pikachu"),
        ("#Pikachu", "Pikachu"),
        ("Pikachu-themed cake", "Pikachu"),
        ("three Pikachus", "Pikachus"),
    ],
)
def test_word_boundaries_and_suffixes(guard, prompt, surface):
    matches = guard.scan(prompt)
    assert "pokemon/pikachu" in ids(matches)
    assert_offsets(prompt, matches)
    assert match_for(matches, "pokemon/pikachu").surface == surface


# -- nested names: the longest mention wins ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("Mewtwo floating in a lab", "pokemon/mewtwo", "Mewtwo"),
        ("Porygon-Z glitching", "pokemon/porygon-z", "Porygon-Z"),
        ("Porygon2 in cyberspace", "pokemon/porygon2", "Porygon2"),
        ("a Kabutops fossil", "pokemon/kabutops", "Kabutops"),
        ("ミュウツーが浮かぶ", "pokemon/mewtwo", "ミュウツー"),
        ("ポリゴンＺがバグる", "pokemon/porygon-z", "ポリゴンＺ"),
        ("ポリゴン２の絵", "pokemon/porygon2", "ポリゴン２"),
        ("カブトプスの化石", "pokemon/kabutops", "カブトプス"),
        ("超梦在实验室里", "pokemon/mewtwo", "超梦"),
    ],
)
def test_longest_match_wins(guard, prompt, cid, surface):
    matches = guard.scan(prompt, include_candidates=True)
    assert [m.character_id for m in matches] == [cid]
    assert matches[0].surface == surface


def test_nested_names_side_by_side(guard):
    prompt = "Mewtwo and Mew, Porygon-Z and Porygon, Kabutops and Kabuto"
    matches = guard.scan(prompt)
    assert_offsets(prompt, matches)
    assert [m.surface for m in matches] == ["Mewtwo", "Mew", "Porygon-Z", "Porygon", "Kabutops", "Kabuto"]
    assert ids(matches) == sorted(
        ["pokemon/mewtwo", "pokemon/mew", "pokemon/porygon-z", "pokemon/porygon", "pokemon/kabutops", "pokemon/kabuto"]
    )


# -- case, width and NFKC never matter ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("PIKACHU", "pokemon/pikachu"),
        ("pikachu", "pokemon/pikachu"),
        ("pIkAcHu", "pokemon/pikachu"),
        ("Ｐｉｋａｃｈｕ", "pokemon/pikachu"),
        ("ＰＩＫＡＣＨＵ", "pokemon/pikachu"),
        ("ﾋﾟｶﾁｭｳ", "pokemon/pikachu"),
        ("ポリゴン2", "pokemon/porygon2"),
        ("ポリゴン２", "pokemon/porygon2"),
        ("Nidoran♀", "pokemon/nidoran-f"),
        ("Nidoran♂", "pokemon/nidoran-m"),
        ("Farfetch’d", "pokemon/farfetchd"),
        ("Farfetch'd", "pokemon/farfetchd"),
        ("Flabébé", "pokemon/flabebe"),
        ("Flabe\u0301be\u0301", "pokemon/flabebe"),
        ("FLABÉBÉ", "pokemon/flabebe"),
        ("Type: Null", "pokemon/type-null"),
        ("タイプ：ヌル", "pokemon/type-null"),
        ("タイプ:ヌル", "pokemon/type-null"),
        ("多邊獸Ⅱ", "pokemon/porygon2"),
        ("カプ・コケコ", "pokemon/tapu-koko"),
        ("Mr. Mime", "pokemon/mr-mime"),
    ],
)
def test_case_width_and_nfkc_insensitive(guard, prompt, cid):
    text = f"draw {prompt} please"
    matches = guard.scan(text)
    assert ids(matches) == [cid]
    assert_offsets(text, matches)
    assert match_for(matches, cid).surface == prompt


# -- offsets slice the original text in every script -------------------------------------------------------------
SCRIPTS = [
    ("en", "A watercolor of Pikachu and Charizard at dawn", ["Pikachu", "Charizard"]),
    ("ja", "ピカチュウとリザードンの水彩画", ["ピカチュウ", "リザードン"]),
    ("ja-Hrkt", "ぴかちゅうとりざーどん", ["ぴかちゅう", "りざーどん"]),
    ("zh-Hans", "皮卡丘和喷火龙的水彩画", ["皮卡丘", "喷火龙"]),
    ("zh-Hant", "皮卡丘和噴火龍的水彩畫", ["皮卡丘", "噴火龍"]),
    ("ko", "피카츄와 리자몽의 수채화", ["피카츄", "리자몽"]),
    ("fr", "Pikachu et Dracaufeu à l'aube", ["Pikachu", "Dracaufeu"]),
    ("de", "Pikachu und Glurak im Morgengrauen", ["Pikachu", "Glurak"]),
    ("ru", "Кли и Дилюк в Мондштадте", ["Кли", "Дилюк"]),
    ("mixed", "Ｐｉｋａ\u200bｃｈｕ と ﾘｻﾞｰﾄﾞﾝ", ["Ｐｉｋａ\u200bｃｈｕ", "ﾘｻﾞｰﾄﾞﾝ"]),
    ("astral", "🎨 Pikachu 🐉 and 𝐂𝐡𝐚𝐫𝐢𝐳𝐚𝐫𝐝 ✨", ["Pikachu", "𝐂𝐡𝐚𝐫𝐢𝐳𝐚𝐫𝐝"]),
]


@pytest.mark.parametrize("lang, prompt, surfaces", SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_offsets_slice_the_original_in_every_script(guard, lang, prompt, surfaces):
    matches = guard.scan(prompt)
    assert_offsets(prompt, matches)
    assert [m.surface for m in matches] == surfaces
    assert len(ids(matches)) == 2


def test_matches_are_ordered_by_position(guard):
    prompt = "Raichu, then Pikachu, then Bulbasaur, then Pikachu again"
    matches = guard.scan(prompt)
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    assert [m.character_id for m in matches].count("pokemon/pikachu") == 2


# -- boundary rule, directly ----------------------------------------------------------------------------------------
def test_boundary_rule_latin():
    t = "xabra abra abra1"
    assert not boundary_ok(t, 1, 5, "latin", "latin", 4)
    assert boundary_ok(t, 6, 10, "latin", "latin", 4)
    assert not boundary_ok(t, 11, 15, "latin", "latin", 4)


def test_boundary_rule_short_katakana_inside_katakana():
    # A short katakana name inside a longer katakana word is not a mention (プリン in カスタードプリン).
    t = "カスタードプリン"
    assert not boundary_ok(t, 5, 8, "kata", "kata", 3)
    assert boundary_ok("プリンを食べる", 0, 3, "kata", "kata", 3)


def test_boundary_rule_hangul_particles():
    assert boundary_ok("피카츄가", 0, 3, "hangul", "hangul", 3)
    assert not boundary_ok("피카츄빵집", 0, 3, "hangul", "hangul", 3)


@pytest.mark.parametrize(
    "text, ok",
    [
        ("ごろー", True),
        ("弾くごろー", True),  # a verb ending after a kanji stem, before a noun
        ("猫とごろーが遊ぶ", True),  # particles on both sides
        ("ごろーちゃん", True),  # an honorific
        ("ごろーみたいな犬", True),
        ("ごろーカフェ", True),  # katakana after a hiragana name: another word
        ("なったごろー", False),  # after a hiragana word (なった): too often inside one (なにこれー)
        ("すごろーく", False),  # す inside a hiragana word
        ("猫でごろーいい", False),  # い after the name continues it
        ("カごろー", False),  # katakana before a short hiragana name
        ("猫ごろー", False),  # right after a kanji: the kanji's own ending (初めての)
        ("座っているごろー", True),  # after a verb's progressive, all hiragana
        ("泳いでいたごろー", True),
        ("見てるごろー", True),
        ("いるごろー", False),  # いる alone is no ending that the rule knows
        ("まってたごろー", False),  # running hiragana: no kanji or katakana stem before the ending
        ("しってるごろー", False),
        ("座っているごろーむ", False),  # the right side still decides
        ("昼寝をするごろー", False),  # not after する or した: 告白したあいの言葉, 恋するあいの歌
        ("散歩したごろー", False),
    ],
)
def test_boundary_rule_short_hiragana(text, ok):
    s = text.index("ごろー")
    assert boundary_ok(text, s, s + 3, "hira", "hira", 3) is ok


@pytest.mark.parametrize(
    "text, ok",
    [
        ("琴", True),
        ("原神：琴和丽莎", True),  # a conjunction after the name
        ("元素爆发的琴，", True),  # a particle before it
        ("原神的琴在蒙德", True),
        ("原神的空中城市", False),  # 空中, "in the air"
        ("空飛ぶ島", False),  # Japanese "flying", folded to 空飞
        ("原神里的琴弦", False),
        ("原神风格的空走廊里", False),  # verbs start nouns too: 走廊, "corridor"
        ("原神的空看台上", False),
        ("弹琴", False),  # inside a word
        ("钢琴的声音", False),
        ("空的房间", False),  # 空的 is "empty"
        ("天空下", False),
    ],
)
def test_boundary_rule_one_common_hanzi(text, ok):
    s = text.index("琴") if "琴" in text else text.index("空")
    assert boundary_ok(text, s, s + 1, "han", "han", 1, strict=True) is ok


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("夜の屋上でバイオリンを弾くごろー", "genshin_impact/gorou"),
        ("浮島に立つどりーのローポリ3Dレンダー", "genshin_impact/dori"),
        ("公園で猫とまねねが遊ぶ", "pokemon/mime-jr"),
        ("ごろーだよ", "genshin_impact/gorou"),
        ("ごろーまでの道", "genshin_impact/gorou"),
        ("ごろーっぽいイラスト", "genshin_impact/gorou"),
        ("川で泳いでいるどりーの絵", "genshin_impact/dori"),
        ("ソファで寝てるごろー", "genshin_impact/gorou"),
        # After a verb's ending, a name may start with a kana that is also a particle (や, か, も).
        ("ギターを弾くやどん", "pokemon/slowpoke"),
        ("公園を歩くだげき", "pokemon/sawk"),
        ("ベンチに座っているよわし", "pokemon/wishiwashi"),
    ],
)
def test_short_hiragana_name_next_to_particles_and_endings(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


@pytest.mark.parametrize(
    "prompt",
    [
        "これいいね、最高の写真",  # これ + いい, not コレイ
        "写真を撮ってもらった",  # もらった, not ラッタ
        "ピアノをならった",
        "でもここは静かな町",  # でも + ここ, not モココ
        "BanG Dream! ぽっぴん'どりーむ！",  # どりーむ (dream), not ドリー
        "なにこれー！かわいい",  # not コレー
        "ちょっと見てくれー",  # not クレー
        "はとぽっぽの歌",  # not ポッポ
        "お返事をいただくまでお待ちください",  # not ダクマ
        "きれいなだりあがさいた",
        "初めてのデート",  # not メテノ
        "パンチを食らった",  # not ラッタ
        # A particle after a noun, an adjective or a verb ("also", "even if"), then ここ: not モココ.
        "花の匂いもここまで届く",
        "長い戦いもここで終わる",
        "遠くもここからよく見える",
        "雨が降るもここは晴れている",
    ],
)
def test_short_hiragana_name_inside_running_hiragana(guard, prompt):
    assert ids(guard.scan(prompt)) == []


@pytest.mark.xfail(
    strict=True,
    reason="katakana names of five or more kana skip the katakana boundary check, so Jolteon's サンダース is found "
    "inside the loanword サンダーストーム ('thunderstorm') and reported as a confirmed, unambiguous match",
)
@pytest.mark.parametrize("prompt", ["雷鳴とサンダーストーム", "サンダーストームの夜"])
def test_long_katakana_name_inside_a_loanword(guard, prompt):
    assert ids(guard.scan(prompt)) == []


def test_a_russian_name_next_to_chinese_and_english_names(guard):
    assert ids(guard.scan("Фарузан與Pikachu在公園裡散步")) == ["genshin_impact/faruzan", "pokemon/pikachu"]


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("HuTao surfing at sunset", "genshin_impact/hutao"),
        ("RaidenShogun on a throne", "genshin_impact/raidenshogun"),
        ("Ху Тао катается на волне", "genshin_impact/hutao"),
        # Joined, the Cyrillic name is one word of look-alike letters, which folds to Latin (xytao) in the prompt;
        # the compiler folds the joined name the same way.
        ("ХуТао катается на волне", "genshin_impact/hutao"),
        # The other way round: alone, "Гуан" is all look-alikes and folds to Latin, joined it stays Cyrillic.
        ("акварель: НинГуан спит под сакурой", "genshin_impact/ningguang"),
        ("НИНГУАН на крыше", "genshin_impact/ningguang"),
        ("Нин Гуан на крыше", "genshin_impact/ningguang"),
    ],
)
def test_multi_word_name_written_as_one_word(guard, prompt, cid):
    assert cid in ids(guard.scan(prompt, include_candidates=True))


def test_joined_hits_counted_against_the_main_pass():
    from guard.matcher import _all_in

    raw = [(1, 0, 3), (2, 4, 7), (1, 8, 11)]
    assert _all_in([(1, 0, 3), (1, 6, 9)], raw)
    assert not _all_in([(1, 0, 3), (1, 3, 6), (1, 6, 9)], raw)
    assert not _all_in([(3, 0, 3)], raw)
    many = [(i % 5, i, i + 1) for i in range(100)]
    assert _all_in(many[:50], many) and not _all_in(many + [(7, 0, 1)], many)


def test_long_prompt_of_repeated_spaced_names(guard):
    prompt = "P i k a c h u and mew " * 2000
    matches = guard.scan(prompt)
    assert sum(m.character_id == "pokemon/pikachu" for m in matches) == 2000


# -- leetspeak "1" as "l", and spellings made to evade a filter ----------------------------------------------------


@pytest.mark.parametrize(
    "prompt, cid, normalized",
    [
        ("S1aking at the beach", "pokemon/slaking", "slaking"),  # read as i, it is one edit from Seaking
        ("Fisch1 standing on a cliff", "genshin_impact/fischl", "fischl"),  # fischi is an Italian word
        ("Co11ei in the forest ß", "genshin_impact/collei", "collei"),  # ß: the normalized text has offsets
        ("T1nk471nk on a rooftop", "pokemon/tinkatink", "tinkatink"),  # read as i, as before
        ("Fisch\uff11 standing on a cliff", "genshin_impact/fischl", "fischl"),  # a full-width one
        ("Co\uff11\uff11ei in the forest \u00df", "genshin_impact/collei", "collei"),
    ],
)
def test_leetspeak_one_read_as_l(guard, prompt, cid, normalized):
    (m,) = guard.scan(prompt)
    assert (m.character_id, m.normalized) == (cid, normalized)
    assert_offsets(prompt, [m])


def test_leet_ones_and_the_windows_searched_around_them():
    from guard.matcher import _leet_ones, _word_windows
    from guard.normalize import normalize

    assert _leet_ones(normalize("K1ee at 1080p")) == [1]  # 1080p is a number, not leetspeak
    assert _leet_ones(normalize("ß K1ee")) == [4]  # ß folds to two letters: the position is in the folded text
    assert _leet_ones(normalize("Klee at 1080p")) == []
    assert _leet_ones(normalize("K\uff11ee 1 K1ee")) == [1, 8]  # full-width and ASCII ones, in text order
    assert _leet_ones(normalize("\u00df K\uff11ee")) == [4]
    t = "a watercolor of kiee in a garden, tapu fini"
    kiee, garden, fini = t.index("kiee") + 1, t.index("garden") + 1, t.index("fini") + 1
    assert [t[a:b] for a, b in _word_windows(t, [kiee])] == ["of kiee in"]
    assert [t[a:b] for a, b in _word_windows(t, [kiee, garden])] == ["of kiee in", "a garden, tapu"]
    assert [t[a:b] for a, b in _word_windows(t, [kiee, t.index("in") + 1])] == ["of kiee in a"]  # merged
    assert [t[a:b] for a, b in _word_windows(t, [fini])] == ["tapu fini"]
    # Several positions inside one word give its window once, as one position does.
    k = t.index("kiee")
    assert _word_windows(t, [k + 1, k + 2, k + 3]) == _word_windows(t, [k + 1])


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("D0r! dressed as a ghost", "genshin_impact/dori", "D0r!"),
        ("Tighn4r! reading under a tree", "genshin_impact/tighnari", "Tighn4r!"),
        ("Ch!or! sewing a kimono", "genshin_impact/chiori", "Ch!or!"),
        ("Azumar1|| floating in a pond", "pokemon/azumarill", "Azumar1||"),
        ("ß D0r! at the market", "genshin_impact/dori", "D0r!"),  # the normalized text has offsets
        ("draw D0ri!", "genshin_impact/dori", "D0ri"),  # the text names her already: the ! is punctuation
    ],
)
def test_the_last_sign_of_a_leetspeak_word_read_as_a_letter(guard, prompt, cid, surface):
    (m,) = [m for m in guard.scan(prompt) if m.character_id == cid]
    assert m.surface == surface
    assert_offsets(prompt, [m])


@pytest.mark.parametrize("prompt", ["See! a dog in the park", "Dor! Dor! shouted the crowd", "H3ll0! world", "Pikachu!!"])
def test_an_exclamation_mark_stays_punctuation_outside_leetspeak(guard, prompt):
    assert [m.surface for m in guard.scan(prompt, include_candidates=True)] in ([], ["Pikachu"])


def test_leet_tails():
    from guard.matcher import _leet_tails
    from guard.normalize import normalize

    common = {"star"}
    assert _leet_tails(normalize("D0r! and Azumar1|| but not Dor! or 4!x"), common) == [(3, "i"), (16, "l"), (17, "l")]
    assert _leet_tails(normalize("\u00df D0r!"), common) == [(6, "i")]
    assert _leet_tails(normalize("Pikachu! P1kachu"), common) == []
    assert _leet_tails(normalize("@star! @d0r! St4r!"), common) == [(11, "i")]  # a handle's @; an everyday word


@pytest.mark.parametrize(
    "prompt",
    [
        "Thanks @star! Love the art",  # a handle's @ is no leetspeak of the word
        "great collab with @lamp! and @mental!",
        "shoutout to @magnet! for the commission",
        "new banner for @vent! commission",
        "@celeb! party poster",
        "GG St4r! logo for my clan",  # everyday words in leetspeak, shouted
        "5tar! rating",
        "v3nt! about my day",
        "m3ntal! note",
    ],
)
def test_a_handle_or_an_everyday_word_before_an_exclamation_mark_names_no_one(guard, prompt):
    assert guard.scan(prompt, include_candidates=True) == []


def test_the_sign_read_as_a_letter_is_no_evidence_of_evasion(guard):
    # Venti is ambiguous; only leetspeak before the ! may confirm it.
    (m,) = guard.scan("a poster of Vnt! at the festival", include_candidates=True) or [None]
    assert m is None or not m.confirmed
    (m,) = guard.scan("a poster of V3nt1! at the festival", include_candidates=True)
    assert m.character_id == "genshin_impact/venti" and m.confirmed


_TAIL_FRAGMENTS = st.one_of(
    st.sampled_from(["D0r", "Dor", "Tighn4r", "Ch!or", "Azumar1", "K1ee", "Co\uff11\uff11ei", "@star", "st4r", "@"]),
    st.sampled_from(["!", "|", "!!", "||", "!|", "1", "\uff11", "\uff01", "\uff5c"]),
    st.sampled_from([" ", "-", ".", "\n", "\u00df", "\ufb01", "\u0130", "\u0301", "\u200b", "\u2161", "\u039d", "e\u0301"]),
    st.text(alphabet="abdor!|1@$4 0\u00df", max_size=6),
    st.text(max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(_TAIL_FRAGMENTS, max_size=10).map("".join))
def test_offsets_hold_around_leetspeak_signs(guard, text):
    matches = guard.scan(text, include_candidates=True)
    assert_offsets(text, matches)
    assert guard.scan(text) == [m for m in matches if m.confirmed]


@pytest.mark.parametrize(
    "prompt",
    [
        "Μια φωτογραφία του Νίκου στη θάλασσα",  # Greek words that look Latin in capitals are still Greek
        "Νότιο Αιγαίο, ηλιοβασίλεμα, ελαιογραφία",
        "Ο Νόμος του Μέρφι, αφίσα",
        "Νάντια με κόκκινο φόρεμα",
        "ΑΝΤΙΟ καλοκαίρι, αφίσα",
    ],
)
def test_greek_prompts_name_no_one(guard, prompt):
    assert guard.scan(prompt) == []


def _select_by_scanning(cands, entries):
    """The selection rule as first written: each candidate, in rank order, against every one chosen."""
    from guard.matcher import _overlaps_any, _rank

    chosen = []
    for c in sorted(cands, key=lambda c: _rank(c, entries)):
        if not _overlaps_any(chosen, c.s, c.e):
            chosen.append(c)
    return chosen


def test_selection_of_many_candidates_equals_the_plain_rule(guard):
    # Past a few candidates the selection bisects over the chosen spans; it must choose what the plain rule does.
    from guard.matcher import _Candidate, _select

    scanner = guard.scanner
    pids = [pid for pid, _s, _e in scanner._exact_hits("pikachu raichu mewtwo mew eevee hu tao klee")[0]]
    rnd = random.Random(5)
    for _ in range(300):
        cands = []
        for _ in range(rnd.randrange(1, 60)):
            s = rnd.randrange(0, 200)
            cands.append(_Candidate(s, s + rnd.randrange(1, 12), rnd.choice(pids), rnd.choice([None, "despaced", "fuzzy"]), None))
        expected = _select_by_scanning(list(cands), scanner._entries)
        assert _select(list(cands), scanner._entries) == expected


def test_span_index_equals_the_plain_overlap_test():
    from guard.matcher import _overlap_test, _overlaps_span

    rnd = random.Random(9)
    for _ in range(300):
        spans = [(a, a + rnd.randrange(1, 15)) for a in (rnd.randrange(0, 300) for _ in range(rnd.randrange(0, 40)))]
        test = _overlap_test(spans)
        for _ in range(30):
            s = rnd.randrange(0, 320)
            e = s + rnd.randrange(1, 20)
            assert test(s, e) == _overlaps_span(spans, s, e)


def test_a_long_prompt_repeating_names_finds_each(guard):
    # Thousands of mentions go through the bisecting selection and the span index (the plain loops took time in
    # the square of the count: 2.75 s for these 16,000 before).
    prompt = "Pikachu xyzzyq K1ee " * 8000
    found = guard.scan(prompt)
    assert [m.character_id for m in found[:2]] == ["pokemon/pikachu", "genshin_impact/klee"] and len(found) == 16000
    assert_offsets(prompt, found)


@pytest.mark.parametrize("prompt", ["Ditto next to a Poke Ba11", "Ditto next to a Pokeba11 and 1080p"])
def test_a_cue_with_a_leetspeak_one_read_as_l_is_context(guard, prompt):
    (m,) = guard.scan(prompt)
    assert m.character_id == "pokemon/ditto" and "Poké Ball" in m.evidence[-1]


def test_a_leetspeak_one_far_from_the_name_changes_nothing(guard):
    prompt = "1girl, solo, pikachu plush on a shelf, amber eyes, " * 3
    assert ids(guard.scan(prompt)) == ["pokemon/pikachu"]


@pytest.mark.parametrize(
    "prompt, cid, how",
    [
        ("4mber in the rain", "genshin_impact/amber", "leetspeak"),
        ("D1tt0 on a rock", "pokemon/ditto", "leetspeak"),
        ("M3w playing the violin on a rooftop", "pokemon/mew", "leetspeak"),  # three letters, the sign inside
        ("make a sticker of M o n a with a white outline", "genshin_impact/mona", "spaced out"),  # not in capitals
        ("L*i*s*a breathing fire over a castle", "genshin_impact/lisa", "spaced out"),
        ("D.i.t.t.o. on a rock", "pokemon/ditto", "spaced out"),
        ("a travel poster with L!$a flying over mountains", "genshin_impact/lisa", "leetspeak"),
        ("stained glass window depicting B\u0430rb\u0430ra", "genshin_impact/barbara", "another script"),  # Cyrillic
        ("Ditt\u03bf on a rock", "pokemon/ditto", "another script"),  # a Greek omicron
        ("Li\u200bsa reading a book", "genshin_impact/lisa", "invisible characters"),
        ("\uff22en\uff4ee\uff54t, pixel art", "genshin_impact/bennett", "full-width"),  # mixed with ASCII
        ("画一个\uff21mber的头像", "genshin_impact/amber", "full-width"),
        ("K\uff11ee dancing in a field", "genshin_impact/klee", "leetspeak"),  # a full-width one among ASCII
        ("\uff2b\uff11\uff45\uff45 dancing in a field", "genshin_impact/klee", "leetspeak"),  # all full-width
    ],
)
def test_an_ambiguous_name_spelled_to_evade_is_confirmed(guard, prompt, cid, how):
    (m,) = [m for m in guard.scan(prompt) if m.character_id == cid]
    assert any("spelled to evade" in e and how in e for e in m.evidence)


@pytest.mark.parametrize(
    "prompt",
    [
        "amber eyes in the rain",
        "Lisa reading a book",
        "Mona at the window",
        "un 7ic nerveux",  # too short for leetspeak to count
        "\uff21\uff4d\uff42\uff45\uff52色のネックレス",  # full-width, as a Japanese input method types it
        # Styles of design prompts, not evasion: spaced or dotted letters, capitals in leetspeak, full-width
        # text alone, a soft hyphen from copied text; and a name joined from words of several letters.
        "make a sticker of M O N A with a white outline",
        "a/b/o dynamics, two wolves in a forest",  # abbreviations and lowercase lettering, not names spaced out
        "blood types a / b / o chart",
        "the t.i.c. tac toe board",
        "minimalist logo, lowercase letter-spaced text 'a m b e r'",
        "minimalist poster, the word 'T H U N D E R' in bold letters",
        "poster for the F.I.R.E. movement",
        "esports team logo that says GH0ST GAM1NG",
        "\uff56\uff41\uff50\uff4f\uff52\uff57\uff41\uff56\uff45 \uff47\uff48\uff4f\uff53\uff54 in a mall",
        "#\uff22\uff45\uff4e\uff4e\uff45\uff54\uff54 fanart",
        "a girl with am\u00adber eyes",
        "iron-hands gloves on a table",
        "gamer tag Sh4d0w_Str1ke",  # Scyther's romanized Japanese name, an English word
    ],
)
def test_an_ambiguous_name_spelled_plainly_still_needs_context(guard, prompt):
    assert guard.scan(prompt) == []
    assert guard.scan(prompt, include_candidates=True)


# -- everyday words of the languages whose words are typos of names only in other languages' prompts ----------
@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("Pikachu bermain di ombak yang besar", ["pokemon/pikachu"]),  # Indonesian "ombak" (wave), not Noivern
        ("han torterar och är en av de värsta i staden", []),  # Swedish "torterar" (tortures), not Torterra
        ("bir kedi ile Emilir ve bu çok güzel", []),  # Turkish "emilir" (is absorbed)
        # The same words in English prompts are typos of names.
        ("Torterar surfing at sunset", ["pokemon/torterra"]),
        ("a watercolor of Emilir in the rain", ["genshin_impact/emilie"]),
    ],
)
def test_everyday_words_of_the_prompts_language_are_no_typos(guard, prompt, expected):
    assert ids(guard.scan(prompt)) == expected


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("Torterar in a barn with men and a dog, manga style", "pokemon/torterra"),
        ("Gungar in manga style, men watching from a dock", "pokemon/gengar"),
        ("Firina with a gun on Christmas eve", "genshin_impact/furina"),
        ("I've drawn Firina and we've colored it", "genshin_impact/furina"),
        ("Firina with a gun, gun and gun", "genshin_impact/furina"),
        ("Staly w/ a hat and w/ a scarf", "pokemon/starly"),
        ("Hutan eating ramen with a kayak in Bali", "genshin_impact/hutao"),
        ("Citali with a bio-mechanical arm and bi-color eyes", "genshin_impact/citlali"),
        ("Ditt sleeping in a bare room at the inn", "pokemon/ditto"),
        ("Dusin at the inn with bare feet", "genshin_impact/durin"),
    ],
)
def test_english_words_are_no_evidence_of_a_regional_language(guard, prompt, cid):
    assert cid in ids(guard.scan(prompt))


@pytest.mark.parametrize(
    "prompt",
    [
        "Manden kører bilen og døren er åben",
        "En grøn bil kører ned ad vejen",
        "Han åpnet døren og gikk ut i snøværet",
        "Hún hefur lokið verkinu og síðan farið",
    ],
)
def test_nordic_everyday_words_are_no_typos(guard, prompt):
    assert guard.scan(prompt, include_candidates=True) == []


def test_regional_everyday_words_need_evidence_of_their_language():
    from guard.matcher import _not_regional_everyday

    regional = {"ombak": 0b10, "kedi": 0b100}
    markers = {"di": 0b10, "yang": 0b10, "ombak": 0b10, "ve": 0b100}
    found = [(0, 5, "ombak"), (6, 11, "other")]
    # Two marker words of the word's language besides the word itself.
    assert _not_regional_everyday("ombak di yang", found, regional, markers) == [(6, 11, "other")]
    # The word's own occurrence is not evidence, nor is one marker (however often), nor markers of another language.
    assert _not_regional_everyday("ombak di ombak", found, regional, markers) == found
    assert _not_regional_everyday("ombak di di di", found, regional, markers) == found
    assert _not_regional_everyday("ombak di", found, regional, markers) == found
    assert _not_regional_everyday("ombak ve ve", found, regional, markers) == found
    assert _not_regional_everyday("ombak di", [(6, 11, "other")], regional, markers) == [(6, 11, "other")]


def test_every_look_alike_of_one_is_read_as_l():
    import sys
    import unicodedata

    from guard.matcher import _ONES

    unicode_ones = {chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and unicodedata.normalize("NFKC", chr(c)) == "1"}
    assert set(_ONES) == unicode_ones


@pytest.mark.parametrize("prompt", ["K𝟏ee at the beach", "K¹ee at the beach", "K₁ee at the beach", "Co𝟙𝟙ei in a forest", "K\U0001fbf1ee at the beach"])
def test_mathematical_and_superscript_ones_stand_for_l(guard, prompt):
    assert ids(guard.scan(prompt)) in (["genshin_impact/klee"], ["genshin_impact/collei"])


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("F1sch1 in the rain", "genshin_impact/fischl"),  # the first 1 is an i, the last an l
        ("a portrait of C1t1a1i", "genshin_impact/citlali"),
        ("Azumar111 in a pond", "pokemon/azumarill"),
    ],
)
def test_a_word_whose_ones_stand_for_both_i_and_l(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


def test_mixed_readings_of_ones_per_word():
    from guard.matcher import _mixed_ones

    # Round r holds the r-th mix of every word with two to four ones; a word with one 1 has no mix.
    assert _mixed_ones("fischi citi ki", [1, 5, 8, 10, 13]) == [[1, 8], [5, 10]]
    assert _mixed_ones("iii", [0, 1, 2]) == [[0], [1], [2], [0, 1], [0, 2], [1, 2]]
    assert _mixed_ones("iiiii", [0, 1, 2, 3, 4]) == []  # too many to mix
    # Words are runs of Latin letters and leet signs: CJK text between them separates them.
    assert _mixed_ones("kiee和fischi和citiaii", [1, 6, 10, 13, 15, 17]) == [[6, 13], [10, 15], [17], [13, 15], [13, 17], [15, 17]]
    # A very long word is no name, and costs no more than its length.
    assert _mixed_ones("ai" * 50_000, list(range(1, 100_000, 2))) == []


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("Wirfetch'd in Galar", "pokemon/sirfetchd"),  # a typo in a name written with a typographic apostrophe
        ("vetrata raffigurante Wirfetch’d", "pokemon/sirfetchd"),
        ("Farfecth’d on a farm", "pokemon/farfetchd"),
    ],
)
def test_a_typo_in_a_name_with_an_apostrophe(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]



def test_mixed_ones_in_cjk_text_and_after_padding(guard):
    assert set(ids(guard.scan("K1ee和F1sch1和C1t1a1i在雨中"))) == {
        "genshin_impact/klee", "genshin_impact/fischl", "genshin_impact/citlali"}
    assert ids(guard.scan("a1b1 " * 40 + "F1sch1 in the rain")) == ["genshin_impact/fischl"]


def test_word_windows_of_short_words_and_of_one_long_word():
    import random

    from guard.matcher import _WINDOW_WORD, _word_windows
    from guard.normalize import SEPARATORS

    def plain(t, positions):  # the rule without the length limit
        out = []
        for p in positions:
            a = p
            for _ in range(2):
                while a > 0 and t[a - 1] in SEPARATORS:
                    a -= 1
                while a > 0 and t[a - 1] not in SEPARATORS:
                    a -= 1
            b = p
            for _ in range(2):
                while b < len(t) and t[b] in SEPARATORS:
                    b += 1
                while b < len(t) and t[b] not in SEPARATORS:
                    b += 1
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(b, out[-1][1]))
            else:
                out.append((a, b))
        return out

    rnd = random.Random(8)
    for _ in range(500):
        t = "".join(rnd.choice(["ab", "c", "i", " ", "-", "  ", "xyz", "!"]) for _ in range(rnd.randrange(1, 40)))
        positions = sorted(rnd.sample(range(len(t)), min(len(t), rnd.randrange(1, 6))))
        assert _word_windows(t, positions) == plain(t, positions)
    long_word = "ai" * 5_000
    assert _word_windows(long_word, [1, 501, 9_001]) == []
    t = "klee " + "x" * (_WINDOW_WORD + 1) + " kiee"
    assert _word_windows(t, [len(t) - 3]) == [(len(t) - 4, len(t))]  # the window stops before the long word


def test_a_wider_typo_window_replaces_a_narrower_one_once(guard):
    # Two windows over one typo ("iron Hnds", then "a iron Hnds"): the wider one takes the narrower one's place,
    # and the narrower one is not reported as well.
    found = [m for m in guard.scan("bi a iron Hnds", include_candidates=True) if m.character_id == "pokemon/iron-hands"]
    assert len(found) == 1



JA_LONG = "夕焼けの海辺で砂の城を作っているイラストを描いてください背景には大きな入道雲と青い海と白い灯台と遠くの島々とカモメの群れを入れてください"


@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("K1eeが夕焼けの海辺で砂の城を作っている、背景には大きな入道雲と青い海、白い灯台、遠くの島々とカモメの群れ。水彩画風、柔らかい光。", "genshin_impact/klee"),
        ("在夕阳下的海边用沙子堆城堡的可爱小女孩F1sch1的插画背景有巨大的积雨云蓝色的大海白色的灯塔远处的小岛和一群海鸥在天空中飞翔画面温暖柔和", "genshin_impact/fischl"),
        ("D0r! " + JA_LONG, "genshin_impact/dori"),
        ("D0r! " + "x" * 70, "genshin_impact/dori"),
        ("Azumar1|| " + JA_LONG, "pokemon/azumarill"),
    ],
)
def test_second_readings_next_to_long_runs(guard, prompt, cid):
    assert cid in ids(guard.scan(prompt))


def test_a_tail_sign_is_inside_its_window():
    from guard.matcher import _word_windows

    for t in ("dor! " + "x" * 70, "dor!" + " " * 70, "dor!" + " " * 70 + "cat"):
        assert any(a <= 3 < b for a, b in _word_windows(t, [3]))


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("H0-0h playing the violin on a rooftop", "pokemon/ho-oh", "H0-0h"),
        ("Aerial shot of Ho-0h crossing a desert", "pokemon/ho-oh", "Ho-0h"),
        ("A cinematic trailer where W0-Chi3n walks out of the fog", "pokemon/wo-chien", "W0-Chi3n"),
        ("Ch!-Yu cooking ramen", "pokemon/chi-yu", "Ch!-Yu"),
        ("H0-0H! over the mountains", "pokemon/ho-oh", "H0-0H"),  # the last ! stays punctuation
        ("an H0-0h-style phoenix", "pokemon/ho-oh", "H0-0h"),  # a suffix hyphenated on
        ("Ch!-Yu-chan plush", "pokemon/chi-yu", "Ch!-Yu"),
        ("Ting-1u in a cave", "pokemon/ting-lu", "Ting-1u"),  # a 1 read as l
        ("T1ng-1u in a cave", "pokemon/ting-lu", "T1ng-1u"),  # one as i, one as l
    ],
)
def test_leetspeak_in_short_parts_of_a_hyphenated_name(guard, prompt, cid, surface):
    _assert_second_reading(guard, prompt, cid, surface, "leetspeak across a hyphen read as letters")


def _assert_second_reading(guard, prompt, cid, surface, note):
    """The one mention of `cid` in `prompt` spans `surface`, and a second reading of the text found it (`note`)."""
    (m,) = [m for m in guard.scan(prompt) if m.character_id == cid]
    assert m.surface == surface
    assert note in m.evidence
    assert_offsets(prompt, [m])


@pytest.mark.parametrize(
    "prompt",
    [
        "R2-D2 and C-3PO in the desert",
        "a 4k-60fps video of a city",
        "Make it t0-do with neon lights",  # "it to" is no name, though "to-do" reads as words
        "A b0-ho poster of a cat",
        "@h0-0h posted a picture",  # a handle
        "h0-0h-h0 shouted the crowd",  # the name must hold the whole group
        "x1-200 engine, sr-71 jet, m4-a1 rifle",
    ],
)
def test_hyphenated_numbers_and_words_name_no_one(guard, prompt):
    assert guard.scan(prompt, include_candidates=True) == []


def test_hyphen_groups():
    from guard.matcher import _hyphen_groups

    # The spans a name must hold: from the first part with leetspeak to the last.
    assert _hyphen_groups("w0-chien and h0-0h!") == ([(0, 2), (13, 18)], [(1, "o"), (14, "o"), (16, "o")])
    assert _hyphen_groups("h0-0h-style") == ([(0, 5)], [(1, "o"), (3, "o")])
    assert _hyphen_groups("r2-d2, 4k-60fps, covid-19, @h0-0h") == ([], [])
    assert _hyphen_groups("a-b-c-d0") == ([], [])  # more than three parts: no name
    assert _hyphen_groups("ab-c-! x-!") == ([], [])  # the sign by the hyphen is punctuation


@pytest.mark.parametrize("prompt", ["Kiki's Delivery Service poster", "Kiki’s Delivery Service poster"])
def test_a_title_with_either_apostrophe(guard, prompt):
    assert [t.character_id for t in guard.scan_titles(prompt)] == ["bangumi/305"]


@pytest.mark.parametrize("apostrophe", ["'", "’"])
def test_a_possessive_is_the_name_not_its_plural(guard, apostrophe):
    # Doris, the plural alias of Dori, is a common name and so ambiguous; Dori's names Dori.
    prompt = f"Dori{apostrophe}s tail glowing in the dark"
    (m,) = guard.scan(prompt, include_candidates=True)
    assert (m.character_id, m.surface, m.confirmed) == ("genshin_impact/dori", "Dori", True)
    (plural,) = guard.scan("three Doris napping in a pile of leaves", include_candidates=True)
    assert plural.character_id == "genshin_impact/dori" and not plural.confirmed
    # Names that hold the apostrophe still join across it.
    assert ids(guard.scan(f"Farfetch{apostrophe}d in a field")) == ["pokemon/farfetchd"]
    assert ids(guard.scan(f"Hu Tao{apostrophe}s hat")) == ["genshin_impact/hutao"]


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2013"])
def test_a_name_with_a_typographic_hyphen(guard, dash):
    prompt = f"Ho{dash}Oh over the mountains"
    (m,) = guard.scan(prompt)
    assert m.character_id == "pokemon/ho-oh" and m.surface == f"Ho{dash}Oh"


def test_a_possessive_after_a_name_that_needs_it(guard):
    # "Tauro" names no one: the s belongs to Tauros, whatever the apostrophe.
    assert ids(guard.scan("Tauro's horns in the sun")) == ["pokemon/tauros"]
    (m,) = guard.scan("D o r i ' s tail", include_candidates=True)
    assert (m.character_id, m.surface, m.confirmed) == ("genshin_impact/dori", "D o r i", True)


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("Νahida in a garden", "genshin_impact/nahida", "Νahida"),  # Greek capital Nu, whose small letter is v-like
        ("Υoimiya watching fireworks", "genshin_impact/yoimiya", "Υoimiya"),  # Greek capital Upsilon
        ("ΝΙΝGUANG on a throne", "genshin_impact/ningguang", "ΝΙΝGUANG"),  # Ι read as i, the other capitals not
        ("Ιapras in the sea", "pokemon/lapras", "Ιapras"),  # capital Iota, as l
        ("Іapras in the sea", "pokemon/lapras", "Іapras"),  # Cyrillic capital І, as l
        ("Mew and Νoelle", "genshin_impact/noelle", "Νoelle"),
        ("ΙUΜΙΝΕ in the desert", "genshin_impact/lumine", "ΙUΜΙΝΕ"),  # one Ι as l, the other as i
        ("ΝΙΙΟU dancing", "genshin_impact/nilou", "ΝΙΙΟU"),
        ("ΙΙSA reading a book", "genshin_impact/lisa", "ΙΙSA"),
        ("Ι\u200bisa reading a book", "genshin_impact/lisa", "Ι\u200bisa"),  # across a zero-width space
        ("Ν1lou dancing", "genshin_impact/nilou", "Ν1lou"),  # with leetspeak
        ("ΝＡＨＩＤＡ in a garden", "genshin_impact/nahida", "ΝＡＨＩＤＡ"),  # with full-width Latin letters
        ("НΥРΝО swinging a pendulum", "pokemon/hypno", "НΥРΝО"),  # Greek and Cyrillic mixed: no word of either
        ("あいうえおΝahida", "genshin_impact/nahida", "Νahida"),  # kana end the word
    ],
)
def test_capital_homoglyphs_read_as_the_letter_they_look_like(guard, prompt, cid, surface):
    _assert_second_reading(guard, prompt, cid, surface, "capital homoglyph read as the letter it looks like")


@pytest.mark.parametrize(
    "prompt",
    # Greek capitals that all look like Latin letters (ΜΕΙΣ folds to "meio", and Ι read as l would make Mélo).
    ["Νέα Υόρκη τη νύχτα", "ΠΛΑΝΗΤΕΣ ΝΥΧΤΑ", "ΕΜΕΙΣ ΚΙ ΕΣΕΙΣ, ΜΕΙΣ", "ΑΙΝΟ ΣΤΟ ΘΕΟ", "ΜΟΝΑ ΚΑΙ ΖΥΓΑ",
     "ΑΙΝΟのphoto"],  # a Latin word after kana is another word
)
def test_capital_homoglyphs_in_greek_or_cyrillic_words_name_no_one(guard, prompt):
    from guard.matcher import _capital_subs

    assert _capital_subs(guard.scanner._normalize(prompt), guard.scanner._capitals) == []  # not read again
    assert guard.scan(prompt, include_candidates=True) == []


def test_a_word_mixing_greek_and_cyrillic_is_read_again_and_names_no_one_unless_it_is_a_name(guard):
    from guard.matcher import _capital_subs

    nt = guard.scanner._normalize("Вы Νет")  # Greek Ν in a Cyrillic word: no word of either language
    assert _capital_subs(nt, guard.scanner._capitals) == [(3, "n")]
    assert guard.scan("Вы Νет", include_candidates=True) == []


def test_capital_homoglyphs_table():
    from guard.matcher import capital_homoglyphs
    from guard.normalize import default_normalizer

    table = capital_homoglyphs(default_normalizer().homoglyphs)
    assert table["Ν"] == ("v", "n") and table["Υ"] == ("u", "y") and table["І"] == ("i", "l")
    assert "Ｉ" not in table and "Ρ" not in table  # full width; Ρ and ρ both look like p
    assert capital_homoglyphs({"Ν": "n", "ν": "v", "Ρ": "p", "ρ": "p", "ß": "b"}) == {"Ν": ("v", "n")}


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("Nidroan♂, pixel art, 16-bit", "pokemon/nidoran-m", "Nidroan♂"),  # a typo before the sign
        ("Nidlran♀ napping under a tree", "pokemon/nidoran-f", "Nidlran♀"),
        ("Nidoran ♂ pixel art", "pokemon/nidoran-m", "Nidoran ♂"),  # a space before it
        ("Nidoran-♀ plush", "pokemon/nidoran-f", "Nidoran-♀"),
        ("Νіdοran♂ as a chess piece", "pokemon/nidoran-m", "Νіdοran♂"),  # homoglyphs
        ("ニドラン ♂のイラスト", "pokemon/nidoran-m", "ニドラン ♂"),
    ],
)
def test_a_sign_after_a_name_tells_which_character(guard, prompt, cid, surface):
    ms = guard.scan(prompt, include_candidates=True)
    assert [(m.character_id, m.surface) for m in ms] == [(cid, surface)]
    assert_offsets(prompt, ms)


@pytest.mark.parametrize(
    "prompt",
    ["Nidoran pixel art", "Nidoran, ♂ symbol", "Nidoran  ♂"],
)
def test_a_name_without_its_sign_names_both(guard, prompt):
    assert {m.character_id for m in guard.scan(prompt)} == {"pokemon/nidoran-f", "pokemon/nidoran-m"}


@pytest.mark.parametrize(
    "prompt, surface",
    [("Nidoran ♂ and ♀ in a meadow", "Nidoran ♂ and ♀"), ("Nidoran ♂♀", "Nidoran ♂♀"), ("Nidoran ♂/♀", "Nidoran ♂/♀"),
     ("nidoran ♀ ♂", "nidoran ♀ ♂"), ("Nidoran-♂-♀", "Nidoran-♂-♀"), ("Nidoran ♂ и ♀", "Nidoran ♂ и ♀")],
)
def test_both_signs_name_both_and_the_mention_takes_them_in(guard, prompt, surface):
    ms = guard.scan(prompt)
    assert {m.character_id for m in ms} == {"pokemon/nidoran-f", "pokemon/nidoran-m"}
    assert {m.surface for m in ms} == {surface}
    assert_offsets(prompt, ms)


@pytest.mark.parametrize("prompt", ["Nidoran ♂♂", "Nidoran ♂ ♂", "Nidoran ♂, Pikachu ♀"])
def test_the_same_sign_twice_or_a_sign_of_another_name_is_one_sign(guard, prompt):
    assert [(m.character_id, m.surface) for m in guard.scan(prompt)][0] == ("pokemon/nidoran-m", "Nidoran ♂")


def test_a_sign_after_a_name_of_one_character_changes_nothing(guard):
    ms = guard.scan("Pikachu ♂ and Eevee ♀")
    assert [(m.character_id, m.surface) for m in ms] == [("pokemon/pikachu", "Pikachu"), ("pokemon/eevee", "Eevee")]


def test_a_long_prompt_of_multi_word_typos_finds_each(guard):
    # Each window is checked against the windows placed before it by a set (a scan of the list took time in the
    # square of the count: 26 s for 400 KB of these).
    prompt = "Arataki Itot and " * 4000
    found = guard.scan(prompt)
    assert len(found) == 4000 and {m.surface for m in found} == {"Arataki Itot"}
    assert_offsets(prompt, found)


def test_a_prompt_written_in_capital_homoglyphs_throughout_takes_no_mixes(guard):
    # Every mix of l and i searches each such word again; beyond _MIXED_CAPITALS_MAX capitals read as l, only
    # the two plain readings are searched.
    from guard.matcher import _MIXED_CAPITALS_MAX

    few = "ΙUΜΙΝΕ " * (_MIXED_CAPITALS_MAX // 2)
    many = "ΙUΜΙΝΕ " * (_MIXED_CAPITALS_MAX // 2 + 1)
    assert len(guard.scan(few)) == _MIXED_CAPITALS_MAX // 2
    assert guard.scan(many) == []


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("Gyara✨dos leaping out of a waterfall", "pokemon/gyarados", "Gyara✨dos"),
        ("a sticker of Pika🔥chu", "pokemon/pikachu", "Pika🔥chu"),
        ("ピ😀カチュウが走る", "pokemon/pikachu", "ピ😀カチュウ"),
        ("피카🔥츄가 달린다", "pokemon/pikachu", "피카🔥츄"),
        ("✨Pikachu✨ in the rain", "pokemon/pikachu", "Pikachu"),
    ],
)
def test_names_broken_up_by_emoji(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and prompt[m.start:m.end] == surface


@pytest.mark.parametrize(
    "prompt",
    [
        "the 🌊 wave 🌊 crashes on the rocks",
        "star⭐light over the bay",
        "⭐ ditto ⭐ for the next shot",
        "sun☀flower field at noon",
        "mew 🐱 mew 🐱 says the cat",
        "sea 🌊 leo the lion swims",  # spaces around the emoji: two words, as without it
        # An emoji in place of a space between two ordinary words: they need corroboration, as with a space or an
        # asterisk (so Rai⭐chu, from the words rai and chu, needs it too)
        "I saw her😍across the room",
        "the heat🔥ran through the city",
        "drink butter🧈free coffee",
        "Rai⭐chu on a scooter",
        "Rai*chu",
        # Chinese text puts emoji between words: joined across one, hanzi need corroboration
        "超✨梦幻✨的星空",
        "快😂龙舟比赛",
    ],
)
def test_emoji_between_ordinary_words_name_no_one(guard, prompt):
    assert ids(guard.scan(prompt)) == []


def test_emoji_inside_a_chinese_name_is_found_with_corroboration(guard):
    assert ids(guard.scan("皮卡🔥丘在公园")) == []
    assert ids(guard.scan("宝可梦：皮卡🔥丘在公园")) == ["pokemon/pikachu"]
    assert ids(guard.scan("皮·卡·丘在公园")) == ["pokemon/pikachu"]  # typed separators, as before


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("P*kachu surfing at sunset", "pokemon/pikachu", "P*kachu"),
        ("close-up portrait of He*tmor, studio lighting", "pokemon/heatmor", "He*tmor"),
        ("Obst*goon building a snowman", "pokemon/obstagoon", "Obst*goon"),
        ("CH*RMANDER in a cave", "pokemon/charmander", "CH*RMANDER"),
        ("P*k4chu in the rain", "pokemon/pikachu", "P*k4chu"),  # and leetspeak
        ("K*qing in Liyue", "genshin_impact/keqing", "K*qing"),
        ("P*k*chu surfing at sunset", "pokemon/pikachu", "P*k*chu"),  # two masks
        ("G*ng*r lurking in a hallway", "pokemon/gengar", "G*ng*r"),
    ],
)
def test_a_letter_masked_by_an_asterisk(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and m.confirmed and prompt[m.start:m.end] == surface
    assert m.method == "fuzzy" and any("masked" in e for e in m.evidence)


@pytest.mark.parametrize(
    "prompt",
    [
        "what the f*ck is this",
        "sh*t happens at the park",
        "b*tch please, not again",
        "a **very**good day at the beach",  # markdown emphasis glued to a word
        "5*7 grid of tiles",
        "Rai*chu",  # two words of the text joined across the asterisk: as before, they need corroboration
        "P*k*c*u at the beach",  # too many masks
        "am*e*r at the beach",  # two masks leave too few letters to read
        "co**ee in a mug",  # two masks side by side are not read (Combee)
        "what an a**hole driver",
        "d*mn*tion and fire",
        "P*kachux in the rain",  # the letters around the mask spell no name of that length
        "P*ikchu in the rain",  # one deletion from Pikachu, but not at the mask: the mask stands for no letter there
        "a b*stard of a storm",  # a censored word's pieces are no words for the typo pass (stard is no Staryu)
        "gh*st town at night",  # a masked everyday word is that word: Ghost (Haunter's romaji) needs context, as GH0ST
    ],
)
def test_masked_words_that_spell_no_name_name_no_one(guard, prompt):
    assert ids(guard.scan(prompt)) == []


def test_fills_masks():
    from guard.matcher import _fills_masks

    assert _fills_masks("p*kachu", "pikachu")
    assert not _fills_masks("p*kachu", "pokachi")
    assert _fills_masks("pik**hu", "pikachu")


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("力ビゴンが草原で昼寝をしている", "pokemon/snorlax", "力ビゴン"),
        ("工ーフィが月夜の丘に座っている", "pokemon/espeon", "工ーフィ"),
        ("公園でピ力チュウが走る", "pokemon/pikachu", "ピ力チュウ"),
    ],
)
def test_kanji_look_alikes_of_katakana_in_a_name(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and m.confirmed and prompt[m.start:m.end] == surface


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("ゲンガ―が古い洋館の廊下に潜んでいる", "pokemon/gengar", "ゲンガ―"),  # a dash typed for the last ー
        ("夜の森にゲンガ一が現れる", "pokemon/gengar", "ゲンガ一"),
        ("ミュウツ―が宇宙を漂う", "pokemon/mewtwo", "ミュウツ―"),
        ("イ―ブイが草原で眠る", "pokemon/eevee", "イ―ブイ"),  # between katakana
    ],
)
def test_dashes_typed_for_the_long_vowel_mark(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and m.confirmed and prompt[m.start:m.end] == surface


@pytest.mark.parametrize("prompt, cid", [("ミュウ―それは幻のポケモン", "pokemon/mew"), ("ミュウ一匹が飛ぶ", "pokemon/mew")])
def test_a_dash_or_one_after_a_name_is_still_punctuation_or_a_numeral(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("ㅍㅣㅋㅏㅊㅠ가 전기를 뿜는다", "pokemon/pikachu", "ㅍㅣㅋㅏㅊㅠ"),  # typed letter by letter
        ("ㄲㅗㅂㅜㄱㅣ가 해변에서 논다", "pokemon/squirtle", "ㄲㅗㅂㅜㄱㅣ"),
        ("피카츄ㅋㅋㅋ 너무 귀여워", "pokemon/pikachu", "피카츄"),  # jamo laughter ends the word
        ("ㅠㅠ피카츄가 울고 있다", "pokemon/pikachu", "피카츄"),
        (unicodedata.normalize("NFD", "피카츄가 해변을 달린다"), "pokemon/pikachu", unicodedata.normalize("NFD", "피카츄")),
    ],
)
def test_hangul_written_as_jamo(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and m.confirmed and prompt[m.start:m.end] == surface


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("ミュウ—イーブイ", ["pokemon/eevee", "pokemon/mew"]),  # a dash between two names is punctuation
        ("カビゴン—ミュウ", ["pokemon/mew", "pokemon/snorlax"]),
        ("カポエラ—ダンサー", []),  # ... and between two words: no カポエラー
        ("ウール一つとコットンのセーター", []),  # 一つ counts: no ウールー
        ("ウール—柔らかい素材", []),
        ("ウール- 麻のセーター", []),
    ],
)
def test_dashes_and_one_between_words(guard, prompt, expected):
    assert sorted(ids(guard.scan(prompt))) == expected


@pytest.mark.parametrize(
    "prompt, cid, surface",
    [
        ("ㅍㅣㅋㅏㅊㅠㅋㅋ 귀여워", "pokemon/pikachu", "ㅍㅣㅋㅏㅊㅠ"),  # the laughter is no final consonant
        ("ㅍㅣㅋㅏㅊ\u200bㅠ가 달린다", "pokemon/pikachu", "ㅍㅣㅋㅏㅊ\u200bㅠ"),  # the span holds the whole name
        ("ヒトカケ\u200b゛が眠る", "pokemon/charmander", "ヒトカケ\u200b゛"),
    ],
)
def test_names_composed_across_invisible_characters(guard, prompt, cid, surface):
    m = match_for(guard.scan(prompt), cid)
    assert m is not None and m.confirmed and prompt[m.start:m.end] == surface


def test_one_syllable_typed_apart_is_no_evasion(guard):
    # ㅁㅠㅠ is crying, not Mew (뮤) spelled to evade a filter: the one-syllable name still needs context
    [m] = guard.scan("ㅁㅠㅠ 오늘 너무 피곤해", include_candidates=True)
    assert m.character_id == "pokemon/mew" and not m.confirmed


def test_a_theme_word_before_katakana_is_still_the_theme(guard):
    assert "violence" in guard.check("暴力シーンのピカチュウ").themes



def test_a_masked_name_keeps_its_ambiguity_unless_the_mask_is_evasion(guard):
    m = match_for(guard.scan("Am*er at the beach"), "genshin_impact/amber")  # as 4mber: spelled to evade a filter
    assert m is not None and m.confirmed and any("evade a filter: a letter masked" in e for e in m.evidence)
    assert ids(guard.scan("Gh*st in a Pokémon battle")) == ["pokemon/haunter"]  # a romanized name needs context
    [candidate] = guard.scan("gh*st town at night", include_candidates=True)
    assert not candidate.confirmed


@pytest.mark.parametrize("prompt", ["Li\x00sa reading a book", "Am\x7fber at dusk"])
def test_a_control_character_inside_an_ambiguous_name_is_evasion(guard, prompt):
    [m] = guard.scan(prompt)
    assert m.confirmed and any("invisible characters" in e for e in m.evidence)


def test_a_control_character_inside_a_homoglyph_word(guard):
    assert ids(guard.scan("\u039d\x9f\u04307u on a branch")) == ids(guard.scan("\u039d\u200b\u04307u on a branch")) == ["pokemon/natu"]


@pytest.mark.parametrize("prompt", ["ピ・力・チュウが走る", "力・ビ・ゴ・ンが寝る"])
def test_kanji_look_alikes_in_a_name_broken_up_by_separators(guard, prompt):
    assert len(guard.scan(prompt)) == 1
