"""`GuardMiddleware`: a pure ASGI middleware that checks the prompt of guarded requests before the app runs."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal, Mapping, Optional, Sequence, Union

import anyio
import anyio.to_thread

from guard.models import CheckContext, Decision
from middleware import awaiting
from middleware.audit import AuditLog, AuditTarget, as_audit_sink, utc_now
from middleware.batching import CheckBatcher
from middleware.context import DEFAULT_CONTEXT_HEADERS, ContextBuilder, ContextError, ContextFactory, validate_context
from middleware.decide import decide
from middleware.holder import as_engine_getter
from middleware.ledgering import LedgerHook
from middleware.jsonbody import BodyError, JsonPath, PromptLocator, check_text, dump_json, parse_json, set_at
from middleware.problem import GUARD_RESPONSE_HEADERS, decision_headers, problem_body, rejection_problem, send_problem
from middleware.routes import GuardedRoute, ResolvedRoute, normalize_path, resolve_routes

log = logging.getLogger("guard.middleware")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

DEFAULT_MAX_BODY_SIZE = 1 << 20  # 1 MiB
DEFAULT_MAX_JSON_DEPTH = 64
# Seconds a guarded request's body may take to arrive once the guard has to wait for it (None: no limit).
DEFAULT_BODY_TIMEOUT = 30.0
# Requests whose body is larger than this are parsed and checked in a worker thread; smaller ones inline.
# See docs/middleware.md ("Event loop") for the measurements behind the number.
DEFAULT_OFFLOAD_THRESHOLD = 2 * 1024


@dataclass(frozen=True)
class GuardEvent:
    """What happened to one guarded request, for metrics (`on_event`).

    kind: "decision" (decision set), "problem" (the middleware answered `status` with problem `code`),
    "engine-error" (the engine or context provider failed; `fail_open` says whether the request went on),
    or "ledger-error" (the ledger did not take the decision's record; `code` is the exception's class name;
    the request went on).
    context: the CheckContext the decision was made with ("decision" and "ledger-error" events).
    """

    kind: str
    route: str
    seconds: float = 0.0
    decision: Optional[Decision] = None
    status: Optional[int] = None
    code: Optional[str] = None
    fail_open: bool = False
    context: Optional[CheckContext] = None


@dataclass(slots=True)
class _Result:
    decision: Optional[Decision] = None
    context: Optional[CheckContext] = None
    body: Optional[bytes] = None  # the rewritten body, when the decision is a rewrite
    problem: Optional[BodyError] = None
    error: Optional[BaseException] = None
    seconds: float = 0.0


class GuardMiddleware:
    """Check prompts in JSON request bodies before they reach the application.

    Guarded requests (matching one of `routes`) are read completely (up to `max_body_size`), parsed, and the
    strings at `prompt_pointers` are checked with the engine. Then:

    - reject: 451 application/problem+json listing the reasons; the app is not called;
    - rewrite: the app receives the JSON body with the prompts replaced and Content-Length fixed;
    - allow / tag: the app receives the original bytes.

    The decision is put in `scope["state"][state_key]` (Starlette: `request.state.guard_decision`) and the
    response carries X-Guard-Action, X-Guard-Characters and X-Guard-Decision-Id.

    With a `ledger` (`guard.ledger.Ledger`), every decision is handed to `ledger.record(decision, context,
    request_id)` before the app is called (request id: the context's, else X-Request-Id); revenue-bearing ones
    become attribution records. A durable ledger is waited for in a worker thread. A ledger failure is logged
    and reported as a "ledger-error" event; the request goes on.

    Checks run inline on the event loop, or in a worker thread for bodies over `offload_threshold` (`offload`).
    With `batch_checks`, the inline checks of requests that reach the guard in the same turn of an asyncio loop
    after its first run back to back in the next turn (`middleware.batching`): under load they find the check's
    data still in the CPU caches; on an idle server every check is the first of its turn and nothing waits.

    Bad input: non-JSON / invalid UTF-8 / too deep / duplicate keys: 400; body over the limit: 413 (reading
    stops there); a body still incomplete `body_timeout` seconds after the guard first had to wait for it: 408;
    compressed body or a form (Content-Type): 415; no prompt found or invalid context: 422; engine failure: 503, or,
    for routes with fail_open, the request goes on unchecked (X-Guard-Action: unchecked, logged and audited).
    Non-HTTP scopes and requests on other routes pass straight through without being buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        engine: Any,
        *,
        routes: Sequence[Union[GuardedRoute, str, tuple]],
        prompt_pointers: Sequence[str] = ("/prompt",),
        context_headers: Optional[Mapping[str, str]] = DEFAULT_CONTEXT_HEADERS,
        context_fields: Optional[Mapping[str, str]] = None,
        context_factory: Optional[ContextFactory] = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        body_timeout: Optional[float] = DEFAULT_BODY_TIMEOUT,
        reject_duplicate_keys: bool = True,
        fail_open: bool = False,
        audit: Union[None, AuditLog, AuditTarget] = None,
        on_event: Optional[Callable[[GuardEvent], None]] = None,
        ledger: Any = None,
        offload: Literal["auto", "inline", "thread"] = "auto",
        offload_threshold: int = DEFAULT_OFFLOAD_THRESHOLD,
        max_threads: Optional[int] = None,
        batch_checks: bool = True,
        response_headers: bool = True,
        state_key: str = "guard_decision",
        case_sensitive_paths: bool = False,
    ) -> None:
        if max_body_size <= 0:
            raise ValueError("max_body_size must be positive")
        if max_json_depth < 0:
            raise ValueError("max_json_depth must be 0 (no limit) or more")
        body_timeout = check_body_timeout(body_timeout)
        if offload not in ("auto", "inline", "thread"):
            raise ValueError("offload must be 'auto', 'inline' or 'thread'")
        if not routes:
            raise ValueError("routes must name at least one guarded route")
        self.app = app
        self._engine = as_engine_getter(engine)
        self.routes: tuple[ResolvedRoute, ...] = resolve_routes(
            routes,
            default_locator=PromptLocator.from_strings(prompt_pointers),
            default_fail_open=fail_open,
            case_sensitive=case_sensitive_paths,
        )
        self.context = ContextBuilder(context_headers, context_fields, context_factory)
        self.max_body_size = int(max_body_size)
        self.max_json_depth = int(max_json_depth)
        self.body_timeout = body_timeout
        self.reject_duplicate_keys = reject_duplicate_keys
        self.audit = as_audit_sink(audit)
        self.on_event = on_event
        self.ledger = ledger
        self._ledger = LedgerHook(ledger) if ledger is not None else None
        self.offload = offload
        self.offload_threshold = int(offload_threshold)
        self._limiter = anyio.CapacityLimiter(max_threads or max(2, min(8, os.cpu_count() or 2)))
        self.batcher: Optional[CheckBatcher] = CheckBatcher() if batch_checks else None
        self.response_headers = response_headers
        self.state_key = state_key

    # -----------------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.match(scope["method"], scope["path"])
        if route is None and _has_method_override(scope):
            # An app or upstream that honours X-HTTP-Method-Override would treat this as another method.
            for method in _override_methods(scope):
                route = self.match(method, scope["path"])
                if route is not None:
                    break
        if route is None:
            await self.app(scope, receive, send)
            return
        await self._guard(route, scope, receive, send)

    def match(self, method: str, path: str) -> Optional[ResolvedRoute]:
        path = normalize_path(path)
        for route in self.routes:
            if route.matches(method, path):
                return route
        return None

    # -----------------------------------------------------------------------------------------------------

    async def _guard(self, route: ResolvedRoute, scope: dict, receive: Receive, send: Send) -> None:
        problem = check_request_headers(scope, self.max_body_size)
        if problem is not None:
            await self._problem(send, route, problem, close=problem.status == 413)
            return

        try:
            raw = await read_body(receive, self.max_body_size, self.body_timeout)
        except BodyError as exc:
            await self._problem(send, route, exc, close=True)
            return
        if raw is None:
            return  # the client left; there is nobody to answer

        threaded = self.offload == "thread" or (self.offload == "auto" and len(raw) > self.offload_threshold)
        try:
            engine = self._engine()
        except Exception as exc:  # the holder itself failed
            await self._engine_failure(route, scope, receive, send, raw, exc, 0.0)
            return

        if self.context.factory is None:
            result = await self._run(threaded, self._process, engine, route, scope, raw)
        else:
            result = await self._process_with_factory(threaded, engine, route, scope, raw)

        if result.problem is not None:
            await self._problem(send, route, result.problem)
            return
        if result.error is not None:
            await self._engine_failure(route, scope, receive, send, raw, result.error, result.seconds)
            return

        decision = result.decision
        assert decision is not None
        self._record(scope, route, decision, result.seconds, result.context)
        if self._ledger is not None:
            error = await self._ledger.record(decision, result.context, scope, where=route.label)
            if error is not None:
                self._emit(GuardEvent("ledger-error", route.label, decision=decision, code=type(error).__name__, context=result.context))
        scope.setdefault("state", {})[self.state_key] = decision
        extra = decision_headers(decision) if self.response_headers else []

        if decision.action == "reject":
            await send_problem(send, 451, rejection_problem(decision), headers=extra)
            return
        if result.body is not None:
            scope = _with_body_headers(scope, len(result.body))
            raw = result.body
        await self.app(scope, _replay(raw, receive), _adding_headers(send, extra) if extra else send)

    async def _run(self, threaded: bool, fn: Callable[..., Any], *args: Any) -> Any:
        if threaded:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
        if self.batcher is not None:
            return await self.batcher.run(fn, *args)
        return fn(*args)

    # -- the synchronous work (inline or in a worker thread) -----------------------------------------------

    def _parse(self, route: ResolvedRoute, raw: bytes) -> tuple[Any, list[tuple[JsonPath, str]]]:
        doc = parse_json(raw, max_depth=self.max_json_depth, reject_duplicate_keys=self.reject_duplicate_keys)
        parts = route.locator.locate(doc)
        if not parts:
            raise BodyError(422, "missing-prompt", f"No prompt found in the JSON body at {route.locator.describe()}.")
        check_text(parts, raw)
        return doc, parts

    def _check(self, engine: Any, doc: Any, parts: list[tuple[JsonPath, str]], context: CheckContext) -> _Result:
        started = time.perf_counter()
        try:
            decision, rewritten = decide(engine, [text for _, text in parts], context)
            body = None
            if rewritten is not None:
                for (path, _), new in zip(parts, rewritten):
                    if path == ():
                        doc = new
                    else:
                        set_at(doc, path, new)
                body = dump_json(doc)
        except Exception as exc:
            return _Result(error=exc, seconds=time.perf_counter() - started)
        return _Result(decision=decision, context=context, body=body, seconds=time.perf_counter() - started)

    def _process(self, engine: Any, route: ResolvedRoute, scope: dict, raw: bytes) -> _Result:
        try:
            doc, parts = self._parse(route, raw)
            context = self._client_context(scope, doc)
        except BodyError as exc:
            return _Result(problem=exc)
        return self._check(engine, doc, parts, context)

    async def _process_with_factory(self, threaded: bool, engine: Any, route: ResolvedRoute, scope: dict, raw: bytes) -> _Result:
        try:
            doc, parts = await self._run(threaded, self._parse, route, raw)
            values = self.context.from_client(scope, doc)
            validate_context(values)
        except BodyError as exc:
            return _Result(problem=exc)
        except ContextError as exc:
            return _Result(problem=BodyError(422, "invalid-context", f"Invalid request context: {exc}"))
        try:
            values.update(await self.context.from_factory(scope, doc))
            context = validate_context(values)
        except Exception as exc:  # the application's provider failed: the guard cannot decide
            return _Result(error=exc)
        return await self._run(threaded, self._check, engine, doc, parts, context)

    def _client_context(self, scope: dict, doc: Any) -> CheckContext:
        try:
            return validate_context(self.context.from_client(scope, doc))
        except ContextError as exc:
            raise BodyError(422, "invalid-context", f"Invalid request context: {exc}") from None

    # -- outcomes ----------------------------------------------------------------------------------------

    async def _problem(self, send: Send, route: ResolvedRoute, problem: BodyError, *, close: bool = False) -> None:
        self._emit(GuardEvent("problem", route.label, status=problem.status, code=problem.code))
        await send_problem(send, problem.status, problem_body(problem.status, problem.code, problem.detail), close=close)

    async def _engine_failure(
        self, route: ResolvedRoute, scope: dict, receive: Receive, send: Send, raw: bytes, exc: BaseException, seconds: float
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self._emit(GuardEvent("engine-error", route.label, seconds=seconds, fail_open=route.fail_open))
        if self.audit is not None:
            self.audit.emit(
                {
                    "ts": utc_now(),
                    "event": "engine-error",
                    "source": "middleware",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": route.label,
                    "action": "unchecked" if route.fail_open else "error",
                    "fail_open": route.fail_open,
                    "error": error,
                }
            )
        if not route.fail_open:
            log.error("guard engine failed on %s %s; answering 503 (fail closed): %s", scope.get("method"), scope.get("path"), error, exc_info=exc)
            await send_problem(
                send,
                503,
                problem_body(503, "guard-unavailable", "The prompt could not be checked; try again later."),
                headers=[(b"retry-after", b"1")],
            )
            return
        log.warning("guard engine failed on %s %s; passing the request UNCHECKED (fail open): %s", scope.get("method"), scope.get("path"), error, exc_info=exc)
        state = scope.setdefault("state", {})
        state[self.state_key] = None
        state["guard_error"] = error
        extra = decision_headers(None, action="unchecked") if self.response_headers else []
        await self.app(scope, _replay(raw, receive), _adding_headers(send, extra) if extra else send)

    def _record(self, scope: dict, route: ResolvedRoute, decision: Decision, seconds: float, context: Optional[CheckContext] = None) -> None:
        if self.on_event is not None:
            self._emit(GuardEvent("decision", route.label, seconds=seconds, decision=decision, context=context))
        if self.audit is not None:
            self.audit.emit(
                {
                    "ts": utc_now(),
                    "event": "decision",
                    "source": "middleware",
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": route.label,
                    "action": decision.action,
                    "decision_id": decision.decision_id,
                    "characters": decision.characters,
                    "check_ms": round(seconds * 1000, 3),
                    "decision": decision,
                }
            )

    def _emit(self, event: GuardEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # pragma: no cover - an observer must not break requests
                log.exception("on_event observer failed")


# ---------------------------------------------------------------------------------------------------------
# helpers


async def read_body(receive: Receive, limit: int, timeout: Optional[float] = None) -> Optional[bytes]:
    """Read the whole request body, or None if the client disconnected. Raises BodyError(413) as soon as
    more than `limit` bytes have arrived, without reading the rest.

    `timeout`: the rest of the body must arrive within this many seconds of the first read that has to wait for
    it, else BodyError(408) (a client that announces a body and sends it slowly or never holds a connection and
    a task for as long as it likes). A body that is already there, as small ones are, is read without a timer."""
    if timeout is None:
        return await _collect(await receive(), receive, limit)
    message, waiting = awaiting.start(receive())
    if waiting is None and not message.get("more_body", False):
        return _whole(message, limit)
    with anyio.move_on_after(timeout):
        return await _collect(message if waiting is None else await waiting, receive, limit)
    raise BodyError(408, "body-timeout", f"The request body did not arrive within {timeout:g} s.")


def _whole(message: dict, limit: int) -> Optional[bytes]:
    """The body of a last `message` (None: the client left)."""
    if message["type"] == "http.disconnect":
        return None
    body = message.get("body", b"")
    if len(body) > limit:
        raise _too_large(limit)
    return bytes(body)


async def _collect(message: dict, receive: Receive, limit: int) -> Optional[bytes]:
    """The body that starts with `message`, reading the rest from `receive`."""
    if message["type"] == "http.disconnect" or not message.get("more_body", False):
        return _whole(message, limit)  # the whole body in one message, as servers send small ones
    body = bytearray(message.get("body", b""))
    if len(body) > limit:
        raise _too_large(limit)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


def check_body_timeout(value: Optional[float]) -> Optional[float]:
    """`value` as a body timeout in seconds: None (no limit) or a positive finite number."""
    if value is None:
        return None
    value = float(value)
    if not 0 < value < float("inf"):
        raise ValueError("body_timeout must be a positive number of seconds, or None for no limit")
    return value


def check_request_headers(scope: dict, limit: int) -> Optional[BodyError]:
    """Problems visible from the headers alone: a compressed body or a form (415), a bad or too large
    Content-Length. A header given twice counts as its values joined with commas, as HTTP defines it."""
    encoding = length = None
    for name, value in scope.get("headers") or ():
        name = name.lower()
        if name == b"content-length":
            length = value if length is None else length + b"," + value
        elif name == b"content-encoding":
            encoding = value if encoding is None else encoding + b"," + value
        elif name == b"content-type" and _is_form(value):
            return _FORM
    return _check_headers(encoding, length, limit)


# The guard reads a guarded body as JSON. A form says it is not: an app that reads the form would see other fields
# than the guard checked (a JSON string value "&prompt=..." is a form field "prompt" too).
_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
_FORM = BodyError(415, "unsupported-media-type", "Form bodies are not accepted on guarded routes; send the request as JSON.")


def _is_form(value: bytes) -> bool:
    return value.split(b";", 1)[0].strip().lower() in _FORM_TYPES


_METHOD_OVERRIDE_HEADERS = (b"x-http-method-override", b"x-http-method", b"x-method-override")


def _has_method_override(scope: dict) -> bool:
    return any(k.lower() in _METHOD_OVERRIDE_HEADERS for k, _ in scope.get("headers") or ())


def _override_methods(scope: dict) -> list[str]:
    return [v.decode("latin-1").strip().upper() for k, v in scope.get("headers") or () if k.lower() in _METHOD_OVERRIDE_HEADERS]


def _too_large(limit: int) -> BodyError:
    return BodyError(413, "body-too-large", f"The request body is larger than {limit} bytes.")


def _check_headers(encoding: Optional[bytes], length: Optional[bytes], limit: int) -> Optional[BodyError]:
    if encoding is not None and encoding.strip().lower() not in (b"", b"identity"):
        return BodyError(415, "unsupported-content-encoding", "Compressed request bodies are not accepted on guarded routes; send identity-encoded JSON.")
    if length is not None:
        try:
            value = int(length.decode("latin-1").strip())
            if value < 0 or b"," in length:
                raise ValueError
        except ValueError:
            return BodyError(400, "invalid-content-length", "The Content-Length header is not a valid length.")
        if value > limit:
            return _too_large(limit)
    return None


def _with_body_headers(scope: dict, length: int) -> dict:
    headers = [(k, v) for k, v in scope.get("headers") or () if k.lower() not in (b"content-length", b"transfer-encoding")]
    headers.append((b"content-length", str(length).encode("latin-1")))
    return {**scope, "headers": headers}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: http.disconnect, from the server

    return replay


_GUARD_HEADER_NAMES = frozenset(name.encode() for name in GUARD_RESPONSE_HEADERS)


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """`send`, with the guard's headers in the response, in place of any the app set under those names."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers") or () if k.lower() not in _GUARD_HEADER_NAMES]
            message = {**message, "headers": headers + extra}
        await send(message)

    return wrapped
