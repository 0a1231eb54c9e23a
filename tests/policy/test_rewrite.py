"""Rewriting a mention keeps the sentence grammatical: English, Japanese, Chinese, Korean, French."""
from __future__ import annotations

import random

import pytest

from guard.policy.rewrite import Edit, apply_edits, pluralize, wants_an

PIKA = "a small yellow electric mouse"
PIKA_PL = "small yellow electric mice"


def rw(text: str, surface: str, phrase, lang: str = "en", *, alias: str = "", plural=None, occurrence: int = 0) -> str:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    e = Edit(start, start + len(surface), lang, alias or surface.rstrip("'s’"), phrase, plural)
    out, replaced = apply_edits(text, [e])
    assert isinstance(replaced[0], str)
    return out


@pytest.mark.parametrize("text,surface,expected", [
    ("Pikachu runs in the forest", "Pikachu", "A small yellow electric mouse runs in the forest"),
    ("draw Pikachu in a forest", "Pikachu", "draw a small yellow electric mouse in a forest"),
    ("the Pikachu sleeps", "Pikachu", "the small yellow electric mouse sleeps"),
    ("The Pikachu sleeps", "Pikachu", "The small yellow electric mouse sleeps"),
    ("Ash's Pikachu is happy", "Pikachu", "Ash's small yellow electric mouse is happy"),
    ("her Pikachu", "Pikachu", "her small yellow electric mouse"),
    ("a cute Pikachu", "Pikachu", "a cute small yellow electric mouse"),
    ("a photo of cute Pikachu", "Pikachu", "a photo of a cute small yellow electric mouse"),
    ("A girl hugging Pikachu", "Pikachu", "A girl hugging a small yellow electric mouse"),
    ("Pikachu's tail glows", "Pikachu's", "A small yellow electric mouse's tail glows"),
    ("Pikachu’s tail glows", "Pikachu’s", "A small yellow electric mouse’s tail glows"),
    ("Pikachu's tail glows", "Pikachu", "A small yellow electric mouse's tail glows"),   # 's outside the match
    ("two Pikachus playing", "Pikachus", "two small yellow electric mice playing"),
    ("It rains. Pikachu hides.", "Pikachu", "It rains. A small yellow electric mouse hides."),
    ("Wow! Pikachu!", "Pikachu", "Wow! A small yellow electric mouse!"),
    ('"Pikachu" written on a sign', "Pikachu", '"A small yellow electric mouse" written on a sign'),
])
def test_english_articles_possessives_plurals_capitals(text, surface, expected):
    assert rw(text, surface, PIKA, alias="Pikachu", plural=PIKA_PL) == expected


def test_english_a_an_agreement():
    fox = "a fox-like creature"
    assert rw("an Eevee in the snow", "Eevee", fox) == "a fox-like creature in the snow"
    assert rw("An Eevee in the snow", "Eevee", fox) == "A fox-like creature in the snow"
    assert rw("a Pikachu", "Pikachu", "an electric mouse") == "an electric mouse"
    assert rw("a photo of happy Eevee", "Eevee", "a fox") == "a photo of a happy fox"
    assert rw("a photo of angry Eevee", "Eevee", "a fox") == "a photo of an angry fox"
    assert rw("Cute Eevee naps", "Eevee", "a fox") == "A cute fox naps"


def test_english_plural_without_plural_form():
    assert rw("three Eevees", "Eevees", "a fluffy fox", alias="Eevee") == "three fluffy foxes"
    assert pluralize("a small yellow electric mouse") == "small yellow electric mice"
    assert pluralize("a puppy") == "puppies"
    assert pluralize("the wolf") == "wolves"


def test_wants_an():
    assert wants_an("apple") and wants_an("hour") and wants_an("Eevee")
    assert not wants_an("unicorn") and not wants_an("one-eyed") and not wants_an("yellow")


@pytest.mark.parametrize("text,surface,expected", [
    ("Pikachu and Eevee play", "Pikachu", "Eevee play"),
    ("Eevee and Pikachu play", "Pikachu", "Eevee play"),
    ("a forest with Pikachu", "Pikachu", "a forest"),
    ("a forest with Pikachu, at dawn", "Pikachu", "a forest, at dawn"),
    ("Pikachu, Eevee and Mew at the beach", "Eevee", "Pikachu and Mew at the beach"),
    ("a cute Pikachu and a cat", "Pikachu", "a cat"),
    ("Pikachu runs.", "Pikachu", "Runs."),
    ("Pikachu's tail glows", "Pikachu", "Tail glows"),
])
def test_english_drop(text, surface, expected):
    assert rw(text, surface, None, alias="Pikachu" if surface == "Pikachu" else surface) == expected


@pytest.mark.parametrize("text,surface,phrase,expected", [
    ("ピカチュウが森を走る", "ピカチュウ", "黄色い電気ネズミ", "黄色い電気ネズミが森を走る"),
    ("森でピカチュウと遊ぶ", "ピカチュウ", "黄色い電気ネズミ", "森で黄色い電気ネズミと遊ぶ"),
    ("ピカチュウの尻尾", "ピカチュウ", "黄色い電気ネズミ", "黄色い電気ネズミの尻尾"),
    ("ピカチュウちゃんを描いて", "ピカチュウ", "黄色い電気ネズミ", "黄色い電気ネズミちゃんを描いて"),
])
def test_japanese_particles_stay_attached(text, surface, phrase, expected):
    assert rw(text, surface, phrase, "ja") == expected


@pytest.mark.parametrize("text,expected", [
    ("ピカチュウが森を走る", "森を走る"),
    ("イーブイとピカチュウが遊ぶ", "イーブイが遊ぶ"),
    ("ピカチュウとイーブイが遊ぶ", "イーブイが遊ぶ"),
    ("ピカチュウの尻尾", "尻尾"),
    ("森でピカチュウちゃんと遊ぶ", "森で遊ぶ"),
])
def test_japanese_drop(text, expected):
    assert rw(text, "ピカチュウ", None, "ja") == expected


@pytest.mark.parametrize("text,phrase,expected", [
    ("皮卡丘在森林里奔跑", "黄色的电气小鼠", "黄色的电气小鼠在森林里奔跑"),
    ("一只皮卡丘在睡觉", "一只黄色的电气小鼠", "一只黄色的电气小鼠在睡觉"),   # classifier not doubled
    ("我和皮卡丘的照片", "黄色的电气小鼠", "我和黄色的电气小鼠的照片"),
])
def test_chinese_replace(text, phrase, expected):
    assert rw(text, "皮卡丘", phrase, "zh-Hans") == expected


@pytest.mark.parametrize("text,expected", [
    ("伊布和皮卡丘在玩", "伊布在玩"),
    ("皮卡丘和伊布在玩", "伊布在玩"),
    ("皮卡丘的尾巴", "尾巴"),
    ("画一只皮卡丘", "画"),
])
def test_chinese_drop(text, expected):
    assert rw(text, "皮卡丘", None, "zh-Hans") == expected


@pytest.mark.parametrize("text,phrase,expected", [
    ("피카츄가 숲에서 달린다", "노란 전기 쥐", "노란 전기 쥐가 숲에서 달린다"),
    ("피카츄가 숲에서 달린다", "노란 전기 생물", "노란 전기 생물이 숲에서 달린다"),
    ("피카츄를 그려줘", "노란 전기 생물", "노란 전기 생물을 그려줘"),
    ("피카츄는 귀엽다", "작은 곰", "작은 곰은 귀엽다"),
    ("피카츄와 놀기", "작은 곰", "작은 곰과 놀기"),
    ("피카츄로 변신", "작은 곰", "작은 곰으로 변신"),
    ("피카츄로 변신", "작은 쥐", "작은 쥐로 변신"),
])
def test_korean_particles_follow_the_new_word(text, phrase, expected):
    assert rw(text, "피카츄", phrase, "ko") == expected


def test_korean_drop():
    assert rw("이브이와 피카츄가 논다", "피카츄", None, "ko") == "이브이가 논다"
    assert rw("피카츄가 달린다", "피카츄", None, "ko") == "달린다"


@pytest.mark.parametrize("text,surface,phrase,lang,expected", [
    ("Le Pikachu court dans la forêt", "Pikachu", "une petite souris électrique jaune", "fr",
     "Une petite souris électrique jaune court dans la forêt"),
    ("un dessin de Pikachu", "Pikachu", "une petite souris", "fr", "un dessin d'une petite souris"),
    ("l'Évoli dort", "Évoli", "un renard", "fr", "un renard dort"),
    ("L'Évoli dort", "Évoli", "un renard", "fr", "Un renard dort"),
    ("Der Pikachu schläft", "Pikachu", "eine kleine gelbe Elektromaus", "de", "Eine kleine gelbe Elektromaus schläft"),
    ("un Pikachu en la playa", "Pikachu", "un pequeño ratón eléctrico", "es", "un pequeño ratón eléctrico en la playa"),
    ("Pikachu und Evoli spielen", "Pikachu", None, "de", "Evoli spielen"),
])
def test_european_languages(text, surface, phrase, lang, expected):
    assert rw(text, surface, phrase, lang) == expected


def test_several_edits_right_to_left():
    text = "Pikachu and Eevee play with Pikachu"
    edits = [Edit(0, 7, "en", "Pikachu", PIKA), Edit(12, 17, "en", "Eevee", "an eevee-like fox"),
             Edit(28, 35, "en", "Pikachu", PIKA)]
    out, rep = apply_edits(text, edits)
    assert out == ("A small yellow electric mouse and an eevee-like fox play with a small yellow electric mouse")
    assert rep == ["A small yellow electric mouse", "an eevee-like fox", "a small yellow electric mouse"]


def test_drop_both_sides_of_a_conjunction():
    out, _ = apply_edits("Pikachu and Eevee play", [Edit(0, 7, "en", "Pikachu"), Edit(12, 17, "en", "Eevee")])
    assert out == "Play"


def test_edits_never_touch_neighbouring_mentions():
    # Eevee is protected (tagged, not edited): dropping Pikachu must not eat "Eevee"
    text = "Eevee Pikachu"
    out, _ = apply_edits(text, [Edit(6, 13, "en", "Pikachu")], protected=[(0, 5), (6, 13)])
    assert out == "Eevee"
    text = "the Eevee and Pikachu"
    out, _ = apply_edits(text, [Edit(14, 21, "en", "Pikachu", PIKA)], protected=[(4, 9), (14, 21)])
    assert out == "the Eevee and a small yellow electric mouse"


def _apply_edits_by_scanning(text, edits, protected=()):
    """apply_edits as first written: each edit's neighbours found by scanning every span, and the changed prefix
    by comparing character by character."""
    from guard.policy.rewrite import apply_one

    spans = sorted(set(protected) | {(e.start, e.end) for e in edits})
    results = [""] * len(edits)
    changed_from = len(text)
    for i in sorted(range(len(edits)), key=lambda i: edits[i].start, reverse=True):
        e = edits[i]
        floor = max((b for a, b in spans if b <= e.start), default=0)
        ceil = min((a for a, b in spans if a >= e.end), default=len(text))
        ceil = max(e.end, min(ceil, changed_from, len(text)))
        new, results[i] = apply_one(text, e, floor, ceil)
        n = 0
        while n < min(len(text), len(new)) and text[n] == new[n]:
            n += 1
        changed_from = n
        text = new
    return text, results


def test_many_edits_give_what_scanning_every_span_gives():
    # apply_edits bisects for each edit's neighbours and halves for the changed prefix, so that a long prompt with
    # thousands of mentions does not take time in the square of their number; the result must not change.
    rnd = random.Random(4)
    words = ["Pikachu", "Eevee", "and", "with", "the", "a", ",", "play", "Zhongli", "ピカチュウ", "와"]
    for _ in range(200):
        tokens = [rnd.choice(words) for _ in range(rnd.randrange(1, 25))]
        text, edits, protected, at = "", [], [], 0
        for tok in tokens:
            if text:
                text += " "
            start = len(text)
            text += tok
            if tok in ("Pikachu", "Eevee", "Zhongli", "ピカチュウ"):
                protected.append((start, len(text)))
                if rnd.random() < 0.7:
                    lang = "ja" if tok == "ピカチュウ" else "en"
                    edits.append(Edit(start, len(text), lang, tok, PIKA if rnd.random() < 0.5 else None))
        assert apply_edits(text, edits, protected) == _apply_edits_by_scanning(text, edits, protected)


def test_common_prefix():
    from guard.policy.rewrite import _common_prefix

    rnd = random.Random(2)
    for _ in range(3000):
        a = "".join(rnd.choice("ab") for _ in range(rnd.randrange(12)))
        b = "".join(rnd.choice("ab") for _ in range(rnd.randrange(12)))
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        assert _common_prefix(a, b) == n


def test_edits_of_one_span_replace_it_once():
    from guard.policy.rewrite import Edit, apply_edits

    # A name that two characters share (Nidoran ♀ and ♂) is two mentions of one span.
    edits = [Edit(0, 7, "en", "Nidoran♀", "a small creature"), Edit(0, 7, "en", "Nidoran♂", "a small creature")]
    text, replaced = apply_edits("Nidoran covered in dew", edits, [(0, 7), (0, 7)])
    assert text == "A small creature covered in dew"
    assert replaced == ["A small creature", "A small creature"]


def test_an_edit_inside_another_is_done_by_it():
    from guard.policy.rewrite import Edit, apply_edits

    # Pikachu inside the title ピカチュウのなつやすみ, both rewritten: the title's edit replaces the whole, once.
    for edits in ([Edit(0, 5, "ja"), Edit(0, 11, "ja", text="アニメ作品")], [Edit(0, 11, "ja", text="アニメ作品"), Edit(0, 5, "ja")]):
        text, replaced = apply_edits("ピカチュウのなつやすみ 選挙", edits, [(0, 5), (0, 11)])
        assert text == "アニメ作品 選挙" and replaced == ["アニメ作品", "アニメ作品"]
