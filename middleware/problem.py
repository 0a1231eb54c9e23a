"""RFC 9457 problem details (application/problem+json) sent straight over ASGI, and the X-Guard-* headers."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional
from urllib.parse import quote

from guard.models import Decision

PROBLEM_TYPE_BASE = "https://character-guard.dev/problems/"

TITLES = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

HEADER_ACTION = "x-guard-action"
HEADER_CHARACTERS = "x-guard-characters"
HEADER_DECISION_ID = "x-guard-decision-id"
GUARD_RESPONSE_HEADERS = (HEADER_ACTION, HEADER_CHARACTERS, HEADER_DECISION_ID)

_HEADER_SAFE = "!#$&'*+-.^_`|~:;=?@/()[]{}<>,"
_PLAIN_HEADER_VALUE = re.compile(r"[A-Za-z0-9_.\-/]*")


def header_value(text: str) -> bytes:
    """A header-safe (visible ASCII) rendering: anything else is percent-encoded."""
    if text.isascii() and text.isalnum():  # the engine's decision ids (hex digits): no regex needed
        return text.encode("ascii")
    if _PLAIN_HEADER_VALUE.fullmatch(text):  # ids such as pokemon/pikachu: nothing to encode
        return text.encode("ascii")
    return quote(text, safe=_HEADER_SAFE).encode("ascii")


# Character ids come from the lexicons, a bounded set: their header values are remembered.
_CHARACTER_VALUES: dict[str, bytes] = {}
_CHARACTER_VALUES_MAX = 16384


def _character_value(character_id: str) -> bytes:
    value = _CHARACTER_VALUES.get(character_id)
    if value is None:
        value = header_value(character_id)
        if len(_CHARACTER_VALUES) >= _CHARACTER_VALUES_MAX:
            _CHARACTER_VALUES.clear()
        _CHARACTER_VALUES[character_id] = value
    return value


_ACTION, _CHARACTERS, _DECISION_ID = HEADER_ACTION.encode(), HEADER_CHARACTERS.encode(), HEADER_DECISION_ID.encode()


def decision_headers(decision: Optional[Decision], *, action: Optional[str] = None) -> list[tuple[bytes, bytes]]:
    if decision is None:
        return [(_ACTION, (action or "unchecked").encode())]
    ids = decision.characters
    return [
        (_ACTION, (action or decision.action).encode()),
        (_CHARACTERS, _character_value(ids[0]) if len(ids) == 1 else b",".join([_character_value(c) for c in ids])),
        (_DECISION_ID, header_value(decision.decision_id)),
    ]


def problem_body(status: int, code: str, detail: str, **extra: Any) -> bytes:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a detail that quotes a lone surrogate of the request (an unknown key "\ud800")
        return json.dumps(body, separators=(",", ":")).encode("ascii")


def rejection_problem(decision: Decision) -> bytes:
    return problem_body(
        451,
        "rejected",
        "The prompt was rejected by the character policy.",
        decision_id=decision.decision_id,
        characters=decision.characters,
        reasons=[r.model_dump(mode="json") for r in decision.rejections],
        policy_version=decision.policy_version or None,
    )


async def send_problem(
    send: Any,
    status: int,
    body: bytes,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    close: bool = False,
) -> None:
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *headers,
    ]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
