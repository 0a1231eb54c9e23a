"""JSON request bodies: strict parsing with hard limits, JSON pointers with wildcards, in-place edits.

Everything here is synchronous and pure so it can run inline or in a worker thread.
"""
from __future__ import annotations

import json
import re
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Iterable, Optional, Sequence, Union

import orjson

PathKey = Union[str, int]
JsonPath = tuple[PathKey, ...]


class BodyError(Exception):
    """A request body the guard will not accept. Carries the HTTP status and a stable problem code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


# ---------------------------------------------------------------------------------------------------------
# parsing

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(raw: bytes) -> int:
    """Maximum nesting depth of the arrays and objects in `raw`, without parsing it.

    String literals are removed first, so brackets inside strings do not count. Runs at C speed
    (about 10 ms per MiB); used before parsing so a deeply nested body never reaches a recursive parser.
    """
    steps = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_BRACKET_STEPS)
    if not steps:
        return 0
    return max(accumulate(array("b", steps)))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):  # 1e999: valid JSON grammar, but no number a parser can hold
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


_INF = float("inf")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# Built once: json.loads with hooks builds a decoder on every call.
_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_object_without_duplicates)
_STRICT_ALLOWING_DUPLICATES = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)

# orjson parses a body about four times faster than the json module, and refuses what strict parsing refuses
# (invalid UTF-8, a byte order mark, NaN, numbers out of range, lone surrogates), but it keeps the last of two
# duplicate keys and turns integers beyond 64 bits into floats. Its document is used only where it is provably
# the json module's: otherwise, and for every error message, the body goes through `_STRICT`.
_ORJSON_EXACT_INT = 9.2e18


def _orjson_document(raw: bytes, max_depth: int) -> Any:
    """orjson's document for `raw`, or `_NOT_PROVEN` where the strict json-module parse might differ."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_PROVEN
    trusted = 0 < max_depth <= _TRUSTED_DEPTH
    members = _members(doc, max_depth if trusted else _TRUSTED_DEPTH)
    if members < 0:
        if members == _TOO_DEEP and trusted:
            raise BodyError(400, "json-too-deep", f"The JSON body is nested deeper than {max_depth} levels.")
        return _NOT_PROVEN
    # Every colon outside a string literal separates an object key from its value, so the body has at most as
    # many keys as colons, and at least as many as its objects have members; more keys than members means a
    # repeated key. Most bodies have no colon in their strings, and the two counts meet at once. Checked even
    # where repeated keys are allowed: only a document without them has the depth of the body (an earlier
    # value of a repeated key, which orjson drops, may be the deepest).
    if members and (colons := raw.count(b":")) != members:
        # With no `\u003a` escape (which puts a colon in a string without one in the body), the colons of the
        # strings are in the body too, and the keys are exactly the colons that are not.
        if b"\\u003" in raw or colons - _string_colons(doc) != members:
            return _NOT_PROVEN
    return doc


# Deeper documents go to the json module, as before orjson: its recursion limit (about 1,000 levels, with
# RecursionError reported as json-too-deep) is below orjson's 1,024, and orjson writes at most 255 levels.
_TRUSTED_DEPTH = 250
_BIG_FLOAT = -1
_TOO_DEEP = -2


def _members(doc: Any, max_depth: int) -> int:
    """The number of members of all objects in `doc`; or `_TOO_DEEP`; or `_BIG_FLOAT` for a float that may
    have been an integer literal beyond 64 bits (the json module keeps those exact, orjson does not)."""
    kind = type(doc)
    if kind is not dict and kind is not list:
        return _BIG_FLOAT if kind is float and not -_ORJSON_EXACT_INT < doc < _ORJSON_EXACT_INT else 0
    members = 0
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return _TOO_DEEP
        if type(node) is dict:
            members += len(node)
            node = node.values()
        for value in node:
            kind = type(value)
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif kind is float and not -_ORJSON_EXACT_INT < value < _ORJSON_EXACT_INT:
                return _BIG_FLOAT
    return members


def _string_colons(doc: Any) -> int:
    colons = 0
    stack = [doc]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            colons += node.count(":")
        elif kind is dict:
            colons += sum(key.count(":") for key in node)
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
    return colons


_NOT_PROVEN = object()


def parse_json(raw: bytes, *, max_depth: int = 64, reject_duplicate_keys: bool = True) -> Any:
    """Parse a request body as strict JSON (RFC 8259, UTF-8) or raise `BodyError(400, ...)`.

    Strict means: UTF-8 only (no BOM, no UTF-16), no NaN/Infinity or numbers beyond a double's range, and by
    default no duplicate object keys, because two parsers that resolve a duplicate differently would let the
    guard check one prompt while the application uses another. `max_depth` 0: no limit of our own.
    """
    if max_depth < 0:
        raise ValueError("max_depth must be 0 (no limit) or more")
    doc = _orjson_document(raw, max_depth)
    if doc is not _NOT_PROVEN:
        return doc
    return _parse_strict(raw, max_depth, reject_duplicate_keys)


def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "invalid-utf8", f"The request body is not valid UTF-8 (invalid byte at offset {exc.start}).") from None


def _parse_strict(raw: bytes, max_depth: int, reject_duplicate_keys: bool) -> Any:
    """The json module's strict parse, which names what is wrong with a body."""
    if not raw.strip():
        raise BodyError(400, "empty-body", "The request body is empty; a JSON document is required.")
    text = _decode_utf8(raw)
    # Nesting is at most the number of opening brackets: most bodies have a few, and skip the scan. A deep
    # body must not reach the recursive parser.
    if max_depth and raw.count(b"[") + raw.count(b"{") > max_depth and json_depth(raw) > max_depth:
        raise BodyError(400, "json-too-deep", f"The JSON body is nested deeper than {max_depth} levels.")
    try:
        return (_STRICT if reject_duplicate_keys else _STRICT_ALLOWING_DUPLICATES).decode(text)
    except json.JSONDecodeError as exc:
        if raw.startswith(b"\xef\xbb\xbf"):  # the decoder would only say "Expecting value at line 1 column 1"
            raise BodyError(400, "invalid-json", "The request body starts with a byte order mark, which JSON text must not have (RFC 8259, section 8.1).") from None
        raise BodyError(400, "invalid-json", f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except _DuplicateKey as exc:
        raise BodyError(400, "duplicate-key", f"The JSON body repeats the key {exc.key!r} in one object.") from None
    except RecursionError:
        raise BodyError(400, "json-too-deep", "The JSON body is nested too deeply.") from None
    except ValueError as exc:  # NaN/Infinity, 1e999, integers longer than sys.get_int_max_str_digits()
        raise BodyError(400, "invalid-json", f"The request body is not valid JSON: {exc}.") from None


def dump_json(doc: Any) -> bytes:
    """Serialize a document of `parse_json` compactly. Non-ASCII text stays as UTF-8."""
    try:
        # The same document as json.dumps below gives, about 20 times faster. (Not for NaN or infinity, which
        # orjson writes as null: `parse_json` never gives them.)
        return orjson.dumps(doc)
    except TypeError:  # integers beyond 64 bits, lone surrogates
        pass
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate somewhere outside the prompt: escape it instead
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")


# ---------------------------------------------------------------------------------------------------------
# JSON pointers

WILDCARD = "*"


@dataclass(frozen=True)
class JsonPointer:
    """An RFC 6901 JSON pointer in which a reference token of exactly `*` matches every array element or
    object member at that level (`/messages/*/content`)."""

    text: str
    tokens: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "JsonPointer":
        if not isinstance(text, str):
            raise TypeError(f"JSON pointer must be a string, not {type(text).__name__}")
        if text == "":
            return cls(text, ())
        if not text.startswith("/"):
            raise ValueError(f"JSON pointer {text!r} must be empty or start with '/'")
        tokens = []
        for raw in text[1:].split("/"):
            if re.search(r"~(?![01])", raw):
                raise ValueError(f"JSON pointer {text!r}: '~' must be followed by 0 or 1")
            tokens.append(raw.replace("~1", "/").replace("~0", "~"))
        return cls(text, tuple(tokens))

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.tokens

    def extends(self, other: "JsonPointer") -> bool:
        """True if this pointer is strictly longer than `other` and agrees with it on `other`'s tokens
        (a wildcard agrees with anything)."""
        if len(self.tokens) <= len(other.tokens):
            return False
        return all(a == b or WILDCARD in (a, b) for a, b in zip(self.tokens, other.tokens))

    def resolve(self, doc: Any) -> list[tuple[JsonPath, Any]]:
        """Every (concrete path, value) this pointer reaches in `doc`. Missing members yield nothing."""
        found: list[tuple[JsonPath, Any]] = [((), doc)]
        for token in self.tokens:
            nxt: list[tuple[JsonPath, Any]] = []
            for path, node in found:
                if token == WILDCARD:
                    if isinstance(node, dict):
                        nxt.extend((path + (k,), v) for k, v in node.items())
                    elif isinstance(node, list):
                        nxt.extend((path + (i,), v) for i, v in enumerate(node))
                elif isinstance(node, dict):
                    if token in node:
                        nxt.append((path + (token,), node[token]))
                elif isinstance(node, list):
                    index = _array_index(token)
                    if index is not None and index < len(node):
                        nxt.append((path + (index,), node[index]))
            found = nxt
            if not found:
                break
        return found

    def __str__(self) -> str:
        return self.text


def _array_index(token: str) -> Optional[int]:
    if token == "0":
        return 0
    if token.isdigit() and token.isascii() and not token.startswith("0"):
        return int(token)
    return None


def format_path(path: JsonPath) -> str:
    """The concrete JSON pointer for a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def set_at(doc: Any, path: JsonPath, value: Any) -> None:
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def get_at(doc: Any, path: JsonPath) -> Any:
    node = doc
    for key in path:
        node = node[key]
    return node


def strings_under(node: Any, base: JsonPath) -> list[tuple[JsonPath, str]]:
    """Every string value (not object key) inside `node`, in document order, iteratively."""
    out: list[tuple[JsonPath, str]] = []
    stack: list[tuple[JsonPath, Any]] = [(base, node)]
    while stack:
        path, cur = stack.pop()
        if isinstance(cur, str):
            out.append((path, cur))
        elif isinstance(cur, dict):
            stack.extend(reversed([(path + (k,), v) for k, v in cur.items()]))
        elif isinstance(cur, list):
            stack.extend(reversed([(path + (i,), v) for i, v in enumerate(cur)]))
    return out


@dataclass(frozen=True)
class PromptLocator:
    """Finds the prompt text in a JSON document from a list of pointers.

    A pointer that reaches a string yields that string. A pointer that reaches an array or object yields
    every string inside it, unless another configured pointer goes deeper into it (then that pointer is
    trusted to say which strings are prompt text). Numbers, booleans and null are not text and are ignored.
    """

    pointers: tuple[JsonPointer, ...]
    _extended: tuple[bool, ...]

    @classmethod
    def from_strings(cls, pointers: Iterable[Union[str, JsonPointer]]) -> "PromptLocator":
        parsed = tuple(p if isinstance(p, JsonPointer) else JsonPointer.parse(p) for p in pointers)
        if not parsed:
            raise ValueError("at least one prompt pointer is required")
        extended = tuple(any(q.extends(p) for q in parsed) for p in parsed)
        return cls(parsed, extended)

    def locate(self, doc: Any) -> list[tuple[JsonPath, str]]:
        if len(self.pointers) == 1 and isinstance(doc, dict):
            tokens = self.pointers[0].tokens
            if len(tokens) == 1 and tokens[0] != WILDCARD:  # the usual "/prompt": one member of the body
                value = doc.get(tokens[0])
                if isinstance(value, str):
                    return [(tokens, value)]
        seen: set[JsonPath] = set()
        out: list[tuple[JsonPath, str]] = []
        for pointer, extended in zip(self.pointers, self._extended):
            for path, value in pointer.resolve(doc):
                if isinstance(value, str):
                    hits = [(path, value)]
                elif isinstance(value, (dict, list)) and not extended:
                    hits = strings_under(value, path)
                else:
                    continue
                for hit in hits:
                    if hit[0] not in seen:
                        seen.add(hit[0])
                        out.append(hit)
        if len(self.pointers) > 1 and len(out) > 1:
            cache: dict[int, dict[str, int]] = {}
            out.sort(key=lambda hit: _document_order(doc, hit[0], cache))
        return out

    def describe(self) -> str:
        return ", ".join(p.text or '""' for p in self.pointers)


def _document_order(doc: Any, path: JsonPath, cache: dict[int, dict[str, int]]) -> tuple[int, ...]:
    """Position of `path` in document order (object members in their order in the body)."""
    key: list[int] = []
    node = doc
    for step in path:
        if isinstance(node, dict):
            index = cache.get(id(node))
            if index is None:
                index = cache[id(node)] = {k: i for i, k in enumerate(node)}
            key.append(index[step])  # type: ignore[index]
        else:
            key.append(step)  # type: ignore[arg-type]
        node = node[step]
    return tuple(key)


def check_text(parts: Sequence[tuple[JsonPath, str]], raw: Optional[bytes] = None) -> None:
    """Reject prompt strings that cannot be UTF-8 encoded (lone surrogates from `\\ud800` escapes).

    `raw`: the body the strings were parsed from. Strict UTF-8 decoding never yields a surrogate, so only a `\\u`
    escape can make one, and a body without any needs no check."""
    if raw is not None and b"\\u" not in raw:
        return
    for path, text in parts:
        if text.isascii():
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError(400, "invalid-unicode", f"The prompt at {format_path(path) or '/'} contains an unpaired surrogate escape.") from None
