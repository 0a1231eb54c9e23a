"""Running the checks of requests that arrive together back to back, in one event-loop callback.

Under load a server reads several requests in one turn of its event loop and starts a task for each. Each task
would run its check between the previous task's response and its own, and so meet the check's data (the
automaton, the lexicon entries, the policy's memo) pushed out of the CPU caches by that work. So the first
check of a turn runs at once, as without batching; a check asked for later in the same turn joins a batch, and
one callback in the next turn runs the whole batch, one check after the other; then each task goes on with its
own answer. On an idle server every check is the first of its turn, so nothing waits; and when nothing else is
ready to run in the turn (asyncio's queue of ready callbacks is empty), no check can follow it there, so the turn
is not even marked. Each check is the same call, with the same result or exception, and no request goes on before
its own check has run.

Only the asyncio event loop is batched. Elsewhere (trio through anyio, no running loop, or a loop class that
cannot be weakly referenced) the check runs inline.
"""
import asyncio
import contextvars
import threading
import weakref
from typing import Any, Callable


class _Turns:
    """The batching state of one event loop: whether its current turn has run a check, and the calls waiting
    for the next turn. The loop's callbacks hold this object, so a thread that drives two loops in turn never
    mixes their batches. It refers to its loop weakly: a thread's last loop is not kept alive by it."""

    __slots__ = ("loop", "busy", "pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        self.busy = False
        self.pending: list[tuple[asyncio.Future, contextvars.Context, Callable[..., Any], tuple]] = []


class CheckBatcher:
    """Runs the first call of each turn of an asyncio event loop at once, and the later ones of the same turn
    together in the next. A thread runs one event loop at a time; its current loop's state is kept per thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.inline = 0  # calls run at once, calls run in batches, and batches (approximate across threads)
        self.batched = 0
        self.batches = 0

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`: now if it is the first call of this turn of the loop (or nothing else is ready to run in
        it), else in the next turn with the other calls made after the first. Either way it runs in the caller's
        context (contextvars)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio
            return fn(*args)
        if not getattr(loop, "_ready", True):
            # Nothing else is ready to run in this turn of the loop or the next (asyncio's queue of callbacks is
            # empty): no other check can join this one, so it runs at once without the turn's bookkeeping, which
            # costs about a tenth of the middleware's own work on an idle server. Loops without that queue
            # (another implementation) take the general way.
            self.inline += 1
            return fn(*args)
        turns = getattr(self._local, "turns", None)
        if turns is None or turns.loop() is not loop:
            try:
                turns = self._local.turns = _Turns(loop)
            except TypeError:  # a loop class that cannot be weakly referenced: no batching on it
                return fn(*args)
        if not turns.busy:
            turns.busy = True
            loop.call_soon(_end_turn, turns)
            self.inline += 1
            return fn(*args)
        future = loop.create_future()
        turns.pending.append((future, contextvars.copy_context(), fn, args))
        if len(turns.pending) == 1:
            loop.call_soon(self._run_batch, turns)
        return await future

    def _run_batch(self, turns: _Turns) -> None:
        batch, turns.pending = turns.pending, []
        self.batches += 1
        for index, (future, context, fn, args) in enumerate(batch):
            if future.cancelled():  # its request is gone: nobody waits for the answer
                continue
            self.batched += 1
            try:
                result = context.run(fn, *args)
            except StopIteration as exc:  # a future cannot hold StopIteration; the task must still wake up
                future.set_exception(RuntimeError(f"the check raised StopIteration: {exc}"))
            except (KeyboardInterrupt, SystemExit):
                # Inline, these stop the loop at once and end the task that raised them; so here. The calls
                # after this one go back to the front of the queue for the next turn, if the loop runs again.
                future.cancel()
                self._requeue(turns, batch[index + 1 :])
                raise
            except BaseException as exc:  # the waiting task raises it, as it would have inline
                future.set_exception(exc)
            else:
                future.set_result(result)

    def _requeue(self, turns: _Turns, calls: list) -> None:
        if not calls:
            return
        if not turns.pending:
            asyncio.get_running_loop().call_soon(self._run_batch, turns)
        turns.pending[:0] = calls


def _end_turn(turns: _Turns) -> None:
    turns.busy = False
