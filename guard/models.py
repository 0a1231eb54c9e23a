"""Public result types.

`Match` is a plain slotted dataclass because the scanner creates it on the hot path. The types that cross
a boundary (HTTP, audit log, ledger) are pydantic models: `CheckContext` going in, `Decision` coming out.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


def slot_setter(cls: type, name: str) -> Optional[Callable[[Any, Any], None]]:
    """The `__set__` of the descriptor that stores attribute `name` on instances of `cls` (a slot, or `__dict__`):
    what `object.__setattr__(obj, name, value)` finds and calls after a lookup through the class's MRO. None when
    no class of the MRO has one (the attribute is not a slot)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__
    return None


def _slot_constructor(cls: type, sample: tuple) -> Callable[..., Any]:
    """A constructor for a frozen slotted dataclass that takes every field positionally and sets the slots through
    their descriptors: a frozen dataclass's __init__ calls object.__setattr__ once per field, 3.3 µs for a Match
    on a slowed host against 2.0 this way. Checked once against the class's own __init__; that is used if they
    differ (a Python whose dataclasses work otherwise)."""
    try:
        if not all(f.init for f in fields(cls)) or hasattr(cls, "__post_init__"):
            return cls
        names = [f.name for f in fields(cls)]
        setters = {f"_set_{i}": slot_setter(cls, name) for i, name in enumerate(names)}
        if None in setters.values():  # no slots: the class's own __init__
            return cls
        body = "".join(f"    _set_{i}(obj, {name})\n" for i, name in enumerate(names))
        namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **setters}
        exec(f"def construct({', '.join(names)}):\n    obj = _new(_cls)\n{body}    return obj\n", namespace)  # noqa: S102
        construct = namespace["construct"]
        if construct(*sample) == cls(*sample) and repr(construct(*sample)) == repr(cls(*sample)):
            return construct
    except Exception:  # pragma: no cover - no slots, or slots not set through descriptors
        pass
    return cls  # pragma: no cover


# The scanner's constructor of matches: every field, in order.
new_match = _slot_constructor(Match, ("pokemon/pikachu", "pokemon", "x", 0, 7, "Pikachu", "Pikachu", "exact", 1.0,
                                      "pikachu", "en", True, ("lexicon name",)))


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

    @field_validator("user_id", "request_id")
    @classmethod
    def _text(cls, value: Optional[str]) -> Optional[str]:
        # An id with a lone surrogate (JSON's "\ud800") can be neither logged nor written to the ledger as UTF-8:
        # the tagged decision would lose its revenue record.
        if value is not None and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be Unicode text: it holds a lone surrogate") from None
        return value


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
        matches = self.matches
        if len(matches) == 1:  # the usual case, read for every response's headers: no set to sort
            return [matches[0].character_id]
        return sorted({m.character_id for m in matches})
