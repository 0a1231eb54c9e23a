"""The guard as an HTTP service: POST /v1/check, GET /healthz, GET /metrics, and optionally a guarded
reverse proxy to an upstream generation API for every other path."""
from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Optional, Sequence, Union

import anyio
import anyio.to_thread
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from guard.models import CheckContext, Decision
from guard.service.metrics import CONTENT_TYPE, Metrics
from guard.service.proxy import DEFAULT_TIMEOUT, ProxyApp
from middleware.audit import AuditLog, AuditTarget, as_audit_sink, utc_now
from middleware.context import ContextError, validate_context
from middleware.core import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_JSON_DEPTH, DEFAULT_OFFLOAD_THRESHOLD, GuardMiddleware, check_body_timeout, check_request_headers, read_body
from middleware.holder import EngineHolder
from middleware.jsonbody import BodyError, check_text, parse_json
from middleware.ledgering import LedgerHook
from middleware.problem import decision_headers, problem_body
from middleware.routes import GuardedRoute

log = logging.getLogger("guard.service")

SERVICE_PATHS = frozenset({"/v1/check", "/healthz", "/metrics"})
# What `guard serve --upstream` guards when no --route is given: every request that can carry a body.
DEFAULT_PROXY_ROUTES: tuple[str, ...] = ("POST,PUT,PATCH /**",)
# Where it looks for the prompt by default: image APIs (`prompt`, `negative_prompt`), chat APIs
# (`messages[].content`, string or content parts) and response-style APIs (`input`).
DEFAULT_PROXY_POINTERS: tuple[str, ...] = ("/prompt", "/negative_prompt", "/messages/*/content", "/input")


class GuardService:
    """Everything `guard serve` runs, as one ASGI app. Build it with `create_app`.

    ledger: a `guard.ledger.Ledger` (or None). Decisions of POST /v1/check and of the guarded proxy are recorded
    in it (see `middleware.ledgering`); failures are logged and counted in guard_ledger_errors_total, never
    answered as errors. At shutdown the ledger is flushed, or closed when `close_ledger` is true (`guard serve`
    opens it, so it closes it).
    """

    def __init__(
        self,
        holder: EngineHolder,
        *,
        upstream: Optional[str] = None,
        audit: Union[None, AuditLog, AuditTarget] = None,
        metrics: Optional[Metrics] = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
        body_timeout: Optional[float] = DEFAULT_BODY_TIMEOUT,
        offload_threshold: int = DEFAULT_OFFLOAD_THRESHOLD,
        routes: Optional[Sequence[Union[GuardedRoute, str]]] = None,
        prompt_pointers: Optional[Sequence[str]] = None,
        fail_open: bool = False,
        context_headers: Optional[Mapping[str, str]] = None,
        watch: bool = True,
        watch_interval: float = 1.0,
        sighup: bool = True,
        client: Optional[httpx.AsyncClient] = None,
        upstream_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        ledger: Any = None,
        close_ledger: bool = False,
    ) -> None:
        if max_json_depth < 0:
            raise ValueError("max_json_depth must be 0 (no limit) or more")
        self.holder = holder
        self.ledger = ledger
        self.close_ledger = close_ledger
        self._ledger = LedgerHook(ledger) if ledger is not None else None
        self.audit = as_audit_sink(audit)
        self._owns_audit = self.audit is not None and not isinstance(audit, AuditLog)
        self.metrics = metrics or Metrics()
        self.max_body_size = max_body_size
        self.max_json_depth = max_json_depth
        self.body_timeout = check_body_timeout(body_timeout)
        self.offload_threshold = offload_threshold
        self.watch = watch
        self.watch_interval = watch_interval
        self.sighup = sighup
        self.api = Starlette(
            routes=[
                Route("/v1/check", self.check, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
                Route("/metrics", self.metrics_endpoint, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )
        self.proxy: Optional[ProxyApp] = None
        self.guarded_proxy: Optional[GuardMiddleware] = None
        if upstream:
            self.proxy = ProxyApp(upstream, client=client, timeout=upstream_timeout, on_upstream_error=self.metrics.observe_upstream_error)
            extra = {} if context_headers is None else {"context_headers": context_headers}
            self.guarded_proxy = GuardMiddleware(
                self.proxy,
                holder,
                routes=list(routes or DEFAULT_PROXY_ROUTES),
                prompt_pointers=list(prompt_pointers or DEFAULT_PROXY_POINTERS),
                max_body_size=max_body_size,
                max_json_depth=max_json_depth,
                body_timeout=body_timeout,
                offload_threshold=offload_threshold,
                fail_open=fail_open,
                audit=self.audit,
                on_event=self.metrics.on_event,
                ledger=ledger,
                **extra,
            )

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if self.guarded_proxy is not None and scope["type"] in ("http", "websocket") and scope["path"] not in SERVICE_PATHS:
            await self.guarded_proxy(scope, receive, send)
            return
        await self.api(scope, receive, send)

    # -- lifespan -----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        if self.proxy is not None:
            await self.proxy.startup()
        installed = False
        if self.sighup:
            installed = self.holder.install_sighup(also=self.audit.reopen if self.audit is not None else None)
        try:
            async with anyio.create_task_group() as tg:
                if self.watch and self.holder.watch_paths:
                    tg.start_soon(self.holder.watch, self.watch_interval)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            if installed:
                self.holder.remove_sighup()
            if self.proxy is not None:
                await self.proxy.shutdown()
            if self.audit is not None:
                if self._owns_audit:
                    await anyio.to_thread.run_sync(self.audit.close)
                else:
                    await anyio.to_thread.run_sync(self.audit.flush)
            if self.ledger is not None:
                await anyio.to_thread.run_sync(self._finish_ledger)

    def _finish_ledger(self) -> None:
        """Commit what the ledger holds (close it if we own it). Failures are logged: shutdown goes on."""
        try:
            if self.close_ledger:
                self.ledger.close()
            else:
                self.ledger.flush()
        except Exception:
            log.exception("ledger %s: %s at shutdown failed", getattr(self.ledger, "url", self.ledger),
                          "close" if self.close_ledger else "flush")

    # -- endpoints ----------------------------------------------------------------------------------------

    async def check(self, request: Request) -> Response:
        """POST /v1/check {"prompt": str, "context": {...}} -> the Decision."""
        problem = check_request_headers(request.scope, self.max_body_size)
        if problem is not None:
            return self._problem(problem, close=problem.status == 413)
        try:
            raw = await read_body(request.receive, self.max_body_size, self.body_timeout)
        except BodyError as exc:
            return self._problem(exc, close=True)
        if raw is None:
            return Response(status_code=499)  # client gone; nobody reads this
        engine = self.holder.current
        threaded = len(raw) > self.offload_threshold
        if threaded:
            outcome = await anyio.to_thread.run_sync(self._decide, engine, raw)
        else:
            outcome = self._decide(engine, raw)
        if isinstance(outcome, BodyError):
            return self._problem(outcome)
        if isinstance(outcome, Exception):
            self.metrics.observe_engine_error("api", False)
            log.error("engine failed on /v1/check: %s: %s", type(outcome).__name__, outcome, exc_info=outcome)
            if self.audit is not None:
                self.audit.emit({"ts": utc_now(), "event": "engine-error", "source": "api", "method": "POST", "path": "/v1/check",
                                 "action": "error", "fail_open": False, "error": f"{type(outcome).__name__}: {outcome}"})
            return self._problem(BodyError(503, "guard-unavailable", "The prompt could not be checked; try again later."), headers={"retry-after": "1"})
        decision, seconds, context = outcome
        self.metrics.observe_decision("api", decision.action, seconds)
        if self.audit is not None:
            self.audit.emit({"ts": utc_now(), "event": "decision", "source": "api", "method": "POST", "path": "/v1/check",
                             "action": decision.action, "decision_id": decision.decision_id, "characters": decision.characters,
                             "check_ms": round(seconds * 1000, 3), "decision": decision})
        if self._ledger is not None:
            if await self._ledger.record(decision, context, request.scope, where="POST /v1/check") is not None:
                self.metrics.observe_ledger_error("api")
        body = json.dumps(decision.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {k.decode(): v.decode() for k, v in decision_headers(decision)}
        return Response(body, media_type="application/json", headers=headers)

    def _decide(self, engine: Any, raw: bytes) -> Union[BodyError, Exception, tuple[Decision, float, CheckContext]]:
        try:
            doc = parse_json(raw, max_depth=self.max_json_depth)
            if not isinstance(doc, dict):
                raise BodyError(422, "invalid-request", 'The body must be a JSON object: {"prompt": "...", "context": {...}}.')
            unknown = sorted(set(doc) - {"prompt", "context"})
            if unknown:
                raise BodyError(422, "invalid-request", f"Unknown field(s) {', '.join(unknown)}; expected prompt and context.")
            prompt = doc.get("prompt")
            if prompt is None:
                raise BodyError(422, "missing-prompt", 'No prompt found in the JSON body at /prompt.')
            if not isinstance(prompt, str):
                raise BodyError(422, "invalid-prompt", "The prompt at /prompt must be a string.")
            check_text([(("prompt",), prompt)], raw)
            ctx = doc.get("context")
            if ctx is not None and not isinstance(ctx, dict):
                raise BodyError(422, "invalid-context", "The context must be a JSON object.")
            try:
                context = validate_context(ctx or {})
            except ContextError as exc:
                raise BodyError(422, "invalid-context", f"Invalid request context: {exc}") from None
        except BodyError as exc:
            return exc
        started = time.perf_counter()
        try:
            decision = engine.check(prompt, context)
        except Exception as exc:
            return exc
        return decision, time.perf_counter() - started, context

    def _problem(self, problem: BodyError, *, close: bool = False, headers: Optional[dict] = None) -> Response:
        self.metrics.observe_problem("api", problem.status, problem.code)
        extra = dict(headers or {})
        if close:
            extra["connection"] = "close"
        extra["cache-control"] = "no-store"
        return Response(problem_body(problem.status, problem.code, problem.detail), status_code=problem.status,
                        media_type="application/problem+json", headers=extra)

    async def healthz(self, request: Request) -> Response:
        holder = self.holder
        return JSONResponse(
            {
                "status": "ok",
                "engine_generation": holder.generation,
                "engine_loaded_at": holder.loaded_at,
                "last_reload_error": holder.last_error,
                "reloading": holder.reloading,
                "upstream": str(self.proxy.upstream) if self.proxy is not None else None,
                "ledger": self._ledger_health(),
            },
            headers={"cache-control": "no-store"},
        )

    def _ledger_health(self) -> Optional[dict]:
        ledger = self.ledger
        if ledger is None:
            return None
        return {"url": getattr(ledger, "url", None), "durable": bool(getattr(ledger, "durable", False)),
                "closed": bool(getattr(ledger, "closed", False)), "pending": getattr(ledger, "pending", None)}

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.render(holder=self.holder, audit=self.audit, ledger=self.ledger), media_type=CONTENT_TYPE)


def create_app(engine: Any, **options: Any) -> GuardService:
    """The service app. `engine`: an EngineHolder (hot reload) or a bare engine (wrapped, no reload).

    Options are those of `GuardService`: upstream, audit, metrics, max_body_size, routes, prompt_pointers,
    fail_open, watch, watch_interval, sighup, client, ...
    """
    holder = engine if isinstance(engine, EngineHolder) else EngineHolder(lambda: engine, engine=engine)
    return GuardService(holder, **options)
