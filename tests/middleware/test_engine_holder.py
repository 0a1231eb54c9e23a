"""EngineHolder: atomic swap, failed reloads keep the old engine, file watching, SIGHUP, no dropped requests."""
from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import anyio
import httpx
import pytest

from guard.errors import PolicyError
from http_testkit import FakeGuard
from middleware import EngineHolder, GuardMiddleware

pytestmark = pytest.mark.anyio


def write_config(path: Path, text: str) -> None:
    """Write and make sure the mtime moves even on coarse-grained filesystems."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def config_loader(path: Path, **kwargs):
    def load():
        text = path.read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(str(path), f"invalid JSON: {exc.msg}", line=exc.lineno) from None
        if "name" not in data:
            raise PolicyError(str(path), "field required", field="name")
        return FakeGuard(name=data["name"], **kwargs)

    return load


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "policy.json"
    write_config(path, '{"name": "v1"}')
    return path


async def test_reload_swaps_and_a_failed_reload_keeps_the_old_engine(config, caplog):
    holder = EngineHolder(config_loader(config), watch=[config])
    first = holder.current
    assert holder.generation == 1 and first.name == "v1" and not holder.changed()

    write_config(config, '{"name": "v2"}')
    assert holder.changed()
    result = await holder.areload()
    assert result.ok and result.generation == 2 and holder.current.name == "v2" and holder.current is not first
    assert holder.last_error is None and not holder.changed()

    write_config(config, '{"name": "v3",\n oops}')
    with caplog.at_level("ERROR", logger="guard.reload"):
        result = await holder.areload()
    assert not result.ok and result.generation == 2
    assert holder.current.name == "v2"
    assert f"{config}:2" in result.error and holder.last_error == result.error
    assert "keeping engine generation 2" in caplog.text and str(config) in caplog.text
    assert not holder.changed()  # the broken file is not retried until it changes again
    assert (holder.reloads_ok, holder.reloads_failed) == (1, 1)

    write_config(config, '{"name": "v4"}')
    assert (await holder.areload()).ok and holder.current.name == "v4" and holder.generation == 3


async def test_watch_reloads_on_change_and_survives_bad_files(config):
    holder = EngineHolder(config_loader(config), watch=[config])
    async with anyio.create_task_group() as tg:
        tg.start_soon(holder.watch, 0.02)
        write_config(config, '{"name": "v2"}')
        with anyio.fail_after(5):
            while holder.generation < 2:
                await anyio.sleep(0.01)
        assert holder.current.name == "v2"
        write_config(config, "{}")
        with anyio.fail_after(5):
            while holder.reloads_failed < 1:
                await anyio.sleep(0.01)
        await anyio.sleep(0.1)  # several more polls: no retry of the same broken file
        assert holder.reloads_failed == 1 and holder.current.name == "v2"
        assert "field required" in holder.last_error
        config.unlink()  # a vanished file is a change too; loading fails, old engine stays
        with anyio.fail_after(5):
            while holder.reloads_failed < 2:
                await anyio.sleep(0.01)
        assert holder.current.name == "v2"
        tg.cancel_scope.cancel()


async def test_watch_sees_new_files_in_a_watched_directory(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    loads = []

    def loader():
        loads.append(sorted(p.name for p in folder.iterdir()))
        return FakeGuard(name=str(len(loads)))

    holder = EngineHolder(loader, watch=[folder])
    async with anyio.create_task_group() as tg:
        tg.start_soon(holder.watch, 0.02)
        (folder / "extra.yaml").write_text("x: 1\n")
        with anyio.fail_after(5):
            while holder.generation < 2:
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert loads[-1] == ["extra.yaml"]


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX only")
async def test_sighup_reloads(config):
    assert threading.current_thread() is threading.main_thread()
    holder = EngineHolder(config_loader(config), watch=[config])
    reopened = []
    assert holder.install_sighup(also=lambda: reopened.append(True))
    try:
        write_config(config, '{"name": "after-hup"}')
        os.kill(os.getpid(), signal.SIGHUP)
        with anyio.fail_after(5):
            while holder.generation < 2:
                await anyio.sleep(0.01)
        assert holder.current.name == "after-hup" and reopened == [True]
    finally:
        holder.remove_sighup()


async def test_requests_in_flight_keep_their_engine_and_none_is_dropped(config):
    """A request that started on v1 finishes on v1 while v2 is swapped in; later requests use v2."""
    gate = threading.Event()
    entered = threading.Event()

    class GatedGuard(FakeGuard):
        def check(self, prompt, context=None):
            if "wait" in prompt:
                entered.set()
                gate.wait(5)
            return super().check(prompt, context)

    def loader():
        return GatedGuard(name=json.loads(config.read_text())["name"])

    holder = EngineHolder(loader, watch=[config])

    async def app(scope, receive, send):
        await receive()
        decision = scope["state"]["guard_decision"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": decision.policy_version.encode()})

    mw = GuardMiddleware(app, holder, routes=["POST /g"], offload="thread")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mw), base_url="http://t") as client:
        results = {}

        async def slow():
            results["slow"] = (await client.post("/g", json={"prompt": "wait here"})).text

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            with anyio.fail_after(5):
                while not entered.is_set():
                    await anyio.sleep(0.005)
            write_config(config, '{"name": "v2"}')
            assert (await holder.areload()).ok
            fast = await client.post("/g", json={"prompt": "quick"})
            assert fast.status_code == 200 and fast.text == "v2"
            gate.set()
        assert results["slow"] == "v1"

        # many concurrent requests while reloading over and over: every one is answered by some engine
        statuses = []

        async def one(i):
            r = await client.post("/g", json={"prompt": f"Mario {i}"})
            statuses.append((r.status_code, r.text))

        async def reloader():
            for i in range(10):
                write_config(config, json.dumps({"name": f"r{i}"}))
                await holder.areload()

        async with anyio.create_task_group() as tg:
            tg.start_soon(reloader)
            for i in range(100):
                tg.start_soon(one, i)
        assert len(statuses) == 100 and all(s == 200 for s, _ in statuses)
        assert {t for _, t in statuses} <= {"v2", *(f"r{i}" for i in range(10))}
        assert holder.generation == 12


def test_from_paths_uses_the_real_engine_loader(monkeypatch, tmp_path):
    calls = []

    class StubGuard:
        @staticmethod
        def from_paths(lexicons, policies, *, unknown_action, max_rewrites=None):
            calls.append((lexicons, policies, unknown_action, max_rewrites))
            return FakeGuard()

        @staticmethod
        def default():
            calls.append("default")
            return FakeGuard()

    import guard.engine

    monkeypatch.setattr(guard.engine, "Guard", StubGuard)
    lex = tmp_path / "lex.yaml"
    lex.write_text("x: 1\n")
    holder = EngineHolder.from_paths([lex], None, unknown_action="allow")
    assert calls == [([str(lex)], None, "allow", None)] and holder.watch_paths == (lex,)
    holder.reload()
    assert len(calls) == 2
    EngineHolder.from_paths()
    assert calls[-1] == "default"
    # Options without paths build from the bundled files with them (not Guard.default, which has none).
    EngineHolder.from_paths(max_rewrites=7)
    assert calls[-1] == (None, None, "reject", 7)
    EngineHolder.from_paths(unknown_action="tag")
    assert calls[-1] == (None, None, "tag", None)
