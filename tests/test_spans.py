"""guard.spans: the span sets say what a loop over the spans says."""
from __future__ import annotations

import random

from guard.spans import DisjointSpans, SpanIndex


def test_span_index_overlaps_and_contains_as_the_plain_rule():
    rnd = random.Random(3)
    for _ in range(300):
        spans = []
        for _ in range(rnd.randrange(0, 30)):
            a = rnd.randrange(100)
            spans.append((a, a + rnd.randrange(1, 15)))
        index = SpanIndex(spans)
        for _ in range(30):
            s = rnd.randrange(110)
            e = s + rnd.randrange(1, 12)
            assert index.overlaps(s, e) == any(a < e and s < b for a, b in spans)
            assert index.contains(s, e) == any(a <= s and e <= b for a, b in spans)


def test_disjoint_spans_as_the_plain_rule():
    rnd = random.Random(4)
    for _ in range(200):
        taken, plain = DisjointSpans(120), []
        for _ in range(40):
            s = rnd.randrange(110)
            e = s + rnd.randrange(1, 10)
            free = not any(a < e and s < b for a, b in plain)
            assert taken.overlaps(s, e) is not free
            if free:
                taken.add(s, e)
                plain.append((s, e))
