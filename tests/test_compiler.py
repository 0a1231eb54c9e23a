"""The compiler's pattern builder: which normalized forms a lexicon name is compiled into."""
from __future__ import annotations

from guard.compiler import NAME, Entry, _Builder
from guard.normalize import default_normalizer


def _patterns(surface: str) -> set[str]:
    b = _Builder(default_normalizer())
    entry = Entry(NAME, 0, "f", surface, "ru", "lexicon name", None)
    b.add(b.norm(surface), entry, surface=surface)
    return set(b.by_pattern), b.multipart


def test_a_name_in_parts_is_also_compiled_joined():
    patterns, multipart = _patterns("Hu Tao")
    assert patterns == {"hu tao", "hutao"} and multipart == {"hutao"}


def test_the_surface_joined_is_a_form_of_its_own_when_a_part_folds_alone():
    # Alone, "Гуан" is all Latin look-alikes and folds to Latin; in the joined word it is Cyrillic.
    patterns, multipart = _patterns("Нин Гуан")
    b = _Builder(default_normalizer())
    assert b.norm("Гуан").isascii()
    assert b.norm("НинГуан") in patterns and b.norm("НинГуан") in multipart


def test_digits_are_not_joined_from_the_surface():
    # "porygon 2" joined and normalized would read the 2 as leetspeak.
    patterns, _ = _patterns("Porygon 2")
    b = _Builder(default_normalizer())
    assert patterns == {b.norm("Porygon 2"), b.norm("Porygon 2").replace(" ", "")}
