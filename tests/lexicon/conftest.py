"""Fixtures for the lexicon-maintenance tests: a small lexicon with comments to edit, and the CLI runner.

Lexicons written here are compiled into the per-session cache (`session_cache` from tests/conftest.py), never
the user's: `toy_dir` points GUARD_CACHE_DIR there. The bundled lexicons use the normal cache, as `Guard.default()`
does in tests/conftest.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from .lexkit import TOY


@pytest.fixture
def toy_dir(tmp_path: Path, cache_env: Path) -> Path:
    d = tmp_path / "lexicons"
    d.mkdir()
    (d / "toyverse.yaml").write_text(TOY, encoding="utf-8")
    return d


@pytest.fixture
def toy_file(toy_dir: Path) -> Path:
    return toy_dir / "toyverse.yaml"


@pytest.fixture
def cache_env(monkeypatch, session_cache: Path) -> Path:
    """Compile test lexicons into the session's own cache directory."""
    monkeypatch.setenv("GUARD_CACHE_DIR", str(session_cache))
    return session_cache


@pytest.fixture
def cli():
    from guard.cli import main

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke
