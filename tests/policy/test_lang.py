"""Language guesses used for replacement phrases and rejection messages."""
from __future__ import annotations

import pytest

from guard.policy.lang import latin_lang, mention_lang, prompt_lang
from guard.policy.messages import BUILTIN_GENERIC, pick_lang


@pytest.mark.parametrize("text,surface,alias_lang,expected", [
    ("ピカチュウが走る", "ピカチュウ", "ja", "ja"),
    ("Pikachuが走る", "Pikachu", "en", "ja"),          # Latin name in a Japanese sentence
    ("皮卡丘在跑", "皮卡丘", "zh-Hans", "zh-Hans"),
    ("皮卡丘在森林裡跑", "皮卡丘", "zh-Hant", "zh-Hant"),
    ("皮卡丘在森林裡跑", "皮卡丘", "", "zh-Hant"),      # traditional characters around the name
    ("雷電将軍", "雷電将軍", "ja", "ja"),                # the name alone: the alias language decides
    ("피카츄가 달린다", "피카츄", "ko", "ko"),
    ("Pikachu runs in the forest", "Pikachu", "en", "en"),
    ("Pikachu court dans la forêt avec le vent", "Pikachu", "en", "fr"),
    ("Pikachu läuft mit dem Ball über die Wiese", "Pikachu", "en", "de"),
    ("Pikachu corre por el bosque con los amigos", "Pikachu", "en", "es"),
    ("Pikachu corre nel bosco con gli amici", "Pikachu", "en", "it"),
    ("Pikachu", "Pikachu", "fr", "fr"),
    ("ピカチュウのなつやすみ 選挙", "ピカチュウのなつやすみ", "", "ja"),  # a mention in kana among kanji
])
def test_mention_lang(text, surface, alias_lang, expected):
    s = text.index(surface)
    assert mention_lang(text, s, s + len(surface), alias_lang) == expected


def test_latin_lang_defaults_to_english():
    assert latin_lang("Pikachu 4k") == "en"
    assert latin_lang("xyz", hint="de") == "de"


def test_prompt_lang():
    assert prompt_lang("全裸のピカチュウ") == "ja"
    assert prompt_lang("Pikachu au soleil dans la forêt") == "fr"
    assert prompt_lang("피카츄 사진") == "ko"
    assert prompt_lang("a photo of 皮卡丘 in the park with friends") == "en"


def test_pick_lang():
    m = {"en": "x", "zh-Hans": "黄色的电气小鼠", "ja": "y"}
    assert pick_lang(m, "en") == "x"
    assert pick_lang(m, "zh-Hant") == "黃色的電氣小鼠"
    assert pick_lang(m, "ko") is None
    assert pick_lang(m, "ko", english_fallback=True) == "x"
    assert pick_lang({"de": "z"}, "de-CH") == "z"
    assert set(BUILTIN_GENERIC) == {"en", "ja", "zh-Hans", "zh-Hant", "ko", "fr", "de", "es", "it"}


@pytest.mark.parametrize("repeat", [1, 20], ids=["short text (a loop)", "long text (numpy)"])
@pytest.mark.parametrize("text", [
    "", "Pikachu à Paris, 35mm", "ピカチュウが渋谷を走る々", "皮卡丘在東京，下雨", "피카츄가 서울에서 ㅋㅋ", "𠀋𠀋 x ß×÷ÿ", "\ud800a",
])
def test_script_counts_agree_with_script_of(text, repeat):
    from collections import Counter

    from guard.normalize import script_of
    from guard.policy.lang import script_counts

    text *= repeat
    expected = Counter(script_of(c) for c in text)
    assert script_counts(text) == {k: v for k, v in expected.items() if k in ("latin", "kata", "hira", "han", "hangul")}


def test_traditional_hanzi_are_told_apart():
    from guard.policy.lang import is_traditional

    assert is_traditional("噴火龍在東京")
    assert not is_traditional("喷火龙在东京")
    assert not is_traditional("Pikachu")


def test_traditional_words_that_convert_only_as_a_whole():
    from guard.policy.lang import is_traditional, mention_lang

    assert is_traditional("我想瞭解皮卡丘")  # 瞭解 -> 了解 as a word, 瞭 alone stays
    assert mention_lang("我想瞭解皮卡丘", 4, 7, "zh-Hans") == "zh-Hant"
    assert not is_traditional("我想了解皮卡丘")
    assert is_traditional("\ud800皮卡丘在東京") and not is_traditional("\ud800皮卡丘")


def test_latin_lang_lowercases_word_by_word():
    assert latin_lang("ŸLA") == "fr"


def test_chinese_words_around_a_japanese_alias_make_it_chinese():
    from guard.policy.lang import mention_lang

    assert mention_lang("鐵殼蛹和宵宮一起在城堡裡", 4, 6, "ja") == "zh-Hant"
    assert mention_lang("铁壳蛹和宵宮一起在城堡里", 4, 6, "ja") == "zh-Hans"
    assert mention_lang("宵宮與皮卡丘看煙火", 0, 2, "ja") == "zh-Hant"
    assert mention_lang("宵宮和皮卡丘一起，夜空", 0, 2, "ja") == "zh-Hans"
    assert mention_lang("宵宮と一緒に", 0, 2, "ja") == "ja"  # kana
    assert mention_lang("「宵宮」。", 1, 3, "ja") == "ja"  # no words around to tell: the alias decides
    assert mention_lang("宵宮", 0, 2, "ja") == "ja"
    # Japanese tags without kana: no Chinese function word, and kanji only Japanese writes (悪, 廃, 霊).
    assert mention_lang("宵宮、浴衣、夜空、花火、高画質", 0, 2, "ja") == "ja"
    assert mention_lang("雷電将軍、悪夢、廃墟、在庫", 0, 4, "ja") == "ja"
    assert mention_lang("神里綾華 心霊写真風 高画質 傑作", 0, 4, "ja") == "ja"
    # Everyday Japanese words with 的, 在, 被, 着 (幻想的, 現在, 被写界深度, 水着) are no Chinese.
    assert mention_lang("宵宮、水着、被写界深度、幻想的、現在、存在感", 0, 2, "ja") == "ja"
    # Kana anywhere in the prompt makes it Japanese, however Chinese the words around the name look.
    text = "宵宮、很一起、夜空、Pikachu、とても美しい夜に浴衣を着て花火を見ている"
    assert mention_lang(text, 0, 2, "ja") == "ja"
    # A zh-Hant alias keeps its hint.
    assert mention_lang("雷電將軍、夜空、花火、高畫質", 0, 4, "zh-Hant") == "zh-Hant"


def test_japanese_only_kanji():
    from guard.policy.lang import _japanese_kanji

    kanji = _japanese_kanji()
    assert {"悪", "廃", "霊", "駅", "桜"} <= kanji
    assert not kanji & {"国", "画", "写", "将", "台", "宮"}  # simplified Chinese forms too, or shared


def test_other_mentions_are_not_the_words_around_a_mention():
    from guard.policy.lang import mention_lang, without_spans

    text = "Keqing and 甘雨 walking through a lantern festival"
    around = without_spans(text, [(0, 6), (11, 13)])
    assert around == "       and    walking through a lantern festival"
    assert mention_lang(text, 0, 6, "en") == "zh-Hans"  # 甘雨 read as a word of the prompt
    assert mention_lang(text, 0, 6, "en", around=around) == "en"
    # Nothing but names around: they are all there is to go by.
    names = "Kakuna, 宵宮"
    assert mention_lang(names, 8, 10, "ja", around=without_spans(names, [(0, 6), (8, 10)])) == "en"
