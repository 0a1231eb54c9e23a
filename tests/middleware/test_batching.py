"""CheckBatcher: the first check of an event-loop turn runs at once, later ones of the same turn run together
in the next; and through the middleware on a real server, concurrent requests each get their own decision."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from http_testkit import ChunkedReceive, Collect, FakeGuard, ServerThread, http_scope
from middleware import GuardMiddleware
from middleware.batching import CheckBatcher


def _record(log: list):
    def fn(x):
        log.append(x)
        return x * 10

    return fn


def test_first_call_of_a_turn_runs_at_once_and_the_rest_in_one_batch():
    batcher = CheckBatcher()
    log: list = []

    async def main():
        tasks = [asyncio.create_task(batcher.run(_record(log), i)) for i in range(6)]
        await asyncio.sleep(0)  # the tasks' first steps all run in this turn
        assert log == [0]  # the first ran at once; the other five wait for the next turn
        results = await asyncio.gather(*tasks)
        assert results == [0, 10, 20, 30, 40, 50]
        assert log == [0, 1, 2, 3, 4, 5]  # in the order they were asked for

    asyncio.run(main())
    assert (batcher.inline, batcher.batched, batcher.batches) == (1, 5, 1)


def test_calls_in_separate_turns_all_run_at_once():
    batcher = CheckBatcher()
    log: list = []

    async def main():
        for i in range(4):
            assert await batcher.run(_record(log), i) == i * 10
            await asyncio.sleep(0)  # let the turn end
            await asyncio.sleep(0)

    asyncio.run(main())
    assert log == [0, 1, 2, 3] and batcher.inline == 4 and batcher.batched == 0


def test_on_an_idle_loop_a_check_schedules_nothing():
    batcher = CheckBatcher()
    log: list = []

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        assert not loop._ready  # nothing else to run: an idle server's turn
        assert await batcher.run(_record(log), 1) == 10
        assert not loop._ready  # no end-of-turn callback was needed
        # With another callback ready, the turn is marked as having run a check (its end is scheduled).
        loop.call_soon(lambda: None)
        assert await batcher.run(_record(log), 2) == 20
        assert len(loop._ready) == 2

    asyncio.run(main())
    assert log == [1, 2]
    assert batcher.inline == 2 and batcher.batched == 0


def test_an_exception_goes_to_its_own_caller_and_the_batch_goes_on():
    batcher = CheckBatcher()

    def fn(x):
        if x == 2:
            raise ValueError("two")
        if x == 3:
            raise StopIteration  # a future cannot carry it: it becomes a RuntimeError, and nobody hangs
        return x

    async def main():
        tasks = [asyncio.create_task(batcher.run(fn, i)) for i in range(5)]
        return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)

    out = asyncio.run(main())
    assert out[0] == 0 and out[1] == 1 and out[4] == 4
    assert isinstance(out[2], ValueError) and str(out[2]) == "two"
    assert isinstance(out[3], RuntimeError) and "StopIteration" in str(out[3])


def test_a_cancelled_caller_is_skipped():
    batcher = CheckBatcher()
    log: list = []

    async def main():
        tasks = [asyncio.create_task(batcher.run(_record(log), i)) for i in range(4)]
        await asyncio.sleep(0)
        tasks[2].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[2], asyncio.CancelledError)
        assert [results[0], results[1], results[3]] == [0, 10, 30]

    asyncio.run(main())
    assert log == [0, 1, 3]


def test_an_interrupt_in_a_batch_stops_the_loop_once_and_the_rest_run_next_turn():
    """As inline: KeyboardInterrupt leaves the loop at once, and only once; its own caller ends (cancelled) and
    the calls queued after it run if the loop goes on."""
    batcher = CheckBatcher()
    log: list = []

    def fn(x):
        log.append(x)
        if x == 2:
            raise KeyboardInterrupt
        return x * 10

    loop = asyncio.new_event_loop()
    try:
        tasks = [loop.create_task(batcher.run(fn, i)) for i in range(5)]
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        assert log == [0, 1, 2]  # 3 and 4 have not run: the loop stopped inside the batch
        results = loop.run_until_complete(asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5))
    finally:
        loop.close()
    assert log == [0, 1, 2, 3, 4]  # each call ran once
    assert results[0] == 0 and results[1] == 10 and results[3] == 30 and results[4] == 40
    assert isinstance(results[2], asyncio.CancelledError)


def test_the_batcher_does_not_keep_a_finished_loop_alive():
    import gc
    import weakref

    batcher = CheckBatcher()
    refs = []

    async def main():
        refs.append(weakref.ref(asyncio.get_running_loop()))
        await asyncio.gather(*(batcher.run(_record([]), i) for i in range(3)))

    asyncio.run(main())
    gc.collect()
    assert refs[0]() is None


def test_one_batcher_serves_successive_event_loops():
    batcher = CheckBatcher()
    log: list = []

    async def burst(base):
        return await asyncio.gather(*(batcher.run(_record(log), base + i) for i in range(3)))

    assert asyncio.run(burst(0)) == [0, 10, 20]
    assert asyncio.run(burst(100)) == [1000, 1010, 1020]
    assert batcher.batched == 4 and batcher.batches == 2


def test_each_batched_call_runs_in_its_callers_context():
    """A request id or tenant set in a ContextVar by an outer middleware is the one of the request being checked."""
    import contextvars

    request_id = contextvars.ContextVar("request_id")
    batcher = CheckBatcher()

    async def request(i):
        request_id.set(f"req-{i}")
        return await batcher.run(lambda: request_id.get())

    async def main():
        return await asyncio.gather(*(request(i) for i in range(5)))

    assert asyncio.run(main()) == [f"req-{i}" for i in range(5)]
    assert batcher.batched == 4


def test_two_loops_taking_turns_in_one_thread_keep_their_own_batches():
    batcher = CheckBatcher()

    async def req(name):
        return await batcher.run(lambda: f"decision-{name}")

    loop_a = asyncio.new_event_loop()
    try:
        async def start_two():  # two requests in one turn; loop A stops with their batch still queued
            return loop_a.create_task(req("A1")), loop_a.create_task(req("A2"))

        first, second = loop_a.run_until_complete(start_two())
        assert first.done() and not second.done()

        async def on_loop_b():
            return await asyncio.wait_for(asyncio.gather(req("B1"), req("B2")), 5)

        assert asyncio.run(on_loop_b()) == ["decision-B1", "decision-B2"]
        assert loop_a.run_until_complete(asyncio.wait_for(second, 5)) == "decision-A2"
    finally:
        loop_a.close()


def test_without_an_asyncio_loop_the_call_runs_inline(monkeypatch):
    # trio (through anyio) has no asyncio loop: asyncio.get_running_loop raises there
    batcher = CheckBatcher()

    def no_loop():
        raise RuntimeError("no running event loop")

    async def main():
        monkeypatch.setattr(asyncio, "get_running_loop", no_loop)
        try:
            return await asyncio.gather(*(batcher.run(lambda x: x + 1, i) for i in range(3)))
        finally:
            monkeypatch.undo()

    assert asyncio.run(main()) == [1, 2, 3]
    assert batcher.inline == batcher.batched == 0


def test_on_a_loop_that_cannot_be_weakly_referenced_the_call_runs_inline(monkeypatch):
    # No known loop lacks weak references (every subclass of asyncio's loop classes has them), but a loop type
    # written in C without that support would.
    import middleware.batching as batching

    class NoWeakRefs:
        @staticmethod
        def ref(obj):
            raise TypeError(f"cannot create weak reference to {type(obj).__name__!r} object")

    batcher = CheckBatcher()
    log: list = []

    async def main():
        monkeypatch.setattr(batching, "weakref", NoWeakRefs)
        try:
            return await asyncio.gather(*(batcher.run(_record(log), i) for i in range(3)))
        finally:
            monkeypatch.undo()

    assert asyncio.run(main()) == [0, 10, 20]
    assert log == [0, 1, 2]
    assert batcher.inline == batcher.batched == 0


# -- through the middleware: in process, and on a real uvicorn server ----------------------------------------


def _echo_app(engine, **options):
    async def generate(request: Request):
        body = json.loads(await request.body())
        decision = request.state.guard_decision
        return JSONResponse({"prompt": body["prompt"], "decision_prompt": decision.original_prompt})

    app = Starlette(routes=[Route("/v1/generate", generate, methods=["POST"])])
    return GuardMiddleware(app, engine=engine, routes=["POST /v1/generate"], **options)


async def _burst(url: str, prompts: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(prompts), max_keepalive_connections=len(prompts))
    async with httpx.AsyncClient(base_url=url, timeout=20, trust_env=False, limits=limits) as client:
        return await asyncio.gather(*(client.post("/v1/generate", json={"prompt": p, "i": i}) for i, p in enumerate(prompts)))


def test_concurrent_requests_each_get_their_own_decision_with_the_real_engine(guard):
    corpus = [
        "Pikachu surfing at sunset", "a quiet lake at dawn", "Raiden Shogun nude", "ピカチュウが渋谷を走る",
        "Pikachu covered in blood", "Zhongli drinking tea", "a red fox in the snow", "皮卡丘在海边冲浪",
        "Eevee and Umbreon under the moon", "a bowl of ramen, studio lighting",
    ]
    prompts = [f"{p} #{i}" for i in range(4) for p in corpus]
    expected = {p: guard.check(p) for p in prompts}
    app = _echo_app(guard)
    with ServerThread(app) as server:
        for _ in range(3):
            responses = asyncio.run(_burst(server.url, prompts))
            for p, r in zip(prompts, responses):
                want = expected[p]
                assert r.headers["x-guard-action"] == want.action, p
                assert r.headers.get("x-guard-characters", "") == ",".join(want.characters), p
                if want.action == "reject":
                    assert r.status_code == 451
                else:
                    assert r.status_code == 200 and r.json()["decision_prompt"] == p  # its own decision
    assert app.batcher.batched > 0  # concurrent requests did share batches


def test_an_engine_failure_in_a_batch_fails_only_its_own_request_closed():
    engine = FakeGuard()
    app = _echo_app(engine)
    prompts = ["Mickey at the beach", "explode please", "a quiet lake", "Mario jumping", "explode again"] * 4
    with ServerThread(app) as server:
        responses = asyncio.run(_burst(server.url, prompts))
    for p, r in zip(prompts, responses):
        if "explode" in p:
            assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        elif "Mickey" in p:
            assert r.status_code == 451
        else:
            assert r.status_code == 200 and r.json()["prompt"] == p
    assert len(engine.calls) == len(prompts)  # every request was checked exactly once


def test_a_burst_through_the_middleware_is_batched_and_fails_closed():
    """In process, deterministically: requests that reach the guard in one turn go through the batch path; an
    engine failure answers 503 for its own request only."""
    engine = FakeGuard()
    app = _echo_app(engine)
    prompts = ["a quiet lake", "explode now", "Mickey at the beach", "Mario jumping", "a red fox", "explode later"]

    async def one(prompt):
        send = Collect()
        await app(http_scope(), ChunkedReceive([json.dumps({"prompt": prompt}).encode()]), send)
        return send.status, send.body

    async def main():
        return await asyncio.gather(*(one(p) for p in prompts))

    results = asyncio.run(main())
    assert app.batcher.inline == 1 and app.batcher.batched == len(prompts) - 1
    for prompt, (status, body) in zip(prompts, results):
        if "explode" in prompt:
            assert status == 503
        elif "Mickey" in prompt:
            assert status == 451
        else:
            assert status == 200 and json.loads(body)["prompt"] == prompt
    assert sorted(p for p, _ in engine.calls) == sorted(prompts)


def test_batching_can_be_switched_off():
    engine = FakeGuard()
    app = _echo_app(engine, batch_checks=False)
    assert app.batcher is None
    with ServerThread(app) as server:
        responses = asyncio.run(_burst(server.url, ["a quiet lake"] * 8))
    assert all(r.status_code == 200 for r in responses)
