"""Sets of (start, end) spans for overlap and containment tests on long prompts, where testing every span
against every other would take time in the square of their number."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Iterable


class SpanIndex:
    """Fixed spans, possibly overlapping, for tests in logarithmic time: sorted by start, with the greatest end
    among the spans up to each position."""

    __slots__ = ("starts", "max_ends")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [a for a, _ in ordered]
        self.max_ends = list(accumulate((b for _, b in ordered), max))

    def overlaps(self, s: int, e: int) -> bool:
        """Whether [s, e) overlaps a span."""
        i = bisect_left(self.starts, e)  # the spans that start before e
        return i > 0 and self.max_ends[i - 1] > s

    def contains(self, s: int, e: int) -> bool:
        """Whether one span holds all of [s, e)."""
        i = bisect_right(self.starts, s)  # the spans that start at or before s; one of them must reach e
        return i > 0 and self.max_ends[i - 1] >= e


class DisjointSpans:
    """Disjoint spans that grow, as a bitmap of the positions they cover: whether a new span overlaps one is a
    search of its own positions at C speed, however many spans there are. (Sorted lists took time in the square
    of their number when long and short spans came in turn: `Mew Mewtwo` repeated.)"""

    __slots__ = ("covered",)

    def __init__(self, size: int) -> None:
        self.covered = bytearray(size)

    def overlaps(self, s: int, e: int) -> bool:
        return self.covered.find(1, s, e) >= 0

    def add(self, s: int, e: int) -> None:
        """Add a span that overlaps none of them."""
        self.covered[s:e] = b"\x01" * (e - s)
