"""A small FastAPI "generation" API, guarded by character-guard's ASGI middleware.

Run it (from the repository root):

    uvicorn examples.fastapi_app:app --port 8080

Then:

    curl -s localhost:8080/v1/images/generations -H 'content-type: application/json' \\
         -d '{"prompt": "Pikachu covered in blood"}'          # rewritten before the handler sees it
    curl -si localhost:8080/v1/images/generations -H 'content-type: application/json' \\
         -d '{"prompt": "Raiden Shogun nude"}'                # 451, the handler never runs
    curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \\
         -H 'x-guard-commercial: true' -H 'x-guard-region: FR' \\
         -d '{"messages": [{"role": "user", "content": "draw Pikachu waving"}]}'

The handlers are ordinary FastAPI code: they get the (possibly rewritten) prompt in their model, and the
guard's decision in `request.state.guard_decision` (to log it, or to record revenue tags with the image).
"""
from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Any, AsyncIterator, Optional

import anyio
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from middleware import AuditLog, EngineHolder, GuardedRoute, GuardMiddleware


class ImageRequest(BaseModel):
    prompt: str
    negative_prompt: Optional[str] = None
    size: str = "1024x1024"
    n: int = Field(default=1, ge=1, le=4)


class ChatMessage(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str = "painter-1"
    messages: list[ChatMessage]


def guard_summary(request: Request) -> dict[str, Any]:
    decision = getattr(request.state, "guard_decision", None)
    if decision is None:
        # Not behind the middleware (guarded=False): behind `guard serve --upstream` the decision arrives as
        # request headers set by the proxy.
        return {
            "action": request.headers.get("x-guard-action"),
            "decision_id": request.headers.get("x-guard-decision-id"),
            "characters": [c for c in request.headers.get("x-guard-characters", "").split(",") if c],
        }
    return {
        "action": decision.action,
        "decision_id": decision.decision_id,
        "characters": decision.characters,
        "revenue_tags": [t.model_dump() for t in decision.tags],
    }


def create_app(engine: Any = None, *, audit: Any = None, guarded: bool = True) -> FastAPI:
    """The example app. `engine`: a Guard, an EngineHolder (hot reload) or None for the bundled data
    (or the files listed in GUARD_LEXICONS / GUARD_POLICIES, separated like PATH). `guarded=False` leaves
    the middleware out, to run the app as the upstream of `guard serve --upstream`."""
    if engine is None and guarded:
        lexicons = [p for p in os.environ.get("GUARD_LEXICONS", "").split(os.pathsep) if p]
        policies = [p for p in os.environ.get("GUARD_POLICIES", "").split(os.pathsep) if p]
        engine = EngineHolder.from_paths(lexicons or None, policies or None)
    if audit is None and os.environ.get("GUARD_AUDIT_LOG"):
        audit = AuditLog(os.environ["GUARD_AUDIT_LOG"])

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not isinstance(engine, EngineHolder):
            yield
            return
        # Hot reload: on SIGHUP, and when a lexicon or policy file changes.
        installed = engine.install_sighup()
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.watch, 1.0)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                if installed:
                    engine.remove_sighup()

    app = FastAPI(title="Example generation API (guarded)", lifespan=lifespan)

    @app.post("/v1/images/generations")
    async def generate_image(body: ImageRequest, request: Request) -> dict[str, Any]:
        # A real service would call its image model here with body.prompt, which the guard has already
        # checked (and rewritten if the policy said so).
        return {
            "id": uuid.uuid4().hex,
            "created": int(time.time()),
            "prompt_used": body.prompt,
            "data": [{"url": f"https://images.example/{uuid.uuid4().hex}.png"} for _ in range(body.n)],
            "guard": guard_summary(request),
        }

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request) -> dict[str, Any]:
        last = body.messages[-1].content
        return {
            "id": uuid.uuid4().hex,
            "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Here is your picture of: {last}"}}],
            "guard": guard_summary(request),
        }

    @app.get("/v1/models")  # not guarded: no prompt, and its body is never buffered
    async def models() -> dict[str, Any]:
        return {"data": [{"id": "painter-1"}]}

    if not guarded:
        return app
    app.add_middleware(
        GuardMiddleware,
        engine=engine,
        routes=[
            "POST /v1/images/generations",
            GuardedRoute("/v1/chat/completions", prompt_pointers=("/messages/*/content",)),
        ],
        prompt_pointers=("/prompt", "/negative_prompt"),
        audit=audit,
    )

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn examples.fastapi_app:app` builds the app (and loads the bundled lexicons) on first access,
    # so importing this module for create_app() stays cheap.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
