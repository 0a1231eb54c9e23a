"""guard.ambiguity and context: names that are also common words count only with corroborating context."""
from __future__ import annotations

import pytest

from detectkit import assert_offsets, ids, match_for
from guard import ambiguity


# -- the compile-time rules ------------------------------------------------------------------------------------------
def test_auto_reason_rules():
    assert ambiguity.auto_reason("空", "空", "han", "ja", "name").startswith("single common character")
    assert ambiguity.auto_reason("魈", "魈", "han", "zh-Hans", "name") is None  # a rare character is a name
    assert ambiguity.auto_reason("소", "소", "hangul", "ko", "name") == "single syllable"
    assert ambiguity.auto_reason("Mu", "mu", "latin", "en", "name") == "two letters or fewer"
    assert ambiguity.auto_reason("Amber", "amber", "latin", "en", "name").startswith("common word")
    assert ambiguity.auto_reason("Lucky", "lucky", "latin", "ja-Latn", "name").startswith("English word")
    assert ambiguity.auto_reason("ラッキー", "ラッキー", "kata", "ja", "name").startswith("common word")
    assert ambiguity.auto_reason("Pikachu", "pikachu", "latin", "en", "name") is None
    assert ambiguity.auto_reason("ピカチュウ", "ピカチュー", "kata", "ja", "name") is None


def test_generated_hiragana_has_a_lower_bar():
    # たまたま (Exeggcute's hiragana) is an everyday word; as a lexicon name it would not be marked.
    assert ambiguity.auto_reason("たまたま", "たまたま", "hira", "ja", "variant") is not None


def test_zipf():
    assert ambiguity.zipf("amber", "en") > 3.5
    assert ambiguity.zipf("pikachu", "en") < 3.5
    assert ambiguity.zipf("zzqxj", "en") == 0.0
    z, lang = ambiguity.max_zipf("mona", ambiguity.LATIN_LANGS)
    assert z > 3.5 and lang in ambiguity.LATIN_LANGS


def test_ambiguity_across_a_characters_languages():
    # French "Draco" (Dragonair) is an English word where the character is called Dragonair.
    assert "Draco" in ambiguity.character_reasons({"en": ["Dragonair"], "fr": ["Draco"]})
    # Lisa is a common word, so are its transliterations.
    out = ambiguity.character_reasons({"en": ["Lisa"], "ja": ["リサ"], "ko": ["리사"]})
    assert set(out) >= {"リサ", "리사"}


def test_common_words_guard_fuzzy_matching(guard):
    common = guard.compiled.common
    assert "polygon" in common and "electric" in common
    assert "zorblax" not in common


# -- ordinary words are not characters (issue 3's examples and more) -------------------------------------------------
NEGATIVES = [
    ("ditto", "pokemon/ditto"),
    ("ditto for the next shot, same framing", "pokemon/ditto"),
    ("a Persian cat", "pokemon/persian"),
    ("amber light", "genshin_impact/amber"),
    ("a girl named Lisa", "genshin_impact/lisa"),
    ("a venti latte", "genshin_impact/venti"),
    ("venti minuti", "genshin_impact/venti"),
    ("青い空", "genshin_impact/aether"),
    ("ラッキーな日", "pokemon/chansey"),
    ("소를 데리고", "genshin_impact/xiao"),
    ("설탕", "genshin_impact/sucrose"),
    ("Ein Feld voller Klee", "genshin_impact/klee"),
    ("Mona, a retired teacher, feeding pigeons", "genshin_impact/mona"),
    ("a golem made of moss", "pokemon/golem"),
    ("glowing coil of a vintage lightbulb", "pokemon/magnemite"),
    ("コイル状のケーブルが机の上にある", "pokemon/magnemite"),
    ("奶茶里放了太多砂糖", "genshin_impact/sucrose"),
    ("들판에서 풀을 먹는 소", "genshin_impact/xiao"),
    ("a razor-sharp katana", "genshin_impact/razor"),
    ("the gaming room", "genshin_impact/gaming"),
    ("a lone wanderer on the moor", "genshin_impact/wanderer"),
    ("Jean, a retired fisherman", "genshin_impact/jean"),
    ("一个叫嘉明的男孩在街上奔跑", "genshin_impact/gaming"),  # a boy called Jiaming
    ("有个名为胡桃的女孩在画画", "genshin_impact/hutao"),
    ("有个叫作胡桃的女孩在画画", "genshin_impact/hutao"),
]


@pytest.mark.parametrize("prompt, candidate", NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_common_words_alone_are_candidates_not_detections(guard, prompt, candidate):
    assert guard.scan(prompt) == []
    cands = guard.scan(prompt, include_candidates=True)
    m = match_for(cands, candidate)
    assert m.confirmed is False
    assert any("ambiguous" in e and "no context" in e for e in m.evidence)
    assert_offsets(prompt, cands)


def test_shouting_a_name_is_not_naming_a_person(guard):
    # 叫 is also "shout": 大叫钟离 shouts Zhongli's name, as in English
    assert [m.confirmed for m in guard.scan("他大叫钟离的名字", include_candidates=True)] == [True]


@pytest.mark.parametrize(
    "prompt",
    ["カスタードプリン", "ゴーストタウン", "ラッキーセブンのスロットマシン", "Ein leerer Bahnhof bei Nacht"],
)
def test_words_containing_names_are_not_even_candidates(guard, prompt):
    assert guard.scan(prompt, include_candidates=True) == []


# -- context confirms ------------------------------------------------------------------------------------------------
CONTEXT = [
    # the franchise named, in any language
    ("franchise", "Genshin Impact Amber", "genshin_impact/amber"),
    ("franchise", "Amber from Genshin", "genshin_impact/amber"),
    ("franchise", "原神のジン", "genshin_impact/jean"),
    ("franchise", "원신 설탕", "genshin_impact/sucrose"),
    ("franchise", "原神的砂糖在实验室里做实验", "genshin_impact/sucrose"),
    ("franchise", "宝可梦里的皮皮", "pokemon/clefairy"),
    ("franchise", "ポケモンのラッキー", "pokemon/chansey"),
    ("franchise", "Pokémon Ditto", "pokemon/ditto"),
    ("franchise", "Ditto from Pokémon", "pokemon/ditto"),
    ("franchise in another language", "Pokemon: ラッキー", "pokemon/chansey"),
    ("franchise in another language", "ポケモン ditto", "pokemon/ditto"),
    ("franchise in another language", "Genshin: 空", "genshin_impact/aether"),
    ("franchise", "原神の空", "genshin_impact/aether"),
    # an unambiguous character of the same franchise
    ("character", "Amber and Diluc", "genshin_impact/amber"),
    ("character", "ditto and Pikachu", "pokemon/ditto"),
    ("character", "ガイアとディルック", "genshin_impact/kaeya"),
    # cue words from the lexicon
    ("cue", "Amber in Mondstadt", "genshin_impact/amber"),
    ("cue", "A gym leader with ditto", "pokemon/ditto"),
    ("cue", "Venti playing lyre with Paimon", "genshin_impact/venti"),
    ("cue", "Klee in Teyvat", "genshin_impact/klee"),
]


@pytest.mark.parametrize("how, prompt, cid", CONTEXT, ids=[f"{c[0]}:{c[1]}" for c in CONTEXT])
def test_context_confirms_ambiguous_names(guard, how, prompt, cid):
    matches = guard.scan(prompt)
    assert cid in ids(matches)
    m = match_for(matches, cid)
    assert m.confirmed is True
    assert any("confirmed by" in e for e in m.evidence)
    assert_offsets(prompt, matches)


def test_two_ambiguous_names_of_a_franchise_with_the_franchise_named(guard):
    prompt = "Jean and Amber patrolling Mondstadt, Genshin Impact cutscene"
    assert ids(guard.scan(prompt)) == ["genshin_impact/amber", "genshin_impact/jean"]


# -- context of one franchise does not confirm another ----------------------------------------------------------------
def test_other_franchise_context_does_not_confirm(guard):
    prompt = "伝説のポケモン、サンダー・フリーザー・ファイヤーが空を舞う"
    matches = guard.scan(prompt)
    assert ids(matches) == ["pokemon/articuno", "pokemon/moltres", "pokemon/zapdos"]
    assert_offsets(prompt, matches)
    sky = match_for(guard.scan(prompt, include_candidates=True), "genshin_impact/aether")
    assert sky.surface == "空" and sky.confirmed is False


@pytest.mark.parametrize(
    "prompt, unconfirmed",
    [
        ("Amber and Pikachu", "genshin_impact/amber"),
        ("Pokemon Amber", "genshin_impact/amber"),
        ("原神のプリン", "pokemon/jigglypuff"),
        ("ポケモンセンターで空を見上げる", "genshin_impact/aether"),
        ("Genshin Impact fans love ditto jokes", "pokemon/ditto"),
    ],
)
def test_cross_franchise_context(guard, prompt, unconfirmed):
    assert unconfirmed not in ids(guard.scan(prompt))


# -- former false positives (regressions) ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prompt, cid",
    [
        ("Charizard breathing fire", "pokemon/charizard"),
        ("Pikachu in the sand", "pokemon/pikachu"),
        ("Pikachu on a lucky day", "pokemon/pikachu"),
        ("Gengar in a ghost town", "pokemon/gengar"),
    ],
)
def test_english_words_next_to_a_pokemon_are_not_other_pokemon(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


@pytest.mark.parametrize(
    "prompt, cid",
    [("站在浮空岛上的温迪", "genshin_impact/venti"), ("迪卢克仰望天空", "genshin_impact/diluc")],
)
def test_single_character_names_inside_words(guard, prompt, cid):
    assert ids(guard.scan(prompt)) == [cid]


# -- lexicon overrides (maintainers) ----------------------------------------------------------------------------------
def test_overrides_and_cues_in_a_lexicon(mini_guard):
    g = mini_guard
    # "Amber" is marked automatically; the franchise name, a franchise cue or an unambiguous character confirm it.
    assert ids(g.scan("amber light")) == []
    assert ids(g.scan("Testverse: amber light")) == ["testverse/amber"]
    assert ids(g.scan("Amber at the Zorb Tower")) == ["testverse/amber"]
    assert ids(g.scan("Amber and Zorblax")) == ["testverse/amber", "testverse/zorblax"]
    # not_ambiguous wins over the word-frequency rule.
    assert ids(g.scan("a razor on the sink")) == ["testverse/razorback"]
    # ambiguous is forced; a character cue confirms it.
    assert ids(g.scan("Pebblewick")) == []
    assert ids(g.scan("Pebblewick skipping stones")) == ["testverse/pebble"]


def test_context_evidence_is_explained(guard):
    m = match_for(guard.scan("Amber in Mondstadt"), "genshin_impact/amber")
    assert any("Mondstadt" in e for e in m.evidence)
    m = match_for(guard.scan("Amber and Diluc"), "genshin_impact/amber")
    assert any("genshin_impact/diluc" in e for e in m.evidence)


@pytest.mark.xfail(
    strict=True,
    reason="Korean transliterations of English words that are Pokémon names (파이어 'fire' = Moltres, 썬더볼트 "
    "'thunderbolt' = Manectric) are confirmed by any Pokémon in the prompt, or not marked ambiguous at all; the "
    "English romaji case (Charizard breathing fire) was fixed, the hangul one was not. Marking a Hangul name "
    "spaced as two frequent Korean words ambiguous was tried: word-frequency lists hold the halves of most "
    "transliterated names (다이 루크, 라프 라스), so it hid names split once",
)
@pytest.mark.parametrize(
    "prompt, expected",
    [("캠프 파이어 앞에 앉은 피카츄", ["pokemon/pikachu"]), ("썬더 볼트가 떨어지는 폭풍의 밤", [])],
)
def test_korean_loanwords_are_not_pokemon(guard, prompt, expected):
    assert ids(guard.scan(prompt)) == expected


@pytest.mark.xfail(
    strict=True,
    reason="Layla is an ordinary given name (the data README lists it with Lisa, Mona, Barbara and Charlotte) but "
    "its word frequency is under the threshold and it is not in the curated list, so it is never ambiguous",
)
def test_layla_as_a_given_name(guard):
    assert ids(guard.scan("Layla reading a paperback on a night train")) == []



def test_names_that_are_words_of_a_prompt_language():
    norm = lambda s: s.lower()  # noqa: E731 - these names fold to their lower case
    # German "Lavados" (Moltres) is Spanish for "washed"; French "Tarsal" (Ralts) is an English word
    assert ambiguity.prompt_language_words({"en": ["Moltres"], "de": ["Lavados"], "es": ["Moltres"]}, norm) == {"lavados": "es"}
    assert ambiguity.prompt_language_words({"en": ["Ralts"], "fr": ["Tarsal"]}, norm) == {"tarsal": "en"}
    # not where the character is called so in that language too, nor in the name's own language
    assert ambiguity.prompt_language_words({"en": ["Vibrava"], "it": ["Vibrava"]}, norm) == {}
    assert ambiguity.prompt_language_words({"fr": ["Zarbi"], "en": ["Unown"]}, norm) == {}
    # Latin American Spanish counts as Spanish
    assert ambiguity.prompt_language_words({"en": ["Moltres"], "de": ["Lavados"], "es-419": ["Moltres"]}, norm) == {"lavados": "es"}


def test_names_in_another_script_that_fold_to_a_word_of_a_prompt_language():
    from guard.normalize import Normalizer

    nz = Normalizer.build()
    norm = lambda s: nz.normalize(s).text  # noqa: E731
    names = {"en": ["Thoma"], "es": ["Thoma"], "ru": ["Тома"], "ja": ["トーマ"]}
    # Russian Тома is matched as "toma", a common Spanish word (a shot), which is also the romaji of トーマ: the
    # word in Spanish prompts
    assert ambiguity.prompt_language_words(names, norm) == {"toma": "es"}
    assert ambiguity.prompt_language_words(names, norm, folded_only=True) == {"toma": "es"}
    # Russian Сара folds to "capa", which nobody writes for Sara: the word in every prompt
    assert ambiguity.prompt_language_words({"en": ["Kujou Sara"], "ru": ["Сара"]}, norm, folded_only=True) == {"capa": "*"}
    # a franchise of personal names: its Latin names are the same name in every language
    assert ambiguity.prompt_language_words({"en": ["Ralts"], "fr": ["Tarsal"]}, norm, folded_only=True) == {}


@pytest.mark.parametrize(
    "prompt, cid, confirmed",
    [
        ("Toma de dron sobre la playa con las olas", "genshin_impact/thoma", False),  # Spanish: a drone shot
        ("Тома на крыше, аниме", "genshin_impact/thoma", True),  # the Russian name in a Russian prompt
        ("Toma carrying a paper lantern through the snow", "genshin_impact/thoma", True),  # romanized, in English
        ("toma aérea de Inazuma con Thoma y la playa", "genshin_impact/thoma", True),  # the English name confirms it
        ("una capa de niebla sobre el valle", "genshin_impact/kujousara", False),  # a layer: Сара folds to "capa"
        ("capa do livro com ilustração de fantasia", "genshin_impact/kujousara", False),  # in any language
        ("Сара en la playa con el sol", "genshin_impact/kujousara", True),  # written in Cyrillic: the name
        ("Тома en la playa con el sol y las olas", "genshin_impact/thoma", True),
    ],
)
def test_a_name_whose_look_alike_letters_fold_to_a_common_word(guard, prompt, cid, confirmed):
    m = match_for(guard.scan(prompt, include_candidates=True), cid)
    assert m is not None and m.confirmed is confirmed


@pytest.mark.parametrize(
    "prompt, confirmed",
    [
        ("los platos lavados en la cocina", False),  # Spanish: the word
        ("Lavados fliegt über den Vulkan", True),  # German: the name
        ("Lavados over the volcano", True),  # not an English word
        ("los platos lavados y Pikachu", True),  # the word, but another Pokémon confirms it
    ],
)
def test_a_name_that_is_a_word_of_the_prompt_language_needs_context(guard, prompt, confirmed):
    m = match_for(guard.scan(prompt, include_candidates=True), "pokemon/moltres")
    assert m is not None and m.confirmed is confirmed


def test_the_prompt_language_is_read_once_per_scan(guard, monkeypatch):
    """Each mention of such a name asked for the prompt's language, and each time the whole prompt was read: a
    1 MB prompt with thousands of mentions took seconds. Now a scan reads it once, with the same results."""
    import guard.matcher as matcher

    calls = []
    real = matcher.stated_latin_lang

    def counting(text):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(matcher, "stated_latin_lang", counting)
    prompt = ", ".join(["los platos lavados en la cocina"] * 50 + ["Lavados fliegt über den Vulkan"])
    mentions = [m for m in guard.scan(prompt, include_candidates=True) if m.character_id == "pokemon/moltres"]
    assert len(mentions) == 51 and not any(m.confirmed for m in mentions)  # a Spanish prompt: the word
    assert calls == [len(prompt)]


@pytest.mark.parametrize(
    "prompt, confirmed",
    [("X-ray of the tarsal bones of a human foot", False), ("Tarsal dans la forêt", True), ("Tarsal and Pikachu in the park", True)],
)
def test_a_french_name_that_is_an_english_word(guard, prompt, confirmed):
    m = match_for(guard.scan(prompt, include_candidates=True), "pokemon/ralts")
    assert m is not None and m.confirmed is confirmed
