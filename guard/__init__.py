"""character-guard: find copyrighted characters in generation prompts and decide what to do about them.

    >>> from guard import Guard
    >>> g = Guard.default()
    >>> [m.character_id for m in g.scan("Pikachu surfing at sunset")]
    ['pokemon/pikachu']
"""
from __future__ import annotations

from typing import Optional, Union

from guard.engine import Guard, default_guard
from guard.errors import FileFormatError, GuardError, LexiconError, PolicyError
from guard.models import CheckContext, Decision, Match

__all__ = [
    "Guard",
    "Match",
    "Decision",
    "CheckContext",
    "check",
    "scan",
    "GuardError",
    "FileFormatError",
    "LexiconError",
    "PolicyError",
]
__version__ = "0.1.0"


def scan(text: str) -> list[Match]:
    """Scan with the default Guard (bundled lexicons)."""
    return default_guard().scan(text)


def check(prompt: str, context: Union[CheckContext, dict, None] = None) -> Decision:
    """Check with the default Guard (bundled lexicons and example policies)."""
    return default_guard().check(prompt, context)
