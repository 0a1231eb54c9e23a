"""Which requests the guard inspects: path patterns and methods, resolved once at construction."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Optional, Pattern, Sequence, Union

from middleware.jsonbody import PromptLocator

_SEGMENT_PARAM = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")
_PATH_PARAM = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*:path\}$")
_MATRIX_PARAMS = re.compile(r";[^/]*")


def compile_path_pattern(pattern: Union[str, Pattern[str]], *, case_sensitive: bool = False) -> Pattern[str]:
    """Turn a path pattern into a regular expression matched against the whole normalized path.

    Segments: literal text; `*` or `{name}` = exactly one segment; `**` or `{name:path}` = any number of
    segments (including none). A trailing slash is optional. A compiled `re.Pattern` is used as given.
    """
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ValueError(f"route pattern {pattern!r} must be a string starting with '/'")
    segments = [s for s in pattern.strip("/").split("/") if s != ""]
    regex = ""
    for seg in segments:
        if seg == "**" or _PATH_PARAM.match(seg):
            regex += "(?:/[^/]+)*"
        elif seg == "*" or _SEGMENT_PARAM.match(seg):
            regex += "/[^/]+"
        elif "*" in seg:
            regex += "/" + "[^/]*".join(re.escape(part) for part in seg.split("*"))
        else:
            regex += "/" + re.escape(seg)
    regex = (regex or "") + "/?"
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def normalize_path(path: str) -> str:
    """Collapse `//`, `.` and `..`, and drop `;params`, so `/v1//images/./x;v=1` is matched like `/v1/images/x`.

    Normalizing only ever makes more paths match a guarded pattern, never fewer.
    """
    if not path:
        return "/"
    if path[0] == "/" and "//" not in path and "/." not in path and ";" not in path and (path[-1] != "/" or len(path) == 1):
        return path  # already in normal form (the usual case): posixpath.normpath would return it unchanged
    if ";" in path:  # matrix parameters: servers that honour them route /x;a=b like /x
        path = _MATRIX_PARAMS.sub("", path)
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm if norm.startswith("/") else "/" + norm


@dataclass(frozen=True)
class GuardedRoute:
    """A route the guard inspects.

    `path`: a pattern (see `compile_path_pattern`) or a compiled regular expression.
    `methods`: HTTP methods, or ("*",) for any.
    `prompt_pointers`: where the prompt is, overriding the middleware default for this route.
    `fail_open`: on an engine failure, pass the request to the app unchecked instead of answering 503.
    None means the middleware default (fail closed unless configured otherwise).
    """

    path: Union[str, Pattern[str]]
    methods: tuple[str, ...] = ("POST",)
    prompt_pointers: Optional[tuple[str, ...]] = None
    fail_open: Optional[bool] = None
    name: Optional[str] = None

    @classmethod
    def parse(cls, spec: Union["GuardedRoute", str, tuple]) -> "GuardedRoute":
        """Accept a GuardedRoute, "POST /v1/images/*", "POST,PUT /x", "/x" (POST) or (path, methods)."""
        if isinstance(spec, GuardedRoute):
            return spec
        if isinstance(spec, tuple):
            path, methods = spec
            methods = (methods,) if isinstance(methods, str) else tuple(methods)
            return cls(path=path, methods=methods)
        if isinstance(spec, re.Pattern):
            return cls(path=spec)
        if isinstance(spec, str):
            spec = spec.strip()
            if " " in spec:
                methods, path = spec.split(None, 1)
                return cls(path=path.strip(), methods=tuple(m for m in methods.split(",") if m))
            return cls(path=spec)
        raise TypeError(f"cannot make a guarded route from {spec!r}")


@dataclass(frozen=True)
class ResolvedRoute:
    route: GuardedRoute
    regex: Pattern[str]
    methods: Optional[frozenset[str]]  # None = any
    locator: PromptLocator
    fail_open: bool
    label: str = field(default="")

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self.regex.fullmatch(path) is not None


def resolve_routes(
    routes: Sequence[Union[GuardedRoute, str, tuple]],
    *,
    default_locator: PromptLocator,
    default_fail_open: bool,
    case_sensitive: bool = False,
) -> tuple[ResolvedRoute, ...]:
    resolved = []
    for spec in routes:
        route = GuardedRoute.parse(spec)
        methods = tuple(m.upper() for m in route.methods)
        if not methods:
            raise ValueError(f"route {route.path!r} has no methods")
        locator = PromptLocator.from_strings(route.prompt_pointers) if route.prompt_pointers else default_locator
        pattern = route.path.pattern if isinstance(route.path, re.Pattern) else route.path
        resolved.append(
            ResolvedRoute(
                route=route,
                regex=compile_path_pattern(route.path, case_sensitive=case_sensitive),
                methods=None if "*" in methods else frozenset(methods),
                locator=locator,
                fail_open=default_fail_open if route.fail_open is None else bool(route.fail_open),
                label=route.name or f"{','.join(methods)} {pattern}",
            )
        )
    return tuple(resolved)
