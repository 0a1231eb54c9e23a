"""Fixtures for the policy tests (helpers live in helpers.py)."""
from __future__ import annotations

import textwrap
from typing import Callable

import pytest

from guard.policy import PolicyEngine

from .helpers import PIKACHU, TEST_POLICY, write


@pytest.fixture(scope="session")
def examples() -> PolicyEngine:
    return PolicyEngine.default()


@pytest.fixture
def engine_from(tmp_path) -> Callable[..., PolicyEngine]:
    """engine_from(extra, characters="", others=(), **kw): TEST_POLICY plus `extra` (top-level YAML such as
    default/always/franchises), plus `characters` entries (indented two spaces) after Pikachu's descriptor;
    `others` are more policy files."""
    counter = {"n": 0}

    def build(extra: str = "", *, characters: str = "", others: tuple[str, ...] = (), **kwargs) -> PolicyEngine:
        counter["n"] += 1
        body = textwrap.indent(textwrap.dedent(characters).strip("\n"), "  ") + "\n" if characters else ""
        text = TEST_POLICY + textwrap.dedent(extra) + PIKACHU + body
        paths = [write(tmp_path, f"tpc{counter['n']}.yaml", text)]
        for i, other in enumerate(others):
            paths.append(write(tmp_path, f"other{counter['n']}_{i}.yaml", other))
        return PolicyEngine.from_paths(paths, **kwargs)

    return build


@pytest.fixture(scope="session")
def real_guard():
    """The bundled lexicons and example policies through the real Guard (built once: it takes a while)."""
    engine = pytest.importorskip("guard.engine")
    return engine.Guard.default()


@pytest.fixture
def guard_with(real_guard):
    """guard_with(policy paths, unknown_action=...): the real scanner with other policies, without recompiling."""
    from guard.engine import Guard

    def build(paths, **kwargs):
        return Guard(real_guard.compiled, PolicyEngine.from_paths(paths, **kwargs))

    return build
