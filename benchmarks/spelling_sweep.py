"""Every character's name, spelled one way each, in the dev set's sentence templates: how many the scan finds.

The synthetic eval (benchmarks/synthetic_eval.py) samples characters; this sweep takes every one in the shared
data, so a rule that fails for a kind of name (three letters, hyphenated, an everyday word) shows as a list. Kinds:

- leet: one to three letters as digits (a→4, e→3, o→0, i→1, s→5, t→7, l→1, b→8, g→9);
- space: every letter apart (R a i c h u);
- invisible: a zero-width character or a soft hyphen inside the name;
- typo: one deletion, insertion, substitution or swap of neighbours inside the name (five letters or more).

    python -m benchmarks.spelling_sweep [--kinds leet,space,invisible,typo] [--seed 1] [--misses 40] [--limit N]

Only the English name of each character is spelled (the dev set's obfuscations are of English names). A case counts
as found when the character is among the scan's matches; "extra" counts cases where something else was found too.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "characters"
KINDS = ("leet", "space", "invisible", "typo")
LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "5", "t": "7", "l": "1", "b": "8", "g": "9"}
INVISIBLE = ("\u200b", "\u200c", "\u2060", "\u00ad")
TEMPLATES = (
    "A cinematic trailer where {} walks out of the fog",
    "{} playing the violin on a rooftop at night",
    "Aerial shot of {} crossing a desert at noon",
    "{} cooking ramen in a tiny apartment, cozy lo-fi",
)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def spell(name: str, kind: str, rng: random.Random) -> Optional[str]:
    """`name` spelled the `kind` way, or None where that kind does not apply to it."""
    if kind == "leet":
        places = [i for i, c in enumerate(name) if c.lower() in LEET]
        if not places:
            return None
        picked = set(rng.sample(places, rng.randint(1, min(3, len(places)))))
        return "".join(LEET[c.lower()] if i in picked else c for i, c in enumerate(name))
    if kind == "space":
        return " ".join(name)
    if kind == "invisible":
        i = rng.randint(1, len(name) - 1)
        return name[:i] + rng.choice(INVISIBLE) + name[i:]
    if kind == "typo":
        if len(name) < 5:
            return None
        i = rng.randint(1, len(name) - 2)
        op = rng.choice(("delete", "insert", "substitute", "swap"))
        if op == "delete":
            out = name[:i] + name[i + 1 :]
        elif op == "insert":
            out = name[:i] + rng.choice(LETTERS) + name[i:]
        elif op == "substitute":
            out = name[:i] + rng.choice(LETTERS) + name[i + 1 :]
        else:
            out = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        return None if out.lower() == name.lower() else out
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def characters(data: Path = DATA) -> list[tuple[str, str]]:
    """(character id, English name) of every character in the shared data."""
    out = []
    for path in sorted(data.glob("*.jsonl")):
        if path.name == "ambiguous_names.jsonl":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                names = record.get("names", {}).get("en") or []
                if names:
                    out.append((record["id"], names[0]))
    return out


def sweep(guard, chars: Iterable[tuple[str, str]], kinds: Iterable[str], seed: int = 1) -> dict:
    """Per kind: cases, misses (kind, spelling, name, what was found), and cases with something extra found."""
    rng = random.Random(seed)
    result: dict[str, dict] = {}
    for kind in kinds:
        cases = extra = 0
        misses = []
        for cid, name in chars:
            form = spell(name, kind, rng)
            if form is None:
                continue
            found = {m.character_id for m in guard.scan(rng.choice(TEMPLATES).format(form))}
            cases += 1
            if cid not in found:
                misses.append({"spelling": form, "name": name, "found": sorted(found)})
            elif len(found) > 1:
                extra += 1
        result[kind] = {"cases": cases, "misses": misses, "extra": extra,
                        "recall": round(1 - len(misses) / cases, 4) if cases else None}
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--misses", type=int, default=40, help="misses to print per kind")
    parser.add_argument("--limit", type=int, default=None, help="only the first N characters")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; expected {', '.join(KINDS)}")
    from guard import Guard

    chars = characters(args.data)[: args.limit]
    result = sweep(Guard.default(), chars, kinds, args.seed)
    for kind, r in result.items():
        print(f"{kind:10s} cases={r['cases']} recall={r['recall']} extra={r['extra']}")
        for miss in r["misses"][: args.misses]:
            print(f"    {miss['spelling']!r} ({miss['name']}): found {', '.join(miss['found']) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
