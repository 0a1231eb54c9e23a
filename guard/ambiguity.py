"""Compile-time marking of aliases that are also ordinary words.

An ambiguous alias only counts as a mention when the prompt corroborates it (see `guard.context`). The marks
come from three places, in this order of precedence:
1. the lexicon's own per-character overrides (`not_ambiguous`, then `ambiguous`);
2. the rules below, on word frequencies from the `wordfreq` package;
3. nothing: the alias is unambiguous.

Frequency alone cannot separate "Pikachu" (famous, so frequent) from "Mona" (a given name); the thresholds are
set so that only words more frequent than the famous names are marked, and the curated list that the importer
writes into the lexicon files covers the rest.
"""
from __future__ import annotations

import math
from functools import lru_cache

from guard.expand import is_katakana_name, romaji_forms
from guard.latin_lang import LATIN_LANGS as PROMPT_LANGS

LATIN_LANGS = ("en", "de", "fr", "es", "it", "pt")
CJK_LANGS = ("ja", "zh", "ko")

# Zipf thresholds (log10 of frequency per billion words).
LATIN_WORD = 3.5  # "mona" 3.9 (it), "amber" 4.0, "razor" 3.7; "pikachu" 3.2, "mika" 3.3 stay unmarked
ROMAJI_ENGLISH_WORD = 3.0  # ja-Latn names such as "Lucky", "Sand", "Ghost" against English
CJK_WORD = 4.0  # ラッキー 4.1, ジン 4.2, 설탕 4.2; ピカチュウ 3.6 stays unmarked
GENERATED_KANA_WORD = 3.0  # kana spellings generated from katakana names: たまたま 4.3
SINGLE_HAN_WORD = 3.0  # a one-character name that is a common character: 空 5.x, 蛍; 魈 is not
COMMON_WORD = 2.5  # words at least this frequent are never fuzzy-matched to a name
VOCABULARY_WORD = 2.0  # down to this frequency, words are looked up for typos once, when compiling


@lru_cache(maxsize=None)
def _freqs(lang: str) -> dict[str, float]:
    from wordfreq import get_frequency_dict

    try:
        return get_frequency_dict(lang, wordlist="best")
    except LookupError:  # pragma: no cover - every language above ships with wordfreq
        return {}


@lru_cache(maxsize=1)
def _hanzi_in_common_words() -> frozenset[str]:
    """Characters of frequent Chinese and Japanese words (荧 of 荧光 'fluorescent'; not 魈)."""
    threshold = 10 ** (SINGLE_HAN_WORD - 9)
    chars: set[str] = set()
    for lang in ("zh", "ja"):
        for word, f in _freqs(lang).items():
            if f < threshold:
                break
            if len(word) > 1:
                chars.update(word)
    return frozenset(chars)


def zipf(word: str, lang: str) -> float:
    f = _freqs(lang).get(word.lower(), 0.0)
    return round(math.log10(f) + 9, 2) if f > 0 else 0.0


def max_zipf(word: str, langs) -> tuple[float, str]:
    best, best_lang = 0.0, ""
    for lang in langs:
        z = zipf(word, lang)
        if z > best:
            best, best_lang = z, lang
    return best, best_lang


def auto_reason(surface: str, normalized: str, script: str, lang: str, kind: str) -> str | None:
    """Why an alias is ambiguous by the frequency rules, or None. `script` is the alias's script class."""
    compact = normalized.replace(" ", "")
    if script == "hangul" and len(compact) == 1:
        return "single syllable"
    if script == "han" and len(compact) == 1:
        z, zl = max_zipf(surface, CJK_LANGS)
        if z >= SINGLE_HAN_WORD:
            return f"single common character (zipf {z} {zl})"
        if compact in _hanzi_in_common_words():
            return "single character that is part of common words"
        return None
    if script == "latin":
        if len(compact) <= 2:
            return "two letters or fewer"
        if lang == "ja-Latn":
            z = zipf(surface, "en")
            if z >= ROMAJI_ENGLISH_WORD:
                return f"English word (zipf {z} en)"
        z, zl = max_zipf(surface, LATIN_LANGS)
        if z >= LATIN_WORD:
            return f"common word (zipf {z} {zl})"
        return None
    limit = GENERATED_KANA_WORD if kind == "variant" and script in ("hira", "kata") else CJK_WORD
    z, zl = max_zipf(surface, CJK_LANGS)
    if z >= limit:
        return f"common word (zipf {z} {zl})"
    return None


# Languages whose everyday words are kept out of fuzzy matching: the major Latin-script languages of prompts.
FUZZY_STOP_LANGS = LATIN_LANGS
EVERYDAY_WORD = 3.0  # English words this frequent, joined, do not make a name: "sand shrew", "mew two"


def common_words(normalize) -> dict[str, int]:
    """Normalized Latin-script words of four letters or more, frequent enough in some language that a token
    equal to one is never fuzzy-matched to a name, with their highest zipf frequency times ten (small ints
    keep the table compact)."""
    out: dict[str, int] = {}
    threshold = 10 ** (COMMON_WORD - 9)
    for lang in FUZZY_STOP_LANGS:
        for word, f in _freqs(lang).items():
            if f < threshold:
                break
            if len(word) >= 4 and word.isalpha():
                key = normalize(word)
                z = int((math.log10(f) + 9) * 10)
                if z > out.get(key, 0):
                    out[key] = z
    return out


def vocabulary_words(normalize) -> set[str]:
    """Normalized words less frequent than COMMON_WORD but at least VOCABULARY_WORD in some stop-list language,
    in the form the typo matcher sees them (ASCII letters, four or more): "photorealistic", "anamorphic". The
    compiler looks each up in the typo index once and keeps those with no match, so that a prompt's ordinary
    vocabulary costs no lookup (see CompiledLexicon.typo_free)."""
    out: set[str] = set()
    low, high = 10 ** (VOCABULARY_WORD - 9), 10 ** (COMMON_WORD - 9)
    for lang in FUZZY_STOP_LANGS:
        for word, f in _freqs(lang).items():
            if f < low:
                break
            if f < high and len(word) >= 4 and word.isalpha():
                key = normalize(word)
                if len(key) >= 4 and key.isascii() and key.isalpha():
                    out.add(key)
    return out


# Latin-script languages whose everyday words are not typos of names only when the prompt is written in them:
# "ombak" (Indonesian, "wave") is one letter from Noivern's "omban", and "barbaar" (Dutch) is a typo of Barbara
# in an English prompt. Adding them to FUZZY_STOP_LANGS would lose such typos in every prompt. Danish, Norwegian
# and Icelandic words became whole words to the typo pass when ø, æ, ð and þ began to fold (døren, síðan).
REGIONAL_LANGS = ("nl", "id", "tr", "pl", "sv", "vi", "da", "nb", "is", "sh")
REGIONAL_MARKER = 4.0  # a word this frequent in a regional language ...
# ... and this much more frequent there than in every stop-list language marks the language. At 1.0, everyday
# English words were markers (Swedish "men", "manga", Turkish "gun", Vietnamese "bay", Indonesian "kayak").
REGIONAL_MARGIN = 2.0
# ... and rare in every stop-list language in absolute terms: Norwegian "bare", "inn" and Serbo-Croatian "bio"
# are a hundred times more frequent there than in English, and still everyday English words.
REGIONAL_MARKER_CAP = 4.0
REGIONAL_EVIDENCE = 2  # distinct marker words of one language (besides the word in question) that make a prompt its


def regional_words(normalize) -> dict[str, int]:
    """Words of four letters or more, as the typo matcher sees them, that are everyday words (COMMON_WORD) in
    a language of REGIONAL_LANGS, with the languages as a bit mask (bit i: REGIONAL_LANGS[i])."""
    out: dict[str, int] = {}
    threshold = 10 ** (COMMON_WORD - 9)
    for bit, lang in enumerate(REGIONAL_LANGS):
        for word, f in _freqs(lang).items():
            if f < threshold:
                break
            if len(word) >= 4 and word.isalpha():
                key = normalize(word)
                if len(key) >= 4 and key.isascii() and key.isalpha():
                    out[key] = out.get(key, 0) | (1 << bit)
    return out


def regional_markers(normalize) -> dict[str, int]:
    """Words that say a prompt is written in a language of REGIONAL_LANGS: frequent in it (REGIONAL_MARKER), clearly
    more frequent there than in every stop-list language (REGIONAL_MARGIN) and rare in each of those
    (REGIONAL_MARKER_CAP); Indonesian "dengan", Dutch "het", "een". Normalized, with the languages as a bit mask."""
    out: dict[str, int] = {}
    threshold = 10 ** (REGIONAL_MARKER - 9)
    margin = 10**REGIONAL_MARGIN
    cap = 10 ** (REGIONAL_MARKER_CAP - 9)
    stop = [_freqs(lang) for lang in FUZZY_STOP_LANGS]
    for bit, lang in enumerate(REGIONAL_LANGS):
        for word, f in _freqs(lang).items():
            if f < threshold:
                break
            if not word.isalpha():
                continue
            key = normalize(word)  # Vietnamese "thể" folds to "the": compared as written and folded
            if len(key) >= 2 and key.isascii() and key.isalpha() and not any(
                max(d.get(word, 0.0), d.get(key, 0.0)) > min(f / margin, cap) for d in stop
            ):
                out[key] = out.get(key, 0) | (1 << bit)
    return out


def everyday_english(normalize) -> frozenset[str]:
    """English words frequent enough that a name spelled as two of them ("sand shrew") is ambiguous."""
    threshold = 10 ** (EVERYDAY_WORD - 9)
    out = set()
    for word, f in _freqs("en").items():
        if f < threshold:
            break
        if word.isalpha():
            out.add(normalize(word))
    return frozenset(out)


FOREIGN_WORD = 3.0  # a name used as an English word where the character is called something else: French "Draco"


def _latin_script(name: str) -> bool:
    """Whether every letter of `name` is Latin (ASCII or Latin-1 to Latin Extended-B)."""
    return all(c.isascii() or not c.isalpha() or "\u00c0" <= c <= "\u024f" for c in name)


def character_reasons(names: dict[str, list[str]]) -> dict[str, str]:
    """Ambiguity that only shows across a character's names in several languages.

    - A Latin-script name that is frequent in English where the character has a different English name: those
      occurrences cannot be the character (French "Draco" for Dragonair). Only English is checked: names that
      happen to be Italian or Portuguese words ("Milza") are far likelier to mean the character in a prompt.
    - When a Latin-script name is a common word, its kana, hangul or hanzi transliterations are also ambiguous
      if they are attested words in their own language (Lisa / リサ / 리사 / 丽莎).
    """
    out: dict[str, str] = {}
    where: dict[str, set[str]] = {}
    for lang, values in names.items():
        for v in values:
            where.setdefault(v, set()).add(lang)
    latin_common = None
    for v, langs in where.items():
        if not _latin_script(v):
            continue
        if any(lang.endswith("-Latn") for lang in langs):
            continue
        z, zl = max_zipf(v, LATIN_LANGS)
        if z >= LATIN_WORD:
            latin_common = latin_common or v
        for lang in ("en",):
            if lang in names and lang not in langs:
                zf = zipf(v, lang)
                if zf >= FOREIGN_WORD:
                    out[v] = f"a word in {lang} (zipf {zf}), where the character is called {names[lang][0]}"
                    break
    if latin_common:
        for v, langs in where.items():
            if v in out or v == latin_common or all(c.isascii() for c in v):
                continue
            z, zl = max_zipf(v, CJK_LANGS)
            if z >= FOREIGN_WORD:
                out[v] = f"same word as {latin_common!r} (zipf {z} {zl})"
    return out


# A lexicon name that is a word of another language, where the character is called something else in it, reads
# as that word in a prompt written in that language (German "Lavados" for Moltres in "platos lavados", French
# "Tarsal" for Ralts in "the tarsal bones"), and as the name elsewhere. Lower than FOREIGN_WORD because it applies
# only where the prompt's function words show the language (`guard.latin_lang.stated_latin_lang`). A name in another
# script whose look-alike letters fold to Latin ones (Cyrillic Сара to "capa") counts only where they spell a common
# word (LATIN_WORD); and where the character has no Latin spelling of its own that is the same, in every prompt.
PROMPT_LANGUAGE_WORD = 2.0


def prompt_language_words(names: dict[str, list[str]], normalize, *, folded_only: bool = False) -> dict[str, str]:
    """Normalized Latin-script names of one character, other than its English ones, -> the languages
    (comma-separated) in whose prompts each reads as a word of that language: at least PROMPT_LANGUAGE_WORD there,
    and not the character's name there. `folded_only`: only names in another script that fold to Latin letters
    (a franchise of personal names, whose Latin names are the same name in every language)."""
    own: dict[str, set[str]] = {}  # by base language: es and es-419 together
    for lang, values in names.items():
        own.setdefault(lang.split("-")[0], set()).update(normalize(v) for v in values)
    latin: set[str] | None = None  # the character's own Latin spellings, found when a folded name needs them
    out: dict[str, str] = {}
    for lang, values in names.items():
        base = lang.split("-")[0] if not lang.endswith("-Latn") else lang
        if base == "en":  # English names are used in prompts of every language (Litten in a German prompt)
            continue
        for v in values:
            n = normalize(v)
            # A name in another script that folds to Latin letters (Russian Тома -> toma) is matched as those
            # letters, and reads as the word they spell (Spanish "toma", a shot).
            folded = n.isascii() and not _latin_script(v)
            word = n if folded else v if _latin_script(v) and not folded_only else None
            if word is None or n in own.get("en", ()):  # the English name again (Litten in Italian)
                continue
            if folded and max_zipf(n, LATIN_LANGS)[0] >= LATIN_WORD:
                if latin is None:
                    latin = _latin_spellings(names, normalize)
                if n not in latin:
                    out[n] = "*"  # nobody writes the name so in Latin letters: the word, in every prompt
                    continue
            langs = [
                m for m in PROMPT_LANGS  # the languages guard.latin_lang tells apart
                if m != base and m in own and n not in own[m] and zipf(word, m) >= (LATIN_WORD if folded else PROMPT_LANGUAGE_WORD)
            ]
            if langs:
                out[n] = ",".join(sorted(set(langs) | set(out.get(n, "").split(",")) - {""}))
    return out


def _latin_spellings(names: dict[str, list[str]], normalize) -> set[str]:
    """A character's own Latin spellings, normalized: its Latin names and the romaji of its katakana names."""
    latin = {normalize(v) for values in names.values() for v in values if _latin_script(v)}
    latin.update(normalize(r) for v in names.get("ja", []) if is_katakana_name(v) for r in romaji_forms(v))
    return latin
