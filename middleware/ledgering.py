"""Handing decisions to the revenue-share ledger (`guard.ledger.Ledger`) from the request path.

Used by `GuardMiddleware(ledger=...)` and by the service's POST /v1/check. The rules:

- Every decision is handed over; `Ledger.record` keeps only revenue-bearing ones (tags, or action tag) and
  skips the rest, so a rejected request never makes a record.
- The request id is the context's `request_id`, else the request's `X-Request-Id` header. A retry carrying the
  same id is not counted again (the ledger enforces that).
- Buffered ledgers (the default) are called on the event loop: `record()` only builds and queues the record
  (about 20 µs). Durable ledgers wait for the commit, so they are called in a worker thread (a limiter of their
  own, so a slow database cannot take the threads other code needs); so is a buffered ledger whose queue is
  nearly full, since `record()` then waits for room.
- A ledger failure never fails the request: it is logged and returned, and the caller counts it (only when the
  decision would have made a record: a closed ledger refusing a rejected decision loses nothing).
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Optional

import anyio
import anyio.to_thread

from guard.ledger.errors import LedgerError
from guard.ledger.records import is_revenue_bearing
from guard.models import CheckContext, Decision

log = logging.getLogger("guard.ledger.wiring")

# A buffered ledger whose queue is fuller than this (fraction of max_pending) is called in a thread.
NEARLY_FULL = 0.9
DEFAULT_LEDGER_THREADS = 32


def request_id_of(context: Optional[CheckContext], scope: Optional[dict]) -> Optional[str]:
    """The caller's request id: `context.request_id`, else the first X-Request-Id header, else None.

    NUL characters are dropped (the ledger refuses them; a request id must not be a way to go unrecorded).
    """
    rid = context.request_id if context is not None else None
    if not rid and scope is not None:
        for key, value in scope.get("headers") or ():
            if key.lower() == b"x-request-id":
                rid = value.decode("latin-1").strip()
                break
    if rid and "\x00" in rid:
        rid = rid.replace("\x00", "")
    return rid or None


class LedgerHook:
    """Calls `ledger.record(decision, context, request_id)` without stalling the event loop."""

    def __init__(self, ledger: Any, *, max_threads: int = DEFAULT_LEDGER_THREADS) -> None:
        self.ledger = ledger
        self._limiter = anyio.CapacityLimiter(max_threads)

    def _in_thread(self, decision: Decision) -> bool:
        if not is_revenue_bearing(decision):
            return False  # record() just counts it as skipped
        ledger = self.ledger
        if getattr(ledger, "durable", False):
            return True
        try:
            return ledger.pending >= NEARLY_FULL * ledger.max_pending
        except Exception:  # a ledger-like object without these attributes
            return False

    async def record(
        self, decision: Decision, context: Optional[CheckContext], scope: Optional[dict], *, where: str = ""
    ) -> Optional[BaseException]:
        """Record `decision`; return None, or the exception the ledger raised (logged) when a record was lost."""
        rid = request_id_of(context, scope)
        # request_id="" (not None) when there is none, so that a context request id we dropped is not used.
        call = functools.partial(self.ledger.record, decision, context, rid or "")
        try:
            if self._in_thread(decision):
                await anyio.to_thread.run_sync(call, limiter=self._limiter)
            else:
                call()
        except Exception as exc:
            if not is_revenue_bearing(decision):  # (a closed ledger refuses every call) no record was lost
                log.debug("ledger: %s for decision %s, which makes no record", type(exc).__name__, decision.decision_id)
                return None
            log.error(
                "ledger: decision %s (%s, request id %s%s) was not recorded: %s: %s",
                decision.decision_id, decision.action, rid, f", {where}" if where else "", type(exc).__name__, exc,
                exc_info=not isinstance(exc, LedgerError),  # expected failures need no traceback
            )
            return exc
        return None

