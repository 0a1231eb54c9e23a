"""Cheap language guesses, used only when a decision needs words: a rewrite or a rejection message.

- Around a mention, the script decides: kana -> ja, Hangul -> ko, Han only -> zh-Hans or zh-Hant (ja when the
  matched alias was Japanese, unless Chinese words that Japanese does not use are around it and the prompt has
  no kana: 和宵宮一起在城堡裡 is Chinese, 宵宮、水着、被写界深度、幻想的 Japanese); Latin -> the language of the
  whole prompt.
- For Latin-script prompts, a handful of function words per language picks en, fr, de, es or it
  (`guard.latin_lang`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

import numpy as np

from guard.latin_lang import LATIN_LANGS, latin_lang  # noqa: F401 - part of this module's interface


@lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception:  # pragma: no cover - opencc is a dependency; be safe anyway
        return None


@lru_cache(maxsize=1)
def _t2s_changes() -> dict[str, str]:
    """Each hanzi that OpenCC's t2s turns into another character, and what it becomes (a set lookup per character
    is far cheaper than converting the whole prompt)."""
    conv = _t2s()
    if conv is None:
        return {}
    out: dict[str, str] = {}
    for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)):
        block = "".join(chr(cp) for cp in range(lo, hi + 1))
        converted = conv.convert(block)
        if len(converted) == len(block):
            out.update((a, b) for a, b in zip(block, converted) if a != b)
        else:  # pragma: no cover - t2s maps characters one to one; be safe if a build does not
            out.update((c, conv.convert(c)) for c in block if conv.convert(c) != c)
    return out


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset:
    """Hanzi that t2s turns into another character."""
    return frozenset(_t2s_changes())


def is_traditional(text: str) -> bool:
    """Whether t2s would change `text`. A traditional character answers at once; otherwise OpenCC decides, since
    some words convert only as a whole (瞭解 -> 了解) and the table covers the BMP blocks only."""
    if not _traditional_chars().isdisjoint(text):
        return True
    conv = _t2s()
    if conv is None:
        return False
    try:
        return conv.convert(text) != text
    except UnicodeError:  # a lone surrogate (json.loads makes them from "\ud800")
        clean = _SURROGATE.sub("\ufffd", text)
        return conv.convert(clean) != clean


_SURROGATE = re.compile("[\ud800-\udfff]")


# Chinese words that Japanese does not write, even in tags without kana. Not 的, 在, 是, 被, 着, 没, 給, 還: they are
# parts of everyday Japanese words (幻想的, 現在, 被写界深度, 水着, 没入感, 給仕, 還元).
_CHINESE_WORDS = re.compile("[们們这吗嗎呢吧很與还给让]|一起|什[么麼]|怎[么麼]")


@lru_cache(maxsize=1)
def _japanese_kanji() -> frozenset:
    """Kanji only Japanese writes (shinjitai: 悪, 廃, 霊, 駅): those OpenCC's jp2t turns into another character and
    that are no simplified Chinese form (国 and 画 are both)."""
    try:
        import opencc

        jp2t = opencc.OpenCC("jp2t")
    except Exception:  # pragma: no cover - opencc is a dependency; be safe anyway
        return frozenset()
    out = set()
    for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF)):
        block = "".join(chr(cp) for cp in range(lo, hi + 1))
        converted = jp2t.convert(block)
        if len(converted) == len(block):
            out.update(a for a, b in zip(block, converted) if a != b)
    simplified = {b for a, b in _t2s_changes().items() if a < "\uf900"}  # (not from the compatibility block)
    return frozenset(out - simplified)


def _chinese_around(text: str, window: str) -> bool:
    """Whether a window of Han text without kana reads as Chinese rather than as Japanese written in kanji: Chinese
    words in it, no kanji that only Japanese writes, and no kana anywhere in the prompt."""
    if _CHINESE_WORDS.search(window) is None or not _japanese_kanji().isdisjoint(window):
        return False
    return not _has_kana(text)


def _has_kana(text: str) -> bool:
    counts = script_counts(text)
    return bool(counts.get("kata", 0) or counts.get("hira", 0))


def warm_up() -> None:
    """Load the converters and their tables now (at engine build), so that no call pays for it."""
    _traditional_chars()
    _japanese_kanji()


# The classes of guard.normalize.script_of that the guesses use, as code point ranges: each character's class
# is found with one vectorized binary search (a loop over the characters in Python, or one `re` scan per
# class, costs 30 to 60 us for a 300-character prompt).
_CLASSES = ("latin", "kata", "hira", "han", "hangul")
_RANGES = [  # (first, last, class index); the gaps between them are class -1
    (0x41, 0x5A, 0), (0x61, 0x7A, 0), (0xAA, 0xAA, 0), (0xB5, 0xB5, 0), (0xBA, 0xBA, 0), (0xC0, 0xD6, 0),
    (0xD8, 0xF6, 0), (0xF8, 0x24F, 0), (0x1100, 0x11FF, 4), (0x3005, 0x3005, 3), (0x3040, 0x309F, 2),
    (0x30A0, 0x30FF, 1), (0x3130, 0x318F, 4), (0x31F0, 0x31FF, 1), (0x3400, 0x9FFF, 3), (0xAC00, 0xD7A3, 4),
    (0xF900, 0xFAFF, 3), (0x20000, 0x2FFFF, 3),
]
_BOUNDS = np.array([b for first, last, _ in _RANGES for b in (first, last + 1)], dtype=np.uint32)
_CLASS_AT = np.array([c for _, _, cls in _RANGES for c in (cls, len(_CLASSES))] + [len(_CLASSES)], dtype=np.intp)
_NONE = len(_CLASSES)  # the class index of characters outside every range


def _class_table() -> bytes:
    """The class index of each BMP code point (a byte each)."""
    table = bytearray([_NONE]) * 0x10000
    for first, last, cls in _RANGES:
        if first <= 0xFFFF:
            table[first : min(last, 0xFFFF) + 1] = bytes([cls]) * (min(last, 0xFFFF) + 1 - first)
    return bytes(table)


_BMP_CLASS = _class_table()
_ASTRAL_RANGES = tuple((first, last, cls) for first, last, cls in _RANGES if last > 0xFFFF)
_SHORT = 64  # up to this length a loop over the characters beats numpy's fixed cost (3 us against 25)


def _astral_class(o: int) -> int:
    for first, last, cls in _ASTRAL_RANGES:
        if first <= o <= last:
            return cls
    return _NONE


def script_counts(text: str) -> dict[str, int]:
    """Characters of `text` per script class: latin, kata, hira, han, hangul (absent when zero)."""
    if not text:
        return {}
    if len(text) <= _SHORT:
        tally = [0] * (_NONE + 1)
        table = _BMP_CLASS
        for ch in text:
            o = ord(ch)
            tally[table[o] if o <= 0xFFFF else _astral_class(o)] += 1
        return {cls: n for cls, n in zip(_CLASSES, tally) if n}
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # searchsorted(side="right") - 1 is the range boundary at or before each code point; before the first: none.
    idx = _BOUNDS.searchsorted(codes, side="right") - 1
    classes = np.where(idx >= 0, _CLASS_AT[idx], _NONE)
    counts = np.bincount(classes, minlength=_NONE + 1)
    return {cls: int(n) for cls, n in zip(_CLASSES, counts.tolist()) if n}


def _cjk_lang(counts: dict[str, int], sample: str, alias_lang: str) -> str | None:
    if counts.get("kata", 0) + counts.get("hira", 0):
        return "ja"
    if counts.get("hangul", 0):
        return "ko"
    if counts.get("han", 0):
        if alias_lang.startswith("ja"):
            return "ja"
        if alias_lang == "zh-Hant" or is_traditional(sample):
            return "zh-Hant"
        return "zh-Hans"
    return None


def mention_lang(text: str, start: int, end: int, alias_lang: str = "", *, seen: Optional[dict] = None,
                 around: Optional[str] = None) -> str:
    """Language of the words around text[start:end]: ja, ko, zh-Hans, zh-Hant, en, fr, de, es or it.
    `seen`: a dict kept for the mentions of one text, so that its Latin language is guessed once. `around`: the
    text with the other mentions blanked out (`without_spans`), to read the words around from: a name is no word
    of the prompt's language (Keqing and 甘雨 are in an English sentence)."""
    source = text if around is None else around
    window = source[max(0, start - 16) : start] + " " + source[end : end + 16]
    counts = script_counts(window)
    if around is not None and not counts:  # nothing but names around it (Kakuna, 宵宮): they say more than nothing
        window = text[max(0, start - 16) : start] + " " + text[end : end + 16]
        counts = script_counts(window)
    if alias_lang.startswith("ja") and counts.get("han", 0) and _chinese_around(text, window):
        alias_lang = ""
    elif counts.get("han", 0) and not alias_lang.startswith("ja") and _has_kana(text[start:end]):
        alias_lang = "ja"  # a mention in kana among kanji (ピカチュウのなつやすみ 選挙): Japanese
    lang = _cjk_lang(counts, window, alias_lang)
    if lang is not None:
        return lang
    if counts.get("latin", 0) == 0:
        # No words around (the mention is the whole prompt): use the mention itself, then the alias language.
        lang = _cjk_lang(script_counts(text[start:end]), text[start:end], alias_lang)
        if lang is not None:
            return lang
    if seen is None:
        return latin_lang(text, alias_lang)
    lang = seen.get(alias_lang)
    if lang is None:
        lang = seen[alias_lang] = latin_lang(text, alias_lang)
    return lang


def without_spans(text: str, spans) -> str:
    """`text` with each (start, end) of `spans` (sorted, disjoint) replaced by as many spaces."""
    pieces, kept = [], 0
    for start, end in spans:
        if start < kept:
            continue
        pieces.append(text[kept:start])
        pieces.append(" " * (end - start))
        kept = end
    pieces.append(text[kept:])
    return "".join(pieces)


def prompt_lang(text: str) -> str:
    """Language of a whole prompt, for rejection messages."""
    if text.isascii():
        return latin_lang(text)
    counts = script_counts(text)
    cjk = counts.get("kata", 0) + counts.get("hira", 0) + counts.get("hangul", 0) + counts.get("han", 0)
    if cjk and cjk * 2 >= counts.get("latin", 0):
        lang = _cjk_lang(counts, text, "")
        if lang is not None:
            return lang
    return latin_lang(text)
