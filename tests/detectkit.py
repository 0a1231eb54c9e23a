"""Helpers shared by the detection-core tests."""
from __future__ import annotations


def ids(matches) -> list[str]:
    """Sorted unique character ids of the confirmed matches."""
    return sorted({m.character_id for m in matches if m.confirmed})


def assert_offsets(text: str, matches) -> None:
    """Every match's offsets index the original text and slice it to the reported surface."""
    for m in matches:
        assert 0 <= m.start < m.end <= len(text), m
        assert text[m.start : m.end] == m.surface, (text, m)


def match_for(matches, character_id: str):
    found = [m for m in matches if m.character_id == character_id]
    assert found, f"{character_id} not among {[(m.character_id, m.surface) for m in matches]}"
    return found[0]
