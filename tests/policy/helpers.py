"""Helpers for the policy tests: hand-built matches, a fake scanner for rescans, and a small test policy set.

Most tests run the PolicyEngine on hand-built `Match` objects, so they test the policy logic alone and do not
depend on the detection core. `test_e2e.py` goes through `Guard.check`.
"""
from __future__ import annotations

import re
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from guard.models import CheckContext, Match

TPC = "The Pokémon Company"
HYV = "HoYoverse"
SIE = "Sony Interactive Entertainment"

# character id -> (franchise, rightsholder, names)
CHARACTERS: dict[str, tuple[str, Optional[str], tuple[str, ...]]] = {
    "pokemon/pikachu": ("pokemon", TPC, ("Pikachu", "ピカチュウ", "皮卡丘", "피카츄")),
    "pokemon/eevee": ("pokemon", TPC, ("Eevee", "イーブイ", "伊布", "이브이", "Évoli", "Evoli")),
    "pokemon/mewtwo": ("pokemon", TPC, ("Mewtwo", "ミュウツー", "超梦")),
    "pokemon/mew": ("pokemon", TPC, ("Mew",)),
    "pokemon/charizard": ("pokemon", TPC, ("Charizard", "リザードン", "喷火龙", "噴火龍", "리자몽")),
    "genshin_impact/raidenshogun": ("genshin_impact", HYV, ("Raiden Shogun", "雷電将軍", "雷电将军", "雷電將軍", "라이덴 쇼군")),
    "genshin_impact/klee": ("genshin_impact", HYV, ("Klee", "クレー", "可莉")),
    "genshin_impact/nahida": ("genshin_impact", HYV, ("Nahida", "ナヒーダ")),
    "genshin_impact/hutao": ("genshin_impact", HYV, ("Hu Tao", "胡桃")),
    "genshin_impact/aloy": ("horizon", SIE, ("Aloy", "アーロイ")),
    "indie/mascot": ("indie", None, ("Blobby",)),
    "otherco/hero": ("otherco", "Other Co", ("Zorblax",)),
}


def mk(prompt: str, surface: str, character_id: str, *, occurrence: int = 0, lang: str = "",
       method: str = "exact", confirmed: bool = True, alias: Optional[str] = None) -> Match:
    """A Match for the `occurrence`-th `surface` in `prompt`."""
    start = -1
    for _ in range(occurrence + 1):
        start = prompt.index(surface, start + 1)
    franchise, holder, names = CHARACTERS[character_id]
    return Match(character_id=character_id, franchise=franchise, rightsholder=holder, start=start,
                 end=start + len(surface), surface=surface, alias=alias or surface, method=method, score=1.0,
                 normalized=surface.casefold(), lang=lang, confirmed=confirmed)


def fake_scan(text: str) -> list[Match]:
    """A tiny exact scanner over CHARACTERS' names, enough to re-check rewritten prompts."""
    found: list[Match] = []
    taken: list[tuple[int, int]] = []
    names = sorted(((n, cid) for cid, (_, _, ns) in CHARACTERS.items() for n in ns), key=lambda x: -len(x[0]))
    for name, cid in names:
        for m in re.finditer(re.escape(name), text):
            s, e = m.span()
            if name.isascii():
                if (s > 0 and text[s - 1].isalnum()) or (e < len(text) and text[e].isalnum() and text[e] != "s"):
                    continue
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            franchise, holder, _ = CHARACTERS[cid]
            found.append(Match(cid, franchise, holder, s, e, text[s:e], name, "exact", 1.0, name.casefold()))
    return sorted(found, key=lambda m: m.start)


def ctx(**kw) -> CheckContext:
    kw.setdefault("at", datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc))
    return CheckContext(**kw)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


# A small policy used by the condition tests; independent of the bundled examples.
TEST_POLICY = """
kind: policy
id: tpc-test
rightsholder: The Pokémon Company
opted_in: true
licences:
  L-COM: {share_rate: 0.15, start: 2025-01-01, end: 2026-12-31}
  L-PREMIUM: {share_rate: 0.3}
  L-OLD: {share_rate: 0.5, start: 2020-01-01, end: 2020-12-31}
generic:
  en: a cute creature
  ja: かわいい生き物
"""

PIKACHU = """
characters:
  pokemon/pikachu:
    descriptor:
      en: {text: a small yellow electric mouse, plural: small yellow electric mice}
      ja: 黄色い電気ネズミ
      zh-Hans: 黄色的电气小鼠
      ko: 노란 전기 쥐
      fr: une petite souris électrique jaune
"""
