"""The policy and theme file formats, validated with pydantic.

A policy file (`kind: policy`) holds one rightsholder's rules; a theme file (`kind: themes`) holds the
multilingual words that put a prompt into a theme. `policies/README.md` documents both formats for policy
authors. Shorthands (`use: commercial`, `region: [JP, US]`, `themes: [violence]`, `crossover: true`) are expanded
by "before" validators so that every error points at the field the author wrote.

Checks that need more than one field (an action's required fields, references to licences and themes) are
done by `guard.policy.loader`, which reports them with the file, line and field.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guard.policy.regions import ISO_3166_ALPHA2

Action = Literal["allow", "tag", "rewrite", "reject"]
Use = Literal["commercial", "personal"]
AgeGroup = Literal["child", "teen", "adult", "unknown"]
RewriteMode = Literal["descriptor", "generic", "drop"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
CODE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
THEME_ID = re.compile(r"^[a-z][a-z0-9_]*$")
LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CHARACTER_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_.\-]+$")
FRANCHISE_ID = re.compile(r"^[a-z0-9_]+$")
TITLE_ID = re.compile(r"^[A-Za-z0-9_.\-]+/\S+$")  # as in the title lexicons, e.g. bangumi/3019
ANY_TITLE = "*"  # in `titles:`, the rules for any title linked to one of the rightsholder's franchises
UNKNOWN = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, (str, bool)) else v


def _check_lang_keys(v: dict) -> dict:
    for tag in v:
        if not isinstance(tag, str) or not LANG_TAG.match(tag):
            raise ValueError(f"{tag!r} is not a language tag (en, ja, zh-Hans, zh-Hant, ko, fr, de, es, it)")
    return v


def _to_datetime(v: Any, *, end: bool) -> Any:
    """YAML gives `date` or `datetime`; a bare date means the whole day (start: 00:00, end: through 23:59:59)."""
    if isinstance(v, str):
        s = v.strip()
        try:
            v = date.fromisoformat(s) if len(s) == 10 else datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{v!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if isinstance(v, datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=timezone.utc)
    if isinstance(v, date):
        base = datetime(v.year, v.month, v.day, tzinfo=timezone.utc)
        return base.replace(hour=23, minute=59, second=59, microsecond=999999) if end else base
    return v


class _Span(_Strict):
    """Start and end datetimes, inclusive at both ends. A bare date covers the whole day (UTC)."""

    start: Optional[datetime] = None
    end: Optional[datetime] = None

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        return _to_datetime(v, end=False)

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, v: Any) -> Any:
        return _to_datetime(v, end=True)

    @model_validator(mode="after")
    def _order(self) -> "_Span":
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Window(_Span):
    """A time window, inclusive at both ends. A bare date covers the whole day (UTC)."""

    @model_validator(mode="after")
    def _given(self) -> "Window":
        if self.start is None and self.end is None:
            raise ValueError("give start, end or both")
        return self

    def contains(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at <= self.end)

    def describe(self) -> str:
        s = self.start.date().isoformat() if self.start else "…"
        e = self.end.date().isoformat() if self.end else "…"
        return f"{s}..{e}"


class RegionCondition(_Strict):
    """ISO 3166-1 alpha-2 codes. `unknown` stands for a request without a region."""

    include: Optional[list[str]] = None
    exclude: Optional[list[str]] = None

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _codes(cls, v: Any) -> Any:
        v = _as_list(v)
        if not isinstance(v, list):
            return v
        out = []
        for code in v:
            if not isinstance(code, str):
                raise ValueError(f"{code!r} is not a country code")
            c = code.strip()
            if c.lower() == UNKNOWN:
                out.append(UNKNOWN)
                continue
            if c.upper() not in ISO_3166_ALPHA2:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. JP, US, GB, DE)")
            out.append(c.upper())
        return out

    @model_validator(mode="after")
    def _one(self) -> "RegionCondition":
        if self.include is None and self.exclude is None:
            raise ValueError("give include, exclude or both")
        return self


class ThemeCondition(_Strict):
    """`any`: one of these themes is in the prompt; `all`: every one is; `none`: none of them is."""

    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)

    @field_validator("any", "all", "none", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        v = _as_list(v)
        if isinstance(v, list):
            for t in v:
                if not isinstance(t, str) or not THEME_ID.match(t):
                    raise ValueError(f"{t!r} is not a theme name (violence, sexual, politics, drugs, horror, hate)")
        return v

    @model_validator(mode="after")
    def _one(self) -> "ThemeCondition":
        if not (self.any or self.all or self.none):
            raise ValueError("give any, all or none")
        return self


class CrossoverCondition(_Strict):
    """Other characters in the same prompt.

    `present: true` holds when the prompt also names a character of another rightsholder (or of no known
    rightsholder); `present: false` when it does not. `rightsholders` / `franchises` hold when a character of one
    of those (other) rightsholders / franchises is in the prompt.
    """

    present: Optional[bool] = None
    rightsholders: list[str] = Field(default_factory=list)
    franchises: list[str] = Field(default_factory=list)

    @field_validator("rightsholders", "franchises", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("franchises")
    @classmethod
    def _franchise_ids(cls, v: list[str]) -> list[str]:
        for f in v:
            if not FRANCHISE_ID.match(f):
                raise ValueError(f"{f!r} is not a franchise id (lower-case, e.g. pokemon, genshin_impact)")
        return v

    @model_validator(mode="after")
    def _one(self) -> "CrossoverCondition":
        if self.present is None and not self.rightsholders and not self.franchises:
            raise ValueError("give present, rightsholders or franchises")
        if self.present is False and (self.rightsholders or self.franchises):
            raise ValueError("present: false cannot be combined with rightsholders or franchises")
        return self


class Conditions(_Strict):
    """All given conditions must hold (AND). A list inside one condition means any of its values (OR)."""

    use: Optional[list[Use]] = None
    region: Optional[RegionCondition] = None
    age_group: Optional[list[AgeGroup]] = None
    age_verified: Optional[bool] = None
    themes: Optional[ThemeCondition] = None
    crossover: Optional[CrossoverCondition] = None
    date: Optional[Window] = None
    licence_active: Optional[str] = Field(default=None, description="this licence (id) is in force on the date")
    licence_inactive: Optional[str] = Field(default=None, description="this licence (id) is not in force")

    @field_validator("use", "age_group", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, v: Any) -> Any:
        return {"include": _as_list(v)} if isinstance(v, (str, list)) else v

    @field_validator("themes", mode="before")
    @classmethod
    def _themes(cls, v: Any) -> Any:
        return {"any": _as_list(v)} if isinstance(v, (str, list)) else v

    @field_validator("crossover", mode="before")
    @classmethod
    def _crossover(cls, v: Any) -> Any:
        return {"present": v} if isinstance(v, bool) else v

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class Phrase(_Strict):
    """A replacement phrase. `plural` is used where the mention is plural ("two Pikachus")."""

    text: str = Field(min_length=1)
    plural: Optional[str] = None


PhraseMap = dict[str, Union[str, Phrase]]
Message = Union[str, dict[str, str]]

# What a message may say in braces; anything else in braces would reach users as written ("{nme}").
MESSAGE_PLACEHOLDERS = ("{name}", "{rightsholder}")
_BRACED = re.compile(r"\{[^{}]*\}?|\}")


def _check_placeholders(msg: Optional[Message]) -> None:
    texts = msg.values() if isinstance(msg, dict) else ([msg] if msg is not None else [])
    for text in texts:
        for m in _BRACED.finditer(text):
            if m.group() not in MESSAGE_PLACEHOLDERS:
                raise ValueError(f"{m.group()!r} is no placeholder: a message may use {{name}} and {{rightsholder}}")


class Rule(_Strict):
    id: Optional[str] = Field(default=None, description="short name shown in decisions; defaults to the position")
    when: Conditions = Field(default_factory=Conditions)
    unless: Optional[Conditions] = None
    action: Action
    reason: Optional[str] = Field(default=None, description="why, in words, recorded in every decision")
    # tag
    licence: Optional[str] = None
    share_rate: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    # rewrite
    rewrite: Optional[RewriteMode] = None
    # reject
    code: Optional[str] = None
    message: Optional[Message] = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not SLUG.match(v):
            raise ValueError("rule id must be lower-case letters, digits, '.', '_' or '-'")
        return v

    @field_validator("code")
    @classmethod
    def _code(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not CODE.match(v):
            raise ValueError("reason code must be lower-case letters, digits, '.', '_' or '-'")
        return v

    @field_validator("message")
    @classmethod
    def _message(cls, v: Optional[Message]) -> Optional[Message]:
        if isinstance(v, dict):
            _check_lang_keys(v)
        _check_placeholders(v)
        return v


class Licence(_Span):
    share_rate: float = Field(ge=0.0, le=1.0, description="share of revenue owed to the rightsholder, 0..1")
    description: Optional[str] = None

    def active(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at <= self.end)

    def describe(self) -> str:
        s = self.start.date().isoformat() if self.start else "…"
        e = self.end.date().isoformat() if self.end else "…"
        return f"{s}..{e}"


def _check_phrases(v: Optional[PhraseMap]) -> Optional[PhraseMap]:
    if v is None:
        return v
    _check_lang_keys(v)
    for tag, p in v.items():
        if isinstance(p, str) and not p.strip():
            raise ValueError(f"{tag}: empty phrase")
    return v


class DefaultScope(_Strict):
    rules: list[Rule] = Field(default_factory=list)


class AlwaysScope(_Strict):
    """Rules checked before any character or franchise override: prohibitions no override can lift."""

    rules: list[Rule] = Field(default_factory=list)


class FranchiseScope(_Strict):
    opted_in: Optional[bool] = Field(default=None, description="overrides the policy's opted_in for this franchise")
    generic: Optional[PhraseMap] = Field(default=None, description="generic phrase for this franchise's characters")
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("generic")
    @classmethod
    def _generic(cls, v: Optional[PhraseMap]) -> Optional[PhraseMap]:
        return _check_phrases(v)


class CharacterScope(_Strict):
    franchise: Optional[str] = Field(
        default=None, description="franchise id when it differs from the id's prefix (genshin_impact/aloy: horizon)"
    )
    opted_in: Optional[bool] = Field(default=None, description="overrides the franchise and policy opted_in")
    descriptor: Optional[PhraseMap] = Field(default=None, description="rightsholder-approved descriptor per language")
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("franchise")
    @classmethod
    def _franchise(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not FRANCHISE_ID.match(v):
            raise ValueError(f"{v!r} is not a franchise id (lower-case, e.g. pokemon, genshin_impact)")
        return v

    @field_validator("descriptor")
    @classmethod
    def _descriptor(cls, v: Optional[PhraseMap]) -> Optional[PhraseMap]:
        return _check_phrases(v)


class TitleScope(_Strict):
    """Rules for a title (a work, e.g. "in the style of <title>"). Titles are not opt-in: no rule, no say."""

    generic: Optional[PhraseMap] = Field(default=None, description="phrase that replaces the title in a rewrite")
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("generic")
    @classmethod
    def _generic(cls, v: Optional[PhraseMap]) -> Optional[PhraseMap]:
        return _check_phrases(v)


class PolicyFile(_Strict):
    kind: Literal["policy"]
    version: Literal[1] = 1
    id: str = Field(description="short policy id, used in rule names")
    rightsholder: str = Field(min_length=1, description="exactly as in the lexicon data, e.g. The Pokémon Company")
    example: bool = Field(default=False, description="true for illustrative policies that are not real terms")
    note: Optional[str] = None
    opted_in: bool = Field(description="has the rightsholder opted in to generation at all?")
    licences: dict[str, Licence] = Field(default_factory=dict)
    messages: dict[str, Message] = Field(default_factory=dict, description="default user-facing message per code")
    generic: Optional[PhraseMap] = Field(default=None, description="generic phrase for any of its characters")
    always: AlwaysScope = Field(default_factory=AlwaysScope)
    default: DefaultScope = Field(default_factory=DefaultScope)
    franchises: dict[str, FranchiseScope] = Field(default_factory=dict)
    characters: dict[str, CharacterScope] = Field(default_factory=dict)
    titles: dict[str, TitleScope] = Field(
        default_factory=dict, description="per title id, and '*' for any title of the rightsholder's franchises"
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("policy id must be lower-case letters, digits, '.', '_' or '-'")
        return v

    @field_validator("licences")
    @classmethod
    def _licence_ids(cls, v: dict[str, Licence]) -> dict[str, Licence]:
        for k in v:
            if not isinstance(k, str) or not k.strip():
                raise ValueError(f"{k!r} is not a licence id")
        return v

    @field_validator("messages")
    @classmethod
    def _messages(cls, v: dict[str, Message]) -> dict[str, Message]:
        for code, msg in v.items():
            if not CODE.match(code):
                raise ValueError(f"{code!r} is not a reason code (lower-case letters, digits, '.', '_', '-')")
            if isinstance(msg, dict):
                _check_lang_keys(msg)
            _check_placeholders(msg)
        return v

    @field_validator("generic")
    @classmethod
    def _generic(cls, v: Optional[PhraseMap]) -> Optional[PhraseMap]:
        return _check_phrases(v)

    @field_validator("franchises")
    @classmethod
    def _franchise_ids(cls, v: dict[str, FranchiseScope]) -> dict[str, FranchiseScope]:
        for k in v:
            if not FRANCHISE_ID.match(k):
                raise ValueError(f"{k!r} is not a franchise id (lower-case, e.g. pokemon, genshin_impact)")
        return v

    @field_validator("characters")
    @classmethod
    def _character_ids(cls, v: dict[str, CharacterScope]) -> dict[str, CharacterScope]:
        for k in v:
            if not CHARACTER_ID.match(k):
                raise ValueError(f"{k!r} is not a character id (franchise/key, e.g. pokemon/pikachu)")
        return v

    @field_validator("titles")
    @classmethod
    def _title_ids(cls, v: dict[str, TitleScope]) -> dict[str, TitleScope]:
        for k in v:
            if k != ANY_TITLE and not TITLE_ID.match(k):
                raise ValueError(f"{k!r} is not a title id (source/key, e.g. bangumi/3019) or '*'")
        return v


class ThemeFile(_Strict):
    kind: Literal["themes"]
    version: Literal[1] = 1
    replace: bool = Field(default=False, description="drop the bundled theme lexicon instead of adding to it")
    themes: dict[str, dict[str, list[str]]]

    @field_validator("themes")
    @classmethod
    def _themes(cls, v: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for name, by_lang in v.items():
            if not THEME_ID.match(name):
                raise ValueError(f"{name!r} is not a theme name (lower-case letters, digits, '_')")
            _check_lang_keys(by_lang)
            for tag, terms in by_lang.items():
                for t in terms:
                    if not isinstance(t, str) or not t.strip().rstrip("*").strip():
                        raise ValueError(f"{name}.{tag} has an empty term")
        return v
