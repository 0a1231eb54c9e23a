"""Public result types.

`Match` is a plain slotted dataclass because the scanner creates it on the hot path. The types that cross
a boundary (HTTP, audit log, ledger) are pydantic models: `CheckContext` going in, `Decision` coming out.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["allow", "tag", "rewrite", "reject"]
ACTION_SEVERITY: dict[str, int] = {"allow": 0, "tag": 1, "rewrite": 2, "reject": 3}


@dataclass(frozen=True, slots=True)
class Match:
    """One mention of a character in a prompt.

    `start`/`end` index the original text, so `text[start:end] == surface` always holds.
    """

    character_id: str
    franchise: str
    rightsholder: Optional[str]
    start: int
    end: int
    surface: str
    alias: str
    method: str  # exact | variant | despaced | fuzzy | partial
    score: float
    normalized: str = ""
    lang: str = ""
    confirmed: bool = True
    evidence: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["evidence"] = list(self.evidence)
        return d


class CheckContext(BaseModel):
    """Who is asking and for what use. Unknown fields are an error, so a typo never silently changes a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commercial: bool = False
    region: Optional[str] = Field(default=None, description="ISO 3166-1 alpha-2 country of the user", pattern=r"^[A-Za-z]{2}$")
    age_group: Optional[Literal["child", "teen", "adult"]] = None
    age_verified: bool = False
    user_id: Optional[str] = None
    request_id: Optional[str] = None
    at: Optional[datetime] = Field(default=None, description="evaluation time for licence windows; now if unset")


# The context of a check that states none. CheckContext is frozen, so one instance serves every such call.
DEFAULT_CONTEXT = CheckContext()


class MatchDecision(BaseModel):
    """A match together with the policy rule that decided it."""

    character_id: str
    franchise: str
    rightsholder: Optional[str]
    start: int
    end: int
    surface: str
    alias: str
    method: str
    score: float
    action: Action
    rule: str
    reason: str
    replacement: Optional[str] = Field(
        default=None, description="for action rewrite: the text that replaced the mention ('' when it was dropped)"
    )
    round: int = Field(
        default=0,
        description="0: a mention in the prompt as given; n: found when re-scanning after the n-th rewrite, "
        "and then start/end index that rewritten text",
    )


class RevenueTag(BaseModel):
    rightsholder: str
    character_ids: list[str]
    share_rate: float
    licence_id: Optional[str] = None


class Rejection(BaseModel):
    code: str
    message: str
    character_id: Optional[str] = None


class Decision(BaseModel):
    decision_id: str
    action: Action
    prompt: str
    original_prompt: str
    matches: list[MatchDecision] = Field(default_factory=list)
    tags: list[RevenueTag] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    policy_version: str = ""
    elapsed_ms: float = 0.0

    @property
    def characters(self) -> list[str]:
        return sorted({m.character_id for m in self.matches})
