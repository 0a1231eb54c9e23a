"""Shared helpers for the middleware and service tests: a stand-in engine, raw ASGI drivers, and a real
uvicorn server on 127.0.0.1 in a background thread."""
from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from typing import Any, Callable, Optional

import warnings

import uvicorn

with warnings.catch_warnings():  # Starlette >= 1.x prefers httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: F401  (re-exported for the tests)

from guard.models import CheckContext, Decision, MatchDecision, Rejection, RevenueTag

# name -> (character_id, rightsholder, action, rewrite-to)
FAKE_LEXICON = {
    "mickey": ("disney/mickey-mouse", "Disney", "reject", None),
    "pikachu": ("pokemon/pikachu", "The Pokémon Company", "rewrite", "a yellow electric mouse"),
    "mario": ("nintendo/mario", "Nintendo", "tag", None),
    "totoro": ("ghibli/totoro", "Studio Ghibli", "reject", None),
}
_WORD = re.compile(r"[A-Za-z]+")


class FakeGuard:
    """Stand-in with the engine's interface: `check(prompt, context) -> Decision`. Deterministic rules:

    - mickey: reject; pikachu: rewrite to "a yellow electric mouse"; mario: tag (reject when commercial);
    - totoro: reject, allowed when region is JP; mario together with "blood" anywhere: reject (theme rule);
    - "explode" anywhere: raise RuntimeError (engine failure).
    """

    def __init__(self, name: str = "fake", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.calls: list[tuple[str, Optional[CheckContext]]] = []
        self.threads: list[int] = []
        self.thread_names: list[str] = []

    def check(self, prompt: str, context: Any = None) -> Decision:
        if isinstance(context, dict) or context is None:
            context = CheckContext.model_validate(context or {})
        self.calls.append((prompt, context))
        self.threads.append(threading.get_ident())
        self.thread_names.append(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        if "explode" in prompt:
            raise RuntimeError("engine exploded")
        matches, rejections, tags = [], [], []
        action_rank = {"allow": 0, "tag": 1, "rewrite": 2, "reject": 3}
        worst = "allow"
        themes = ["violence"] if "blood" in prompt.lower() else []
        replacements = []
        for m in _WORD.finditer(prompt):
            entry = FAKE_LEXICON.get(m.group().lower())
            if entry is None:
                continue
            cid, holder, action, rewrite_to = entry
            if cid == "nintendo/mario" and (context.commercial or themes):
                action = "reject"
            if cid == "ghibli/totoro" and (context.region or "").upper() == "JP":
                action = "allow"
            matches.append(MatchDecision(character_id=cid, franchise=cid.split("/")[0], rightsholder=holder, start=m.start(), end=m.end(),
                                         surface=m.group(), alias=m.group().lower(), method="exact", score=1.0, action=action,
                                         rule=f"{self.name}:{cid}", reason=f"{action} by fake rule"))
            if action == "reject":
                rejections.append(Rejection(code="character-not-licensed", message=f"{m.group()} is not licensed here", character_id=cid))
            elif action == "tag":
                tags.append(RevenueTag(rightsholder=holder, character_ids=[cid], share_rate=0.1))
            elif action == "rewrite":
                replacements.append((m.start(), m.end(), rewrite_to))
            if action_rank[action] > action_rank[worst]:
                worst = action
        new = prompt
        if worst == "rewrite":
            for start, end, text in reversed(replacements):
                new = new[:start] + text + new[end:]
        return Decision(decision_id=uuid.uuid4().hex, action=worst, prompt=new, original_prompt=prompt, matches=matches,
                        tags=tags, rejections=rejections, themes=themes, policy_version=self.name, elapsed_ms=0.01)


class BrokenGuard:
    def check(self, prompt: str, context: Any = None) -> Decision:
        raise RuntimeError("engine is broken")


def plain_app(body: bytes = b"reached", status: int = 200, headers: Optional[list] = None):
    """A raw ASGI app (with lifespan support) that reads the request body and answers `body`."""
    received: list[bytes] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        data = b""
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append(data)
        await send({"type": "http.response.start", "status": status, "headers": list(headers or [])})
        await send({"type": "http.response.body", "body": body})

    app.received = received  # type: ignore[attr-defined]
    return app


# -- raw ASGI ---------------------------------------------------------------------------------------------


def http_scope(path: str = "/v1/generate", method: str = "POST", headers: Optional[list[tuple[bytes, bytes]]] = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers if headers is not None else [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 80),
    }


class ChunkedReceive:
    """An ASGI receive() that yields the given chunks as http.request messages and counts calls."""

    def __init__(self, chunks: list[bytes], *, then_disconnect: bool = True) -> None:
        self.chunks = list(chunks)
        self.calls = 0
        self.then_disconnect = then_disconnect

    async def __call__(self) -> dict:
        self.calls += 1
        if self.chunks:
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        return {"type": "http.disconnect"}


class Collect:
    """An ASGI send() that records messages."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def __call__(self, message: dict) -> None:
        self.messages.append(message)

    @property
    def status(self) -> Optional[int]:
        return next((m["status"] for m in self.messages if m["type"] == "http.response.start"), None)

    @property
    def headers(self) -> dict[str, str]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


# -- real uvicorn -----------------------------------------------------------------------------------------


class ServerThread:
    """uvicorn.Server on 127.0.0.1 with an ephemeral port, in a daemon thread. Use as a context manager."""

    def __init__(self, app: Any, *, lifespan: str = "on", timeout: float = 15.0, **config: Any) -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, **config)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self.timeout = timeout
        self.port = 0

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn exited during startup")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(self.timeout)
        if self.thread.is_alive():  # pragma: no cover
            self.server.force_exit = True
            self.thread.join(5)


def raw_http(port: int, request: bytes, *, timeout: float = 5.0, read_until_close: bool = True) -> bytes:
    """Send raw bytes over a socket and return everything received until the server closes (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if not read_until_close and b"\r\n\r\n" in data:
                break
        return data


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# -- ledgers ---------------------------------------------------------------------------------------------------
def broken_ledger(tmp_path, **options):
    """A ledger whose SQLite database refuses every write (say, the disk is gone); it never waits at close."""
    from guard.ledger import Ledger
    from guard.ledger.sqlite import SqliteStore

    class BrokenStore(SqliteStore):
        broken = False

        def connect(self):
            if self.broken:
                raise OSError("database unreachable")
            return super().connect()

    store = BrokenStore(tmp_path / "broken.sqlite3")
    store.init_schema()
    store.broken = True
    return Ledger(store, close_timeout=0.0, **options)

