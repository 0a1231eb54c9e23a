"""Helpers for the ledger tests: hand-built decisions (guard.models) and PostgreSQL test settings."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from guard.models import Decision, MatchDecision, RevenueTag

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("GUARD_TEST_PG_URL", "")
PG_SKIP_REASON = (
    "GUARD_TEST_PG_URL is not set: no PostgreSQL server to test against "
    "(.ci/services.sh starts one on 127.0.0.1 and exports it)"
)


def tag(rightsholder: str, *character_ids: str, rate: float = 0.1, licence: Optional[str] = None) -> RevenueTag:
    return RevenueTag(rightsholder=rightsholder, character_ids=list(character_ids), share_rate=rate, licence_id=licence)


def match(character_id: str, rightsholder: Optional[str], action: str = "tag") -> MatchDecision:
    return MatchDecision(
        character_id=character_id, franchise="f", rightsholder=rightsholder, start=0, end=1, surface="x",
        alias="x", method="exact", score=1.0, action=action, rule="r", reason="test",
    )


def decision(decision_id: str, *tags: RevenueTag, action: str = "tag", matches=(), policy_version: str = "p1") -> Decision:
    return Decision(
        decision_id=decision_id, action=action, prompt="a prompt", original_prompt="a prompt",
        tags=list(tags), matches=list(matches), policy_version=policy_version,
    )


def pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"
