"""Running the checks of requests that arrive together back to back, in one event-loop callback.

Under load a server reads several requests in one turn of its event loop and starts a task for each. Each task
would run its check between the previous task's response and its own, and so meet the check's data (the
automaton, the lexicon entries, the policy's memo) pushed out of the CPU caches by that work. So the first
check of a turn runs at once, as without batching; a check asked for later in the same turn joins a batch, and
one callback in the next turn runs the whole batch, one check after the other; then each task goes on with its
own answer. On an idle server every check is the first of its turn, so nothing waits. Each check is the same
call, with the same result or exception, and no request goes on before its own check has run.

Only the asyncio event loop is batched. Elsewhere (trio through anyio, or no running loop) the check runs
inline.
"""
import asyncio
import threading
from typing import Any, Callable, Optional


class CheckBatcher:
    """Runs the first call of each turn of an asyncio event loop at once, and the later ones of the same turn
    together in the next. State is kept per thread, since a thread runs at most one event loop at a time."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.inline = 0  # calls run at once, calls run in batches, and batches (approximate across threads)
        self.batched = 0
        self.batches = 0

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`: now if it is the first call of this turn of the loop, else in the next turn with the
        other calls made after the first."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio
            return fn(*args)
        state = self._local
        if getattr(state, "loop", None) is not loop:
            state.loop, state.busy, state.pending = loop, False, []
        if not state.busy:
            state.busy = True
            loop.call_soon(_end_turn, state)
            self.inline += 1
            return fn(*args)
        future = loop.create_future()
        state.pending.append((future, fn, args))
        if len(state.pending) == 1:
            loop.call_soon(self._run_batch, state)
        return await future

    def _run_batch(self, state: threading.local) -> None:
        batch, state.pending = state.pending, []
        self.batches += 1
        for future, fn, args in batch:
            if future.cancelled():  # its request is gone: nobody waits for the answer
                continue
            self.batched += 1
            try:
                result = fn(*args)
            except StopIteration as exc:  # a future cannot hold StopIteration; the task must still wake up
                future.set_exception(RuntimeError(f"the check raised StopIteration: {exc}"))
            except BaseException as exc:  # the waiting task raises it, as it would have inline
                future.set_exception(exc)
            else:
                future.set_result(result)


def _end_turn(state: threading.local) -> None:
    state.busy = False
