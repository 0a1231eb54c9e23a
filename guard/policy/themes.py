"""Theme detection: which themes (violence, sexual, politics, drugs, horror, hate, ...) a prompt touches.

All terms of all themes and languages go into one Aho-Corasick automaton (leftmost-longest), built once. The
terms are normalized with the same `guard.normalize.normalize` as prompts and character names, so folding
(case, width, diacritics, traditional Chinese, long vowels, leetspeak, homoglyphs) is identical on both sides.

Boundaries, checked in Python only for the few hits:
- a Latin term must be a whole word; a term written with a trailing `*` only needs to start a word (a prefix);
- a Korean term must start a word (particles follow names and nouns in Korean);
- Japanese and Chinese terms match anywhere (there are no spaces to check), unless written with a leading `^`:
  then the character before them must not be of the same script. 性的 (sexual) is also the end of 女性的
  (feminine), 個性的 (distinctive) and 戏剧性的 (dramatic); `^性的` finds 性的な but none of those.
- a term written with a leading `-` is an exception: a literal word or phrase that holds a term of its theme but
  does not mean it. A hit of that theme inside an exception that stands on the same word boundaries as a term
  does not count: `-酒店` (hotel) hides 酒 (alcohol), `-cocktail dress` hides cocktail, but not in "cocktail
  dressing". Exceptions have their own automaton, searched only when a term was found.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from guard.exact import pattern_finder
from guard.normalize import normalize as default_normalize
from guard.normalize import script_of

_WORDISH = frozenset(("latin", "digit", "alpha"))
_NOTHING: frozenset = frozenset()


@dataclass(frozen=True, slots=True)
class _Entry:
    theme: str
    term: str  # as written in the lexicon
    prefix: bool
    anchored: bool  # written with a leading ^: not right after a character of its own script


@dataclass(frozen=True, slots=True)
class _Pattern:
    left: frozenset  # script classes (guard.normalize.script_of) that may not come right before the term
    first: str  # the script class of its first character (for anchored entries)
    right: bool  # whole-word check on the right for non-prefix entries
    entries: tuple[_Entry, ...]


@dataclass(frozen=True, slots=True)
class ThemeHit:
    theme: str
    term: str
    start: int  # in the normalized text
    end: int


class ThemeLexicon:
    """Compiled theme terms. Immutable; `detect` does no allocation beyond its result on prompts without themes."""

    __slots__ = ("themes", "_find_terms", "_patterns", "term_count", "_find_exceptions", "_exceptions")

    def __init__(self, themes: Mapping[str, Mapping[str, Iterable[str]]], normalize: Callable = default_normalize):
        by_pattern: dict[str, list[_Entry]] = {}
        exceptions: dict[str, set[str]] = {}  # normalized exception -> the themes it is an exception to
        count = 0
        for theme, by_lang in themes.items():
            for terms in by_lang.values():
                for raw in terms:
                    term = raw.strip()
                    if term.startswith("-"):  # an exception: a literal word or phrase
                        text = normalize(term[1:].strip()).text
                        if text:
                            exceptions.setdefault(text, set()).add(theme)
                        continue
                    anchored = term.startswith("^")
                    body = term[1:] if anchored else term
                    prefix = body.endswith("*")
                    text = normalize(body.rstrip("*").strip()).text
                    if not text:
                        continue
                    count += 1
                    by_pattern.setdefault(text, []).append(_Entry(theme, term, prefix, anchored))
        self.themes: frozenset[str] = frozenset(themes)
        self.term_count = count
        self._patterns, self._find_terms = _compile(by_pattern, leftmost_longest=True)
        # Exceptions have an automaton of their own: in the terms' automaton a longer exception would take the
        # text from a term even where the exception does not stand as a whole word ("wine reduction").
        self._exceptions, self._find_exceptions = _compile(
            {text: [_Entry(theme, text, False, False) for theme in sorted(ts)] for text, ts in exceptions.items()},
            leftmost_longest=False,
        )

    # -- hot path ---------------------------------------------------------------------------------------
    def detect(self, text: str, *, ignore: Optional[Callable[[int, int], bool]] = None) -> dict[str, ThemeHit]:
        """Themes found in `text` (already normalized), each with its first hit. `ignore(start, end)` says which
        hits do not count (the policy engine passes the hits that lie inside a character's or a title's name)."""
        if self._find_terms is None:
            return {}
        found = self._find_terms(text)
        if not found:
            return {}
        out: dict[str, ThemeHit] = {}
        excepted: Optional[list[tuple[int, int, str]]] = None  # found only when a term is
        for idx, start, end in found:
            pat = self._patterns[idx]
            before, whole = _edges(text, start, end, pat)
            if before is None:
                continue
            if ignore is not None and ignore(start, end):
                continue
            for e in pat.entries:
                if e.theme in out or (e.anchored and before == pat.first) or not (whole or e.prefix):
                    continue
                if self._find_exceptions is not None:
                    if excepted is None:
                        excepted = self._excepted(text)
                    if _inside_exception(excepted, start, end, e.theme):
                        continue
                out[e.theme] = ThemeHit(e.theme, e.term, start, end)
        return out

    def _excepted(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, theme) of every exception standing on word boundaries in `text`."""
        out = []
        for idx, start, end in self._find_exceptions(text):
            pat = self._exceptions[idx]
            before, whole = _edges(text, start, end, pat)
            if before is not None and whole:
                out.extend((start, end, e.theme) for e in pat.entries)
        return out


def _inside_exception(excepted: list[tuple[int, int, str]], start: int, end: int, theme: str) -> bool:
    """Whether an exception of `theme` covers [start, end). (A function, not a generator expression in `detect`,
    which would make detect's variables closure cells, allocated on every call.)"""
    for a, b, t in excepted:
        if a <= start and end <= b and t == theme:
            return True
    return False


def _compile(by_pattern: Mapping[str, list[_Entry]], *, leftmost_longest: bool) -> tuple[tuple[_Pattern, ...], Optional[Callable]]:
    patterns = list(by_pattern)
    compiled = []
    for p in patterns:
        first, last = script_of(p[0]), script_of(p[-1])
        left = _WORDISH if first in _WORDISH else (frozenset(("hangul",)) if first == "hangul" else _NOTHING)
        compiled.append(_Pattern(left, first, last in _WORDISH, tuple(by_pattern[p])))
    return tuple(compiled), (pattern_finder(patterns, leftmost_longest=leftmost_longest) if patterns else None)


def _edges(text: str, start: int, end: int, pat: _Pattern) -> tuple[Optional[str], bool]:
    """(script class of the character before the hit, "" at the start; None when the left boundary rule fails),
    and whether the hit ends a word (always true for a term that does not end with a letter or digit)."""
    before = script_of(text[start - 1]) if start > 0 else ""
    if before in pat.left:
        return None, False
    return before, not pat.right or end >= len(text) or script_of(text[end]) not in _WORDISH


def merge_theme_maps(maps: Iterable[Mapping[str, Mapping[str, list[str]]]]) -> dict[str, dict[str, list[str]]]:
    """Union of theme lexicons: terms of the same theme and language are concatenated."""
    out: dict[str, dict[str, list[str]]] = {}
    for m in maps:
        for theme, by_lang in m.items():
            slot = out.setdefault(theme, {})
            for lang, terms in by_lang.items():
                slot.setdefault(lang, []).extend(terms)
    return out


def evidence(original: str, nt, hit: Optional[ThemeHit]) -> str:
    """The prompt text behind a hit, for explanations."""
    if hit is None:
        return ""
    s, e = nt.span(hit.start, hit.end) if nt is not None else (hit.start, hit.end)
    return original[s:e]
