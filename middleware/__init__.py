"""ASGI middleware that puts character-guard in front of any generation endpoint.

    from middleware import GuardMiddleware
    app.add_middleware(GuardMiddleware, engine=Guard.default(), routes=["POST /v1/images/generations"])
"""
from middleware.audit import AuditLog
from middleware.context import DEFAULT_CONTEXT_HEADERS
from middleware.core import DEFAULT_MAX_BODY_SIZE, DEFAULT_OFFLOAD_THRESHOLD, GuardEvent, GuardMiddleware
from middleware.holder import EngineHolder, ReloadResult
from middleware.jsonbody import JsonPointer
from middleware.routes import GuardedRoute

__all__ = [
    "AuditLog",
    "DEFAULT_CONTEXT_HEADERS",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_OFFLOAD_THRESHOLD",
    "EngineHolder",
    "GuardEvent",
    "GuardMiddleware",
    "GuardedRoute",
    "JsonPointer",
    "ReloadResult",
]
