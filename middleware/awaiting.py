"""Starting an await by hand, to learn whether it has to wait at all.

The body of a small request is usually in the server's buffer before the app is called, so `receive()` returns
without suspending. A timer around every read (anyio's `fail_after` costs about 16 µs here, `asyncio.timeout` 7)
would then cost more than the read. `start` steps the awaitable once: either it finished, and no timer was needed,
or it is waiting, and the caller can put a deadline around the rest of the wait (`Resumed`).
"""
from __future__ import annotations

from typing import Any, Awaitable, Generator

NOT_DONE: Any = object()


class Resumed:
    """Awaiting this goes on with an await that `start` began: it first passes on what the awaitable yielded to
    the event loop (a future, or another framework's trap), then relays the loop's answers and exceptions, as
    `yield from` would. Await it once."""

    __slots__ = ("_steps", "_yielded")

    def __init__(self, steps: Any, yielded: Any) -> None:
        self._steps = steps
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        steps, value = self._steps, self._yielded
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:  # cancellation (a deadline) and whatever else the loop throws in
                try:
                    value = steps.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    value = steps.send(sent)
                except StopIteration as done:
                    return done.value


def start(awaitable: Awaitable[Any]) -> tuple[Any, Any]:
    """(result, None) when `awaitable` finished without waiting; (NOT_DONE, Resumed) when it has to wait, to be
    awaited (inside a deadline, say) in the same task. Exceptions it raises before waiting propagate."""
    steps = awaitable.__await__()
    try:
        yielded = steps.send(None)
    except StopIteration as done:
        return done.value, None
    return NOT_DONE, Resumed(steps, yielded)
