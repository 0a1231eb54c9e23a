"""From the prompt strings of one request to one Decision (and the rewritten strings, if any).

One string: one check. Several strings (several pointers, or a wildcard such as `/messages/*/content`):
they are joined with a blank line and checked once, so policy rules that look at the whole request (themes
in one message, a character in another) see all of it, and the decision, its matches and its revenue tags
are per request, not per message. When that decision is a rewrite, the rewritten prompt is split back at
the separators. If the engine's rewrite changed a separator (so the split does not give one piece per
string) each string is checked on its own and rewritten separately; if a string alone is rejected, the
request is rejected; if no single string needs a rewrite although the whole does, the rewrite cannot be
mapped back onto the body and the request is rejected ("unmappable-rewrite"). Nothing unchecked passes.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from guard.models import CheckContext, Decision, Rejection

SEPARATOR = "\n\n"


def _separator_is_safe(parts: Sequence[str]) -> bool:
    return not any(SEPARATOR in p or p.startswith("\n") or p.endswith("\n") for p in parts)


def decide(engine: Any, parts: Sequence[str], context: Optional[CheckContext]) -> tuple[Decision, Optional[list[str]]]:
    """Return (decision, rewritten parts or None). Engine exceptions propagate."""
    if len(parts) == 1:
        decision = engine.check(parts[0], context)
        if decision.action == "rewrite":
            return decision, [decision.prompt]
        return decision, None

    decision = engine.check(SEPARATOR.join(parts), context)
    if decision.action != "rewrite":
        return decision, None

    if _separator_is_safe(parts):
        pieces = decision.prompt.split(SEPARATOR)
        if len(pieces) == len(parts):
            return decision, pieces

    # Fallback: rewrite each string on its own.
    pieces = []
    rejections: list[Rejection] = []
    changed = False
    for part in parts:
        alone = engine.check(part, context)
        if alone.action == "reject":
            rejections.extend(alone.rejections or [Rejection(code="rejected", message="rejected by policy")])
        if alone.action == "rewrite" and alone.prompt != part:
            pieces.append(alone.prompt)
            changed = True
        else:
            pieces.append(part)
    if rejections:
        return decision.model_copy(update={"action": "reject", "prompt": decision.original_prompt, "rejections": [*decision.rejections, *rejections]}), None
    if not changed:
        unmappable = Rejection(
            code="unmappable-rewrite",
            message="The policy rewrites this request as a whole, but the rewrite cannot be applied to its individual prompt fields.",
        )
        return decision.model_copy(update={"action": "reject", "prompt": decision.original_prompt, "rejections": [*decision.rejections, unmappable]}), None
    return decision.model_copy(update={"prompt": SEPARATOR.join(pieces)}), pieces
