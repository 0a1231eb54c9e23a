"""Typo matching driven by a candidate index, so its cost does not grow with the lexicon.

The index maps every single-character deletion of each Latin alias (and of a coarse phonetic key of it) to the
alias: a symmetric-delete index. A token's own deletions are looked up in one vectorized binary search, and the
few candidates found are verified with rapidfuzz's optimal-string-alignment distance against a threshold that
depends on length. One deletion on each side finds every alias within one substitution, insertion, deletion or
swap of adjacent letters; the phonetic key adds spelling-by-ear errors (Raichoo, Keching).
"""
from __future__ import annotations

import re
import zlib
from array import array
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from rapidfuzz.distance import OSA

_PHONETIC_CHARS = str.maketrans({"x": "sh", "y": "i", "z": "s"})
_REPEATS = re.compile(r"(.)\1+")


def phonetic_key(word: str) -> str:
    """A coarse key for spelling by ear: ph/f, ck/k, q/ch, oo/ou/u, ee/i, y/i, z/s, x/sh, doubled letters."""
    w = word.replace("ph", "f").replace("ck", "k").replace("qu", "kw").replace("q", "ch")
    w = w.replace("oo", "u").replace("ou", "u").replace("ee", "i").translate(_PHONETIC_CHARS)
    return _REPEATS.sub(r"\1", w)


def _deletes(word: str) -> list[str]:
    return [word] + [word[:i] + word[i + 1 :] for i in range(len(word))]


def _hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def max_distance(length: int) -> int:
    """Edits allowed for an alias of this length: none below 5 letters, one up to 8, two beyond."""
    if length < 5:
        return 0
    if length <= 8:
        return 1
    return 2


@dataclass
class FuzzyIndex:
    keys: np.ndarray  # uint32 hashes, sorted
    targets: np.ndarray  # int32 index into `words`, aligned with keys
    words: list[str]  # the alias text of each target
    patterns: list[int]  # the pattern index of each target
    phonetic: list[str]

    @classmethod
    def build(cls, targets: Iterable[tuple[str, int]]) -> "FuzzyIndex":
        words: list[str] = []
        patterns: list[int] = []
        phonetic: list[str] = []
        # 4-byte machine arrays rather than lists of ints: a tenth of the memory at a million aliases, and faster.
        hashes = array("I")
        owners = array("i")
        crc32 = zlib.crc32
        for word, pattern in targets:
            t = len(words)
            words.append(word)
            patterns.append(pattern)
            key = phonetic_key(word)
            phonetic.append(key)
            variants = set(_deletes(word))
            variants.update("\x01" + d for d in _deletes(key))
            hashes.extend([crc32(v.encode("utf-8")) for v in variants])  # = _hash(v)
            owners.extend([t] * len(variants))
        keys = np.frombuffer(hashes, dtype=np.uint32) if len(hashes) else np.zeros(0, dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        targets_ = np.frombuffer(owners, dtype=np.int32) if len(owners) else np.zeros(0, dtype=np.int32)
        return cls(keys[order], targets_[order], words, patterns, phonetic)

    def __len__(self) -> int:
        return len(self.words)

    def lookup(self, token: str) -> Optional[tuple[int, float, int]]:
        """Best (pattern index, score, distance) within the allowed distance of `token`, or None."""
        if len(self.words) == 0 or len(token) < 4:
            return None
        key = phonetic_key(token)
        best: Optional[tuple[int, float, int]] = None
        for t in self.candidates(token, key):
            d = self.verify(token, key, t)
            if d is None:
                continue
            word = self.words[t]
            score = 1.0 - d / max(len(word), len(token))
            if best is None or score > best[1]:
                best = (self.patterns[t], score, d)
        return best

    def candidates(self, token: str, key: Optional[str] = None, *, depth: int = 1) -> set[int]:
        """Targets (indexes into `words`) that share a deletion or a phonetic-key deletion with `token`.

        depth=1 is what `lookup` uses; depth=2 also deletes two letters of the token, which reaches aliases a
        little beyond the match threshold (near-misses, for `guard lexicon discover` and `explain`).
        """
        if len(self.words) == 0:
            return set()
        key = phonetic_key(token) if key is None else key
        probes = set(_deletes(token))
        probes.update("\x01" + d for d in _deletes(key))
        if depth >= 2:
            probes.update(d2 for d in _deletes(token)[1:] for d2 in _deletes(d)[1:])
        h = np.fromiter((_hash(p) for p in probes), dtype=np.uint32, count=len(probes))
        lo = np.searchsorted(self.keys, h, side="left")
        hi = np.searchsorted(self.keys, h, side="right")
        return {int(t) for a, b in zip(lo.tolist(), hi.tolist()) if b > a for t in self.targets[a:b]}

    def verify(self, token: str, key: str, t: int) -> Optional[int]:
        """Edit distance between `token` (phonetic key `key`) and target `t` if the match rule accepts it, else
        None. The rule: at most `max_distance(len(alias))` edits, or spelling by ear (identical phonetic keys,
        on aliases of six letters or more: Raichoo, Keching, Pikachuuu), which counts as one edit."""
        word = self.words[t]
        limit = max_distance(len(word))
        if limit == 0:
            return None
        d = OSA.distance(token, word, score_cutoff=limit) if abs(len(word) - len(token)) <= limit else limit + 1
        if d > limit:
            if len(word) < 6 or key != self.phonetic[t]:
                return None
            d = 1
        return d
