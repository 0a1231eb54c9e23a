"""Text normalization with an offset map back to the original text.

One function, `Normalizer.normalize`, serves both sides: lexicon aliases at compile time and prompts on the
hot path, so whatever folding it does can never make an alias and its mention disagree.

What it folds:
- NFKC, case folding, Latin diacritics (é -> e), half-width katakana, full-width forms;
- format characters (zero-width space, soft hyphen, word joiner, BOM ...) and variation selectors: removed;
- traditional Chinese characters to simplified (OpenCC's t2s tables, character by character);
- katakana long vowels: a vowel katakana that lengthens the previous one becomes "ー"
  (ピカチュウ and ピカチュー both become ピカチュー);
- leetspeak inside tokens that mix letters and digits (P1kachu, 3mb04r);
- Cyrillic and Greek homoglyphs inside tokens that mix scripts or that fold entirely to Latin (Рikасhu),
  from the Unicode confusables data.

Speed: the per-character mapping is precomputed into two tables. Characters that map to exactly one character
are folded in place, so offsets stay unchanged: by the C kernel `fold_text` (guard/_speedups.c) when it is built
(which also folds characters above the BMP), else with `str.replace`/`str.translate`. From the first irregular
character on (one that maps to none or several, as ß, a soft hyphen or a variation selector do), the kernel
records the offsets; only kana voicing marks, which compose with the character before them, and installs without
the kernels take the Python path (`_normalize_slow`), which folds the runs between irregular characters in bulk.
Homoglyphs are folded last, on the folded text, by the kernel `fold_homoglyphs` or `_fold_homoglyphs`.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from guard import speedups

_KERNELS = speedups.kernels  # the C text kernels, or None

LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g"}
)
# Leetspeak is folded per token: a maximal run of letters, digits and the symbols @ $ ! | that holds at least
# one of the digits or symbols. Tokens are found from their leet characters (few per prompt), not by
# scanning every position of the text.
_HAS_LEET = re.compile(r"[013456789@$!|]")
# The characters of a token that leetspeak folding looks at (guard.matcher finds a leetspeak word's end with them).
LEET_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|")
_TOKEN_REST = re.compile(r"[a-z0-9@$!|]*")
# A token can only fold if a letter stands next to a digit or symbol in it (it needs two letters and a leet
# character). In text with few Latin letters (CJK) this test skips the token walk for numbers (35ミリ, 90年代);
# in Latin text nearly every position starts a try, so there the leet characters are searched directly.
_LETTER_BY_LEET = re.compile(r"[a-z][0-9@$!|]|[0-9@$!|][a-z]")
_SYMBOLS = {"!": "i", "|": "l", "@": "a", "$": "s"}
# The letter each leetspeak character stands for, digits and signs alike.
LEET_LETTERS = {**{chr(k): v for k, v in LEET.items()}, **_SYMBOLS}
_NUMBER_UNIT = re.compile(r"([0-9]+)([a-z]+)")
# Units and ordinals of two letters or more that follow a number in prompts (one letter is never folded), and the
# head counts of anime image tags (1girl, 2boys).
_UNITS = frozenset(
    "mm cm km fps am pm st nd rd th px hz khz mhz ghz kb mb gb tb bit bits bpm kg ms sec min hr hrs yr yrs yo "
    "mph kmh dpi ppi mp lb lbs oz ft fov girl girls boy boys".split()
)

# Vowel of each katakana, for folding long vowels. Small kana count as their vowel.
_VOWEL_ROWS = {
    "a": "アカガサザタダナハバパマヤャラワァヵ",
    "i": "イキギシジチヂニヒビピミリィ",
    "u": "ウクグスズツヅヌフブプムユュルゥ",
    "e": "エケゲセゼテデネヘベペメレェヶ",
    "o": "オコゴソゾトドノホボポモヨョロヲォ",
}
_KANA_MARKS = "\u3099\u309a\u309b\u309c\uff9e\uff9f"
# Hangul written as letters (jamo) rather than syllables: ㅍㅣㅋㅏㅊㅠ typed to slip past a filter, or the decomposed
# (NFD) Hangul of some systems. Compatibility jamo fold to the conjoining ones (consonants to initials); vowels and
# finals compose with the letters before them (`_compose_hangul`), so they are irregular characters, like the kana
# voicing marks.
_HANGUL_VOWELS_AND_FINALS = "".join(map(chr, [*range(0x314F, 0x3164), *range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]))
# A vowel katakana after a katakana of the same vowel (or ウ after an o-row one: トウ -> トー) is a long vowel.
# Hiragana is left alone: in running text a vowel kana often starts the next word (なったあるはいぜん), so
# hiragana spellings of names are generated both ways at compile time instead.
# The pattern starts with the vowel kana, so `re` skips to them at C speed, and looks behind once for the pair.
_LONG_VOWEL = re.compile(
    "[アイウエオ](?<="
    + "|".join(
        f"[{_VOWEL_ROWS[v]}][{long}]"
        for v, long in (("a", "ア"), ("i", "イ"), ("u", "ウ"), ("e", "エイ"), ("o", "オウ"))
    )
    + ")"
)
_HAS_KANA = re.compile(r"[\u30a1-\u30ff]")
# Kanji that look like katakana, written for them to slip past a filter (力ビゴン for カビゴン, 工ーフィ for エーフィ).
# They are read as the katakana before katakana, unless a kanji comes first (then they end a word: 暴力シーン,
# 入力フォーム, 人口データ), and between katakana. Not after the last katakana: there the numerals count things
# (ピカチュウ二、三匹), and 力 is a suffix (チーム力).
# Dashes typed for ー (イ―ブイ, ゲンガ―): read both ways by the matcher (`_fold_lookalikes`, its `tails`), as is 一
# after the last katakana of a word. (─ folds to a separator before this step.)
_LONG_VOWEL_DASHES = ("―", "—", "-")
_KANA_LOOKALIKES = {"力": "カ", "工": "エ", "口": "ロ", "夕": "タ", "卜": "ト", "二": "ニ", "八": "ハ", "一": "ー"}

# The last one, U+E000 (private use), is what emoji and other pictographs fold to (SYMBOL_SEPARATOR, below).
SEPARATORS = frozenset(" \t\r\n\u3000.-_·・*~|/\\'’`+,:;!?\"()[]{}<>=&^#%♀♂\ue000")


def is_latin_or_digit(c: str) -> bool:
    """A Latin letter or digit, for the word-boundary rule of Latin names (guard.matcher.boundary_ok)."""
    return (c < "\u0250" and c.isalnum()) or ("\u1e00" <= c <= "\u1eff")


def _is_latin_letter(ch: str) -> bool:
    return ch < "\u0250" and ch.isalpha()


def script_of(ch: str) -> str:
    """Coarse script class used for boundary rules: latin, digit, kata, hira, han, hangul, other."""
    s = _SCRIPT_OF.get(ch)
    if s is None:
        s = _script_of(ch)
        if len(_SCRIPT_OF) < 100_000:  # memoized: called per character at compile time and per prompt
            _SCRIPT_OF[ch] = s
    return s


_SCRIPT_OF: dict[str, str] = {}


def _script_of(ch: str) -> str:
    o = ord(ch)
    if ch.isdigit():
        return "digit"
    if o < 0x250 and ch.isalpha():
        return "latin"
    if 0x30A0 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
        return "kata"
    if 0x3040 <= o <= 0x309F:
        return "hira"
    if 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FFFF or o == 0x3005:
        return "han"
    if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if ch.isalpha():
        return "alpha"
    return "other"


@dataclass(slots=True)
class NormalizedText:
    """Normalized text plus the map back to the original. Read-only by convention: it is not a frozen dataclass,
    whose __init__ sets each field through object.__setattr__ and costs three times as much, once per check.

    `offsets` is None when normalization kept every character in place (the common case); otherwise
    `offsets[i]` is the original index of normalized character i, and `offsets[len(text)]` the original length.
    """

    original: str
    text: str
    offsets: Optional[list[int]] = None
    # Whether the homoglyph step looked at the text (it held a letter the step folds inside some words).
    homoglyphs: bool = field(default=False, compare=False)
    # Positions of a dash or 一 after a katakana that may be the long-vowel mark (イ―ブイ, ゲンガ―が), which the
    # matcher reads both ways (`_fold_lookalikes`).
    kana_tails: tuple[int, ...] = field(default=(), compare=False)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original span covering normalized span [start, end)."""
        if self.offsets is None:
            return start, end
        offs = self.offsets
        if end <= start:
            return offs[start], offs[start]
        orig_end = offs[end - 1] + 1
        upper = offs[end]
        # Extend over what was composed into the last character (ﾊﾞ, e + U+0301, the vowel and final of Hangul
        # typed as jamo), also past characters dropped among them (ㅊ<zero-width space>ㅠ); characters dropped after
        # the last of them stay outside the span.
        original = self.original
        for k in range(orig_end, upper):
            c = original[k]
            if c in _KANA_MARKS or _is_jamo(c) or unicodedata.category(c) in ("Mn", "Me"):
                orig_end = k + 1
        return offs[start], orig_end


class Normalizer:
    """Holds the precomputed tables. Build once (or load from the compiled cache) and share."""

    def __init__(self, one_to_one: dict[int, str], special: dict[str, str], homoglyphs: dict[str, str]):
        self.one_to_one = one_to_one
        self.special = special
        self.homoglyphs = homoglyphs
        # Irregular characters fold to none or several characters (ß -> ss, a soft hyphen -> nothing) or are kana
        # voicing marks, which compose with the character before them: only they move offsets.
        irregular = set(special) | set(_KANA_MARKS) | set(_HANGUL_VOWELS_AND_FINALS)
        irregular |= {chr(cp) for cp, out in one_to_one.items() if len(out) != 1}
        # Classes of BMP characters only: `re` matches such a class with a bitmap, while a class that also holds
        # astral characters is searched entry by entry (about 1 ms instead of 5 us for a 300-character prompt).
        # The astral ones are checked with a set, only when the text has an astral character at all.
        self._irregular_re = re.compile(_bmp_class(irregular))
        self._irregular_astral = frozenset(c for c in irregular if c > "\uffff")
        self._homoglyph_table = str.maketrans(homoglyphs)
        # The rule folds inside words (runs of letters and digits), so only homoglyphs that are letters or digits
        # can change anything, and only in the words that hold one. The word pattern starts at word starts: tried at
        # every position of a long word without a homoglyph, it would take quadratic time.
        # (Letters in the range this module counts as East Asian, such as Lisu ꓑ, end a word as CJK does, in the C
        # kernel too: they never fold.)
        in_words = [c for c in homoglyphs if c.isalnum() and _WORD_CHAR_RE.fullmatch(c)]
        self._homoglyph_re = re.compile(_bmp_class(in_words))
        self._homoglyph_word = re.compile(f"(?<!{_WORD_CHAR}){_WORD_CHAR}*?" + _bmp_class(in_words) + f"{_WORD_CHAR}*")
        self._homoglyph_astral = frozenset(c for c in in_words if c > "\uffff")
        # Folding a word's slice of the whole translated text needs one character for one.
        self._homoglyphs_single = all(len(v) == 1 for v in homoglyphs.values())
        self._kernel_homoglyphs = None
        if _KERNELS is not None and self._homoglyphs_single and "\0" not in homoglyphs.values():
            self._homoglyph_fold_table = speedups.bmp_fold_table({ord(k): v for k, v in homoglyphs.items()})
            self._homoglyph_astral_map = {k: v for k, v in homoglyphs.items() if k > "\uffff"}
            self._kernel_homoglyphs = _KERNELS.fold_homoglyphs
        # str.translate looks every character up in a dict of Python ints (about 70 ns each outside ASCII).
        # Most characters of a prompt fold to themselves, so the ones that change are found with one BMP class
        # and replaced one by one; a prompt where many change (upper case, traditional hanzi) is translated.
        self._fold_re = re.compile("[" + "".join(_class_escape(chr(cp)) for cp in sorted(one_to_one) if cp <= 0xFFFF) + "]")
        self._fold_str = {chr(cp): out for cp, out in one_to_one.items()}
        # Characters that fold to a character that folds again (OpenCC: 薴 -> 苧 -> 苎). Folding is one step, so
        # a text holding one of them is not folded with one str.replace per character (which would chain).
        self._fold_chains = frozenset(c for c, out in self._fold_str.items() if out in self._fold_str)
        # The C kernel folds BMP text in one pass and tells whether leetspeak or long-vowel folding can apply. Its
        # table holds one character per code point (the tables `build` makes always fit it).
        self._kernel_fold = None
        if _KERNELS is not None and all(len(out) == 1 and out != "\0" for out in one_to_one.values()):
            self._fold_table = speedups.bmp_fold_table(one_to_one)
            self._slow_bitmap = speedups.bmp_bitmap(irregular)
            # Voicing marks compose with the character before them, which fold_text leaves to Python: it hands
            # back the texts with an irregular character that this dict does not hold.
            self._kernel_special = {c: out for c, out in special.items() if c not in _KANA_MARKS}
            # The kernel also tells whether the folded text holds a homoglyph (one that a word can hold), which
            # spares a search of every non-ASCII prompt for the few that do.
            self._homoglyph_bitmap = speedups.bmp_bitmap(in_words)
            self._kernel_fold = _KERNELS.fold_text

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def build(cls) -> "Normalizer":
        t2s = _t2s_converter()
        one_to_one: dict[int, str] = {}
        special: dict[str, str] = {}
        # (Plane 14: tag characters and the variation selectors beyond the BMP, which fold to nothing.)
        ranges = [(0, 0x10000), (0x1D400, 0x1D800), (0x1F100, 0x1F200), (0x1F300, 0x1FB00), (0x1FBF0, 0x1FBFA), (0x20000, 0x2A6E0),
                  (0xE0000, 0xE0080), (0xE0100, 0xE01F0)]
        for lo, hi in ranges:
            for cp in range(lo, hi):
                ch = chr(cp)
                if 0xD800 <= cp <= 0xDFFF:
                    # A lone surrogate (json.loads makes one from "\ud800") cannot be encoded; it stands in
                    # place as U+FFFD so the scan goes on and offsets stay put.
                    one_to_one[cp] = "\ufffd"
                    continue
                out = _fold_char(ch, t2s)
                if out == ch:
                    continue
                if len(out) == 1:
                    one_to_one[cp] = out
                else:
                    special[ch] = out
        return cls(one_to_one, special, _homoglyph_map())

    def to_state(self) -> tuple:
        return (self.one_to_one, self.special, self.homoglyphs)

    @classmethod
    def from_state(cls, state: tuple) -> "Normalizer":
        return cls(*state)

    # -- hot path -------------------------------------------------------------------------------------
    def normalize(self, text: str) -> NormalizedText:
        if text.isascii() and not _has_ascii_control(text):
            out = text.lower()
            if _HAS_LEET.search(out) is not None:
                out = _fold_leet_tokens(out)
            return NormalizedText(text, out, None)
        if self._kernel_fold is not None:
            folded = self._kernel_fold(
                text, self._fold_table, self._slow_bitmap, self._kernel_special, self.one_to_one, self._homoglyph_bitmap
            )
            if folded is not None:  # None: a voicing mark
                out, offsets, flags = folded
                return self._after_kernel(text, out, offsets, flags)
        return self._normalize_general(text)

    def _after_kernel(self, text: str, out: str, offsets, flags: int) -> NormalizedText:
        """The NormalizedText of a text the C kernel folded to `out`: `_post(_fold_homoglyphs_in(out))`, with the
        kernel's flags."""
        leet = flags & speedups.FLAG_LEET_NEXT_TO_LETTER
        marked = flags & speedups.FLAG_MARKED or (flags & speedups.FLAG_ASTRAL and self._has_astral_homoglyph(out))
        if marked:
            out = self._fold_homoglyphs(out)
            # Folded homoglyphs are Latin letters, which can stand next to a leet character now.
            leet = _LETTER_BY_LEET.search(out) is not None
        if leet:
            out = _fold_leet_tokens(out)
        if flags & speedups.FLAG_KATAKANA:
            out, tails = _fold_kana_marking_tails(out)
            if tails:
                return NormalizedText(text, out, offsets, bool(marked), tails)
        return NormalizedText(text, out, offsets, bool(marked))

    def _normalize_general(self, text: str) -> NormalizedText:
        """Non-ASCII text the C kernel does not fold (above the BMP, an irregular character, or no kernel), and
        the reference the kernel's path must equal."""
        astral = _ASTRAL.search(text) is not None
        if self._irregular_re.search(text) is None and not (
            astral and self._irregular_astral and not self._irregular_astral.isdisjoint(text)
        ):
            out = self._fold_one_to_one(text, astral)
            marked = self._has_homoglyph(out)
            return self._post(text, self._fold_homoglyphs(out) if marked else out, None, marked)
        return self._normalize_slow(text, astral)

    def _fold_one_to_one(self, text: str, astral: Optional[bool] = None) -> str:
        if astral or (astral is None and _ASTRAL.search(text) is not None):
            return text.translate(self.one_to_one)
        table = self._fold_str
        for ch in _FULLWIDTH_PUNCTUATION:  # the usual punctuation of CJK prompts, replaced at C speed
            if ch in text:
                text = text.replace(ch, table.get(ch, ch))
        hits = self._fold_re.findall(text)
        if not hits:
            return text
        distinct = set(hits)
        if len(distinct) > 32 or not self._fold_chains.isdisjoint(distinct):
            return text.translate(self.one_to_one)
        # One C-speed replace per distinct character (a prompt has a handful: 風, 霧, 質 in Japanese, upper-case
        # letters in Latin) beats a Python callback per hit, and translate's dict lookup per character.
        for ch in distinct:
            text = text.replace(ch, table[ch])
        return text

    def _post(self, text: str, out: str, offsets: Optional[list[int]], marked: bool) -> NormalizedText:
        """The NormalizedText of `text` folded one to one to `out`, after the length-preserving folds that depend
        on neighbours: leetspeak tokens and kana long vowels."""
        if _LETTER_BY_LEET.search(out) is not None:
            out = _fold_leet_tokens(out)
        if out.isascii() or not _HAS_KANA.search(out):
            return NormalizedText(text, out, offsets, marked)
        out, tails = _fold_kana_marking_tails(out)
        return NormalizedText(text, out, offsets, marked, tails)

    def _normalize_slow(self, text: str, astral: bool) -> NormalizedText:
        """Text with irregular characters: the runs between them fold one to one in bulk, and the offsets record
        where each character of the result came from."""
        parts: list[str] = []
        offsets: list[int] = []
        one, special = self.one_to_one, self.special
        # The runs between irregular characters are slices of the whole text folded one to one, when that keeps
        # every character in place (it does unless a table maps a character to none or several: then run by run).
        whole = self._fold_one_to_one(text, astral)
        if len(whole) != len(text):
            whole = None
        done = 0  # text[:done] is folded into parts
        for i in self._irregular_positions(text, astral):
            if done < i:  # a run that folds one to one
                parts.append(whole[done:i] if whole is not None else self._fold_one_to_one(text[done:i], astral))
                offsets.extend(range(done, i))
            done = i + 1
            ch = text[i]
            if ch in _KANA_MARKS and parts:
                # Compose a voicing mark with the kana before it: ﾊﾞ -> バ, か + ゛ -> が.
                mark = "\u3099" if ch in "\u3099\u309b\uff9e" else "\u309a"
                last = parts[-1]
                composed = unicodedata.normalize("NFC", last[-1] + mark)
                if len(composed) == 1:
                    parts[-1] = last[:-1] + composed
                continue
            rep = special.get(ch)
            if rep is None:
                rep = one.get(ord(ch), ch)
            if rep:
                parts.append(rep)
                offsets.extend([i] * len(rep))
        if done < len(text):
            parts.append(whole[done:] if whole is not None else self._fold_one_to_one(text[done:], astral))
            offsets.extend(range(done, len(text)))
        offsets.append(len(text))
        out = "".join(parts)
        if _JAMO_VOWEL.search(out) is not None:
            out, offsets = _compose_hangul(out, offsets)
        marked = self._has_homoglyph(out)
        return self._post(text, self._fold_homoglyphs(out) if marked else out, offsets, marked)

    def _irregular_positions(self, text: str, astral: bool) -> list[int]:
        positions = [m.start() for m in self._irregular_re.finditer(text)]
        if astral and self._irregular_astral:
            extra = [m.start() for m in _ASTRAL.finditer(text) if m.group() in self._irregular_astral]
            if extra:
                positions = sorted(positions + extra)
        return positions

    def fold_homoglyphs(self, folded: str) -> str:
        """The homoglyph step alone, on text that is otherwise folded already (the compiler's joined names)."""
        return self._fold_homoglyphs_in(folded)

    def _fold_homoglyphs_in(self, out: str) -> str:
        """`_fold_homoglyphs(out)`, skipped when the folded text holds no homoglyph. (The folding itself can make
        one: upper-case П folds to п.)"""
        return self._fold_homoglyphs(out) if self._has_homoglyph(out) else out

    def _has_homoglyph(self, out: str) -> bool:
        if self._homoglyph_re.search(out) is not None:
            return True
        return _ASTRAL.search(out) is not None and self._has_astral_homoglyph(out)

    def _has_astral_homoglyph(self, out: str) -> bool:
        astral = self._homoglyph_astral
        return bool(astral) and not astral.isdisjoint(out)

    def _fold_homoglyphs(self, out: str) -> str:
        """Homoglyphs folded to Latin inside each word that mixes them with Latin letters, or that folds entirely to
        Latin letters and digits (three characters or more)."""
        if self._kernel_homoglyphs is not None:
            return self._kernel_homoglyphs(out, self._homoglyph_fold_table, self._homoglyph_astral_map)
        return self._fold_homoglyphs_py(out)

    def _fold_homoglyphs_py(self, out: str) -> str:
        """`_fold_homoglyphs` without the C kernel."""
        if not self._homoglyphs_single or (self._homoglyph_astral and _ASTRAL.search(out) is not None):
            # Every group of words is looked at (a class with astral characters is slow to search).
            return _GROUP.sub(self._fold_group, out)
        folded = out.translate(self._homoglyph_table)
        pieces: list[str] = []
        kept = 0  # out[:kept] is in pieces
        group_end, group_latin = -1, False  # the last hyphen group looked at, and whether it reads as Latin
        # Only a word that holds a homoglyph can change; `folded` has every such word folded already.
        for m in self._homoglyph_word.finditer(out):
            start, end = m.span()
            word = folded[start:end]
            if _LATIN_LETTER.search(out, start, end) is None and not (end - start >= 3 and _latin_or_digits(word)):
                # A short word that folds entirely still folds in a hyphen group that reads as Latin (Porygon-Ζ).
                if not _latin_or_digits(word) or not ("-" == out[start - 1 : start] or "-" == out[end : end + 1]):
                    continue
                if start >= group_end:
                    group_start, group_end = _hyphen_group(out, start, end)
                    group_latin = self._reads_as_latin(out[group_start:group_end].split("-"))
                if not group_latin:
                    continue
            pieces.append(out[kept:start])
            pieces.append(word)
            kept = end
        if not pieces:
            return out
        pieces.append(out[kept:])
        return "".join(pieces)

    def _fold_word(self, m: re.Match) -> str:
        return self._fold_token(m.group(0))

    def _fold_token(self, token: str) -> str:
        """The word rule: a word's homoglyphs fold where it also holds a Latin letter, or where it has three
        characters or more and folds entirely to Latin letters and digits."""
        folded = token.translate(self._homoglyph_table)
        if folded == token:
            return token
        if _LATIN_LETTER.search(token) is not None or (len(token) >= 3 and _latin_or_digits(folded)):
            return folded
        return token

    def _fold_group(self, m: re.Match) -> str:
        """The word rule for each word of a group joined by hyphens, and one more: a word that folds entirely folds
        when the group reads as Latin (`_reads_as_latin`), however short it is (Porygon-Ζ, ΗΟ-ΟΗ)."""
        group = m.group(0)
        if "-" not in group:
            return self._fold_token(group)
        words = group.split("-")
        latin = None
        out = []
        for word in words:
            folded = self._fold_token(word)
            if folded is word and len(word) < 3:
                candidate = word.translate(self._homoglyph_table)
                if candidate != word and _latin_or_digits(candidate):
                    if latin is None:
                        latin = self._reads_as_latin(words)
                    if latin:
                        folded = candidate
            out.append(folded)
        return "-".join(out)

    def _reads_as_latin(self, words: list[str]) -> bool:
        """Whether a hyphen group reads as Latin: a word of it holds a Latin letter, or every word folds entirely to
        Latin letters and digits and they have three characters or more in all."""
        if any(_LATIN_LETTER.search(word) is not None for word in words):
            return True
        return sum(map(len, words)) >= 3 and all(_latin_or_digits(word.translate(self._homoglyph_table)) for word in words)


def _latin_or_digits(word: str) -> bool:
    """Whether every character of `word` (a run of letters and digits) is a Latin letter or a digit."""
    if word.isascii():
        return word.isalnum()
    return all(_is_latin_letter(c) or c.isdigit() for c in word)


# A word, for the homoglyph rule: letters and digits, but not East Asian ones, which Unicode counts as letters;
# Фарузан與Whimsicott is two words, so the Latin one does not make the Cyrillic one fold (the C kernel agrees).
_EAST_ASIAN = "\u2e80-\ud7ff\uf900-\ufaff\uff66-\uffdc\U00020000-\U0003ffff"
_WORD_CHAR = f"[^\\W_{_EAST_ASIAN}]"
_WORD = re.compile(_WORD_CHAR + "+")
# Words joined by hyphens, which the homoglyph rule reads together (`Normalizer._fold_group`).
_GROUP = re.compile(f"{_WORD_CHAR}+(?:-{_WORD_CHAR}+)*")
_WORD_CHAR_RE = re.compile(_WORD_CHAR)


def _hyphen_group(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the group of hyphen-joined words around the word text[start:end]."""
    is_word = _WORD_CHAR_RE.match
    while start >= 2 and text[start - 1] == "-" and is_word(text, start - 2):
        start -= 2
        while start > 0 and is_word(text, start - 1):
            start -= 1
    n = len(text)
    while end + 1 < n and text[end] == "-" and is_word(text, end + 1):
        end += 2
        while end < n and is_word(text, end):
            end += 1
    return start, end


def _bmp_class(chars) -> str:
    """A regular-expression class of the BMP characters among `chars` (one that matches nothing if none)."""
    inside = "".join(_class_escape(c) for c in sorted(chars) if c <= "\uffff")
    return f"[{inside}]" if inside else r"[^\s\S]"


_FULLWIDTH_PUNCTUATION = "\uff0c\uff01\uff1f\uff1a\uff1b\uff08\uff09\u3000"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _fold_leet_spans(out: str, spans) -> str:
    """`out` with each (start, end) run of `spans` that `_fold_leet` folds replaced by its folding."""
    pieces: Optional[list[str]] = None  # built only once a token folds: most prompts have numbers, not leetspeak
    kept = 0  # out[:kept] is in pieces
    for start, end in spans:
        token = out[start:end]
        folded = _fold_leet(token)
        if folded is not None and folded != token:
            if pieces is None:
                pieces = []
            pieces.append(out[kept:start])
            pieces.append(folded)
            kept = end
    if pieces is None:
        return out
    pieces.append(out[kept:])
    return "".join(pieces)


def _fold_leet_kernel(out: str) -> str:
    """`_fold_leet_text` with the C kernel finding the runs that could fold."""
    return _fold_leet_spans(out, _KERNELS.leet_tokens(out))


def _fold_leet_text(out: str) -> str:
    return _fold_leet_spans(out, _leet_runs(out))


def _leet_runs(out: str):
    """(start, end) of each run of token characters that holds a leet character and is not a number."""
    done = 0  # out[:done] has been looked at
    chars = LEET_TOKEN_CHARS
    for m in _HAS_LEET.finditer(out):
        i = m.start()
        if i < done:
            continue  # inside the token just looked at
        start = i
        while start > done and out[start - 1] in chars:
            start -= 1
        end = _TOKEN_REST.match(out, i).end()
        done = end
        if not out[start:end].isdigit():
            yield start, end


_fold_leet_tokens = _fold_leet_kernel if _KERNELS is not None else _fold_leet_text


def _fold_leet(token: str) -> Optional[str]:
    """Fold a token such as 3mb04r, P!kachu, $0losi$, Ros@ri@ to letters (None: leave it as it is).

    Only tokens with at least two letters are folded (not "4k", "2024", "$5"), a leading "@" is a mention and
    stays, and trailing "!" or "|" are punctuation and stay ("Pikachu!"). A number with a unit stays too (35mm,
    60fps, 5am, 1st; but 4rceus, 35pathra and 54yu are folded).
    """
    if len(token) < 3 or sum(1 for c in token if "a" <= c <= "z") < 2:
        return None
    if is_number_with_unit(token):
        return None
    head = "@" if token[0] == "@" else ""
    body = token[len(head):]
    stripped = body.rstrip("!|")
    tail = body[len(stripped):]
    return head + "".join(_SYMBOLS.get(c, c) for c in stripped).translate(LEET) + tail


def is_number_with_unit(token: str) -> bool:
    """35mm, 60fps, 1st, 2boys: a number and a unit or ordinal, which leetspeak folding leaves alone."""
    unit = _NUMBER_UNIT.fullmatch(token)
    return unit is not None and unit.group(2) in _UNITS


def _class_escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


# The letters `_is_latin_letter` accepts: alphabetic, below U+0250.
_LATIN_LETTER = re.compile("[" + "".join(_class_escape(chr(o)) for o in range(0x250) if chr(o).isalpha()) + "]")


# Latin letters that Unicode does not decompose into a base letter and a mark, as their languages' readers and
# keyboards treat them: Polish "przesłanki" must stay one word, not "przes" and "anki" (a typo of Mankey's name).
_UNDECOMPOSED_LATIN = {
    "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ƶ": "z", "ɨ": "i",
    "æ": "ae", "œ": "oe", "þ": "th", "ð": "d",
}


# Typographic apostrophes read as the ASCII one (Kiki's Delivery Service is the title listed as Kiki’s), and
# typographic hyphens and dashes as the hyphen-minus (Ho‐Oh, Ho–Oh).
_APOSTROPHE_LIKE = frozenset("\u2018\u2019\u02bc\u02b9\u2032")
_HYPHEN_LIKE = frozenset("\u2010\u2011\u2012\u2013\u2212")


def _fold_char(ch: str, t2s) -> str:
    if ch in _APOSTROPHE_LIKE:
        return "'"
    if ch in _HYPHEN_LIKE:
        return "-"
    cat = unicodedata.category(ch)
    if cat == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F:
        return ""
    if cat == "Cc" and ch not in "\t\n\r":
        # Control characters (NUL, DEL, C1) are dropped, as text cleaners in front of generators drop them, so one
        # inside a word hides nothing (Pika\x00chu); the ones that are white space separate words, as a space does.
        return " " if ch.isspace() else ""
    if _is_pictograph(ch, cat):
        return SYMBOL_SEPARATOR
    out = unicodedata.normalize("NFKC", ch).casefold()
    folded = []
    for c in out:
        ccat = unicodedata.category(c)
        if ccat == "Cf":
            continue
        if ccat == "Mn":
            if c in "\u3099\u309a":
                folded.append(c)
            # Other combining marks (accents) are dropped: both sides of a comparison lose them alike.
            continue
        if _is_latin_letter(c) or "\u0370" <= c <= "\u03ff" or "\u1e00" <= c <= "\u1eff":
            base = "".join(b for b in unicodedata.normalize("NFD", c) if unicodedata.category(b) != "Mn")
            folded.append(_UNDECOMPOSED_LATIN.get(base, base) or c)
            continue
        if script_of(c) == "han" and t2s is not None:
            s = t2s.convert(c)
            folded.append(s if len(s) == 1 else c)
            continue
        folded.append(c)
    result = "".join(folded)
    # A lone voicing mark that NFKC produced from a spacing form is handled by the composer, keep as is.
    if result in ("\u3099", "\u309a"):
        return ch
    return unicodedata.normalize("NFC", result) if any(c in "\u3099\u309a" for c in result) else result


# Emoji, dingbats and other pictographic symbols fold to one separator of their own, so a name broken up by them
# (Gyara✨dos, Pika🔥chu) is found in the joined text, as with dots and asterisks, and the matcher can tell them from
# separators typed as such. Symbols that fold to letters or ideographs (Ⓐ, ㋐, ㈱) are not pictographs here: NFKC
# gives them their own folding. ♀ and ♂ are separators as they are.
SYMBOL_SEPARATOR = "\ue000"
_EMOJI_PLANE = range(0x1F300, 0x1FB00)


def _is_pictograph(ch: str, cat: str) -> bool:
    if ch in "♀♂":
        return False
    if cat == "So":
        return unicodedata.normalize("NFKC", ch) == ch
    return cat == "Sk" and ord(ch) in _EMOJI_PLANE  # skin-tone modifiers


def _t2s_converter():
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a core dependency
        return None
    for config in ("t2s", "t2s.json"):
        try:
            return opencc.OpenCC(config)
        except Exception:  # noqa: BLE001 - config names differ between opencc builds
            continue
    return None  # pragma: no cover


def _homoglyph_map() -> dict[str, str]:
    """Letters of other scripts (Cyrillic, Greek, Cherokee, IPA small capitals, ...) that look like a single
    ASCII letter, from the Unicode confusables data. They are folded only inside tokens that mix them with Latin
    letters or that fold entirely to Latin (see `_fold_homoglyphs`)."""
    import confusable_homoglyphs

    path = os.path.join(os.path.dirname(confusable_homoglyphs.__file__), "confusables.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    out: dict[str, str] = {}
    for ch, entries in data.items():
        if len(ch) != 1:
            continue
        if ch.isascii() or not ch.isalpha():
            continue
        for entry in entries:
            target = entry.get("c", "")
            if len(target) == 1 and target.isascii() and target.isalpha():
                folded = ch.casefold()
                if len(folded) == 1 and not folded.isascii():
                    out.setdefault(folded, target.lower())
                out[ch] = target.lower()
                break
    # Lower-case Cyrillic letters used as "faux Latin" that the confusables data does not list (it compares
    # glyph shapes letter by letter, and п/n or м/m differ in detail, not at a glance).
    for ch, target in {"п": "n", "м": "m", "т": "t", "к": "k", "в": "b", "н": "h", "г": "r", "ь": "b"}.items():
        out.setdefault(ch, target)
    return {k: v for k, v in out.items() if not k.isascii()}


@lru_cache(maxsize=1)
def default_normalizer() -> Normalizer:
    return Normalizer.build()


def normalize(text: str) -> NormalizedText:
    """Normalize with the process-wide default tables (built on first use)."""
    return default_normalizer().normalize(text)


_ASCII_CONTROLS = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ASCII_CONTROL_BITMAP = speedups.bmp_bitmap(_ASCII_CONTROLS.decode("ascii"))


def _has_ascii_control(text: str) -> bool:
    """Whether an ASCII text holds a control character other than tab, newline and carriage return (which the
    folding tables drop or turn into a space, moving offsets). One C pass: the kernel that removes separators,
    given the control characters, returns the text itself when it holds none."""
    if _KERNELS is not None:
        return _KERNELS.remove_separators(text, _ASCII_CONTROL_BITMAP) is not text
    raw = text.encode("ascii")
    return len(raw.translate(None, _ASCII_CONTROLS)) != len(raw)


_JAMO_VOWEL = re.compile("[\u1161-\u1175]")
_INITIAL, _VOWEL, _FINAL, _SYLLABLE = 0x1100, 0x1161, 0x11A7, 0xAC00
# The final (jongseong) index of each initial consonant that can end a syllable (ㄸ, ㅃ and ㅉ cannot).
_FINAL_OF_INITIAL = {
    "\u1100": 1, "\u1101": 2, "\u1102": 4, "\u1103": 7, "\u1105": 8, "\u1106": 16, "\u1107": 17, "\u1109": 19,
    "\u110a": 20, "\u110b": 21, "\u110c": 22, "\u110e": 23, "\u110f": 24, "\u1110": 25, "\u1111": 26, "\u1112": 27,
}
# An initial and a vowel, then a final: a final jamo, or an initial that can end a syllable with no vowel after
# it, unless it starts a run of itself (ㅍㅣㅋㅏㅊㅠㅋㅋ: 피카츄, and ㅋㅋ laughing).
_JAMO_SYLLABLE = re.compile(
    "([\u1100-\u1112])([\u1161-\u1175])(?:([\u11a8-\u11c2])|(["
    + "".join(_FINAL_OF_INITIAL)
    + "])(?![\u1161-\u1175])(?!\\4))?"
)


def _is_jamo(c: str) -> bool:
    return "\u1100" <= c <= "\u11ff" or "\u3131" <= c <= "\u318e"


def _compose_hangul(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Initial + vowel (+ final) jamo composed into one syllable, as a Korean keyboard composes them: a consonant
    after a composed syllable is its final unless a vowel follows (ㄲㅗㅂㅜㄱㅇㅣ -> 꼬북이). Each syllable keeps the
    offset of its first letter. Jamo that compose into nothing stay (ㅋㅋ, ㅠㅠ)."""
    parts: list[str] = []
    kept: list[int] = []
    done = 0
    for m in _JAMO_SYLLABLE.finditer(text):
        s, e = m.span()
        initial, vowel, final, consonant = m.groups()
        syllable = _SYLLABLE + ((ord(initial) - _INITIAL) * 21 + ord(vowel) - _VOWEL) * 28
        if final is not None:
            syllable += ord(final) - _FINAL
        elif consonant is not None:
            syllable += _FINAL_OF_INITIAL[consonant]
        parts.append(text[done:s])
        parts.append(chr(syllable))
        kept += offsets[done : s + 1]
        done = e
    parts.append(text[done:])
    kept += offsets[done:]
    return "".join(parts), kept


def _fold_lookalikes(text: str, tails: Optional[list[int]] = None) -> str:
    """Kanji that look like katakana read as the katakana where they stand for one (力ビゴン, 工ーフィ, ピ力チュウ), in a
    text known to hold katakana. With `tails`, the positions where a dash or 一 after a katakana may be the
    long-vowel mark (イ―ブイ, ゲンガ―が, ゲンガ一が) are added to it: such a dash is as often punctuation between
    two words (ミュウ—イーブイ) and such a 一 a numeral, so the matcher reads them both ways (`kana_tails`).
    Each look-alike is found with str.find and its neighbours read one by one: a pattern with look-behinds took
    26 µs a prompt, a search by character class 4."""
    chars: Optional[list[str]] = None
    last = len(text) - 1
    for ch in _KANA_LOOKALIKES:
        i = text.find(ch)
        while 0 <= i <= last:
            before = text[i - 1] if i else " "
            after = text[i + 1] if i < last else ""
            if after and is_katakana_or_long(after):
                if _is_katakana(before) or (ch != "一" and script_of(before) != "han" and before != "〆"):
                    if chars is None:
                        chars = list(text)
                    chars[i] = _KANA_LOOKALIKES[ch]
            elif ch == "一" and tails is not None and _is_katakana(before) and _ends_word(after):
                tails.append(i)
            i = text.find(ch, i + 1)
    if tails is not None:
        for dash in _LONG_VOWEL_DASHES:
            i = text.find(dash)
            while 0 <= i <= last:
                after = text[i + 1] if i < last else ""
                if i and _is_katakana(text[i - 1]) and after not in _LONG_VOWEL_DASHES:
                    # Between katakana, or where the word ends: not a hyphen before a space (ウール- 綿, a list).
                    if _is_katakana(after) or (_ends_word(after) and not (dash == "-" and after.isspace())):
                        tails.append(i)
                i = text.find(dash, i + 1)
        tails.sort()
    return text if chars is None else "".join(chars)


def _ends_word(after: str) -> bool:
    """Whether the character after a katakana word's last ー may follow a name: nothing, a space, punctuation or a
    particle (ゲンガ―が); not a kanji or つ, after which 一 is a numeral (ピカチュウ一匹, ウール一つ)."""
    return not after or after in _PARTICLES or after.isspace() or unicodedata.category(after)[0] == "P"


_PARTICLES = frozenset("がはをにのともでへやよねかだ")


def _is_katakana(c: str) -> bool:
    return "\u30a1" <= c <= "\u30fa"


def is_katakana_or_long(c: str) -> bool:
    return "\u30a1" <= c <= "\u30fa" or c == "\u30fc"


def _fold_kana_marking_tails(text: str) -> tuple[str, tuple[int, ...]]:
    """`fold_kana` of a text known to hold katakana, with the positions the matcher reads both ways (`kana_tails`)."""
    tails: list[int] = []
    return _LONG_VOWEL.sub("ー", _fold_lookalikes(text, tails)), tuple(tails)


def fold_kana(text: str) -> str:
    """Kanji look-alikes of katakana read as katakana (`_fold_lookalikes`), then long vowels folded
    (`fold_long_vowels`), with one look for katakana."""
    if text.isascii() or not _HAS_KANA.search(text):
        return text
    return _LONG_VOWEL.sub("ー", _fold_lookalikes(text))


def fold_long_vowels(text: str) -> str:
    if text.isascii() or not _HAS_KANA.search(text):
        return text
    return _LONG_VOWEL.sub("ー", text)


def remove_separators(text: str) -> str:
    if _KERNELS is not None:
        return _KERNELS.remove_separators(text, SEPARATOR_BITMAP)
    return _remove_separators_py(text)


def _remove_separators_py(text: str) -> str:
    """`remove_separators` without the C kernel. Both ways are C loops: bytes.translate deletes ASCII separators
    in about 1 us where `re.sub` takes 8; other text gets one str.replace for each separator present. (Not
    str.split, whose whitespace is wider than SEPARATORS: `separator_cuts` must see the same separators.)"""
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_SEPARATORS).decode("ascii")
    for sep in _ALL_SEPARATORS:
        if sep in text:
            text = text.replace(sep, "")
    return text


def separator_cut_list(text: str) -> list[int]:
    """`separator_cuts` as a list (what the automaton's joined pass maps hits back with)."""
    if _KERNELS is not None:
        return _KERNELS.separator_cuts(text, SEPARATOR_BITMAP)
    return separator_cuts(text).tolist()


def separator_cuts(text: str) -> np.ndarray:
    """Where the separators of `text` sit in `remove_separators(text)`: entry i is the joined index before which
    separator i (in text order) was removed. The text index of joined index k is then
    `k + cuts.searchsorted(k, side="right")`. Vectorized: about 3 us for a 300-character prompt, where a
    Python loop over the words costs 13."""
    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        positions = _ASCII_SEPARATOR_TABLE[codes].nonzero()[0]
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        positions = _BMP_SEPARATOR_TABLE[np.minimum(codes, 0xFFFF)].nonzero()[0]  # U+FFFF is none
    return positions - np.arange(len(positions))


def run_around(text: str, start: int, end: int) -> list[str]:
    """The separator-free runs of `text` that overlap text[start:end], whole."""
    while start > 0 and text[start - 1] not in SEPARATORS:
        start -= 1
    while end < len(text) and text[end] not in SEPARATORS:
        end += 1
    return [m.group(0) for m in _RUN.finditer(text, start, end)]


_ASCII_SEPARATORS = bytes(sorted(ord(c) for c in SEPARATORS if c.isascii()))
_ALL_SEPARATORS = tuple(sorted(SEPARATORS))
_BMP_SEPARATOR_TABLE = np.zeros(0x10000, dtype=bool)
_BMP_SEPARATOR_TABLE[[ord(c) for c in SEPARATORS]] = True
_ASCII_SEPARATOR_TABLE = _BMP_SEPARATOR_TABLE[:128].copy()
_RUN = re.compile("[^" + "".join(_class_escape(c) for c in sorted(SEPARATORS)) + "]+")
# The separators as a bitmap over the BMP, the form the C kernels take them in (remove_separators here; the
# matcher's one pass over a text and its joined form). Every separator is in the BMP; a test checks it.
SEPARATOR_BITMAP = speedups.bmp_bitmap(SEPARATORS)
