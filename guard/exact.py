"""Exact pattern search: every occurrence of every compiled pattern in a normalized text.

Two indexes answer the same question. `AutomatonIndex` is an Aho-Corasick automaton: the fastest scan, but
it is rebuilt from the patterns at every start (50 ms for the bundled lexicons), and it takes 160 to 270
bytes a pattern. Up to `AUTOMATON_LIMIT` patterns that is a fraction of a second and a few tens of MB.
With the C kernels it is `guard._speedups.Automaton`, which reads the prompt's code points in place and can
apply the boundary rules while it searches (`find_accepted`); without them it is ahocorasick-rs, with the
same hits in the same order.
Beyond, `HashedIndex` takes over: the hash of every text window up to a key length is looked up in a sorted
array of pattern keys. Its arrays pickle as plain bytes, so it loads at disk speed, and it takes 12 bytes a
pattern plus a 32 MB filter table.

Both return (pattern id, start, end) triples. `HashedIndex` leaves out windows that start or end inside a word
of Latin letters or digits, where the matcher's boundary rule would reject any pattern (see `_word_edges`).
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Optional, Sequence

import ahocorasick_rs
import numpy as np

from guard.normalize import is_latin_or_digit, script_of
from guard.speedups import kernels

# The C automaton builds 230k patterns in a quarter of a second in 37 MB; ahocorasick-rs needs 0.65 s.
AUTOMATON_LIMIT = 600_000 if kernels is not None else 150_000

_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so it has an inverse modulo 2**64
_FILTER_MASK = (1 << 25) - 1  # a 32 MB table: at two million patterns about 5% of the windows pass it
_FILTER_MASK_U64 = np.uint64(_FILTER_MASK)
_POWERS = 4096  # prompts up to this length use the precomputed powers of the base


def pattern_finder(patterns: Sequence[str], *, leftmost_longest: bool = False) -> Callable[[str], list[tuple[int, int, int]]]:
    """A function giving the (pattern id, start, end) hits of `patterns` in a text: every occurrence, by end
    and longest first, or with `leftmost_longest` the non-overlapping ones a leftmost-longest search reports.
    The C automaton when the kernels are built, else ahocorasick-rs; both give the same hits."""
    if kernels is not None:
        automaton = kernels.Automaton(list(patterns))
        return automaton.find_leftmost_longest if leftmost_longest else automaton.find
    if leftmost_longest:
        return ahocorasick_rs.AhoCorasick(list(patterns), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest).find_matches_as_indexes
    find = ahocorasick_rs.AhoCorasick(list(patterns), matchkind=ahocorasick_rs.MatchKind.Standard).find_matches_as_indexes
    return partial(find, overlapping=True)


class AutomatonIndex:
    kind = "automaton"

    def __init__(self, patterns: Sequence[str]):
        # `native`: the C automaton, whose find_accepted and find_with_joined the scanner uses; None without the kernels.
        self.native = kernels.Automaton(list(patterns)) if kernels is not None else None
        self.find_all = self.native.find if self.native is not None else pattern_finder(patterns)

    def find(self, text: str, breaks: Optional[np.ndarray] = None) -> list[tuple[int, int, int]]:
        return self.find_all(text)

    def find_pair(self, text: str, joined: str, breaks: Optional[np.ndarray] = None):
        """`find` on a text and on its joined form (separators removed, see `HashedIndex.find_pair`)."""
        return self.find_all(text), self.find_all(joined)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i (mod 2**64) for i < n."""
    inverse = np.uint64(pow(int(_BASE), -1, 1 << 64))
    with np.errstate(over="ignore"):
        up = np.cumprod(np.full(n, _BASE, dtype=np.uint64))
        down = np.cumprod(np.full(n, inverse, dtype=np.uint64))
    up = np.concatenate(([np.uint64(1)], up[:-1]))
    down = np.concatenate(([np.uint64(1)], down[:-1]))
    return up, down


_UP, _DOWN = _powers(_POWERS)


def _latin_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per BMP code point (and U+10000 for everything above): whether it is a Latin letter or digit for the
    boundary rule (`normalize.is_latin_or_digit`), and whether a pattern starting or ending with it gets that
    rule (its script class is latin or digit). From U+2000 on both are False: there is no Latin letter or
    digit in that sense there (tests check it), and a False edge only means no window is left out."""
    word = np.zeros(0x10001, dtype=bool)
    edge = np.zeros(0x10001, dtype=bool)
    for o in range(0x2000):
        c = chr(o)
        word[o] = is_latin_or_digit(c)
        edge[o] = script_of(c) in ("latin", "digit")
    return word, edge


_WORD, _EDGE = _latin_tables()


def _codes(text: str) -> np.ndarray:
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.uint64)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def pattern_hashes(patterns: Sequence[str]) -> np.ndarray:
    """The hash of each pattern (none may be empty), as `HashedIndex.find` hashes a window of text."""
    lengths = np.fromiter((len(p) for p in patterns), dtype=np.int64, count=len(patterns))
    if not len(lengths):
        return np.zeros(0, dtype=np.uint64)
    if lengths.min() < 1:
        raise ValueError("empty pattern")
    codes = _codes("".join(patterns))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    within = np.arange(len(codes)) - np.repeat(starts, lengths)  # position of each code in its pattern
    longest = int(lengths.max())
    up = _UP if longest <= _POWERS else _powers(longest)[0]
    with np.errstate(over="ignore"):
        return np.add.reduceat(codes * up[within], starts)


def _prefix_table() -> np.ndarray:
    """Per BMP code point: the key length of patterns that start with it (see HashedIndex)."""
    table = np.full(0x10001, _KEY_LATIN, dtype=np.int64)  # U+10000 stands for every code point above the BMP
    for lo, hi in ((0x3040, 0x30FF), (0x31F0, 0x31FF)):
        table[lo : hi + 1] = _KEY_KANA
    for lo, hi in ((0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x3005, 0x3005), (0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F)):
        table[lo : hi + 1] = _KEY_HAN
    return table


# Key lengths: hanzi and hangul names are mostly two to four characters, kana names three to six, Latin ones
# longer; a pattern longer than its key length is found by its first characters and then compared whole.
_KEY_LATIN, _KEY_KANA, _KEY_HAN = 16, 6, 4
_PREFIX = _prefix_table()


def _key_lengths(codes: np.ndarray) -> np.ndarray:
    keys = _PREFIX[np.minimum(codes, 0x10000).astype(np.intp)]
    astral = codes > 0xFFFF
    if astral.any():
        keys[astral] = np.where((codes[astral] >= 0x20000) & (codes[astral] <= 0x2FFFF), _KEY_HAN, _KEY_LATIN)
    return keys


def _char_table(chars) -> np.ndarray:
    """A BMP lookup table, true for the given characters and for every character above U+FFFF."""
    table = np.zeros(0x10001, dtype=bool)
    table[0x10000] = True
    table[[min(ord(c), 0x10000) for c in chars]] = True
    return table


class HashedIndex:
    """Pattern hashes in a sorted array, looked up with the hashes of the text's windows.

    Each pattern is keyed by the hash of its first k characters, or of all of it if it is shorter, where k
    depends on the script of its first character (`_KEY_LATIN`, `_KEY_KANA`, `_KEY_HAN`). So a text window
    is hashed only at lengths up to k: a few per position however long the patterns are. A hit on a key is
    then compared with the text. Windows are left out where no pattern starts or ends with the character
    there, and where they start or end inside a Latin word. A byte table indexed by the low bits of the hash
    drops most windows before the binary search.
    """

    kind = "hashed"

    def __init__(self, keys: np.ndarray, ids: np.ndarray, filter: np.ndarray, first: np.ndarray, last: np.ndarray, patterns: Sequence[str]):
        self.keys = keys  # uint64, sorted
        self.ids = ids  # int32 pattern id of each key
        self.filter = filter  # bool: filter[h & _FILTER_MASK] for every key h
        self.first = first  # bool per BMP code point: a pattern starts with it (see _char_table)
        self.last = last  # bool per BMP code point: a pattern ends with it
        self.patterns = patterns

    @classmethod
    def build(cls, patterns: Sequence[str]) -> "HashedIndex":
        firsts = _codes("".join(p[:1] for p in patterns))
        if len(firsts) != len(patterns):
            raise ValueError("empty pattern")
        key_len = np.minimum(_key_lengths(firsts), np.fromiter(map(len, patterns), dtype=np.int64, count=len(patterns)))
        h = pattern_hashes([p[:k] for p, k in zip(patterns, key_len.tolist())])
        order = np.argsort(h, kind="stable")
        filter = np.zeros(_FILTER_MASK + 1, dtype=bool)
        filter[(h & np.uint64(_FILTER_MASK)).astype(np.intp)] = True
        first = _char_table({p[0] for p in patterns})
        last = _char_table({p[-1] for p in patterns})
        return cls(h[order], order.astype(np.int32), filter, first, last, patterns)

    def __reduce__(self):
        return (type(self), (self.keys, self.ids, self.filter, self.first, self.last, self.patterns))

    def find(self, text: str, breaks: Optional[np.ndarray] = None) -> list[tuple[int, int, int]]:
        """(pattern id, start, end) of the occurrences in `text`, except windows that start or end inside a
        Latin word. `breaks`: positions before which a separator was removed from `text` (see
        `normalize.separator_cuts`); a word is taken to end there."""
        return self._search(text, breaks) if text else []

    def find_pair(self, text: str, joined: str, breaks: Optional[np.ndarray] = None):
        """`find(text)` and `find(joined, breaks)` with one round of array operations: the two texts are
        searched as one, joined by a NUL that no pattern contains."""
        n = len(text)
        breaks = np.concatenate(([n + 1], breaks + (n + 1))) if breaks is not None else np.array([n + 1])
        hits = self._search(text + "\x00" + joined, breaks)
        return [h for h in hits if h[2] <= n], [(pid, s - n - 1, e - n - 1) for pid, s, e in hits if s > n]

    def _search(self, text: str, breaks: Optional[np.ndarray]) -> list[tuple[int, int, int]]:
        n = len(text)
        codes = _codes(text)
        bmp = np.minimum(codes, 0x10000).astype(np.intp)
        starts_ok, end_ok = _word_edges(bmp, breaks)
        end_ok[1:] &= self.last[bmp]
        starts = (starts_ok & self.first[bmp]).nonzero()[0]
        if not len(starts):
            return []
        # Windows: each start with each length up to its key length k. A window of length k may be the key of
        # a longer pattern, so it may end anywhere; a shorter one must end where a pattern can.
        at = bmp[starts]
        k = _PREFIX[at] if at.max() < 0x10000 else _key_lengths(codes[starts])
        width = np.minimum(k, n - starts)
        s = starts.repeat(width)
        group_k = k.repeat(width)
        length = np.arange(1, len(s) + 1) - (width.cumsum() - width).repeat(width)
        e = s + length
        full = length == group_k
        keep = (full | end_ok[e]).nonzero()[0]
        s, e, full = s[keep], e[keep], full[keep]
        up, down = (_UP[:n], _DOWN[:n]) if n <= _POWERS else _powers(n)
        with np.errstate(over="ignore"):
            prefix = np.zeros(n + 1, dtype=np.uint64)
            (codes * up).cumsum(out=prefix[1:])
            h = (prefix[e] - prefix[s]) * down[s]
        keep = self.filter[(h & _FILTER_MASK_U64).astype(np.intp)].nonzero()[0]
        if not len(keep):
            return []
        s, e, full, h = s[keep], e[keep], full[keep], h[keep]
        keys = self.keys
        lo = keys.searchsorted(h)
        found = (keys[np.minimum(lo, len(keys) - 1)] == h).nonzero()[0]
        if not len(found):
            return []
        hi = keys.searchsorted(h[found], side="right")
        out = []
        ids, patterns = self.ids, self.patterns
        for a, b, is_full, first, stop in zip(s[found].tolist(), e[found].tolist(), full[found].tolist(), lo[found].tolist(), hi.tolist()):
            for pid in ids[first:stop].tolist():
                p = patterns[pid]
                if len(p) == b - a:
                    if text[a:b] == p and (not is_full or end_ok[b]):
                        out.append((pid, a, b))
                elif is_full and len(p) > b - a and text.startswith(p, a) and end_ok[a + len(p)]:
                    out.append((pid, a, a + len(p)))
        out.sort(key=lambda hit: (hit[2], hit[1]))  # by end, as an automaton reports them
        return out


def _word_edges(bmp: np.ndarray, breaks: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per position 0..n-1, whether a window may start there, and per position 0..n whether one may end
    there, as far as Latin words go: not between two Latin letters or digits where the character on the
    window's side has the Latin boundary rule. `bmp`: the code points, capped at U+10000."""
    n = len(bmp)
    word = _WORD[bmp]
    edge = _EDGE[bmp]
    joined = np.zeros(n + 1, dtype=bool)
    joined[1:n] = word[1:] & word[:-1]
    if breaks is not None and len(breaks):
        joined[breaks[breaks <= n]] = False
    start_ok = ~(joined[:n] & edge)
    end_ok = np.ones(n + 1, dtype=bool)
    end_ok[1:n] = ~(joined[1:n] & edge[: n - 1])
    return start_ok, end_ok


def build_index(patterns: Sequence[str], kind: str = "auto"):
    """The exact index for `patterns`: "automaton", "hashed", or "auto" (by size, see AUTOMATON_LIMIT)."""
    if kind == "auto":
        kind = "automaton" if len(patterns) <= AUTOMATON_LIMIT else "hashed"
    if kind == "automaton":
        return AutomatonIndex(patterns)
    if kind == "hashed":
        return HashedIndex.build(patterns)
    raise ValueError(f"unknown exact index kind {kind!r}: expected auto, automaton or hashed")
