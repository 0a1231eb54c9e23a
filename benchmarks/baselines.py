"""The baselines that character-guard is compared with, each over the same lexicon names.

All of them see the names as written in the lexicon files, case-folded and de-duplicated, and the prompt
case-folded; none of them normalizes further, expands variants, checks scripts or handles ambiguity.

- regex: one big `re` alternation, longest names first, bounded by `\\b`: a deny list.
- flashtext: `KeywordProcessor.extract_keywords` (word boundaries are ASCII word characters).
- ahocorasick: `ahocorasick_rs.AhoCorasick(..., LeftmostLongest)` on the case-folded prompt, no boundary
  check: the floor for exact multi-pattern matching.
- rapidfuzz: the naive fuzzy loop: every word 1-, 2- and 3-gram of the prompt against all names with
  `process.extractOne(..., scorer=fuzz.ratio, score_cutoff=85)`.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

NAMES = ("regex", "flashtext", "ahocorasick", "rapidfuzz")


def lexicon_names(loaded) -> list[str]:
    """Every character name and alias in the loaded lexicon files, case-folded, de-duplicated, sorted."""
    out: set[str] = set()
    for _p, lex in loaded.files:
        for rec in lex.characters:
            for values in rec.names.values():
                out.update(v.casefold().strip() for v in values)
            for a in rec.aliases:
                out.add((a if isinstance(a, str) else a.text).casefold().strip())
    out.discard("")
    return sorted(out)


def build_regex(names: Iterable[str]) -> Callable[[str], list]:
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(r"\b(?:" + alternation + r")\b")
    findall = pattern.findall

    def scan(text: str) -> list:
        return findall(text.casefold())

    return scan


def build_flashtext(names: Iterable[str]) -> Callable[[str], list]:
    from flashtext import KeywordProcessor

    kp = KeywordProcessor(case_sensitive=False)
    for n in names:
        kp.add_keyword(n)
    extract = kp.extract_keywords

    def scan(text: str) -> list:
        return extract(text)

    return scan


def build_ahocorasick(names: Iterable[str]) -> Callable[[str], list]:
    import ahocorasick_rs

    ac = ahocorasick_rs.AhoCorasick(list(names), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    find = ac.find_matches_as_indexes

    def scan(text: str) -> list:
        return find(text.casefold())

    return scan


def build_rapidfuzz(names: Iterable[str]) -> Callable[[str], list]:
    from rapidfuzz import fuzz, process

    choices = list(names)
    extract_one = process.extractOne
    ratio = fuzz.ratio

    def scan(text: str) -> list:
        words = text.casefold().split()
        hits = []
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                gram = " ".join(words[i : i + n])
                hit = extract_one(gram, choices, scorer=ratio, score_cutoff=85)
                if hit is not None:
                    hits.append((gram, hit[0], hit[1]))
        return hits

    return scan


BUILDERS = {
    "regex": build_regex,
    "flashtext": build_flashtext,
    "ahocorasick": build_ahocorasick,
    "rapidfuzz": build_rapidfuzz,
}
