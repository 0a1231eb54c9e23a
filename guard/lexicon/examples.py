"""Lexicon examples that run as tests (`examples.should_match` / `should_not_match` on a character record).

- a `should_match` prompt passes when the scanner reports the character in it (a confirmed match);
- a `should_not_match` prompt passes when it does not (an ambiguous name without context, reported only as an
  unconfirmed candidate, counts as not matched).

Examples run against the lexicons they were loaded with, compiled as the scanner uses them. The test suite
runs every example of every bundled lexicon (tests/lexicon/test_examples.py); `guard lexicon test` runs them
from the command line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from guard.lexicon.loader import LoadedLexicon
from guard.matcher import Scanner
from guard.models import Match

SHOULD_MATCH, SHOULD_NOT_MATCH = "should_match", "should_not_match"


@dataclass(frozen=True)
class Example:
    path: Path
    character_id: str
    kind: str  # should_match | should_not_match
    index: int
    prompt: str

    @property
    def id(self) -> str:
        return f"{self.character_id}:{self.kind}:{self.index}"


@dataclass
class ExampleResult:
    example: Example
    passed: bool
    matches: list[Match]

    def describe(self) -> str:
        ex = self.example
        found = [m for m in self.matches if m.confirmed]
        got = ", ".join(f"{m.character_id} {m.surface!r} ({m.method})" for m in found) or "nothing"
        cand = [m for m in self.matches if not m.confirmed and m.character_id == ex.character_id]
        extra = f"; unconfirmed: {'; '.join(cand[0].evidence)}" if cand else ""
        verdict = "ok" if self.passed else "FAIL"
        return f"{verdict:4s} {ex.id}  {ex.prompt!r} -> {got}{extra}"


def collect(loaded: LoadedLexicon) -> list[Example]:
    out: list[Example] = []
    for path, lex in loaded.files:
        for c in lex.characters:
            if c.examples is None:
                continue
            for i, prompt in enumerate(c.examples.should_match):
                out.append(Example(path, c.id, SHOULD_MATCH, i, prompt))
            for i, prompt in enumerate(c.examples.should_not_match):
                out.append(Example(path, c.id, SHOULD_NOT_MATCH, i, prompt))
    return out


def run(scanner: Scanner, example: Example) -> ExampleResult:
    matches = scanner.scan(example.prompt, include_candidates=True)
    hit = any(m.confirmed and m.character_id == example.character_id for m in matches)
    passed = hit if example.kind == SHOULD_MATCH else not hit
    return ExampleResult(example, passed, matches)


def run_all(scanner: Scanner, loaded: LoadedLexicon, character: Optional[str] = None) -> list[ExampleResult]:
    return [run(scanner, ex) for ex in collect(loaded) if character is None or ex.character_id == character]


def to_json(results: list[ExampleResult]) -> str:
    return json.dumps(
        [
            {
                "character_id": r.example.character_id, "kind": r.example.kind, "index": r.example.index,
                "prompt": r.example.prompt, "path": str(r.example.path), "passed": r.passed,
                "matches": [m.to_dict() for m in r.matches],
            }
            for r in results
        ],
        ensure_ascii=False, indent=2,
    )
