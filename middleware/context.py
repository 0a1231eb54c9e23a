"""Building the CheckContext of a request from headers, body fields and an optional callable."""
from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Mapping, Optional, Union

from pydantic import ValidationError

from guard.models import DEFAULT_CONTEXT, CheckContext
from middleware.jsonbody import JsonPointer

# Headers read by default. Only the context fields a client can state about itself without widening what
# it is allowed: `age_verified` and `at` are deliberately absent (a client could otherwise claim to be
# verified, or move the evaluation time into a licence window). Add them explicitly when a trusted gateway
# sets them. Later entries win, so X-Guard-Request-Id overrides X-Request-Id.
DEFAULT_CONTEXT_HEADERS: Mapping[str, str] = {
    "x-request-id": "request_id",
    "x-guard-region": "region",
    "x-guard-commercial": "commercial",
    "x-guard-age-group": "age_group",
    "x-guard-user-id": "user_id",
    "x-guard-request-id": "request_id",
}

ContextFactory = Callable[[dict, Any], Union[None, CheckContext, Mapping[str, Any], Awaitable[Union[None, CheckContext, Mapping[str, Any]]]]]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_BOOL_FIELDS = {name for name, f in CheckContext.model_fields.items() if f.annotation is bool}


class ContextError(ValueError):
    """The request states a context that is not valid (422)."""


def _coerce_header(field: str, header: str, value: str) -> Any:
    value = value.strip()
    if field in _BOOL_FIELDS:
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ContextError(f"header {header}: expected true or false, got {value!r}")
    return value


class ContextBuilder:
    """Resolved once at middleware construction; `from_request` runs per request.

    Precedence, lowest to highest: body fields, headers, the callable's result.
    """

    def __init__(
        self,
        headers: Optional[Mapping[str, str]] = None,
        body_fields: Optional[Mapping[str, str]] = None,
        factory: Optional[ContextFactory] = None,
    ) -> None:
        known = set(CheckContext.model_fields)
        self.headers: tuple[tuple[bytes, str, str], ...] = ()
        for header, field in (headers or {}).items():
            if field not in known:
                raise ValueError(f"context header {header!r} maps to unknown context field {field!r}")
            self.headers += ((header.lower().encode("latin-1"), header, field),)
        self._header_keys = frozenset(key for key, _, _ in self.headers)
        self.body_fields: tuple[tuple[str, JsonPointer], ...] = ()
        for field, pointer in (body_fields or {}).items():
            if field not in known:
                raise ValueError(f"context body field {pointer!r} maps to unknown context field {field!r}")
            parsed = JsonPointer.parse(pointer)
            if parsed.has_wildcard:
                raise ValueError(f"context body pointer {pointer!r} cannot contain a wildcard")
            self.body_fields += ((field, parsed),)
        self.factory = factory
        self.factory_is_async = factory is not None and (
            inspect.iscoroutinefunction(factory) or inspect.iscoroutinefunction(getattr(factory, "__call__", None))
        )

    @property
    def is_static(self) -> bool:
        return not self.headers and not self.body_fields and self.factory is None

    def from_client(self, scope: dict, doc: Any) -> dict[str, Any]:
        """Context fields stated by the client (body fields, then headers). Raises ContextError."""
        values: dict[str, Any] = {}
        for field, pointer in self.body_fields:
            found = pointer.resolve(doc)
            if found and found[0][1] is not None:
                values[field] = found[0][1]
        if self.headers:
            raw: dict[bytes, bytes] = {}
            wanted = self._header_keys
            for k, v in scope.get("headers") or ():
                k = k.lower()
                if k not in wanted:
                    continue
                if k in raw and raw[k] != v:
                    # Two different values (say, one from a gateway and one from the client): refuse to guess.
                    raise ContextError(f"header {k.decode('latin-1')} is given more than once with different values")
                raw.setdefault(k, v)
            for key, header, field in self.headers:
                if key in raw:
                    values[field] = _coerce_header(field, header, raw[key].decode("latin-1"))
        return values

    async def from_factory(self, scope: dict, doc: Any) -> dict[str, Any]:
        """Fields from the callable (may raise anything: that is a server-side failure)."""
        if self.factory is None:
            return {}
        result = self.factory(scope, doc)
        if self.factory_is_async or inspect.isawaitable(result):
            result = await result  # type: ignore[misc]
        if result is None:
            return {}
        if isinstance(result, CheckContext):
            return result.model_dump(exclude_unset=True)
        if isinstance(result, Mapping):
            return dict(result)
        raise TypeError(f"context factory returned {type(result).__name__}, expected CheckContext, mapping or None")


def validate_context(values: Mapping[str, Any]) -> CheckContext:
    if not values:
        return DEFAULT_CONTEXT
    try:
        return CheckContext.model_validate(dict(values))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'context'}: {e['msg']}" for e in exc.errors())
        raise ContextError(problems) from None
