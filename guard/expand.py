"""Alias expansion at compile time: the spellings people type that the lexicon does not list.

Every function takes a name as written in the lexicon and returns (normalized variant, note) pairs. The
normalizer is passed in so variants are normalized exactly like prompts.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import jaconv

from guard.normalize import SEPARATORS, script_of

Norm = Callable[[str], str]

_KATAKANA_NAME = re.compile(r"^[\u30a0-\u30ff\u31f0-\u31ff・ー]+$")
_LONG_ROMAJI = [("ou", "o"), ("oo", "o"), ("uu", "u"), ("aa", "a"), ("ii", "i"), ("ee", "e")]


def despaced(text: str) -> str:
    return "".join(c for c in text if c not in SEPARATORS)


def is_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(script_of(c) == "latin" for c in letters)


def latin_variants(norm_name: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    parts = norm_name.split()
    if len(parts) == 2:
        out.append((f"{parts[1]} {parts[0]}", "name order swapped"))
        out.append((parts[1] + parts[0], "name order swapped, joined"))
    if norm_name[-1:].isalpha():
        plural = norm_name + ("es" if re.search(r"(s|x|z|ch|sh)$", norm_name) else "s")
        out.append((plural, "plural"))
    return out


@lru_cache(maxsize=1)
def _kakasi():
    import pykakasi

    return pykakasi.kakasi()


def romaji_forms(kana: str) -> list[str]:
    """Hepburn, Kunrei and passport romanizations of a kana name, with and without doubled long vowels."""
    items = _kakasi().convert(kana)
    forms = set()
    for system in ("hepburn", "kunrei", "passport"):
        forms.add("".join(i[system] for i in items))
    for f in list(forms):
        short = f
        for long, single in _LONG_ROMAJI:
            short = short.replace(long, single)
        forms.add(short)
    return sorted(f for f in forms if f and f.isascii())


# ヴ and the small vowels are written several ways in everyday Japanese: ヴィ as ビ (ヌヴィレット, ヌビレット), a small
# vowel as a large one (ウェンティ, ウエンティ).
_VU_SYLLABLES = re.compile("ヴ[ァィェォュ]?")
_VU_PLAIN = {"ヴ": "ブ", "ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ", "ヴュ": "ビュ"}
_SMALL_VOWEL = re.compile("(?<=[\u30a1-\u30f3])[ァィゥェォ]")  # after a katakana other than ヴ
_LARGE = {"ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ"}


def kana_spellings(name: str) -> list[str]:
    """Other katakana spellings of a katakana name: ヴ as the B row (ヌビレット), and each small vowel written
    large (ウエンティ; one at a time, as people write them)."""
    out = [_VU_SYLLABLES.sub(lambda m: _VU_PLAIN[m.group()], name)]
    for m in _SMALL_VOWEL.finditer(name):
        out.append(name[: m.start()] + _LARGE[m.group()] + name[m.end() :])
    return [s for s in dict.fromkeys(out) if s != name]


def is_katakana_name(name: str) -> bool:
    return _KATAKANA_NAME.match(name) is not None


def kana_variants(name: str, norm: Norm) -> list[tuple[str, str]]:
    """Hiragana spelling and romaji of a katakana name (リザードン -> りざーどん, rizaadon, rizadon), and its other
    katakana spellings (`kana_spellings`)."""
    if not is_katakana_name(name):
        return []
    normalized = norm(name)
    # A large vowel that normalization reads as a long one (ピイ as ピー, ケイシイ as ケーシー) makes another word.
    out: list[tuple[str, str]] = [
        (v, "katakana spelling") for v in (norm(s) for s in kana_spellings(name)) if v.count("ー") <= normalized.count("ー")
    ]
    # Both spellings of long vowels: らいちゅう and らいちゅー (prompts' hiragana is not folded).
    for hira in dict.fromkeys((norm(jaconv.kata2hira(name)), jaconv.kata2hira(normalized))):
        out.append((hira, "hiragana"))
    for r in romaji_forms(name.replace("・", "")):
        if len(r) >= 4:
            out.append((norm(r), "romaji"))
    return out


def hangul_variants(norm_name: str) -> list[tuple[str, str]]:
    parts = norm_name.split()
    if len(parts) >= 2:
        return [("".join(parts), "joined")]
    return []


# Where Japanese personal names written in kanji usually split: family names take two or three characters,
# given names one to three.
_USUAL_SPLIT = {3: 2, 4: 2, 5: 3, 6: 3}


def kanji_split(kanji: str, english: str) -> int | None:
    """Where a Japanese-style kanji name splits into family and given name (神里綾華 / Kamisato Ayaka -> 2).

    Readings are aligned with the English parts where pykakasi reads either part right; otherwise the usual
    split for the name's length is taken."""
    parts = english.lower().split()
    if len(parts) != 2 or len(kanji) < 3 or not all(script_of(c) == "han" for c in kanji):
        return None
    kks = _kakasi()
    for k in range(1, len(kanji)):
        left = "".join(i["hepburn"] for i in kks.convert(kanji[:k]))
        right = "".join(i["hepburn"] for i in kks.convert(kanji[k:]))
        if left == parts[0] or right == parts[1]:
            return k
    return _USUAL_SPLIT.get(len(kanji))


def name_parts(names: dict[str, list[str]], norm: Norm) -> list[tuple[str, str, str]]:
    """Parts of a multi-part personal name: (normalized part, language, note).

    Only names that the Japanese data writes in kanji count as personal names with family and given parts;
    this keeps "Iron Moth" and "Tapu Koko" from yielding "moth" or "koko".
    """
    english = (names.get("en") or [""])[0]
    ja = (names.get("ja") or [""])[0]
    split = kanji_split(ja, english) if ja else None
    if split is None:
        return []
    out: list[tuple[str, str, str]] = []
    for part in english.split():
        out.append((norm(part), "en", "part of the name"))
    for tag in ("ja", "zh-Hans", "zh-Hant"):
        for value in names.get(tag, []):
            if len(value) == len(ja) and all(script_of(c) == "han" for c in value):
                out.append((norm(value[:split]), tag, "family name"))
                out.append((norm(value[split:]), tag, "given name"))
    for value in names.get("ko", []):
        for part in value.split():
            out.append((norm(part), "ko", "part of the name"))
    return out
