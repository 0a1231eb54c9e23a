"""Which of en, fr, de, es and it a Latin-script text is written in, from a handful of function words.

Used by the policy (the language of a rewrite or a rejection message) and by the scanner (a lexicon name that is
a word of the prompt's own language, where the character is called something else there). Cheap: one pattern
pass and a dictionary lookup per word.
"""
from __future__ import annotations

import re
from typing import Optional

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the a an and of with in on is at for to from his her their its this that".split()),
    "fr": frozenset("le la les des du de et dans avec une un sur est au aux sous pour qui".split()),
    "de": frozenset("der die das und mit ein eine im auf ist den dem des einem einer vom zum unter".split()),
    "es": frozenset("el la los las y con en una un del de por es al sobre para que bajo".split()),
    "it": frozenset("il lo la gli e con nel nella una un della del per sul sulla che sotto".split()),
}
# Words that say little on their own (shared by several languages) count half.
_SHARED = frozenset("la un una en e es con per de".split())
# Letters only one of the languages writes count as a function word: a short Spanish prompt ("Toma aérea de
# montañas nevadas") may have no function word of its own but "de", which French shares.
_LETTERS = (("ñ", "Ñ", "es"), ("ß", "ẞ", "de"))  # (not str.upper: "ß".upper() is "SS")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+")
LATIN_LANGS = tuple(_STOPWORDS)

# word -> ((language, weight), ...) for every stop word
_STOP_INDEX: dict[str, tuple[tuple[str, float], ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _w in _words:
        _STOP_INDEX[_w] = _STOP_INDEX.get(_w, ()) + ((_lang, 0.5 if _w in _SHARED else 1.0),)


def _scores(text: str) -> dict[str, float]:
    scores = dict.fromkeys(_STOPWORDS, 0.0)
    get = _STOP_INDEX.get
    if text.isascii():  # lowering ASCII text changes no word boundary, so it can be done once
        words = _WORD.findall(text.lower())
    else:
        words = [w.lower() for w in _WORD.findall(text)]
    for w in words:
        hits = get(w)
        if hits:
            for lang, weight in hits:
                scores[lang] += weight
    if not text.isascii():
        for lower, upper, lang in _LETTERS:
            if lower in text or upper in text:
                scores[lang] += 1.0
    return scores


def latin_lang(text: str, hint: str = "") -> str:
    """en, fr, de, es or it for a Latin-script text; `hint` (the alias language) breaks ties, then en."""
    scores = _scores(text)
    best = max(scores.values())
    base = hint.split("-")[0] if hint else ""
    if best == 0:
        return base if base in _STOPWORDS else "en"
    winners = [lang for lang, s in scores.items() if s == best]
    if base in winners:
        return base
    return "en" if "en" in winners else winners[0]


def stated_latin_lang(text: str) -> Optional[str]:
    """The language the function words of `text` show, or None when they show none or tie: no default and no
    hint, for rules that must not fire on a guess."""
    scores = _scores(text)
    best = max(scores.values())
    if best < 1.0:
        return None
    winners = [lang for lang, s in scores.items() if s == best]
    return winners[0] if len(winners) == 1 else None
