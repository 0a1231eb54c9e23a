"""Shared fixtures for the detection-core tests.

`guard` is one `Guard.default()` per test session: compiling the bundled lexicons takes seconds (the result is
cached on disk under GUARD_CACHE_DIR or ~/.cache/character-guard, so later sessions only load it).
Lexicons the tests write themselves are compiled into a per-session cache directory, never the user's.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_CHARACTERS = SHARED / "data" / "characters"

MINI_LEXICON = """\
# A tiny lexicon of made-up characters, for tests that replace the bundled lexicons.
version: 1
franchise:
  id: testverse
  name: Testverse
  rightsholder: Test Rights Ltd
  names:
    en: [Testverse, Test Universe]
    ja: [テストバース]
  cues: [Zorb Tower]
characters:
  - id: testverse/zorblax
    names:
      en: [Zorblax]
      ja: [ゾーブラックス]
  - id: testverse/quintara
    names:
      en: [Quintara Velmont]
    aliases: [Quinny, {text: Q-Tara, lang: en}]
  - id: testverse/amber
    names:
      en: [Amber]
  - id: testverse/razorback
    rightsholder: Other Rights GmbH
    names:
      en: [Razor]
    not_ambiguous: [Razor]
  - id: testverse/pebble
    names:
      en: [Pebblewick]
    ambiguous: [Pebblewick]
    cues: [skipping stones]
"""


@pytest.fixture(scope="session")
def guard():
    """The bundled-lexicon Guard, built once for the whole session."""
    from guard import Guard

    return Guard.default()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """A compiled-lexicon cache for lexicons the tests write (keeps them out of the user's cache)."""
    return tmp_path_factory.mktemp("guard-cache")


@pytest.fixture(scope="session")
def mini_lexicon_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mini-lexicon")
    (d / "testverse.yaml").write_text(MINI_LEXICON, encoding="utf-8")
    return d


@pytest.fixture(scope="session")
def mini_guard(mini_lexicon_dir, session_cache):
    """A Guard over the mini lexicon only (compiled once per session into `session_cache`)."""
    from guard import Guard

    return Guard.from_paths([mini_lexicon_dir / "testverse.yaml"], cache_dir=session_cache)


@pytest.fixture(scope="session")
def shared_characters() -> Path:
    if not SHARED_CHARACTERS.is_dir():
        pytest.skip(f"shared data not found at {SHARED_CHARACTERS}")
    return SHARED_CHARACTERS


@pytest.fixture
def subprocess_env(session_cache) -> dict:
    """Environment for `guard` subprocesses: UTF-8 I/O."""
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("PYTHONUTF8", "1")
    return env


@pytest.fixture
def ledger(tmp_path):
    """A real SQLite ledger in a temporary folder, closed afterwards (the middleware and service wiring tests)."""
    from guard.ledger import Ledger

    led = Ledger.open(tmp_path / "ledger.sqlite3")
    yield led
    led.close()

