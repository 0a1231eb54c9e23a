"""Errors that name what is wrong and where."""
from __future__ import annotations

from typing import Optional


class GuardError(Exception):
    """Base class for character-guard errors."""


class FileFormatError(GuardError, ValueError):
    """A lexicon, policy or config file that cannot be used. Names the file, the line and the field."""

    def __init__(self, path: str, message: str, *, line: Optional[int] = None, field: Optional[str] = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path + (f":{line}" if line else "")
        what = f"{field}: " if field else ""
        super().__init__(f"{where}: {what}{message}")


class LexiconError(FileFormatError):
    """A malformed lexicon file."""


class PolicyError(FileFormatError):
    """A malformed policy file."""
