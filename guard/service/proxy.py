"""Reverse proxy to an upstream HTTP API with httpx, streaming both ways.

Request bodies are streamed to the upstream (a guarded request arrives here already buffered and checked
by `GuardMiddleware`); responses are streamed back chunk by chunk as the upstream produces them, raw
(content encoding untouched), so server-sent events and large downloads flow through. If the client goes
away mid-response, the upstream request is cancelled.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote_to_bytes
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

import anyio
import httpx

from middleware.problem import GUARD_RESPONSE_HEADERS, decision_headers, problem_body, send_problem

log = logging.getLogger("guard.proxy")

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The upstream's Date and Server are not relayed: the server in front (uvicorn) writes its own, and would send both
# (nginx drops them by default too).
SERVER_SET = frozenset({b"date", b"server"})
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=10.0)


class _ClientGone(Exception):
    pass


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    names = set(HOP_BY_HOP)
    for k, v in headers:
        if k.lower() == b"connection":
            names.update(t.strip().lower() for t in v.split(b",") if t.strip())
    return names


class ProxyApp:
    """ASGI app that forwards every HTTP request to `upstream` (a base URL; its path is a prefix)."""

    def __init__(
        self,
        upstream: str,
        *,
        client: Optional[httpx.AsyncClient] = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        on_upstream_error: Optional[Callable[[str], None]] = None,
        state_key: str = "guard_decision",
    ) -> None:
        url = httpx.URL(upstream)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = url
        self._base = url.copy_with(query=None, fragment=None)
        self._base_path = self._base.raw_path.rstrip(b"/")
        self._client = client
        self._owns_client = client is None
        self.timeout = timeout
        self.on_upstream_error = on_upstream_error
        self.state_key = state_key

    async def startup(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
            # No default Accept/Accept-Encoding/User-Agent: forward only what the client sent.
            for name in ("accept", "accept-encoding", "user-agent", "connection"):
                self._client.headers.pop(name, None)

    async def shutdown(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("ProxyApp.startup() has not run (is lifespan enabled?)")
        return self._client

    def _url(self, scope: dict) -> Optional[httpx.URL]:
        """The upstream URL for the request, or None when its target is no path: the guard matched routes on the
        path, so the upstream must get that path, under the upstream's host. The URL is built from parts, never
        by joining strings that httpx would parse again (`@other-host/x` would become a user name and a host)."""
        raw_path = scope.get("raw_path")
        path = raw_path if raw_path else quote(scope["path"], safe=_PATH_SAFE).encode("ascii")
        # HTTP's origin-form target is a path that starts with "/" and has no fragment (a "#" part would be dropped
        # on the way, after the guard had matched the path with it). Dot segments are refused too: the guard
        # matched the path with them resolved at the root (/../api/x is /api/x), while the URL resolves them under
        # the upstream's prefix (/api/../api/x), so the two would name different routes.
        if not path.startswith(b"/") or b"#" in path or _has_dot_segment(path):
            return None
        query = scope.get("query_string") or b""
        target = _NOT_URL_BYTE.sub(_percent_encoded, path + (b"?" + query if query else b""))
        try:
            return self._base.copy_with(raw_path=self._base_path + target)
        except (httpx.InvalidURL, ValueError):
            return None

    def _request_headers(self, scope: dict) -> list[tuple[bytes, bytes]]:
        raw = list(scope.get("headers") or ())
        # Host is set from the upstream URL; Expect: 100-continue was already answered to the client by the
        # server; client-supplied X-Guard-* values are replaced by the guard's own.
        drop = _hop_by_hop(raw) | {b"host", b"expect"} | {h.encode() for h in GUARD_RESPONSE_HEADERS}
        headers = [(k, v) for k, v in raw if k.lower() not in drop]
        host = next((v for k, v in raw if k.lower() == b"host"), None)
        client = scope.get("client")
        if client:
            prior = [v for k, v in raw if k.lower() == b"x-forwarded-for"]
            headers = [(k, v) for k, v in headers if k.lower() != b"x-forwarded-for"]
            headers.append((b"x-forwarded-for", b", ".join([*prior, str(client[0]).encode()])))
        headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
        if host is not None:
            headers.append((b"x-forwarded-host", host))
        state = scope.get("state") or {}
        if self.state_key in state:  # tell the upstream what the guard decided (client values were dropped)
            headers.extend(decision_headers(state[self.state_key]))
        return headers

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # pragma: no cover - the service handles lifespan itself
            return
        if scope["type"] != "http":
            return  # websockets are not proxied: closing without accepting rejects the handshake
        url = self._url(scope)
        if url is None:
            await send_problem(send, 400, problem_body(400, "invalid-target", "The request target is not a path."), close=True)
            return
        headers = self._request_headers(scope)
        names = {k.lower() for k, _ in scope.get("headers") or ()}
        has_body = b"content-length" in names or b"transfer-encoding" in names
        body_done = not has_body

        async def body() -> AsyncIterator[bytes]:
            nonlocal body_done
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone()
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    body_done = True
                    return

        request = self.client.build_request(scope["method"], url, headers=headers, content=body() if has_body else None)
        try:
            response = await self.client.send(request, stream=True)
        except _ClientGone:
            return
        except httpx.TimeoutException as exc:
            await self._fail(send, 504, "upstream-timeout", f"The upstream did not answer in time ({type(exc).__name__}).")
            return
        except httpx.HTTPError as exc:
            await self._fail(send, 502, "upstream-unavailable", f"The upstream could not be reached ({type(exc).__name__}).")
            return

        try:
            drop = _hop_by_hop(response.headers.raw) | SERVER_SET
            out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in drop]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            async with anyio.create_task_group() as tg:
                if body_done:
                    tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
                async for chunk in response.aiter_raw():
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()
        except httpx.HTTPError as exc:
            # Headers are gone already: the only honest signal left is to abort the connection.
            if self.on_upstream_error is not None:
                self.on_upstream_error("stream")
            log.warning("upstream response broke off: %s %s: %r", scope["method"], scope["path"], exc)
            raise
        finally:
            await response.aclose()

    async def _fail(self, send: Send, status: int, code: str, detail: str) -> None:
        if self.on_upstream_error is not None:
            self.on_upstream_error(code)
        log.warning("%s: %s", code, detail)
        await send_problem(send, status, problem_body(status, code, detail))


_PATH_SAFE = "/:@!$&'()*+,;=~"


def _has_dot_segment(path: bytes) -> bool:
    """Whether a segment of the path is `.` or `..`, percent-encoded or not, or with `;params` after it, which some
    servers drop (`..;x`), or between backslashes, which some servers read as slashes."""
    for segment in re.split(rb"[/\\]", unquote_to_bytes(path)):
        if segment.split(b";", 1)[0] in (b".", b".."):
            return True
    return False


# Bytes that a URL holds only percent-encoded (a server may pass a raw UTF-8 byte of the request target on).
_NOT_URL_BYTE = re.compile(rb"[^\x21-\x7e]")


def _percent_encoded(m: re.Match) -> bytes:
    return b"%%%02X" % m.group()[0]


async def _cancel_on_disconnect(receive: Receive, scope: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
