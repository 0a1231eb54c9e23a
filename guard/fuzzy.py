"""Typo matching driven by a candidate index, so its cost does not grow with the lexicon.

The index maps every single-character deletion of each Latin alias, and a coarse phonetic key of it, to the
alias: a symmetric-delete index. A token's own deletions and key are looked up in one vectorized binary search
(for all the uncommon words of a prompt at once), and the few candidates found are verified with rapidfuzz's
optimal-string-alignment distance against a threshold that depends on length. One deletion on each side finds
every alias within one substitution, insertion, deletion or swap of adjacent letters; the phonetic key adds
spelling-by-ear errors (Raichoo, Keching). Deletions of the phonetic key were indexed too until they proved to
add no match on our eval sets while doubling the index.
"""
from __future__ import annotations

import re
import zlib
from array import array
from operator import itemgetter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
from rapidfuzz.distance import OSA

from guard import speedups
from guard.tables import StringColumn

_PHONETIC_CHARS = str.maketrans({"x": "sh", "y": "i", "z": "s"})
_REPEATS = re.compile(r"(.)\1+")


def phonetic_key(word: str) -> str:
    """A coarse key for spelling by ear: ph/f, ck/k, q/ch, oo/ou/u, ee/i, y/i, z/s, x/sh, doubled letters."""
    # Each replacement only where its letters occur: most words have none of them, and a test is cheaper.
    w = word
    if "ph" in w:
        w = w.replace("ph", "f")
    if "ck" in w:
        w = w.replace("ck", "k")
    if "q" in w:
        w = w.replace("qu", "kw").replace("q", "ch")
    if "oo" in w:
        w = w.replace("oo", "u")
    if "ou" in w:
        w = w.replace("ou", "u")
    if "ee" in w:
        w = w.replace("ee", "i")
    if "x" in w or "y" in w or "z" in w:
        w = w.translate(_PHONETIC_CHARS)
    return _REPEATS.sub(_FIRST_GROUP, w)


_FIRST_GROUP = itemgetter(1)  # the repeated letter, once (a callable is faster than the template r"\1")


def _deletes(word: str) -> list[str]:
    return [word] + [word[:i] + word[i + 1 :] for i in range(len(word))]


def _hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def _probe_hashes(token: str, key: str, longest: Optional[int] = None) -> set[int]:
    """Hashes of the token, its one-letter deletions and its phonetic key (prefixed with \\x01), working on
    bytes so that each probe is one slice and one crc32 call. A token more than one letter longer than the
    `longest` alias probes only its key: neither it nor a deletion of it can equal an alias or an alias's
    deletion, and the deletions of a long word cost time in the square of its length."""
    if longest is not None and len(token) > longest + 1:
        return {_hash("\x01" + key)}
    if not (token.isascii() and key.isascii()):
        probes = set(_deletes(token))
        probes.add("\x01" + key)
        return {_hash(p) for p in probes}
    crc32 = zlib.crc32
    b = token.encode()
    out = {crc32(b[:i] + b[i + 1 :]) for i in range(len(b))}
    out.add(crc32(b))
    out.add(crc32(b"\x01" + key.encode()))
    return out


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
    words: Sequence[str]  # the alias text of each target (a StringColumn once built)
    patterns: Sequence[int]  # the pattern index of each target
    # Without the C kernels, the distinct hashes as a Python set, for indexes up to SET_LIMIT hashes: a prompt's
    # probes nearly all miss, and a set says so for each in about 50 ns, where numpy's per-call cost is about
    # 5 us a prompt. Larger indexes skip it: a set costs about 60 bytes a hash, 100 MB at 100k aliases.
    present: Optional[frozenset] = None

    SET_LIMIT = 400_000

    def __post_init__(self) -> None:
        # With the kernels, the probes are made and looked up in C (HashRanges: a 256 KB prefix table over `keys`).
        # It is rebuilt on load rather than pickled.
        self._ranges = _hash_ranges(self.keys, self.targets)
        words = self.words
        self._longest = words.longest() if isinstance(words, StringColumn) else max(map(len, words), default=0)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_ranges", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @classmethod
    def build(cls, targets: Iterable[tuple[str, int]]) -> "FuzzyIndex":
        words: list[str] = []
        patterns = array("i")
        # 4-byte machine arrays rather than lists of ints: a tenth of the memory at a million aliases, and faster.
        hashes = array("I")
        owners = array("i")
        for word, pattern in targets:
            t = len(words)
            words.append(word)
            patterns.append(pattern)
            probes = _probe_hashes(word, phonetic_key(word))  # the hashes a token equal to the word probes
            hashes.extend(probes)
            owners.extend([t] * len(probes))
        keys = np.frombuffer(hashes, dtype=np.uint32) if len(hashes) else np.zeros(0, dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        targets_ = np.frombuffer(owners, dtype=np.int32) if len(owners) else np.zeros(0, dtype=np.int32)
        keys = keys[order]
        present = frozenset(keys.tolist()) if speedups.kernels is None and len(keys) <= cls.SET_LIMIT else None
        return cls(keys, targets_[order], StringColumn.of(words), patterns, present)

    def __len__(self) -> int:
        return len(self.words)

    def lookup(self, token: str) -> Optional[tuple[int, float, int]]:
        """Best (pattern index, score, distance) within the allowed distance of `token`, or None."""
        return self.lookup_many([token])[0]

    def lookup_many(self, tokens: list[str]) -> list[Optional[tuple[int, float, int]]]:
        """`lookup` for each token, with one binary search for all of them: a prompt's uncommon words cost one
        round of numpy calls instead of one per word."""
        results: list[Optional[tuple[int, float, int]]] = [None] * len(tokens)
        if len(self.words) == 0:
            return results
        if self._ranges is not None:
            keys = [phonetic_key(token) if len(token) >= 4 else "" for token in tokens]
            for j, targets in enumerate(self._ranges.candidates(tokens, keys, self._longest)):
                if targets is not None:
                    results[j] = self._best(tokens[j], keys[j], targets)
            return results
        token_keys: list[str] = []
        hashes: list[int] = []
        owners: list[int] = []
        for j, token in enumerate(tokens):
            if len(token) < 4:
                token_keys.append("")  # never looked up
                continue
            key = phonetic_key(token)
            token_keys.append(key)
            probes = _probe_hashes(token, key, self._longest)
            hashes.extend(probes)
            owners.extend([j] * len(probes))
        found = self._find(hashes)
        if not found:
            return results
        by_token: dict[int, set[int]] = {}
        for i, targets in found:
            by_token.setdefault(owners[i], set()).update(targets)
        for j, targets in by_token.items():
            results[j] = self._best(tokens[j], token_keys[j], targets)
        return results

    def _find(self, hashes: list[int]) -> list[tuple[int, list[int]]]:
        """(position in `hashes`, targets) for each hash that is in the index."""
        if not hashes:
            return []
        if self._ranges is not None:
            return self._ranges.find(hashes)
        if self.present is not None:
            present = self.present
            positions = [i for i, h in enumerate(hashes) if h in present]
            if not positions:
                return []
            hashes = [hashes[i] for i in positions]
        else:
            positions = None
        keys = self.keys
        h = np.array(hashes, dtype=np.uint32)
        lo = keys.searchsorted(h)
        hit = (keys.take(np.minimum(lo, len(keys) - 1)) == h).nonzero()[0]
        if not len(hit):
            return []
        starts = lo[hit]
        ends = keys.searchsorted(h[hit], side="right")
        targets = self.targets
        found = [(i, targets[a:b].tolist()) for i, a, b in zip(hit.tolist(), starts.tolist(), ends.tolist())]
        if positions is not None:
            found = [(positions[i], ts) for i, ts in found]
        return found

    def _best(self, token: str, key: str, targets: Iterable[int]) -> Optional[tuple[int, float, int]]:
        # Highest score wins; among equal scores one edit that a typist makes more often (`_likely_edit`: Lparas is
        # Lapras with two letters swapped rather than Paras with an l added), then the target that came first to
        # `build` (the compiler puts English names first), so that the answer does not depend on set order.
        best: Optional[tuple[int, float, int]] = None
        best_likely = False
        for t in sorted(targets):
            d = self.verify(token, key, t)
            if d is None:
                continue
            word = self.words[t]
            score = 1.0 - d / max(len(word), len(token))
            if best is None or score > best[1]:
                best, best_likely = (self.patterns[t], score, d), d == 1 and _likely_edit(token, word)
            elif score == best[1] and not best_likely and d == 1 and _likely_edit(token, word):
                best, best_likely = (self.patterns[t], score, d), True
        return best

    def candidates(self, token: str, key: Optional[str] = None, *, depth: int = 1) -> set[int]:
        """Targets (indexes into `words`) that share a deletion or the phonetic key with `token`.

        depth=1 is what `lookup` uses; depth=2 also deletes two letters of the token, which reaches aliases a
        little beyond the match threshold (near-misses, for `guard lexicon discover` and `explain`).
        """
        if len(self.words) == 0:
            return set()
        key = phonetic_key(token) if key is None else key
        if depth >= 2:
            probes = set(_deletes(token))
            probes.add("\x01" + key)
            probes.update(d2 for d in _deletes(token)[1:] for d2 in _deletes(d)[1:])
            hashes = [_hash(p) for p in probes]
        else:
            hashes = list(_probe_hashes(token, key))
        return {t for _i, targets in self._find(hashes) for t in targets}

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
            if len(word) < 6 or key != phonetic_key(word):
                return None
            d = 1
        return d


def _hash_ranges(keys: np.ndarray, targets: np.ndarray):
    if speedups.kernels is None:
        return None
    return speedups.kernels.HashRanges(np.ascontiguousarray(keys, dtype=np.uint32), np.ascontiguousarray(targets, dtype=np.int32))


def _likely_edit(token: str, word: str) -> bool:
    """Whether `token`, one edit from `word`, lacks one of its letters or swaps two neighbours: the typos a typist
    makes most, as there are about 26 times fewer ways to make one than to type a wrong or an extra letter."""
    if len(token) == len(word) - 1 or (len(token) == len(word) and sorted(token) == sorted(word)):
        return OSA.distance(token, word, score_cutoff=1) == 1  # (not a match by ear, which counts as one edit too)
    return False
