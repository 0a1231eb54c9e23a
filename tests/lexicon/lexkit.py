"""Helpers for the lexicon-maintenance tests."""
from __future__ import annotations

from pathlib import Path

TOY = """\
# Toyverse lexicon for the tests.
# This header comment must survive every edit.
version: 1
franchise:
  id: toyverse
  name: Toyverse
  rightsholder: Toy Company
  names:
    en: [Toyverse]
    ja: [トイバース]
  cues: [Toy Box Tower]
characters:
  # The mascot comes first.
  - id: toyverse/sparky
    names:
      en: [Sparkleton]  # a comment on a name line
      ja: [スパークルトン]
      zh-Hans: [闪光顿]
      ko: [스파클턴]
    examples:
      should_match:
        - Sparkleton waving at the crowd
      should_not_match:
        - a glass of sparkling wine
  - id: toyverse/amber
    names:
      en: [Amber]
      ja: [アンバー]
      zh-Hans: [安柏]
      ko: [엠버]
    ambiguous: [Amber]
    examples:
      should_match:
        - Amber from Toyverse
      should_not_match:
        - an amber necklace
  - id: toyverse/blocky
    names:
      en: [Blockhead Bobbington]
      ja: [ブロックボビントン]
      zh-Hans: [方块波比]
      ko: [블록보빙턴]
"""


def write(dir_: Path, name: str, text: str) -> Path:
    p = dir_ / name
    p.write_text(text, encoding="utf-8")
    return p
