"""Property-based tests (hypothesis) of Guard.scan: offsets always slice the original text, scanning is
deterministic, and inserting an obfuscation into a name never breaks its span."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectkit import assert_offsets

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Names whose every spelling below is unambiguous, with their ids.
LATIN = {
    "Pikachu": "pokemon/pikachu",
    "Charizard": "pokemon/charizard",
    "Bulbasaur": "pokemon/bulbasaur",
    "Gyarados": "pokemon/gyarados",
    "Lucario": "pokemon/lucario",
    "Snorlax": "pokemon/snorlax",
    "Keqing": "genshin_impact/keqing",
    "Zhongli": "genshin_impact/zhongli",
    "Nahida": "genshin_impact/nahida",
    "Neuvillette": "genshin_impact/neuvillette",
    "Raiden Shogun": "genshin_impact/raidenshogun",
}
CJK = {
    "ピカチュウ": "pokemon/pikachu",
    "リザードン": "pokemon/charizard",
    "フシギダネ": "pokemon/bulbasaur",
    "皮卡丘": "pokemon/pikachu",
    "喷火龙": "pokemon/charizard",
    "刻晴": "genshin_impact/keqing",
    "钟离": "genshin_impact/zhongli",
    "피카츄": "pokemon/pikachu",
    "리자몽": "pokemon/charizard",
}
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
LATIN_PREFIXES = ["", "draw ", "a photo of ", "I love ", "(", "#", "«", "neon sign: "]
LATIN_SUFFIXES = ["", " at night", "!", ", watercolor", ")", "'s hat", " 🎨"]
CJK_PREFIXES = ["", "「", "画：", "写真: ", "🎨"]
CJK_SUFFIXES = ["", "」", "。", "，水彩画", " ✨"]

# Arbitrary prompts: fragments of names, words, separators and odd characters from many scripts.
FRAGMENTS = st.one_of(
    st.sampled_from(list(LATIN) + list(CJK) + ["Mew", "Mewtwo", "Porygon-Z", "Kabuto", "ﾋﾟｶﾁｭｳ", "Ｐｉｋａ", "Рikасhu"]),
    st.sampled_from(["ditto", "amber", "空", "ラッキー", "소", "Genshin Impact", "ポケモン", "the", "を", "가", " ", "  ", "-", "'s"]),
    st.sampled_from(ZERO_WIDTH + ["\u0301", "ﾞ", "ﾟ", "ー", "・", "\u3000", "ﬁ", "ß", "İ", "Ⅱ", "①", "\U0001d400"]),
    st.text(max_size=6),
)
PROMPTS = st.lists(FRAGMENTS, max_size=12).map("".join)


@SETTINGS
@given(text=PROMPTS)
def test_offsets_always_slice_the_original_text(guard, text):
    matches = guard.scan(text, include_candidates=True)
    assert_offsets(text, matches)


@SETTINGS
@given(text=st.text(max_size=60))
def test_offsets_on_arbitrary_unicode(guard, text):
    assert_offsets(text, guard.scan(text, include_candidates=True))


@SETTINGS
@given(text=PROMPTS)
def test_scanning_is_deterministic(guard, text):
    first = guard.scan(text, include_candidates=True)
    second = guard.scan(text, include_candidates=True)
    assert first == second
    confirmed = guard.scan(text)
    assert confirmed == [m for m in first if m.confirmed]


def _obfuscate_latin(draw, name: str) -> str:
    kind = draw(st.sampled_from(["zero-width", "spaces", "full-width", "case", "zero-width+full-width"]))
    if kind == "spaces":
        sep = draw(st.sampled_from([" ", ".", "-", "_", "*", " . "]))
        return sep.join(c for c in name if c != " ")
    chars = list(name)
    if "full-width" in kind:
        picks = draw(st.lists(st.booleans(), min_size=len(chars), max_size=len(chars)))
        if not any(picks):
            picks[0] = True
        chars = [chr(ord(c) + 0xFEE0) if p and "!" <= c <= "~" else c for c, p in zip(chars, picks)]
    if kind == "case":
        picks = draw(st.lists(st.booleans(), min_size=len(chars), max_size=len(chars)))
        chars = [c.upper() if p else c.lower() for c, p in zip(chars, picks)]
    if "zero-width" in kind:
        gaps = [i for i in range(1, len(chars)) if chars[i - 1] != " " and chars[i] != " "]
        chosen = draw(st.lists(st.sampled_from(gaps), min_size=1, max_size=3, unique=True))
        for i in sorted(chosen, reverse=True):
            chars.insert(i, draw(st.sampled_from(ZERO_WIDTH)))
    return "".join(chars)


def _obfuscate_cjk(draw, name: str) -> str:
    kind = draw(st.sampled_from(["zero-width", "spaces", "full-width-space"]))
    if kind == "zero-width":
        chars = list(name)
        chosen = draw(st.lists(st.integers(1, len(chars) - 1), min_size=1, max_size=2, unique=True))
        for i in sorted(chosen, reverse=True):
            chars.insert(i, draw(st.sampled_from(ZERO_WIDTH)))
        return "".join(chars)
    if kind == "spaces":
        return " ".join(name)
    return "\u3000".join(name)


@st.composite
def obfuscated_prompts(draw):
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(LATIN)))
        cid = LATIN[name]
        obf = _obfuscate_latin(draw, name)
        prefix, suffix = draw(st.sampled_from(LATIN_PREFIXES)), draw(st.sampled_from(LATIN_SUFFIXES))
    else:
        name = draw(st.sampled_from(sorted(CJK)))
        cid = CJK[name]
        obf = _obfuscate_cjk(draw, name)
        prefix, suffix = draw(st.sampled_from(CJK_PREFIXES)), draw(st.sampled_from(CJK_SUFFIXES))
    return prefix + obf + suffix, len(prefix), len(prefix) + len(obf), cid


@SETTINGS
@given(case=obfuscated_prompts())
def test_obfuscation_never_breaks_a_span(guard, case):
    text, start, end, cid = case
    matches = guard.scan(text)
    assert_offsets(text, matches)
    hits = [m for m in matches if m.character_id == cid]
    assert hits, (text, [(m.character_id, m.surface) for m in matches])
    m = hits[0]
    # The span covers the whole obfuscated name and nothing but it (a possessive 's may follow a Latin name).
    assert m.start == start, (text, m)
    assert m.end in (end, end + 2) and text[m.start : m.end].startswith(text[start:end]), (text, m)
