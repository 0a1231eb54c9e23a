"""Column storage for the compiled lexicon: millions of strings and entries without millions of objects.

A compiled lexicon of a million aliases holds about two million patterns. As Python lists of strings and tuples
they take over a gigabyte and many seconds to unpickle; here each column is one string or one machine array,
which pickles as a block of bytes and loads at disk speed. Rows become Python objects only when read.
"""
from __future__ import annotations

import operator
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Mapping, Sequence, Set
from itertools import accumulate
from typing import Callable, Iterable, Iterator, Optional


class StringColumn(Sequence):
    """A read-only sequence of strings kept as one joined string and the end offset of each."""

    __slots__ = ("_blob", "_ends")

    def __init__(self, blob: str, ends: array):
        self._blob = blob
        self._ends = ends

    @classmethod
    def of(cls, strings: Iterable[str]) -> "StringColumn":
        strings = list(strings)
        blob = "".join(strings)
        return cls(blob, _narrowest(accumulate(map(len, strings)), len(blob)))

    def __len__(self) -> int:
        return len(self._ends)

    def longest(self) -> int:
        """The length of the longest string (0 when there is none)."""
        if not self._ends:
            return 0
        import numpy as np

        ends = np.asarray(self._ends, dtype=np.int64)
        return int(np.diff(ends, prepend=0).max())

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self._ends)
        return self.at(i)

    def at(self, i: int) -> str:
        """String `i`, for 0 <= i < len(self), without the checks of indexing (for searches that stay in range)."""
        ends = self._ends
        return self._blob[ends[i - 1] if i else 0 : ends[i]]  # raises IndexError past the end

    def __iter__(self) -> Iterator[str]:
        blob, start = self._blob, 0
        for end in self._ends:
            yield blob[start:end]
            start = end

    def __eq__(self, other) -> bool:
        if isinstance(other, StringColumn):
            return self._blob == other._blob and self._ends == other._ends
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"StringColumn({len(self)} strings)"

    def __reduce__(self):
        return (type(self), (self._blob, self._ends))


class _Groups(dict):
    """A RowTable's groups read so far, by index. A missing one is read by `__missing__` and kept, up to the
    table's MEMO_LIMIT groups (then the dict starts again), so a prompt's repeated lookups cost a dict lookup.
    It refers to its table weakly, so that a table dropped on a reload is freed at once (the table holds it)."""

    __slots__ = ("_table",)

    def __init__(self, table: "RowTable"):
        super().__init__()
        self._table = weakref.ref(table)

    def __missing__(self, g):
        table = self._table()
        if table is None:
            raise ReferenceError("the RowTable of these groups no longer exists")
        i = operator.index(g)  # any integer (numpy's too); a TypeError for others
        if i < 0:
            i += len(table)
        got = dict.get(self, i)  # t[-1] is t[len(t) - 1]
        if got is None:
            got = table._read(i)
            if len(self) >= table.MEMO_LIMIT:
                self.clear()
            self[i] = got
        return got


class RowTable(Sequence):
    """Groups of rows, one group per key (a pattern), built into tuples of objects on demand.

    A field is either an integer column or a string column stored as codes into a table of its distinct
    values, so a value repeated on a million rows (a franchise id, a language, a note) is stored once. `make`
    turns the field values of a row into its object. Groups read on the hot path are remembered, up to
    `MEMO_LIMIT` of them.
    """

    MEMO_LIMIT = 1 << 16

    def __init__(self, starts: array, fields: tuple[array, ...], values: tuple[Optional[StringColumn], ...], make: Callable):
        self._starts = starts  # group g is rows starts[g]:starts[g + 1]
        self._fields = fields
        self._values = values  # per field: its distinct values (code 0 is None), or None for an integer field
        self._make = make
        self._memo = _Groups(self)

    @property
    def groups(self) -> "_Groups":
        """The groups by index, as a dict that reads a group on first use: for the hot path, where a lookup of a
        group read before is one dict lookup, without a Python call."""
        return self._memo

    @classmethod
    def build(cls, groups: Iterable[Iterable[tuple]], make: Callable, *, ints: tuple[int, ...] = ()) -> "RowTable":
        """`groups`: for each key, its rows as tuples of field values. Fields whose position is in `ints` are
        integers; the others must be str or None."""
        indexes: list[dict] = []
        columns: list[list[int]] = []
        starts = [0]
        for rows in groups:
            for row in rows:
                if not columns:
                    columns = [[] for _ in row]
                    indexes = [{None: 0} for _ in row]
                for f, v in enumerate(row):
                    if f in ints:
                        columns[f].append(v)
                    else:
                        index = indexes[f]
                        code = index.get(v)
                        if code is None:
                            code = index[v] = len(index)
                        columns[f].append(code)
            starts.append(len(columns[0]) if columns else 0)
        fields = tuple(_signed(col) if f in ints else _narrowest(col, len(indexes[f])) for f, col in enumerate(columns))
        values = tuple(None if f in ints else StringColumn.of(["", *list(indexes[f])[1:]]) for f in range(len(columns)))
        return cls(_narrowest(starts, starts[-1]), fields, values, make)

    def _row(self, r: int):
        args = []
        for col, values in zip(self._fields, self._values):
            v = col[r]
            args.append(v if values is None else None if v == 0 else values[v])
        return self._make(*args)

    def _group(self, g: int) -> tuple:
        return tuple(self._row(r) for r in range(self._starts[g], self._starts[g + 1]))

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _slice(self, g: slice) -> list:
        # Apart from __getitem__: a comprehension there would make `self` a closure cell on every lookup.
        return [self[i] for i in range(*g.indices(len(self)))]

    def __getitem__(self, g):
        if isinstance(g, slice):
            return self._slice(g)
        return self._memo[g]

    def _read(self, g: int) -> tuple:
        """Group g, checked and read."""
        if not 0 <= g < len(self):
            raise IndexError("row group index out of range")
        return self._group(g)

    def __iter__(self) -> Iterator[tuple]:
        # Whole-table reads (lint, discover) do not go through the memo: they would only flush it.
        for g in range(len(self)):
            yield self._group(g)

    def __repr__(self) -> str:
        return f"RowTable({len(self)} groups)"

    def __reduce__(self):
        return (type(self), (self._starts, self._fields, self._values, self._make))


class Records(Sequence):
    """A read-only sequence of records (such as CharacterInfo), kept as a RowTable of one row per record: at a
    million aliases the 124k character records load as a few arrays rather than as 124k objects (0.15 s)."""

    __slots__ = ("_table", "_groups")

    def __init__(self, table: RowTable):
        self._table = table
        self._groups = table.groups

    @classmethod
    def of(cls, rows: Iterable[tuple], make: Callable) -> "Records":
        """`rows`: the field values of each record (str or None), in the order `make` takes them."""
        return cls(RowTable.build(([row] for row in rows), make))

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._groups[i][0]

    def __iter__(self) -> Iterator:
        for group in self._table:
            yield group[0]

    def __repr__(self) -> str:
        return f"Records({len(self)} records)"

    def __reduce__(self):
        return (type(self), (self._table,))


class WordSet(Set):
    """A read-only set of words kept as one sorted StringColumn. Membership is a binary search (about 3 µs): first
    over every `STRIDE`-th word, a list searched at C speed, then within that word's block. For tools and rare
    paths, as the scanner's hot lookups go through the C kernels' KnownWords. It loads from the compiled cache as
    one string and one array, where a frozenset of the 179k vocabulary words is 179k objects to build (40 ms);
    the list of block starts (6k words) takes about 2 ms."""

    __slots__ = ("_words", "_firsts")

    STRIDE = 32

    def __init__(self, words: StringColumn):
        self._words = words
        self._firsts = [words.at(i) for i in range(0, len(words), self.STRIDE)]

    @classmethod
    def of(cls, words: Iterable[str]) -> "WordSet":
        return cls(StringColumn.of(sorted(set(words))))

    @classmethod
    def _from_iterable(cls, it) -> frozenset:  # what the set operators (&, |, -) return
        return frozenset(it)

    def _index(self, word) -> int:
        """The index of `word` in the sorted column, or -1."""
        if not isinstance(word, str):
            return -1
        block = bisect_right(self._firsts, word) - 1
        if block < 0:
            return -1
        at = self._words.at
        lo = block * self.STRIDE
        hi = min(lo + self.STRIDE, len(self._words))
        while lo < hi:  # the first index whose word is not below `word`
            mid = (lo + hi) >> 1
            if at(mid) < word:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self._words) and at(lo) == word else -1

    def __contains__(self, word) -> bool:
        return self._index(word) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} words)"

    def __reduce__(self):
        return (type(self), (self._words,))


class WordScores(Mapping):
    """A read-only mapping of words to small integers (0 to 255), kept as a sorted StringColumn and one byte per
    word: the 266k everyday words and their zipf frequencies load as one string and two arrays. Lookups are
    binary searches, as in WordSet."""

    __slots__ = ("_words", "_values")

    def __init__(self, words: StringColumn, values: bytes):
        self._words = WordSet(words)
        self._values = values

    @classmethod
    def of(cls, scores: Mapping[str, int]) -> "WordScores":
        words = sorted(scores)
        return cls(StringColumn.of(words), bytes(scores[w] for w in words))  # a ValueError beyond 0-255

    def __getitem__(self, word) -> int:
        i = self._words._index(word)
        if i < 0:
            raise KeyError(word)
        return self._values[i]

    def __contains__(self, word) -> bool:
        return word in self._words

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __repr__(self) -> str:
        return f"WordScores({len(self)} words)"

    def __reduce__(self):
        return (type(self), (self._words._words, self._values))


def _signed(values: list[int]) -> array:
    try:
        return array("i", values)
    except OverflowError:
        return array("q", values)


def _narrowest(values: Iterable[int], bound: int) -> array:
    """Non-negative integers up to `bound` in the smallest unsigned machine array that holds them."""
    for code in "BHIQ":
        if bound < 1 << (8 * array(code).itemsize):
            return array(code, values)
    raise OverflowError(bound)


class CodedColumn(Sequence):
    """A read-only sequence over few distinct values: each position holds the index of its value."""

    __slots__ = ("values", "codes")

    def __init__(self, values: list, codes: array):
        self.values = values
        self.codes = codes

    @classmethod
    def of(cls, values: list, codes: Iterable[int]) -> "CodedColumn":
        return cls(list(values), _narrowest(codes, len(values)))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.values[c] for c in self.codes[i]]
        return self.values[self.codes[i]]

    def __iter__(self) -> Iterator:
        values = self.values
        return (values[c] for c in self.codes)

    def __repr__(self) -> str:
        return f"CodedColumn({len(self)} positions, {len(self.values)} values)"

    def __reduce__(self):
        return (type(self), (self.values, self.codes))
