"""The lexicon file format (one YAML file per franchise), validated with pydantic."""
from __future__ import annotations

import re
from typing import Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CHARACTER_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_.\-]+$")
FRANCHISE_ID = re.compile(r"^[a-z0-9_]+$")


def check_character_id(v: str) -> str:
    if not CHARACTER_ID.match(v):
        raise ValueError("character id must look like franchise/key, e.g. pokemon/pikachu")
    return v


def check_names(names: dict[str, list[str]]) -> dict[str, list[str]]:
    for tag, values in names.items():
        if not LANG_TAG.match(tag):
            raise ValueError(f"{tag!r} is not a BCP-47 language tag (like en, ja, ja-Latn, zh-Hant)")
        if not values:
            raise ValueError(f"names.{tag} is an empty list")
        for v in values:
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"names.{tag} has an empty name")
    return names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FranchiseRecord(_Strict):
    id: str = Field(description="slug, e.g. pokemon")
    name: str
    rightsholder: Optional[str] = None
    names: dict[str, list[str]] = Field(description="franchise names per language; they count as context")
    cues: list[str] = Field(default_factory=list, description="words that point to this franchise")
    personal_names: bool = Field(
        default=False,
        description="characters carry ordinary personal names (Lisa, Layla): a name used for a person "
        "('a girl named Layla', 'Emilie, a florist') is not a mention unless the franchise is in context",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not FRANCHISE_ID.match(v):
            raise ValueError("franchise id must be lower-case letters, digits and underscores")
        return v

    @field_validator("names")
    @classmethod
    def _names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_names(v)


class AliasRecord(_Strict):
    text: str = Field(min_length=1)
    lang: Optional[str] = None
    ambiguous: Optional[bool] = None

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not LANG_TAG.match(v):
            raise ValueError(f"{v!r} is not a BCP-47 language tag")
        return v


class Examples(_Strict):
    should_match: list[str] = Field(default_factory=list)
    should_not_match: list[str] = Field(default_factory=list)


class CharacterRecord(_Strict):
    id: str
    franchise: Optional[str] = Field(default=None, description="franchise id; defaults to the file's franchise")
    rightsholder: Optional[str] = Field(default=None, description="defaults to the franchise's rightsholder")
    names: dict[str, list[str]]
    aliases: list[Union[str, AliasRecord]] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    ambiguous: list[str] = Field(default_factory=list, description="names that are also common words")
    not_ambiguous: list[str] = Field(default_factory=list, description="names never to mark ambiguous")
    descriptor: Optional[str] = Field(default=None, description="generic description used by rewrites")
    examples: Optional[Examples] = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_character_id(v)

    @field_validator("names")
    @classmethod
    def _names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_names(v)

    def alias_records(self) -> list[AliasRecord]:
        return [AliasRecord(text=a) if isinstance(a, str) else a for a in self.aliases]


class LexiconFile(_Strict):
    version: int = 1
    franchise: FranchiseRecord
    characters: list[CharacterRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> "LexiconFile":
        seen: set[str] = set()
        for c in self.characters:
            if c.id in seen:
                raise ValueError(f"character id {c.id} appears twice")
            seen.add(c.id)
        return self


class TitleRecord(_Strict):
    id: str = Field(min_length=1, description="source id, e.g. bangumi/3019")
    title: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    franchise: Optional[str] = Field(default=None, description="franchise id this title belongs to, if any")
    ambiguous: Optional[bool] = Field(default=None, description="override the automatic common-word check")


class TitleFile(_Strict):
    """A title lexicon: works (anime series, films) rather than characters. Titles linked to a franchise are
    context for that franchise's ambiguous names, and every title is reported so policies can act on it."""

    version: int = 1
    source: Optional[str] = None
    titles: list[TitleRecord]

    @model_validator(mode="after")
    def _unique_ids(self) -> "TitleFile":
        seen: set[str] = set()
        for t in self.titles:
            if t.id in seen:
                raise ValueError(f"title id {t.id} appears twice")
            seen.add(t.id)
        return self
