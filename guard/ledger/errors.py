"""Ledger errors."""
from __future__ import annotations

from guard.errors import GuardError


class LedgerError(GuardError):
    """A ledger that cannot be opened, read or written."""


class LedgerClosedError(LedgerError):
    """`record()` or `flush()` on a ledger that has been closed."""


class LedgerWriteError(LedgerError):
    """A durable `record()` whose record was not committed (the write failed or did not finish in time).

    The record may still be committed later by the background writer; recording the same decision again, or the
    same request id, is safe because the ledger ignores duplicates.
    """
