"""Cheap language guesses, used only when a decision needs words: a rewrite or a rejection message.

- Around a mention, the script decides: kana -> ja, Hangul -> ko, Han only -> zh-Hans or zh-Hant (ja when the
  matched alias was Japanese); Latin -> the language of the whole prompt.
- For Latin-script prompts, a handful of function words per language picks en, fr, de, es or it.
"""
from __future__ import annotations

import re
from functools import lru_cache

from guard.normalize import script_of

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the a an and of with in on is at for to from his her their its this that".split()),
    "fr": frozenset("le la les des du et dans avec une un sur est au aux sous pour qui".split()),
    "de": frozenset("der die das und mit ein eine im auf ist den dem des einem einer vom zum unter".split()),
    "es": frozenset("el los las y con en una un del por es al sobre para que bajo".split()),
    "it": frozenset("il lo gli e con nel nella una un della del per sul sulla che sotto".split()),
}
# Words that say little on their own (shared by several languages) count half.
_SHARED = frozenset("la un una en e es con per".split())
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+")
LATIN_LANGS = ("en", "fr", "de", "es", "it")


def latin_lang(text: str, hint: str = "") -> str:
    """en, fr, de, es or it for a Latin-script text; `hint` (the alias language) breaks ties, then en."""
    scores = dict.fromkeys(_STOPWORDS, 0.0)
    for w in _WORD.findall(text):
        lw = w.lower()
        weight = 0.5 if lw in _SHARED else 1.0
        for lang, words in _STOPWORDS.items():
            if lw in words:
                scores[lang] += weight
    best = max(scores.values())
    if best == 0:
        base = hint.split("-")[0] if hint else ""
        return base if base in _STOPWORDS else "en"
    winners = [lang for lang, s in scores.items() if s == best]
    base = hint.split("-")[0] if hint else ""
    if base in winners:
        return base
    return "en" if "en" in winners else winners[0]


@lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception:  # pragma: no cover - opencc is a dependency; be safe anyway
        return None


def is_traditional(text: str) -> bool:
    conv = _t2s()
    return conv is not None and conv.convert(text) != text


def warm_up() -> None:
    """Load the converter now (at engine build), so that no call pays for it."""
    _t2s()


def script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        cls = script_of(ch)
        counts[cls] = counts.get(cls, 0) + 1
    return counts


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


def mention_lang(text: str, start: int, end: int, alias_lang: str = "") -> str:
    """Language of the words around text[start:end]: ja, ko, zh-Hans, zh-Hant, en, fr, de, es or it."""
    window = text[max(0, start - 16) : start] + " " + text[end : end + 16]
    counts = script_counts(window)
    lang = _cjk_lang(counts, window, alias_lang)
    if lang is not None:
        return lang
    if counts.get("latin", 0) == 0:
        # No words around (the mention is the whole prompt): use the mention itself, then the alias language.
        lang = _cjk_lang(script_counts(text[start:end]), text[start:end], alias_lang)
        if lang is not None:
            return lang
    return latin_lang(text, alias_lang)


def prompt_lang(text: str) -> str:
    """Language of a whole prompt, for rejection messages."""
    counts = script_counts(text)
    cjk = counts.get("kata", 0) + counts.get("hira", 0) + counts.get("hangul", 0) + counts.get("han", 0)
    if cjk and cjk * 2 >= counts.get("latin", 0):
        lang = _cjk_lang(counts, text, "")
        if lang is not None:
            return lang
    return latin_lang(text)
