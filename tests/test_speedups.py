"""guard.speedups: the C text kernels give exactly what the pure-Python code they replace gives."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard import normalize as nm
from guard import speedups
from guard.matcher import _LATIN_RUN, _rare_latin_words_py

ROOT = Path(__file__).resolve().parent.parent

kernels = speedups.kernels
needs_kernels = pytest.mark.skipif(kernels is None, reason="the C kernels are not built in this install")

# Characters every fold and rule of the normalizer cares about, with ordinary text around them.
_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@$!|2"
    + "".join(sorted(nm.SEPARATORS))
    + "ピカチュウアイウエオカキクケコーァィゥェォッャュョヴ・゠ひらがなあいうえお"
    + "皮卡丘風霧質雷電將軍薴苧苎空"
    + "피카츄가는한국어"
    + "ＡＢＣａｂｃ１２３！？，。（）　ﾋﾟｶﾁｭｳﾊﾞ"
    + "\u200b\u200c\u2060\ufeff\u00ad\ufe0f\u0301\u3099\u309a\u309b"
    + "éüßﬁÅ"
    + "РаснкмᏢᎥΝΥΙІ♂♀"
    + "\U0001f600\U00020000\U0001d400\ud800"  # emoji, an astral hanzi, a math letter, a lone surrogate
    + "\U00010282"  # an astral homoglyph that folds to itself (Carian B)
)
texts = st.text(alphabet=_ALPHABET, max_size=80)
ascii_texts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@$!|2 .-_,'", max_size=80)


def test_required_in_ci():
    """CI installs with a C compiler, so there the kernels must be in use (elsewhere they are optional)."""
    if os.environ.get("GUARD_REQUIRE_SPEEDUPS") == "1":
        assert kernels is not None, "guard._speedups was not built"


def test_separators_fit_the_bitmap():
    assert all(ord(c) <= 0xFFFF for c in nm.SEPARATORS)


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(texts)
def test_normalize_equals_the_general_path(text):
    nz = nm.default_normalizer()
    assert nz.normalize(text) == nz._normalize_general(text) or text.isascii()


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, ascii_texts))
def test_leet_tokens_fold_as_the_walk_does(text):
    out = nm.default_normalizer()._fold_one_to_one(text.lower())
    assert nm._fold_leet_kernel(out) == nm._fold_leet_text(out)


def _leet_tokens_reference(text):
    """The rule leet_tokens documents, written out: maximal runs of a-z 0-9 @ $ ! | that hold one of
    0 1 3-9 @ $ ! | (2 is no letter), at least two letters, and three characters or more."""
    return [
        m.span()
        for m in re.finditer(r"[a-z0-9@$!|]+", text)
        if re.search(r"[013-9@$!|]", m.group()) and len(re.findall("[a-z]", m.group())) >= 2 and len(m.group()) >= 3
    ]


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, ascii_texts, st.text(alphabet="ab2c3@ .", max_size=30)))
def test_leet_tokens_follow_their_rule(text):
    assert kernels.leet_tokens(text) == _leet_tokens_reference(text)


@needs_kernels
def test_a_two_alone_makes_no_leet_token():
    assert kernels.leet_tokens("ab2c abc2 a3bc") == [(10, 14)]


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(texts)
def test_separators(text):
    t = nm.normalize(text).text
    assert kernels.remove_separators(t, nm.SEPARATOR_BITMAP) == nm._remove_separators_py(t)
    assert nm._remove_separators_py(t) == "".join(c for c in t if c not in nm.SEPARATORS)
    assert kernels.separator_cuts(t, nm.SEPARATOR_BITMAP) == nm.separator_cuts(t).tolist()


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, ascii_texts), st.sets(st.sampled_from(["pika", "chuu", "abcd", "hello", "zzzz", "word"])))
def test_rare_latin_words(text, known):
    t = nm.normalize(text).text
    common = {w: 30 for w in sorted(known)[::2]}  # a dict, like CompiledLexicon.common
    typo_free = frozenset(sorted(known)[1::2])
    expected = _rare_latin_words_py(t, common, typo_free)
    assert kernels.rare_latin_words(t, common, typo_free) == expected
    assert expected == sorted(
        (m.start(), m.end(), m.group(0)) for m in _LATIN_RUN.finditer(t)
        if m.group(0).isalpha() and m.group(0) not in common and m.group(0) not in typo_free
    )


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, ascii_texts), st.sets(st.sampled_from(["pika", "chuu", "abcd", "hello", "zzzz", "word", "abc", "Word", "café"])))
def test_known_words_answer_as_the_sets_do(text, known):
    """rare_latin_words with a KnownWords array of hashes gives what it gives with the sets it was built from."""
    t = nm.normalize(text).text
    common = {w: 30 for w in sorted(known)[::2]}
    typo_free = frozenset(sorted(known)[1::2])
    words = kernels.KnownWords(common, typo_free)
    assert kernels.rare_latin_words(t, words) == _rare_latin_words_py(t, common, typo_free)
    # Only words the typo pass can ask about are kept: four or more letters a-z.
    assert len(words) == sum(1 for w in known if len(w) >= 4 and w.isascii() and w.isalpha() and w.islower())
    assert all((w in words) == (len(w) >= 4 and w.isascii() and w.isalpha() and w.islower()) for w in known)


@needs_kernels
def test_known_words_on_the_lexicon_vocabulary(scanner):
    """The scanner's KnownWords holds every a-z word of its sets, and the typo pass finds the same rare words
    with it as with the sets, on real prompts."""
    c = scanner.c
    (words,) = scanner._known_words
    lookup = [w for w in list(c.common) + list(c.typo_free) if len(w) >= 4 and w.isascii() and w.isalpha() and w.islower()]
    assert len(words) == len(set(lookup)) and all(w in words for w in lookup)
    assert "qzxv" not in words and "Pikachu" not in words and 3 not in words
    assert words.nbytes >= 16 * len(words)  # at most half full
    prompts = ["Pikachuu surfs at sunset with Bulbasaurr", "a knight walks through Mondstadt", "ピカチュウ and Raiden Shogunn"]
    for p in prompts:
        t = scanner._normalize(p).text
        assert kernels.rare_latin_words(t, words) == _rare_latin_words_py(t, c.common, c.typo_free)


@needs_kernels
def test_known_words_refuse_bad_input():
    with pytest.raises(TypeError, match="not a str but int"):
        kernels.KnownWords({"word": 1, 3: 2})
    with pytest.raises(TypeError):
        kernels.KnownWords(5)
    with pytest.raises(TypeError, match="no keyword"):
        kernels.KnownWords(words={"abcd"})
    empty = kernels.KnownWords.__new__(kernels.KnownWords)
    with pytest.raises(ValueError, match="not initialized"):
        kernels.rare_latin_words("some words", empty)
    with pytest.raises(ValueError, match="not initialized"):
        "abcd" in empty
    assert kernels.rare_latin_words("some words here", kernels.KnownWords()) == [(0, 4, "some"), (5, 10, "words"), (11, 15, "here")]
    words = kernels.KnownWords(["some"])
    words.__init__(["here"])  # a second __init__ starts over
    assert "here" in words and "some" not in words and len(words) == 1
    with pytest.raises(TypeError, match="not a str"):
        words.__init__(["more", 3])  # a failed __init__ leaves the words as they were
    assert "here" in words and "more" not in words and len(words) == 1


@needs_kernels
def test_known_words_pickle_as_their_table():
    """A KnownWords pickles as its table of hashes, out of band with protocol 5 and a buffer callback (the
    compiled cache maps it from the file), and loads without hashing any word again."""
    import pickle

    words = kernels.KnownWords({"pika": 1, "chuu": 2}, frozenset({"hello", "abc"}))
    in_band = pickle.loads(pickle.dumps(words, protocol=5))
    buffers: list = []
    stream = pickle.dumps(words, protocol=5, buffer_callback=buffers.append)
    assert len(buffers) == 1 and len(stream) < 200  # the table is not in the stream
    out_of_band = pickle.loads(stream, buffers=buffers)
    for loaded in (in_band, out_of_band):
        assert len(loaded) == 3 and loaded.nbytes == words.nbytes
        assert all(w in loaded for w in ("pika", "chuu", "hello")) and "abc" not in loaded and "zzzz" not in loaded
        assert kernels.rare_latin_words("pika zzzz hello", loaded) == [(5, 9, "zzzz")]
    for protocol in range(5):  # below 5, the table goes into the stream as bytes
        older = pickle.loads(pickle.dumps(words, protocol=protocol))
        assert len(older) == 3 and "hello" in older and "zzzz" not in older
    assert copy.copy(words) is words and copy.deepcopy([words])[0] is words  # it never changes: no copy needed
    # A table lent to another KnownWords cannot be replaced under it; once it is given back, it can.
    with pytest.raises(BufferError, match="exported"):
        words.__init__(["abcd"])
    assert "pika" in out_of_band
    del buffers, out_of_band, loaded
    words.__init__(["abcd"])
    assert list(map(words.__contains__, ["abcd", "pika"])) == [True, False] and len(in_band) == 3


@needs_kernels
def test_known_words_from_slots_refuse_a_table_a_lookup_could_not_end_in():
    with pytest.raises(ValueError, match="power of two"):
        kernels.KnownWords.from_slots(bytes(24))
    with pytest.raises(ValueError, match="power of two"):
        kernels.KnownWords.from_slots(bytes(8 * 12))
    with pytest.raises(ValueError, match="more than half full"):
        kernels.KnownWords.from_slots(b"\x01" * 64)
    with pytest.raises(BufferError, match="not initialized"):
        kernels.KnownWords.from_slots(kernels.KnownWords.__new__(kernels.KnownWords))
    with pytest.raises(TypeError):
        kernels.KnownWords.from_slots("not a buffer")
    table = memoryview(b"\x00" + bytes(pickle_table := kernels.KnownWords(["abcd", "efgh"])))[1:]  # misaligned: copied
    copied = kernels.KnownWords.from_slots(table)
    assert len(copied) == 2 and "abcd" in copied and "efgh" in copied and len(pickle_table) == 2
    # A table its owner can write to is copied: filled after the check, it would make a lookup run forever.
    writable = bytearray(bytes(pickle_table))
    held = kernels.KnownWords.from_slots(writable)
    writable[:] = b"\x01" * len(writable)
    assert "abcd" in held and "zzzz" not in held and len(held) == 2


@needs_kernels
def test_known_words_give_a_borrowed_table_back_only_once_replaced():
    """Re-initializing a KnownWords that borrows its table installs the new table first: giving the old one back
    may run the owner's Python code, which may look words up in it."""
    seen = []

    class Owner(bytes):
        def __del__(self):
            seen.append(("abcd" in words, "efgh" in words))

    owner = Owner(bytes(kernels.KnownWords(["abcd"])))
    words = kernels.KnownWords.from_slots(owner)
    assert "abcd" in words
    del owner  # the KnownWords holds it still
    assert seen == []
    words.__init__(["efgh"])
    assert seen == [(False, True)] and "efgh" in words and "abcd" not in words


@needs_kernels
def test_known_words_survive_python_code_that_reinitializes_them():
    """Reading a container, or a set lookup (a key's __eq__), can run Python code that re-initializes the very
    KnownWords being built or read; the table in use is never freed or left empty under the caller."""
    words = kernels.KnownWords.__new__(kernels.KnownWords)

    class Sneaky:
        def __len__(self):
            return 2

        def __iter__(self):
            yield "abcd"
            with pytest.raises(TypeError):
                words.__init__([1])
            words.__init__()  # an empty table of 8 slots, installed while the outer build goes on
            yield "efgh"

    words.__init__(Sneaky())
    assert "abcd" in words and "efgh" in words and len(words) == 2

    class Grower:
        def __len__(self):
            return 1

        def __iter__(self):
            return iter(["w" + chr(97 + i % 26) * 3 + chr(97 + i // 26) for i in range(200)])

    with pytest.raises(RuntimeError, match="changed size"):
        words.__init__(Grower())
    assert len(words) == 2

    class Evil:
        def __hash__(self):
            return hash("pika")

        def __eq__(self, other):
            with pytest.raises(TypeError):
                words.__init__([0])
            words.__init__(["chuu"])
            return False

    assert kernels.rare_latin_words("pika chuu", {Evil()}, words) == [(0, 4, "pika")]


@needs_kernels
@settings(max_examples=500, deadline=None)
@given(texts)
def test_the_homoglyph_kernel_follows_the_word_rule(text):
    nz = nm.default_normalizer()
    folded = kernels.fold_homoglyphs(text, nz._homoglyph_fold_table, nz._homoglyph_astral_map)
    assert folded == nm._GROUP.sub(nz._fold_group, text)


@needs_kernels
@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ1ζηοΗΟΖРаскꓑꓝ- _.", max_size=24))
def test_the_homoglyph_kernel_reads_hyphen_groups_as_python_does(text):
    """Short words of homoglyphs joined by hyphens, where the group rule decides (Porygon-Ζ, ΗΟ-ΟΗ)."""
    nz = nm.default_normalizer()
    folded = kernels.fold_homoglyphs(text, nz._homoglyph_fold_table, nz._homoglyph_astral_map)
    assert folded == nm._GROUP.sub(nz._fold_group, text)


@needs_kernels
def test_the_homoglyph_kernel_reads_words_as_re_does():
    nz = nm.default_normalizer()
    table, astral = nz._homoglyph_fold_table, nz._homoglyph_astral_map
    assert astral, "the confusables data has homoglyphs above the BMP; this test needs one"
    above = next(iter(astral))
    for text in ("Рikасhu", "x_Рa", "Рa²b", "ПРИВЕТ Рikachu", "ᏢᎥkachu!", "аbc", "ас", "асо", "\u0661ас", "Рi\u0301ka",
                 f"{above}ikachu", f"Рika{above}hu \U0001f600 Рa", "\U0001d7cfРаc", "Фарузан與Pikachu",
                 "ПикачуとEevee", "Рikасhuと遊ぶ", "Ра\U00020000Рa", "ас한국abc"):
        assert kernels.fold_homoglyphs(text, table, astral) == nm._GROUP.sub(nz._fold_group, text), text
    unchanged = "plain text"
    assert kernels.fold_homoglyphs(unchanged, table, astral) is unchanged


@needs_kernels
def test_irregular_characters_fold_in_c_with_their_offsets():
    nz = nm.default_normalizer()

    def fold(text):
        return kernels.fold_text(text, nz._fold_table, nz._slow_bitmap, nz._kernel_special, nz.one_to_one)

    assert fold("Straße") == ("strasse", [0, 1, 2, 3, 4, 4, 5, 6], 0)
    assert fold("Pi\u00adka\u200bchu") == ("pikachu", [0, 1, 3, 4, 6, 7, 8, 9], 0)
    assert fold("ß1") == ("ss1", [0, 0, 1, 2], speedups.FLAG_LEET_NEXT_TO_LETTER)
    assert fold("¼ ピカ") == ("1⁄4 ピカ", [0, 0, 0, 1, 2, 3, 4], speedups.FLAG_KATAKANA)
    assert fold("\u00ad") == ("", [1], 0)
    assert fold("ﾊﾞ ß") is None  # a voicing mark composes with the character before it: Python's path
    assert fold("ß \U00010000") == ("ss \U00010000", [0, 0, 1, 2, 3], speedups.FLAG_ASTRAL)  # above the BMP too
    assert fold("ß \U0001f600") == ("ss \ue000", [0, 0, 1, 2, 3], 0)  # an emoji folds to a separator
    assert fold("\U0001d40f\U0001d422 x") == ("pi x", None, 0)  # math letters fold one to one: no offsets
    for text in ("Fußgänger im Regen ❤\ufe0f", "Ｐｉ\u200bｋａ ß", "ﬁre Ĳ", "🌧\ufe0f Пикачу", "\U0002000b ß \U0001d40f"):
        assert nz.normalize(text) == nz._normalize_general(text)


@needs_kernels
def test_fold_text_says_whether_the_folded_text_holds_a_marked_character():
    nz = nm.default_normalizer()
    marked = speedups.bmp_bitmap("рх")

    def flags(text, bitmap=marked):
        return kernels.fold_text(text, nz._fold_table, nz._slow_bitmap, nz._kernel_special, nz.one_to_one, bitmap)[2]

    assert flags("Рikachu") & speedups.FLAG_MARKED  # upper-case Р folds to the marked р
    assert flags("Straße х") & speedups.FLAG_MARKED  # after an irregular character too
    assert not flags("Straße Pikachu") & speedups.FLAG_MARKED
    assert not flags("Рikachu", None) & speedups.FLAG_MARKED  # no bitmap, no mark
    assert flags("\U00010000 x") == speedups.FLAG_ASTRAL
    with pytest.raises(ValueError):
        flags("x", b"short")


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(texts)
def test_the_homoglyph_flag_agrees_with_a_search_of_the_folded_text(text):
    nz = nm.default_normalizer()
    folded = nz._kernel_fold(text, nz._fold_table, nz._slow_bitmap, nz._kernel_special, nz.one_to_one, nz._homoglyph_bitmap)
    if folded is None:
        return
    out, _, flags = folded
    assert bool(flags & speedups.FLAG_MARKED) == (nz._homoglyph_re.search(out) is not None)
    assert bool(flags & speedups.FLAG_ASTRAL) == any(ch > "\uffff" for ch in out)
    holds = bool(flags & speedups.FLAG_MARKED) or bool(
        flags & speedups.FLAG_ASTRAL and not nz._homoglyph_astral.isdisjoint(out)
    )
    assert holds == nz._has_homoglyph(out)
    assert nz.normalize(text) == nz._normalize_general(text)


@needs_kernels
def test_an_astral_homoglyph_is_folded_after_the_kernel():
    nz = nm.default_normalizer()
    assert "\U00010282" in nz._homoglyph_astral  # Carian B: the kernel keeps it, the homoglyph rule folds it
    assert nz.normalize("Pi\U00010282achu").text == "pibachu" == nz._normalize_general("Pi\U00010282achu").text


@needs_kernels
def test_the_flags_and_the_api_version_are_the_kernels_own():
    names = [n for n in dir(kernels) if n.startswith("FLAG_")]
    assert sorted(names) == ["FLAG_ASTRAL", "FLAG_KATAKANA", "FLAG_LEET_NEXT_TO_LETTER", "FLAG_MARKED"]
    assert all(getattr(speedups, n) == getattr(kernels, n) for n in names)
    assert kernels.API_VERSION == speedups.API_VERSION


def test_kernels_built_from_other_sources_are_not_used(tmp_path):
    """An extension left over from older sources (no API_VERSION) is refused with a warning, not called."""
    fake = tmp_path / "fake_speedups.py"
    fake.write_text("FLAG_LEET_NEXT_TO_LETTER = 1\n", encoding="utf-8")
    code = (
        "import importlib.util, sys, warnings\n"
        f"spec = importlib.util.spec_from_file_location('guard._speedups', {str(fake)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "sys.modules['guard._speedups'] = module\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from guard import speedups\n"
        "assert speedups.kernels is None, speedups.kernels\n"
        "assert any('rebuild' in str(w.message) for w in caught), [str(w.message) for w in caught]\n"
        "from guard import default_guard\n"
        "assert default_guard().check('Pikachu at the beach').characters == ['pokemon/pikachu']\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GUARD_PURE_PYTHON"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@needs_kernels
def test_a_special_value_must_be_text():
    nz = nm.default_normalizer()
    with pytest.raises(TypeError):
        kernels.fold_text("ß", nz._fold_table, nz._slow_bitmap, {"ß": 5}, nz.one_to_one)


def test_a_table_the_kernel_cannot_hold_keeps_the_general_path():
    odd = nm.Normalizer({ord("x"): "", ord("y"): "zz"}, {}, {})
    assert odd._kernel_fold is None
    assert odd.normalize("éxy").text == odd._normalize_general("éxy").text


@pytest.fixture(scope="module")
def scanner():
    from guard import default_guard

    return default_guard().scanner


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, ascii_texts))
def test_boundaries_of_real_hits(scanner, text):
    t = nm.normalize(text).text
    raw = scanner._find(t)
    assert scanner._on_boundaries(t, raw) == scanner._on_boundaries_py(t, raw)


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_accept_hits_applies_the_boundary_rules(scanner, text, data):
    """Random hits of random patterns on random text: the kernel keeps exactly what boundary_ok accepts."""
    from guard.matcher import _PARTICLE_SUFFIXES, boundary_ok

    t = nm.normalize(text).text
    infos, codes, flags = scanner._infos, scanner._info_codes, scanner._flags
    n_patterns = len(codes)
    raw = []
    for _ in range(data.draw(st.integers(0, 12))):
        s = data.draw(st.integers(0, len(t)))
        e = data.draw(st.integers(s, len(t)))
        raw.append((data.draw(st.integers(0, n_patterns - 1)), s, e))
    expected = [
        (pid, s, e) for pid, s, e in raw
        if flags[pid] and boundary_ok(t, s, e, infos[codes[pid]].left, infos[codes[pid]].right, infos[codes[pid]].length,
                                      strict=infos[codes[pid]].strict)
    ]
    got = kernels.accept_hits(t, raw, codes, codes.itemsize, scanner._edges, flags, _PARTICLE_SUFFIXES)
    assert got == expected


@needs_kernels
@pytest.mark.parametrize("typecode", ["B", "H", "I", "Q"])
def test_accept_hits_reads_codes_of_any_width(scanner, typecode):
    from array import array

    from guard.matcher import _PARTICLE_SUFFIXES

    codes = scanner._info_codes
    if max(codes) >= 1 << (8 * array(typecode).itemsize):
        pytest.skip("the codes do not fit this width")
    wide = array(typecode, codes)
    t = "pikachu and eevee, ピカチュウとイーブイ, 피카츄가 이브이와"
    raw = scanner._find(t)
    assert raw
    expected = kernels.accept_hits(t, raw, codes, codes.itemsize, scanner._edges, scanner._flags, _PARTICLE_SUFFIXES)
    assert expected
    assert kernels.accept_hits(t, raw, wide, wide.itemsize, scanner._edges, scanner._flags, _PARTICLE_SUFFIXES) == expected


@needs_kernels
def test_accept_hits_on_each_script_rule(scanner):
    """One pattern of each script class, on and off its boundaries (the random test rarely lands on them)."""
    from guard.matcher import _PARTICLE_SUFFIXES, boundary_ok

    infos, codes, flags = scanner._infos, scanner._info_codes, scanner._flags
    pats = scanner.c.patterns
    texts_by_pattern = {}
    for pid in range(len(codes)):
        inf = infos[codes[pid]]
        key = (inf.left, inf.right, inf.strict, min(inf.length, 6))
        if flags[pid] and key not in texts_by_pattern:
            texts_by_pattern[key] = pid
    assert len(texts_by_pattern) > 10
    for pid in texts_by_pattern.values():
        p = pats[pid]
        for before, after in [("", ""), ("a", ""), ("", "a"), ("ア", "カ"), ("あ", "い"), ("く", "の"), ("も", "ちゃん"),
                              ("た", "ち"), ("한", "가"), ("한", "가는"), ("空", "天"), (" ", " "), ("1", "2"), ("é", "ǿ")]:
            t = before + p + after
            raw = [(pid, len(before), len(before) + len(p))]
            inf = infos[codes[pid]]
            ok = boundary_ok(t, raw[0][1], raw[0][2], inf.left, inf.right, inf.length, strict=inf.strict)
            got = kernels.accept_hits(t, raw, codes, codes.itemsize, scanner._edges, flags, _PARTICLE_SUFFIXES)
            assert got == (raw if ok else []), (p, before, after)


@needs_kernels
def test_accept_hits_on_the_neighbours_of_one_common_hanzi(scanner):
    """A one-character name that is a common character (strict), with each particle and a few other hanzi
    before and after it: the kernel applies guard.matcher's lists as boundary_ok does."""
    from guard.matcher import _HAN_AFTER_NAME, _HAN_BEFORE_NAME

    infos, codes, flags = scanner._infos, scanner._info_codes, scanner._flags
    strict = [pid for pid in range(len(codes))
              if flags[pid] and infos[codes[pid]].left == "han" and infos[codes[pid]].length == 1 and infos[codes[pid]].strict]
    assert strict
    hanzi = sorted(_HAN_BEFORE_NAME | _HAN_AFTER_NAME) + ["天", "钢", "声", "里", "中"]
    sides = [(h, "") for h in hanzi] + [("", h) for h in hanzi] + [(a, b) for a in ("的", "天") for b in ("和", "气")]
    verdicts = [_kernel_agrees(scanner, pid, before, after) for pid in strict for before, after in sides]
    assert True in verdicts and False in verdicts


@needs_kernels
def test_accept_hits_on_every_hiragana_neighbour(scanner):
    """A short hiragana name with each hiragana before it (alone and after a kanji, katakana or Latin stem),
    each verb ending before it, each hiragana after it, and each word that may follow it, whole and cut short: the kernel applies
    guard.matcher's lists as boundary_ok does."""
    from guard.matcher import _HIRA_NOUN_SUFFIXES, _HIRA_VERB_ENDINGS

    infos, codes, flags, pats = scanner._infos, scanner._info_codes, scanner._flags, scanner.c.patterns
    short = [pid for pid in range(len(codes)) if flags[pid] and infos[codes[pid]].left == "hira" and infos[codes[pid]].length <= 3]
    by_first = {}
    for pid in short:  # one name per first character: a name that starts with a particle is a case of its own
        by_first.setdefault(pats[pid][0], pid)
    assert len(by_first) > 20
    kana = [chr(c) for c in range(0x3041, 0x3097)]
    stems = [(stem + k, "") for stem in ("猫", "ネ", "a") for k in kana] + [("猫", ""), ("ネ", ""), ("猫", "猫")]
    # Each verb ending after a kanji or katakana stem one or two characters back, after hiragana only, whole and
    # without its first kana, and alone at the start.
    stems += [(stem + x, "") for stem in ("見", "座っ", "ネっ", "しっ", "座っっ") for x in _HIRA_VERB_ENDINGS]
    stems += [("座っ" + x[1:], "") for x in _HIRA_VERB_ENDINGS] + [(x, "") for x in _HIRA_VERB_ENDINGS]
    suffixes = [("", x) for x in _HIRA_NOUN_SUFFIXES] + [("", x[:-1]) for x in _HIRA_NOUN_SUFFIXES]
    sides = [(k, "") for k in kana] + [("", k) for k in kana] + stems + suffixes
    verdicts = [_kernel_agrees(scanner, pid, before, after) for pid in by_first.values() for before, after in sides]
    assert True in verdicts and False in verdicts


@needs_kernels
@pytest.mark.parametrize(
    "args, message",
    [
        (("の" * 65, "", (), "", "", (), "", ""), "at most 64 characters"),
        (("", "", (), "", "", (), "の" * 65, ""), "at most 64 characters"),
        (("", "", ("ちゃんちゃん",), "", "", (), "", ""), "1 to 4 characters"),
        (("", "", ("",), "", "", (), "", ""), "1 to 4 characters"),
        (("", "", (1,), "", "", (), "", ""), "1 to 4 characters"),
        (("", "", ("さん",) * 33, "", "", (), "", ""), "at most 32 suffixes"),
        (("", "", (), "", "", ("ている",) * 33, "", ""), "at most 32 suffixes or endings"),
        (("", "", (), "", "", ("ていたのだ",), "", ""), "1 to 4 characters"),
    ],
)
def test_set_boundary_words_refuses_bad_lists_and_keeps_the_old_ones(scanner, args, message):
    from guard.matcher import _PARTICLE_SUFFIXES  # importing guard.matcher sets the lists

    t = "弾くごろーちゃん"  # accepted only through the lists: く before the name, ちゃん after it
    raw = [(list(scanner.c.patterns).index("ごろー"), 2, 5)]
    rules = (scanner._info_codes, scanner._info_codes.itemsize, scanner._edges, scanner._flags)
    assert kernels.accept_hits(t, raw, *rules, _PARTICLE_SUFFIXES) == raw
    with pytest.raises(ValueError, match=message):
        kernels.set_boundary_words(*args)
    assert kernels.accept_hits(t, raw, *rules, _PARTICLE_SUFFIXES) == raw


def _kernel_agrees(scanner, pid: int, before: str, after: str) -> bool:
    """Pattern `pid` between `before` and `after`: the kernel keeps the hit exactly when boundary_ok accepts it.
    Returns the verdict."""
    from guard.matcher import _PARTICLE_SUFFIXES, boundary_ok

    infos, codes, flags = scanner._infos, scanner._info_codes, scanner._flags
    p, inf = scanner.c.patterns[pid], infos[codes[pid]]
    t = before + p + after
    raw = [(pid, len(before), len(before) + len(p))]
    ok = boundary_ok(t, raw[0][1], raw[0][2], inf.left, inf.right, inf.length, strict=inf.strict)
    got = kernels.accept_hits(t, raw, codes, codes.itemsize, scanner._edges, flags, _PARTICLE_SUFFIXES)
    assert got == (raw if ok else []), (p, before, after)
    return ok


@needs_kernels
@pytest.mark.parametrize(
    "text, folded",
    [
        ("ピカチュウと35mmで4k撮影", "ピカチューと35mmで4k撮影"),  # a unit and a resolution stay
        ("P1KACHU，夕焼け", "pikachu,夕焼け"),  # the full-width comma folds, leetspeak folds
        ("雷電將軍 薴", "雷电将军 苧"),  # one step per character, also where the result folds again (苧 -> 苎)
        ("ﾋﾟｶﾁｭｳ", "ピカチュー"),  # voicing marks: the general path
        ("ピカチュウ\U00010000", "ピカチュー\U00010000"),  # above the BMP: the general path
        ("ピカチュウ\U0001f600", "ピカチュー\ue000"),  # an emoji folds to a separator
    ],
)
def test_examples(text, folded):
    assert nm.normalize(text).text == folded


@needs_kernels
def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="fold must be"):
        kernels.fold_text("x", b"", b"\0" * 8192, {}, {})
    with pytest.raises(ValueError, match="separators must be"):
        kernels.remove_separators("x", b"")
    with pytest.raises(TypeError, match="expects a str"):
        kernels.leet_tokens(b"bytes")
    with pytest.raises(TypeError, match="sets or dicts"):
        kernels.rare_latin_words("some words", ["a list"])
    with pytest.raises(IndexError, match="out of range"):
        kernels.accept_hits("abc", [(5, 0, 1)], b"\0", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(IndexError, match="out of range"):
        kernels.accept_hits("abc", [(0, 0, 9)], b"\0", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(ValueError, match="code_size"):
        kernels.accept_hits("abc", [], b"\0", 3, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(IndexError, match="info code"):
        kernels.accept_hits("abc", [(0, 0, 1)], b"\5", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(IndexError, match="out of range"):
        kernels.accept_hits("abc", [(0, 2, 1)], b"\0", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(TypeError, match="tuple"):
        kernels.accept_hits("abc", [[0, 0, 1]], b"\0", 1, b"\0" * 8, b"\1", frozenset())


# -- the Aho-Corasick automaton ------------------------------------------------------------------------------

_PATTERN_ALPHABET = "abcab ピカチュウー가나皮卡\U00020000"
pattern_sets = st.lists(st.text(alphabet=_PATTERN_ALPHABET, min_size=1, max_size=5), max_size=25)


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(pattern_sets, st.lists(st.text(alphabet=_PATTERN_ALPHABET + " .", max_size=40), max_size=5))
def test_automaton_finds_what_ahocorasick_rs_finds(patterns, texts_):
    """Every hit (by end, longest first) and the leftmost-longest hits, as ahocorasick-rs reports them, with
    duplicate patterns, prefixes of each other, and characters of every width."""
    import ahocorasick_rs

    automaton = kernels.Automaton(patterns)
    assert automaton.patterns == len(patterns)
    if not patterns:
        assert all(automaton.find(t) == [] for t in texts_)
        return
    standard = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    leftmost = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    for t in texts_:
        assert automaton.find(t) == standard.find_matches_as_indexes(t, overlapping=True)
        assert automaton.find_leftmost_longest(t) == leftmost.find_matches_as_indexes(t)


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, ascii_texts))
def test_automaton_on_the_lexicon_patterns(scanner, text):
    """The bundled lexicons' automaton: its hits are ahocorasick-rs's, and find_accepted keeps exactly what
    accept_hits keeps of them."""
    from guard.matcher import _PARTICLE_SUFFIXES

    t = nm.normalize(text).text
    native = scanner._native
    raw = native.find(t)
    assert raw == _reference_automaton(scanner).find_matches_as_indexes(t, overlapping=True)
    rules = (scanner._info_codes, scanner._info_codes.itemsize, scanner._edges, scanner._flags, _PARTICLE_SUFFIXES)
    assert native.find_accepted(t, *rules) == kernels.accept_hits(t, raw, *rules)


_REFERENCE = {}


def _reference_automaton(scanner):
    import ahocorasick_rs

    if "ac" not in _REFERENCE:
        _REFERENCE["ac"] = ahocorasick_rs.AhoCorasick(list(scanner.c.patterns), matchkind=ahocorasick_rs.MatchKind.Standard)
    return _REFERENCE["ac"]


@needs_kernels
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, ascii_texts, st.text(alphabet="pikachu xingqiuhutao.-_ ピカチュウ・皮卡丘 ", max_size=60)))
def test_one_pass_for_the_text_and_its_joined_form(scanner, text):
    """find_with_joined gives what two searches give: the accepted hits of the text, and the hits of the
    joined text with a separator inside, mapped back to the text."""
    from guard.matcher import _PARTICLE_SUFFIXES, _spanning

    t = nm.normalize(text).text
    joined = nm.remove_separators(t)
    native = scanner._native
    rules = (scanner._info_codes, scanner._info_codes.itemsize, scanner._edges, scanner._flags, _PARTICLE_SUFFIXES)
    accepted, spanning = native.find_with_joined(t, nm.SEPARATOR_BITMAP, *rules)
    assert accepted == native.find_accepted(t, *rules)
    assert spanning == _spanning(native.find(joined), nm.separator_cut_list(t))


@needs_kernels
def test_one_pass_maps_names_broken_by_separators(scanner):
    from guard.matcher import _PARTICLE_SUFFIXES

    t = nm.normalize("a P i k a c h u plush, ピ・カ・チュウ").text
    rules = (scanner._info_codes, scanner._info_codes.itemsize, scanner._edges, scanner._flags, _PARTICLE_SUFFIXES)
    _accepted, spanning = scanner._native.find_with_joined(t, nm.SEPARATOR_BITMAP, *rules)
    found = {(t[s:e], scanner.c.patterns[pid]) for pid, s, e in spanning}
    assert ("p i k a c h u", "pikachu") in found
    assert any(text.startswith("ピ・カ・チュ") for text, _ in found)


@needs_kernels
def test_automaton_with_thousands_of_first_characters():
    """The root's children in its hash table: thousands of first characters of every width, probed where
    they collide, give what ahocorasick-rs gives."""
    import random

    import ahocorasick_rs

    rnd = random.Random(11)
    firsts = rnd.sample(range(0x4E00, 0x9FFF), 3000) + rnd.sample(range(0xAC00, 0xD7A3), 500) + list(range(0x20000, 0x20200))
    patterns = [chr(c) for c in firsts[::3]] + [chr(c) + chr(rnd.choice(firsts)) for c in firsts]
    patterns += ["ab", "b", "x" + chr(firsts[0])]
    automaton = kernels.Automaton(patterns)
    standard = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    pool = [chr(c) for c in firsts] + [chr(c) for c in rnd.sample(range(0x3000, 0xD800), 500)] + list("abx ")
    for _ in range(200):
        t = "".join(rnd.choice(pool) for _ in range(rnd.randint(1, 120)))
        assert automaton.find(t) == standard.find_matches_as_indexes(t, overlapping=True)


@needs_kernels
@pytest.mark.parametrize("count, length", [(300, 3), (12000, 4), (40000, 4)])
def test_automaton_dense_rows_for_latin_text(count, length):
    """Latin text steps through rows of the transition function kept for the shallow ASCII nodes (down to the
    sixth level, or less deep when a level would pass the budget of cells: 40,000 four-letter patterns have
    too many nodes at depth four). A row has a column for each ASCII character of the patterns; `.` and DEL,
    in no pattern, send every state to the root. With accented and non-Latin characters in and after the
    patterns, the hits are ahocorasick-rs's."""
    import random

    import ahocorasick_rs

    rnd = random.Random(count)
    letters = "abcdefghijklmnopqrstuvwxyz"
    patterns = sorted({"".join(rnd.choice(letters) for _ in range(rnd.randint(1, length))) for _ in range(count)})
    # aé and aéa have rows whose failure targets (é, éa) have none
    patterns += ["éa", "aé", "aéab", "éab", "ab ピカ", "ピa", " a", "a-b"]
    automaton = kernels.Automaton(patterns)
    assert automaton.nbytes > kernels.Automaton(["ピカ"]).nbytes + 26 * 4  # at least one row
    standard = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    leftmost = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    pool = list(letters) + list(" -.éピカ\x7f")
    for _ in range(300):
        t = "".join(rnd.choice(pool) for _ in range(rnd.randint(1, 200)))
        assert automaton.find(t) == standard.find_matches_as_indexes(t, overlapping=True)
        assert automaton.find_leftmost_longest(t) == leftmost.find_matches_as_indexes(t)


@needs_kernels
def test_automaton_refuses_bad_input():
    with pytest.raises(ValueError, match="pattern 1 is empty"):
        kernels.Automaton(["a", ""])
    with pytest.raises(TypeError, match="pattern 1 is not a str"):
        kernels.Automaton(["a", 3])
    with pytest.raises(TypeError):
        kernels.Automaton("abc")
    automaton = kernels.Automaton(["ab"])
    with pytest.raises(TypeError, match="expected a str"):
        automaton.find(b"ab")
    with pytest.raises(ValueError, match="separators must be"):
        automaton.find_with_joined("ab", b"", b"\0", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(ValueError, match="code_size"):
        automaton.find_accepted("ab", b"\0", 3, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(IndexError, match="no info code or flag"):
        automaton.find_accepted("ab", b"", 1, b"\0" * 8, b"", frozenset())
    with pytest.raises(IndexError, match="info code is out of range"):
        automaton.find_accepted("ab", b"\5", 1, b"\0" * 8, b"\1", frozenset())
    with pytest.raises(ValueError, match="not initialized"):
        kernels.Automaton.__new__(kernels.Automaton).find("ab")
    assert kernels.Automaton([]).find("anything") == []
    assert automaton.nbytes > 0


@needs_kernels
def test_leftmost_longest_holds_only_the_hits_that_may_still_be_chosen():
    """Nested patterns on a long run: every position ends a hundred hits, and the leftmost-longest search
    decides them as they come instead of collecting them all."""
    import ahocorasick_rs

    patterns = ["a" * k for k in range(1, 101)]
    text = "a" * 20_000 + "b" + "a" * 150
    expected = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest).find_matches_as_indexes(text)
    assert kernels.Automaton(patterns).find_leftmost_longest(text) == expected


_OUT_OF_MEMORY = """
import sys, _testcapi
from guard import _speedups
automaton = _speedups.Automaton([f"p{k}" for k in range(7)] + ["zz"])
text = "." * 1000 + "zz"
failed = 0
for start in range(8):
    before = sys.getrefcount(7)
    _testcapi.set_nomemory(start, start + 1)
    try:
        automaton.find(text)
    except MemoryError:
        failed += 1
    finally:
        _testcapi.remove_mem_hooks()
    assert sys.getrefcount(7) == before, start
assert failed >= 2 and automaton.find(text) == [(7, 1000, 1002)]
print("ok")
"""


@needs_kernels
def test_automaton_out_of_memory_releases_each_object_once():
    """Allocations that fail while the hits become tuples raise MemoryError; the pattern index (a cached small
    int) keeps its reference count. In a process of its own, where nothing else allocates in between."""
    pytest.importorskip("_testcapi")
    done = subprocess.run([sys.executable, "-c", _OUT_OF_MEMORY], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


_HOMOGLYPHS_OUT_OF_MEMORY = """
import _testcapi
from guard import _speedups
from guard.normalize import default_normalizer
nz = default_normalizer()
args = (nz._homoglyph_fold_table, nz._homoglyph_astral_map)
text = "-".join(["porygon"] + ["\u03b6"] * 40) + " \u0440ikachu"  # a group of 41 words: the word list grows
expected = _speedups.fold_homoglyphs(text, *args)
assert expected == "-".join(["porygon"] + ["z"] * 40) + " pikachu", expected
failed = 0
for start in range(12):
    _testcapi.set_nomemory(start, start + 1)
    try:
        got = _speedups.fold_homoglyphs(text, *args)
    except MemoryError:
        failed += 1
    else:
        assert got == expected, start
    finally:
        _testcapi.remove_mem_hooks()
assert failed >= 3 and _speedups.fold_homoglyphs(text, *args) == expected
print("ok")
"""


@needs_kernels
def test_homoglyph_fold_out_of_memory_raises_and_leaves_nothing_behind():
    """Each allocation of the fold (the letters, the group's word list as it grows, the output) may fail: the call
    raises MemoryError, and the next one folds as before."""
    pytest.importorskip("_testcapi")
    done = subprocess.run([sys.executable, "-c", _HOMOGLYPHS_OUT_OF_MEMORY], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def _scan_lines(env_extra: dict, prompts: list[str]) -> list:
    code = (
        "import json, sys\n"
        "from guard import Guard, speedups\n"
        "g = Guard.default()\n"
        "out = [speedups.kernels is not None]\n"
        "for p in json.load(sys.stdin):\n"
        "    ms, d = g.scan_and_check(p)\n"
        "    out.append([[m.to_dict() for m in ms], d.action, d.prompt])\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, **env_extra}
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(prompts), capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@needs_kernels
def test_the_scan_is_the_same_without_the_kernels(tmp_path):
    """The dev set, the example prompts and long random texts, scanned and checked with and without the C
    kernels, each side from a compile of its own."""
    prompts = []
    dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        prompts += [json.loads(line)["prompt"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    examples = ROOT / "examples" / "prompts.jsonl"
    prompts += [json.loads(line)["prompt"] for line in examples.read_text(encoding="utf-8").splitlines() if line.strip()]
    import random

    rnd = random.Random(7)
    letters = list(_ALPHABET) + [" "] * 20
    prompts += ["".join(rnd.choice(letters) for _ in range(rnd.randint(100, 600))) for _ in range(200)]
    prompts += ["Pikachu " * 400, "ピカチュウ、" * 300]  # long prompts
    assert len(prompts) >= 210
    # Each side compiles the lexicons into a cache of its own, so the aliases are normalized its way too.
    with_kernels = _scan_lines({"GUARD_CACHE_DIR": str(tmp_path / "kernels")}, prompts)
    pure = _scan_lines({"GUARD_PURE_PYTHON": "1", "GUARD_CACHE_DIR": str(tmp_path / "pure")}, prompts)
    assert with_kernels[0] is True and pure[0] is False
    assert with_kernels[1:] == pure[1:]
