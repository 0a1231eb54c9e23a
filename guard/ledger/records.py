"""Attribution records: what the ledger stores for one revenue-bearing decision.

Which decisions produce a record (`is_revenue_bearing`):
- every decision whose `tags` is non-empty (a `tag` decision, or an `allow`/`rewrite` that the policy made
  revenue-bearing by tagging it), and
- every `tag` decision even when the policy engine left `tags` empty: its claims are then taken from the
  matches the policy tagged, with share_rate 0 and no licence, under the match's rightsholder or, when the
  match has none, `UNATTRIBUTED`, so the gap shows up in reports instead of vanishing;
- never a `reject` (nothing is generated), whatever its tags say.

Records are built on the caller's thread, so they are plain slotted dataclasses: cheap to make, immutable.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from guard.ledger.split import Claim, SplitRule, apply_split
from guard.models import CheckContext, Decision

log = logging.getLogger("guard.ledger")

UNATTRIBUTED = "unknown"
"""Rightsholder id for a `tag` decision whose match names no rightsholder (the policy engine uses the same)."""


@dataclass(frozen=True, slots=True)
class ShareLine:
    """One (rightsholder, character) pair of a record and the fraction of the generation it is credited with."""

    rightsholder: str
    character_id: str
    licence_id: Optional[str]
    share_rate: float  # the tag's rate (from the policy / licence), stored as given
    share: float  # this pair's fraction of the generation, from the split rule; a record's shares add up to 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "rightsholder": self.rightsholder,
            "character_id": self.character_id,
            "licence_id": self.licence_id,
            "share_rate": self.share_rate,
            "share": self.share,
        }


@dataclass(frozen=True, slots=True)
class AttributionRecord:
    """One revenue-bearing decision. Written at most once per decision id and at most once per request id."""

    decision_id: str
    request_id: Optional[str]
    recorded_at: datetime  # timezone-aware, UTC
    action: str
    region: Optional[str]  # ISO 3166-1 alpha-2, upper case
    commercial: bool
    policy_version: str
    split_rule: str
    shares: tuple[ShareLine, ...]

    @property
    def character_ids(self) -> list[str]:
        return sorted({s.character_id for s in self.shares})

    @property
    def rightsholder_ids(self) -> list[str]:
        return sorted({s.rightsholder for s in self.shares})

    @property
    def licence_ids(self) -> list[str]:
        return sorted({s.licence_id for s in self.shares if s.licence_id})

    def share_of(self, rightsholder: str) -> float:
        """The fraction of this generation credited to `rightsholder` (0 when it is not featured)."""
        return sum(s.share for s in self.shares if s.rightsholder == rightsholder)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "request_id": self.request_id,
            "recorded_at": format_ts(self.recorded_at),
            "action": self.action,
            "region": self.region,
            "commercial": self.commercial,
            "policy_version": self.policy_version,
            "split_rule": self.split_rule,
            "character_ids": self.character_ids,
            "rightsholder_ids": self.rightsholder_ids,
            "shares": [s.to_dict() for s in self.shares],
        }


def is_revenue_bearing(decision: Decision) -> bool:
    """True when `decision` must become an attribution record (see the module docstring)."""
    if decision.action == "reject":
        return False
    return bool(decision.tags) or decision.action == "tag"


def to_utc(at: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc)


def format_ts(at: datetime) -> str:
    """Fixed-width UTC text (sorts like the instant it names): 2025-01-31T23:59:59.123456Z."""
    return to_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _check_text(value: Optional[str], what: str) -> None:
    if value is not None and "\x00" in value:
        raise ValueError(f"{what} contains a NUL character: {value!r}")


def claims_of(decision: Decision) -> list[Claim]:
    """The distinct (rightsholder, character) pairs a revenue-bearing decision features, in tag order."""
    seen: set[tuple[str, str]] = set()
    claims: list[Claim] = []

    def add(rightsholder: str, character_id: str, licence_id: Optional[str], rate: float) -> None:
        key = (rightsholder, character_id)
        if key not in seen:
            seen.add(key)
            claims.append(Claim(rightsholder, character_id, licence_id, rate))

    for tag in decision.tags:
        rate = float(tag.share_rate)
        if not math.isfinite(rate) or rate < 0.0:
            raise ValueError(f"decision {decision.decision_id}: tag for {tag.rightsholder!r} has share_rate {rate!r}")
        _check_text(tag.rightsholder, "rightsholder")
        _check_text(tag.licence_id, "licence_id")
        character_ids = list(tag.character_ids)
        if not character_ids:
            # A rightsholder-level tag: credit the characters of that rightsholder the policy matched, if any.
            character_ids = sorted({m.character_id for m in decision.matches if m.rightsholder == tag.rightsholder})
        for cid in character_ids or [""]:
            _check_text(cid, "character_id")
            add(tag.rightsholder, cid, tag.licence_id, rate)

    if not claims and decision.action == "tag":
        tagged = [m for m in decision.matches if m.action == "tag"] or list(decision.matches)
        for m in tagged:
            _check_text(m.character_id, "character_id")
            _check_text(m.rightsholder, "rightsholder")
            add(m.rightsholder or UNATTRIBUTED, m.character_id, None, 0.0)
        if not claims:
            add(UNATTRIBUTED, "", None, 0.0)
        log.warning("decision %s is a tag decision without revenue tags; recorded from its matches: %s",
                    decision.decision_id, ", ".join(f"{c.rightsholder}/{c.character_id}" for c in claims))
    return claims


def build_record(
    decision: Decision,
    context: Optional[CheckContext],
    request_id: Optional[str],
    at: Optional[datetime],
    split_name: str,
    split_rule: SplitRule,
) -> AttributionRecord:
    """The record for a revenue-bearing decision.

    request id: `request_id`, else `context.request_id`. Time: `at`, else `context.at` (the evaluation time the
    policy used), else now; always stored in UTC.
    """
    ctx = context or CheckContext()
    rid = request_id if request_id is not None else ctx.request_id
    _check_text(decision.decision_id, "decision_id")
    _check_text(rid, "request_id")
    _check_text(decision.policy_version, "policy_version")
    if not decision.decision_id:
        raise ValueError("a decision needs a decision_id to be recorded")
    when = to_utc(at or ctx.at or datetime.now(timezone.utc))
    claims = claims_of(decision)
    shares = apply_split(split_rule, claims, split_name)
    return AttributionRecord(
        decision_id=decision.decision_id,
        request_id=rid or None,
        recorded_at=when,
        action=decision.action,
        region=ctx.region.upper() if ctx.region else None,
        commercial=bool(ctx.commercial),
        policy_version=decision.policy_version or "",
        split_rule=split_name,
        shares=tuple(
            ShareLine(c.rightsholder, c.character_id, c.licence_id, c.share_rate, s) for c, s in zip(claims, shares)
        ),
    )
