"""guard.normalize: folding with an offset map back to the original text, and detection through each fold."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectkit import assert_offsets, ids
from guard.normalize import SYMBOL_SEPARATOR, Normalizer, NormalizedText, SEPARATORS, default_normalizer, fold_long_vowels, normalize, remove_separators, run_around, script_of, separator_cuts


# -- the folds, one by one -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, folded",
    [
        ("PIKACHU", "pikachu"),  # case
        ("ＰＩＫＡＣＨＵ", "pikachu"),  # full-width Latin
        ("ＨＥＬＬＯ　ｗｏｒｌｄ", "hello world"),  # ideographic space
        ("ﬁre", "fire"),  # NFKC ligature
        ("Straße", "strasse"),  # case folding that grows
        ("Flabébé", "flabebe"),  # precomposed accents
        ("Flabe\u0301be\u0301", "flabebe"),  # combining accents
        ("Pi\u200bka\u200cchu", "pikachu"),  # zero-width space / non-joiner
        ("Pi\u2060ka\ufeffchu\u00ad", "pikachu"),  # word joiner, BOM, soft hyphen
        ("x\ufe0fy", "xy"),  # variation selector
        ("ﾋﾟｶﾁｭｳ", "ピカチュー"),  # half-width katakana, voicing marks composed
        ("ﾊﾞﾙｼﾞｰﾅ", "バルジーナ"),
        ("ピカチュウ", "ピカチュー"),  # long vowel written with a vowel kana
        ("雷電將軍", "雷电将军"),  # traditional -> simplified
        ("p1kachu", "pikachu"),  # leetspeak inside a word
        ("3mb04r", "emboar"),
        ("4rceus", "arceus"),  # digits before a long word: leetspeak, not a unit
        ("35pathra", "espathra"),
        ("a 5n1vy", "a snivy"),
        ("P!kachu", "pikachu"),  # symbols between letters
        ("Pik@chu", "pikachu"),
        ("Рikасhu", "pikachu"),  # Cyrillic Р, а, с mixed into Latin
        ("ᏢᎥkachu", "pikachu"),  # Cherokee look-alikes
        ("przesłanki, Łódź", "przeslanki, lodz"),  # letters with a stroke, which Unicode does not decompose
        ("Søren, đi, Ħal", "soren, di, hal"),
        ("Æsir œuvre þorn", "aesir oeuvre thorn"),  # ligatures and thorn grow
        ("Kiki’s ‘x’ ʼ", "kiki's 'x' '"),  # typographic apostrophes and quotes
        ("Ho\u2010Oh Ho\u2011Oh Ho\u2013Oh 3\u22121", "ho-oh ho-oh ho-oh 3-1"),  # typographic hyphens and dashes
    ],
)
def test_folds(text, folded):
    assert normalize(text).text == folded


@pytest.mark.parametrize(
    "text",
    [
        "2024",  # digits alone are not leetspeak
        "r2",  # too short to be a word with leetspeak
        "shot on 35mm at 60fps",  # numbers with units
        "5am, 1st place, 1080p, 8bit",
        "1girl, 2girls, 1boy, solo",  # head counts of anime image tags
        "Pikachu!",  # a symbol after a word is punctuation
        "@pikachu",  # a handle, not a letter
        "привет",  # an all-Cyrillic word that does not fold to Latin stays Cyrillic
        "ピカチュー",
        "피카츄",
    ],
)
def test_text_that_must_not_fold(text):
    assert normalize(text).text == text.lower()


def test_hiragana_long_vowels_are_found_both_ways(guard):
    # Hiragana is not folded (a vowel kana often starts the next word); both spellings are compiled instead.
    for prompt, cid in (("ぴかちゅうが走る", "pokemon/pikachu"), ("ぴかちゅーが走る", "pokemon/pikachu"),
                        ("森にいーぶいがいる", "pokemon/eevee")):
        assert ids(guard.scan(prompt)) == [cid], prompt


def test_vowel_kana_after_a_particle_starts_a_name(guard):
    # に/で/が before イーブイ, エーフィ, アバゴーラ must not turn their first kana into a long-vowel mark.
    for prompt, cid in (("森にイーブイがいる", "pokemon/eevee"), ("公園でエーフィと遊ぶ", "pokemon/espeon"),
                        ("子どもたちがアバゴーラと遊ぶ", "pokemon/carracosta"), ("そのオーダイル", "pokemon/feraligatr"),
                        ("チェスの駒になったアイノ", "genshin_impact/aino")):
        assert ids(guard.scan(prompt)) == [cid], prompt


def test_both_long_vowel_spellings_meet():
    assert normalize("ピカチュウ").text == normalize("ピカチュー").text
    assert normalize("ミュウツー").text == normalize("ミュウツウ").text
    assert fold_long_vowels("リザアドン") == "リザードン"


def test_traditional_and_simplified_meet():
    assert normalize("夢幻").text == normalize("梦幻").text
    assert normalize("鍾離").text == normalize("钟离").text
    assert normalize("小火龍").text == normalize("小火龙").text


# -- the offset map -------------------------------------------------------------------------------------------
def test_identity_needs_no_map():
    nt = normalize("Pikachu surfing")
    assert nt.offsets is None
    assert nt.span(0, 7) == (0, 7)


def test_removed_characters_stay_inside_the_span():
    text = "a Pi\u200bka\u200bchu b"
    nt = normalize(text)
    start = nt.text.index("pikachu")
    s, e = nt.span(start, start + 7)
    assert text[s:e] == "Pi\u200bka\u200bchu"


def test_composed_marks_extend_the_span():
    text = "xﾋﾟｶﾁｭｳy"
    nt = normalize(text)
    s, e = nt.span(1, 6)
    assert text[s:e] == "ﾋﾟｶﾁｭｳ"
    text = "e\u0301t\u00e9"
    nt = normalize(text)
    assert nt.text == "ete"
    assert text[slice(*nt.span(0, 1))] == "e\u0301"


def test_growing_characters_map_back_to_one_original():
    text = "ﬁre Straße"
    nt = normalize(text)
    assert nt.text == "fire strasse"
    assert text[slice(*nt.span(0, 4))] == "ﬁre"
    assert text[slice(*nt.span(5, 12))] == "Straße"


def test_map_shape():
    nt = normalize("Ｐ\u200bｉｋａ")
    assert isinstance(nt, NormalizedText)
    assert nt.original == "Ｐ\u200bｉｋａ"
    assert len(nt.offsets) == len(nt.text) + 1
    assert nt.offsets[-1] == len(nt.original)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_offset_map_is_monotonic_and_in_bounds(text):
    nt = normalize(text)
    if nt.offsets is None:
        assert len(nt.text) == len(text)
        return
    offs = nt.offsets
    assert len(offs) == len(nt.text) + 1
    assert all(0 <= a <= b <= len(text) for a, b in zip(offs, offs[1:]))
    for i in range(len(nt.text)):
        s, e = nt.span(i, i + 1)
        assert 0 <= s < e <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_normalize_is_deterministic_and_idempotent_on_its_output(text):
    a, b = normalize(text), normalize(text)
    assert a.text == b.text and a.offsets == b.offsets
    assert normalize(a.text).text == normalize(normalize(a.text).text).text


_KANA_AND_FOLDS = st.text(alphabet=st.sampled_from(list("アイウエオカキクケコサトノハマヤラワンーァィゥェォ・、 abcA") + ["薴", "苧", "風", "霧", "Ｐ", "ｶ"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(_KANA_AND_FOLDS)
def test_normalized_text_is_a_fixed_point_of_the_long_vowel_fold(text):
    # The matcher skips folding again when removing separators changed nothing.
    t = normalize(text).text
    assert fold_long_vowels(t) == t
    assert fold_long_vowels(fold_long_vowels(text)) == fold_long_vowels(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([chr(c) for c in range(0x30A1, 0x30FB)] + list("ーあいa、")), max_size=30))
def test_long_vowel_fold_follows_the_pair_rule(text):
    from guard.normalize import _VOWEL_ROWS

    longs = {"a": "ア", "i": "イ", "u": "ウ", "e": "エイ", "o": "オウ"}
    expected = [
        "ー" if i > 0 and any(c in longs[v] and text[i - 1] in _VOWEL_ROWS[v] for v in longs) else c
        for i, c in enumerate(text)
    ]
    assert fold_long_vowels(text) == "".join(expected)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1@$!|3 02x5kmz.") + ["ミ", "カ", "年", "、"]), max_size=40))
def test_leet_folding_of_non_latin_text_is_skipped_only_when_nothing_could_fold(text):
    from guard.normalize import _fold_leet_text

    assert default_normalizer()._post(text, text, None, False).text == fold_long_vowels(_fold_leet_text(text))


def test_one_step_folds_do_not_chain():
    nz = default_normalizer()
    chained = [c for c, out in nz._fold_str.items() if out in nz._fold_str]
    assert chained, "OpenCC has folds that chain (薴 -> 苧 -> 苎); this test needs one"
    c = chained[0]
    once = nz._fold_str[c]
    # Folding is one step, whether the text is folded by per-character replaces or by str.translate.
    assert normalize(c + "の風").text == once + "の" + nz._fold_str["風"]
    assert normalize(c + once + "風霧").text == once + nz._fold_str[once] + nz._fold_str["風"] + nz._fold_str["霧"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(c for c in default_normalizer()._fold_str if not "\ud800" <= c <= "\udfff") + list("ab カ、")), max_size=60))
def test_folding_by_replaces_equals_folding_by_table(chars):
    nz = default_normalizer()
    text = "".join(chars)
    assert nz._fold_one_to_one(text) == "".join(nz._fold_str.get(c, c) for c in text)


def test_a_homoglyph_that_the_folding_makes_is_folded_too():
    # Upper-case П is not in the confusables data, but it folds to п, which is: the rule looks at the folded text,
    # so the word folds whether or not another character of the prompt takes the slow path.
    assert normalize("LYПETTE").text == "lynette"
    assert normalize("LYПETTE ß").text == "lynette ss"
    assert normalize("ПРИВЕТ").text == "привет"  # all Cyrillic, and not all look-alikes: stays


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Фарузан與Pikachu", "фарузан与pikachu"),  # East Asian letters end a word: the Latin one is another word
        ("ПикачуとEevee", "пикачуとeevee"),
        ("Рikасhuと遊ぶ", "pikachuと游ぶ"),  # a word that mixes scripts still folds next to them
    ],
)
def test_a_cyrillic_word_joined_to_latin_by_east_asian_text_stays_cyrillic(text, folded):
    assert normalize(text).text == folded


def test_fold_homoglyphs_alone():
    nz = Normalizer.build()
    assert nz.fold_homoglyphs("хуtao") == "xytao"  # a word that mixes scripts
    assert nz.fold_homoglyphs("привет") == "привет"
    assert nz.fold_homoglyphs("macross7") == "macross7"  # no leetspeak: only the homoglyph step


@pytest.mark.parametrize("prompt", ["ΠΛΑΝΗΤΕΣ", "Πλανήτες", "πλανήτες αφίσα"])
def test_a_greek_title_matches_in_any_case(guard, prompt):
    # Case folding comes before the homoglyph step, so a Greek capital and its small letter fold alike.
    assert [t.character_id for t in guard.scan_titles(prompt, include_candidates=True)] == ["bangumi/2734"]


def test_upper_case_homoglyph_obfuscation_is_found(guard):
    assert ids(guard.scan("stained glass window depicting LYПETTE")) == ["genshin_impact/lynette"]


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("Ρorygοn-Ζ in a lab", ["pokemon/porygon-z"]),  # the Greek Ζ alone after the hyphen
        ("ΗΟ-ΟΗ flying over a pagoda", ["pokemon/ho-oh"]),  # Greek capitals throughout, four letters in all
        ("Porygon Ζ", ["pokemon/porygon"]),  # a Greek letter standing alone after a space stays Greek
        ("Кто-то стучит в дверь", []),
    ],
)
def test_homoglyphs_in_hyphenated_names(guard, prompt, expected):
    assert ids(guard.scan(prompt)) == expected


# Characters that fold irregularly (to none or several), voicing marks, homoglyphs and characters that fold to one,
# with plain text around them and characters above the BMP.
_SLOW_ALPHABET = list(
    "abcxyzPIK 135@!-、カハかはﾊｶ皮卡丘空"
    "ß\u00ad\u200b\u200d\ufe0f¼ﬁĲŀ"
    "\uff9e\uff9f\u309b\u309c\u3099\u309a"
    "ПГРасеорхуквнмтΣςΕΑβΓᏢᎥ²①"
    "ＡＢａｂ１"
) + ["\U0001d40f", "\U0001d41a", "\U0001f600", "\U00020000"]


def _per_character(nz: Normalizer, text: str) -> tuple[str, list[int]]:
    """The slow path's result computed one character at a time, with the homoglyph rule applied to every group of
    hyphen-joined words."""
    import unicodedata

    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch in "\u3099\u309a\u309b\u309c\uff9e\uff9f" and chars:
            mark = "\u3099" if ch in "\u3099\u309b\uff9e" else "\u309a"
            composed = unicodedata.normalize("NFC", chars[-1] + mark)
            if len(composed) == 1:
                chars[-1] = composed
            continue
        rep = nz.special.get(ch)
        if rep is None:
            rep = nz.one_to_one.get(ord(ch), ch)
        for r in rep:
            chars.append(r)
            offsets.append(i)
    offsets.append(len(text))

    # Words are runs of letters and digits that are not East Asian (CJK, kana and Hangul end a word), read in
    # groups joined by hyphens.
    folded = _every_group(nz, "".join(chars))
    return nz._post(text, folded, None, False).text, offsets


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(_SLOW_ALPHABET), max_size=40))
def test_the_fold_equals_a_fold_one_character_at_a_time(text):
    nz = default_normalizer()
    expected, offsets = _per_character(nz, text)
    nt = nz.normalize(text)
    assert nt.text == expected
    assert (nt.offsets if nt.offsets is not None else list(range(len(text) + 1))) == offsets


def _every_group(nz: Normalizer, text: str) -> str:
    """The homoglyph rule written out, group by group of hyphen-joined words: a word's homoglyphs fold where it
    holds a Latin letter, or where it folds entirely to Latin letters and digits and either has three characters or
    more or stands in a group that reads as Latin (a word of it holds a Latin letter, or all of its words fold
    entirely and have three characters or more in all)."""
    from guard.normalize import _GROUP

    table = nz._homoglyph_table

    def latin(word: str) -> bool:
        return any(c < "\u0250" and c.isalpha() for c in word)

    def folds(word: str) -> bool:
        return all((c < "\u0250" and c.isalpha()) or c.isdigit() for c in word.translate(table))

    def group(m) -> str:
        words = m.group(0).split("-")
        reads_latin = len(words) > 1 and (any(map(latin, words)) or (sum(map(len, words)) >= 3 and all(map(folds, words))))
        return "-".join(w.translate(table) if latin(w) or (folds(w) and (len(w) >= 3 or reads_latin)) else w for w in words)

    return _GROUP.sub(group, text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(_SLOW_ALPHABET + list("‐-_ ")), max_size=60))
def test_the_python_homoglyph_fold_looks_at_every_word_that_can_change(text):
    nz = default_normalizer()
    assert nz._fold_homoglyphs_py(text) == _every_group(nz, text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ1ζηοΗΟΖРаскꓑꓝ- _.", max_size=24))
def test_the_python_homoglyph_fold_reads_hyphen_groups(text):
    nz = default_normalizer()
    assert nz._fold_homoglyphs_py(text) == _every_group(nz, text)


@pytest.mark.parametrize(
    "text, folded",
    [
        ("porygon-ζ", "porygon-z"),  # a one-letter word next to a Latin one
        ("ηο-οη", "ho-oh"),  # two short words that fold entirely, four letters in all
        ("porygon ζ", "porygon ζ"),  # a space is no hyphen: a Greek letter standing alone stays
        ("ζ-ζ", "ζ-ζ"),  # two letters in all
        ("α-ω", "α-ω"),  # ω is no Latin letter
        ("ζ-" + "ζ" * 40_000, "z-" + "z" * 40_000),
        ("ꓑorygon-ꓝ", "ꓑorygon-ꓝ"),  # Lisu letters end words, as CJK does, with the kernel or without
    ],
)
def test_a_short_homoglyph_word_folds_in_a_hyphen_group_that_reads_as_latin(text, folded):
    nz = default_normalizer()
    assert nz._fold_homoglyphs(text) == folded
    assert nz._fold_homoglyphs_py(text) == folded


@pytest.mark.parametrize(
    "homoglyphs",
    [
        {"п": "nn", "о": "o"},  # a value of two characters
        {"п": "ж", "о": "o"},  # a value that is not Latin
        {"п": "\0", "о": "o"},  # a value the kernel's table cannot hold
        {"‐": "-", "о": "o"},  # a key that is not a letter: words never hold it
    ],
)
def test_odd_homoglyph_tables_follow_the_word_rule(homoglyphs):
    nz = Normalizer({ord("A"): "a"}, {}, homoglyphs)
    for text in ("пaп xоy", "ппп оoo", "a‐b оo", "ппп", "оoо1", "Aп пп"):
        assert nz._fold_homoglyphs(text) == _every_group(nz, text), text
        assert nz._fold_homoglyphs_py(text) == _every_group(nz, text), text


def test_the_homoglyph_word_pattern_matches_whole_words_from_their_start():
    # Anchored at word starts, the pattern reads a long word without a homoglyph once; unanchored, `re` tried it
    # again from each of its letters, and a 20,000-letter word took seconds (not timed here: the spans are checked).
    nz = default_normalizer()
    word = "x" * 20_000
    text = word + " п Рikachu"
    matches = [m.span() for m in nz._homoglyph_word.finditer(text)]
    assert matches == [(20_001, 20_002), (20_003, 20_010)]
    assert nz._fold_homoglyphs_py(text) == word + " п pikachu"


def test_dense_irregular_text_folds_run_by_run_only_when_it_must():
    nz = default_normalizer()
    text = "aß" * 500 + "ﾊﾞ"
    assert nz._normalize_general(text).text == "ass" * 500 + "バ"
    odd = Normalizer({ord("x"): "", ord("y"): "zz"}, {"ß": "ss"}, {})
    nt = odd._normalize_general("xyßa\u00ad")
    assert (nt.text, nt.offsets) == ("zzssa\u00ad", [1, 1, 2, 2, 3, 4, 5])


def test_state_round_trip():
    nz = default_normalizer()
    copy = Normalizer.from_state(nz.to_state())
    for text in ("ﾋﾟｶﾁｭｳ", "Рikасhu", "雷電將軍", "P1kachu", "Pi\u200bkachu"):
        assert copy.normalize(text).text == nz.normalize(text).text


# -- helpers --------------------------------------------------------------------------------------------------
def test_script_of():
    assert [script_of(c) for c in "aアあ漢한1!я"] == ["latin", "kata", "hira", "han", "hangul", "digit", "other", "alpha"]


def test_separator_cuts_map_joined_positions_back():
    for text in ("p i-k.ab", "ピ・カ　チュウ", "  a  ", "abc", "", "皮 卡 丘，走"):
        joined = remove_separators(text)
        cuts = separator_cuts(text)
        back = [k + int(cuts.searchsorted(k, side="right")) for k in range(len(joined))]
        assert "".join(text[i] for i in back) == joined
        assert all(text[i] not in SEPARATORS for i in back)


def test_run_around():
    assert run_around("a pi ka chu b", 3, 9) == ["pi", "ka", "chu"]
    assert run_around("xpi ka", 2, 6) == ["xpi", "ka"]


# -- detection through each obfuscation (issue 3) -----------------------------------------------------------
OBFUSCATED = [
    ("leetspeak", "P1kachu on a scooter", "P1kachu"),
    ("leetspeak", "a giant Ch4r1z4rd", "Ch4r1z4rd"),
    ("leetspeak", "3mb04r in a forge", "3mb04r"),
    ("leetspeak symbols", "P!k@chu in the rain", "P!k@chu"),
    ("spacing", "P i k a c h u dancing", "P i k a c h u"),
    ("spacing", "draw C-h-a-r-i-z-a-r-d now", "C-h-a-r-i-z-a-r-d"),
    ("spacing", "P.I.K.A.C.H.U.", "P.I.K.A.C.H.U"),
    ("spacing", "ピ・カ・チ・ュ・ウを描いて", "ピ・カ・チ・ュ・ウ"),
    ("spacing", "皮 卡 丘", "皮 卡 丘"),
    ("zero-width", "Pika\u200bchu in the rain", "Pika\u200bchu"),
    ("zero-width", "Bulba\u200dsaur\u200c sleeping", "Bulba\u200dsaur"),
    ("zero-width", "Hi\u2060tmonlee kicking", "Hi\u2060tmonlee"),
    ("soft hyphen", "Se\u00adaleo on ice", "Se\u00adaleo"),
    ("zero-width kana", "ピカ\u200bチュウ", "ピカ\u200bチュウ"),
    ("homoglyphs", "Рikасhu in a field", "Рikасhu"),  # Cyrillic Р а с
    ("homoglyphs", "Сharizard flying", "Сharizard"),  # Cyrillic С
    ("homoglyphs", "Εevee and friends", "Εevee"),  # Greek Ε
    ("full-width", "Ｐｉｋａｃｈｕ surfing", "Ｐｉｋａｃｈｕ"),
    ("full-width", "ＲＡＹＱＵＡＺＡ in the sky", "ＲＡＹＱＵＡＺＡ"),
    ("half-width kana", "ﾋﾟｶﾁｭｳがジャンプする", "ﾋﾟｶﾁｭｳ"),
    ("half-width kana", "ﾘｻﾞｰﾄﾞﾝ", "ﾘｻﾞｰﾄﾞﾝ"),
    ("hiragana", "ぴかちゅうが走る", "ぴかちゅう"),
    ("hiragana", "りざーどんの絵", "りざーどん"),
    ("long vowel", "ピカチューが走る", "ピカチュー"),
    ("long vowel", "リザアドンの絵", "リザアドン"),
    ("traditional in simplified", "我想画雷電將軍", "雷電將軍"),
    ("simplified", "雷电将军在稻妻", "雷电将军"),
]
OBFUSCATED_IDS = {
    "P1kachu": "pokemon/pikachu", "Ch4r1z4rd": "pokemon/charizard", "3mb04r": "pokemon/emboar", "P!k@chu": "pokemon/pikachu",
    "P i k a c h u": "pokemon/pikachu", "C-h-a-r-i-z-a-r-d": "pokemon/charizard", "P.I.K.A.C.H.U": "pokemon/pikachu",
    "ピ・カ・チ・ュ・ウ": "pokemon/pikachu", "皮 卡 丘": "pokemon/pikachu", "Pika\u200bchu": "pokemon/pikachu",
    "Bulba\u200dsaur": "pokemon/bulbasaur", "Hi\u2060tmonlee": "pokemon/hitmonlee", "Se\u00adaleo": "pokemon/sealeo",
    "ピカ\u200bチュウ": "pokemon/pikachu", "Рikасhu": "pokemon/pikachu", "Сharizard": "pokemon/charizard",
    "Εevee": "pokemon/eevee", "Ｐｉｋａｃｈｕ": "pokemon/pikachu", "ＲＡＹＱＵＡＺＡ": "pokemon/rayquaza",
    "ﾋﾟｶﾁｭｳ": "pokemon/pikachu", "ﾘｻﾞｰﾄﾞﾝ": "pokemon/charizard", "ぴかちゅう": "pokemon/pikachu",
    "りざーどん": "pokemon/charizard", "ピカチュー": "pokemon/pikachu", "リザアドン": "pokemon/charizard",
    "雷電將軍": "genshin_impact/raidenshogun", "雷电将军": "genshin_impact/raidenshogun",
}


@pytest.mark.parametrize("kind, prompt, surface", OBFUSCATED, ids=[f"{k}:{s}" for k, _, s in OBFUSCATED])
def test_obfuscated_names_are_found_with_exact_spans(guard, kind, prompt, surface):
    matches = guard.scan(prompt)
    assert_offsets(prompt, matches)
    expected = OBFUSCATED_IDS[surface]
    assert ids(matches) == [expected]
    m = next(m for m in matches if m.character_id == expected)
    assert m.surface == surface
    assert m.start == prompt.index(surface)


def test_obfuscations_keep_boundaries(guard):
    # Folding must not create names out of ordinary words or glue names to their neighbours.
    assert ids(guard.scan("abr4cadabra")) == []
    assert ids(guard.scan("the year 2024 and R2-D2")) == []
    assert ids(guard.scan("email me @pikachu_fan")) == ["pokemon/pikachu"]


def test_letters_that_fold_to_two_keep_their_offsets():
    text = "Æsir und Œuvre"
    nt = normalize(text)
    assert nt.text == "aesir und oeuvre"
    start = nt.text.index("oeuvre")
    assert nt.span(start, start + len("oeuvre")) == (text.index("Œuvre"), len(text))
    assert nt.span(0, 5) == (0, 4)


def test_a_polish_word_with_a_stroke_letter_is_one_word(guard):
    # Split at the ł, "przesłanki" left "anki", one letter from Mankey's Japanese romaji.
    assert ids(guard.scan("przesłanki szczegółową radości koszuli")) == []


@pytest.mark.parametrize(
    "text, looked",
    [("Νahida", True), ("LYПETTE ß", True), ("Рikасhu ﾊﾞ", True), ("Pikachu", False), ("ピカチュウ", False), ("Crème brûlée", False)],
)
def test_normalized_text_says_whether_the_homoglyph_step_looked(text, looked):
    nt = normalize(text)
    assert nt.homoglyphs is looked
    assert nt == type(nt)(nt.original, nt.text, nt.offsets)  # not part of equality


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Gyara✨dos", "gyara\ue000dos"),
        ("Pika🔥chu", "pika\ue000chu"),
        ("Pi👍🏽kachu", "pi\ue000\ue000kachu"),  # the emoji and its skin-tone modifier
        ("I ❤️ Tokyo", "i \ue000 tokyo"),  # the variation selector goes, as before
        ("★★★ hotel", "\ue000\ue000\ue000 hotel"),
        ("25°C", "25\ue000c"),
        ("Nidoran♀", "nidoran♀"),  # ♀ and ♂ stay: they are separators as they are, and part of names
        ("Ⓟⓘⓚⓐ", "pika"),  # symbols with a folding of their own keep it
        ("㋐㋑", "アイ"),
        ("pika·chu", "pika·chu"),  # a middle dot typed as such stays itself: the matcher tells the two apart
    ],
)
def test_pictographs_fold_to_one_separator(text, folded):
    nt = normalize(text)
    assert nt.text == folded
    assert SYMBOL_SEPARATOR in SEPARATORS
    assert nt.span(0, len(nt.text)) == (0, len(text))


@pytest.mark.parametrize(
    "text, folded",
    [
        ("力ビゴンが寝る", "カビゴンが寝る"),  # before katakana
        ("で工ーフィが", "でエーフィが"),  # before the long vowel mark, after hiragana
        ("ピ力チュウ", "ピカチュー"),  # between katakana (and the long vowel folds after)
        ("ゲ一ム", "ゲーム"),
        ("卜ゲピー 二ャース 八ッサム 口コン 夕マザラシ", "トゲピー ニャース ハッサム ロコン タマザラシ"),
        # after a kanji they end a word; after the last katakana they count things or are a suffix
        ("暴力シーン", "暴力シーン"),
        ("入力フォーム", "入力フォーム"),
        ("ピカチュウ二、三匹", "ピカチュー二、三匹"),
        ("チーム力が大事", "チーム力が大事"),
        ("一ヶ月", "一ヶ月"),  # 一 before katakana stays the numeral
        ("力ずく", "力ずく"),  # before hiragana
    ],
)
def test_kanji_that_look_like_katakana_are_read_as_katakana_where_they_stand_for_it(text, folded):
    _assert_folds_in_place(text, folded)


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Pika\x00chu", "pikachu"),  # NUL, DEL and the other controls are dropped, as text cleaners drop them
        ("be\x7fer", "beer"),
        ("Pik\x01a\x02chu", "pikachu"),
        ("ピカ\x00チュウ", "ピカチュー"),
        ("Pika\x0bchu", "pika chu"),  # the controls that are white space separate words
        ("Pika\x85chu", "pika chu"),
        ("Pika\x9fchu", "pikachu"),
        ("tab\there\nnew\rline", "tab\there\nnew\rline"),  # as before
    ],
)
def test_control_characters_hide_nothing(text, folded):
    _assert_folds_in_place(text, folded)


@pytest.mark.parametrize(
    "text, folded",
    [
        ("Pika\U000E0041chu", "pikachu"),  # a tag character (plane 14, category Cf)
        ("Pika\U000E0100chu", "pikachu"),  # a variation selector beyond the BMP
        ("ピカ\U000E0041チュウ", "ピカチュー"),
        ("flag 🏴\U000E0067\U000E0062\U000E007F!", "flag \ue000!"),  # a subdivision flag: its tags go, the flag is a pictograph
    ],
)
def test_format_characters_beyond_the_bmp_hide_nothing(text, folded):
    _assert_folds_in_place(text, folded)


@pytest.mark.parametrize(
    "text, folded, tails",
    [
        # A dash after a katakana stays; where it may be the long vowel mark, the matcher reads it both ways.
        ("イ―ブイ", "イ―ブイ", (1,)),  # between katakana
        ("イ—ブイ", "イ—ブイ", (1,)),
        ("ミュウ—イーブイ", "ミュー—イーブイ", (3,)),  # (or punctuation between two words)
        ("ゲンガ―が", "ゲンガ―が", (3,)),  # after the last katakana, before a particle
        ("ゲンガ一が", "ゲンガ一が", (3,)),
        ("ゲンガ－", "ゲンガ-", (3,)),  # the full-width hyphen folds to "-" first
        ("ピカチュウ――それは", "ピカチュー――それは", ()),  # the Japanese dash is two
        ("ピカチュウ-Raichu", "ピカチュー-raichu", ()),  # a hyphen before a Latin word joins it
        ("ウール- 麻", "ウール- 麻", ()),  # ... and one before a space lists
        ("ウール—柔らかい", "ウール—柔らかい", ()),  # a dash before a kanji is punctuation
        ("ピカチュウ一匹", "ピカチュー一匹", ()),  # 一 before a kanji counts
        ("ウール一つ", "ウール一つ", ()),  # ... and before つ
        ("ゲ一ム", "ゲーム", ()),  # 一 between katakana folds in place, as the other kanji look-alikes
        ("ゲンガ―とゲンガ一", "ゲンガ―とゲンガ一", (3, 8)),
    ],
)
def test_dashes_and_one_after_katakana(text, folded, tails):
    _assert_folds_in_place(text, folded)
    assert normalize(text).kana_tails == default_normalizer()._normalize_general(text).kana_tails == tails


@pytest.mark.parametrize(
    "text, folded, spans",
    [
        ("ㅍㅣㅋㅏㅊㅠ가", "피카츄가", [(0, 2), (2, 4), (4, 6), (6, 7)]),  # letters typed apart compose
        ("ㄲㅗㅂㅜㄱㅇㅣ", "꼬북이", [(0, 2), (2, 5), (5, 7)]),  # a consonant with no vowel after it is a final
        ("ㄲㅗㅂㅜㄱㅣ", "꼬부기", [(0, 2), (2, 4), (4, 6)]),  # ... and the next initial where one follows
        ("\u1111\u1175\u110f\u1161\u110e\u1172", "피카츄", [(0, 2), (2, 4), (4, 6)]),  # decomposed (NFD) Hangul
        ("\u1107\u116e\u11a8", "북", [(0, 3)]),  # with a conjoining final
        ("ㅋㅋㅋ", "\u110f\u110f\u110f", [(0, 1), (1, 2), (2, 3)]),  # nothing to compose: the jamo stay
        ("ㅠㅠ 피카츄", "\u1172\u1172 피카츄", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]),
    ],
)
def test_hangul_letters_compose_into_syllables(text, folded, spans):
    for nt in (normalize(text), default_normalizer()._normalize_general(text)):
        assert nt.text == folded
        assert [nt.span(i, i + 1) for i in range(len(folded))] == spans
        assert nt.span(0, len(folded)) == (0, len(text))


def _assert_folds_in_place(text: str, folded: str) -> None:
    """`text` normalizes to `folded` on both paths (the C kernel's and the general one), its span the whole text."""
    nt = normalize(text)
    assert nt.text == folded
    assert nt.span(0, len(nt.text)) == (0, len(text))
    assert default_normalizer()._normalize_general(text).text == folded
