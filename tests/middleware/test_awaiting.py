"""middleware.awaiting: an await stepped once by hand, then finished (or cancelled) by the event loop."""
from __future__ import annotations

import asyncio

import anyio
import pytest

from middleware import awaiting


async def ready() -> str:
    return "at once"


async def after_waits(waits: int, value: str = "later") -> str:
    for _ in range(waits):
        await asyncio.sleep(0)
    return value


def test_an_await_that_needs_no_wait_finishes_in_start():
    async def main():
        result, waiting = awaiting.start(ready())
        assert (result, waiting) == ("at once", None)

    asyncio.run(main())


@pytest.mark.parametrize("waits", [1, 3])
def test_an_await_that_waits_goes_on_in_the_loop(waits):
    async def main():
        result, waiting = awaiting.start(after_waits(waits))
        assert result is awaiting.NOT_DONE and isinstance(waiting, awaiting.Resumed)
        assert await waiting == "later"

    asyncio.run(main())


def test_a_future_result_reaches_the_awaiter():
    async def main():
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.01, future.set_result, {"type": "http.request"})
        result, waiting = awaiting.start(future)
        assert result is awaiting.NOT_DONE
        assert await waiting == {"type": "http.request"}

    asyncio.run(main())


def test_exceptions_before_and_after_the_first_wait_propagate():
    async def fails_at_once():
        raise KeyError("now")

    async def fails_later():
        await asyncio.sleep(0)
        raise ValueError("later")

    async def main():
        with pytest.raises(KeyError):
            awaiting.start(fails_at_once())
        _, waiting = awaiting.start(fails_later())
        with pytest.raises(ValueError, match="later"):
            await waiting

    asyncio.run(main())


def test_a_deadline_around_the_rest_cancels_the_waiting_await():
    cleaned = []

    async def never():
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    async def main():
        _, waiting = awaiting.start(never())
        with anyio.move_on_after(0.05) as scope:
            await waiting
        assert scope.cancelled_caught and cleaned == [True]

    asyncio.run(main())


def test_a_resumed_await_that_is_dropped_closes_the_await():
    closed = []

    async def waits():
        try:
            await asyncio.sleep(10)
        finally:
            closed.append(True)

    async def main():
        _, waiting = awaiting.start(waits())
        steps = waiting.__await__()
        next(steps)  # suspended in the loop's place, as a task would leave it
        steps.close()
        assert closed == [True]

    asyncio.run(main())
