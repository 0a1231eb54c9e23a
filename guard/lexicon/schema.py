"""The lexicon file format (one YAML file per franchise), validated with pydantic."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

CHARACTER_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_.\-]+$")
FRANCHISE_ID = re.compile(r"^[a-z0-9_]+$")

# The language tags the compiler reads: a language, then a script or a region. It compares tags as written
# (zh-Hans, zh-Hant) and knows a romanized name by a tag that ends in -Latn, so a tag is in canonical case and
# has no more subtags.
LANG_TAG = re.compile(r"^[a-z]{2,3}(-([A-Z][a-z]{3}|[A-Z]{2}|[0-9]{3}))?$")
TAG_EXAMPLES = "like en, ja, ja-Latn, zh-Hant"
# Country codes written for a language. kr (Kanuri) and tw (Twi) are languages too, but not of these lexicons.
COUNTRY_CODES = {"jp": "ja", "kr": "ko", "cn": "zh-Hans", "tw": "zh-Hant", "hk": "zh-Hant"}

# Codes that are registered but name no language: undetermined, multiple, no linguistic content (qaa-qtz is private use).
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})

# Control characters (Unicode category Cc) and surrogates. Only an escape in a quoted YAML or JSON string can
# put one in a name ("\0", "\t", "\ud800"): the normalizer drops a control character, so the name still matches,
# but it is reported as the match's alias; a lone surrogate cannot be encoded as UTF-8 at all.
UNWRITTEN_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@lru_cache(maxsize=1024)
def language_tag_problem(tag: str) -> Optional[str]:
    """Why `tag` cannot be a language tag of a lexicon, or None. Files use a few dozen distinct tags: cached."""
    import langcodes  # only validating a file needs it

    primary, *rest = tag.replace("_", "-").split("-")
    primary = primary.lower()
    if primary in COUNTRY_CODES:
        language = COUNTRY_CODES[primary]  # with the script or region written after it, unless it has its own
        write = language if "-" in language else "-".join([language, *rest])
        return f"{tag!r} is a country code, not a language: write {write}"
    try:
        standard = langcodes.standardize_tag(tag)
    except ValueError:
        return f"{tag!r} is not a BCP-47 language tag ({TAG_EXAMPLES})"
    if primary in _NO_LANGUAGE or "qaa" <= primary <= "qtz":
        return f"{tag!r} names no language ({TAG_EXAMPLES})"
    if not langcodes.tag_is_valid(tag):
        return f"{tag!r} is not a registered BCP-47 language tag ({TAG_EXAMPLES})"
    if not LANG_TAG.match(standard):
        parts = langcodes.Language.get(standard)
        short = "-".join(filter(None, (parts.language, parts.script or parts.territory)))
        write = f": write {short}" if LANG_TAG.match(short) else ""
        return f"{tag!r}: a tag is a language and at most a script or a region ({TAG_EXAMPLES}){write}"
    if standard != tag:
        return f"{tag!r} must be written {standard}"
    return None


def check_language_tag(tag: str) -> str:
    problem = language_tag_problem(tag)
    if problem:
        raise ValueError(problem)
    return tag


def check_text(text: str) -> str:
    bad = UNWRITTEN_CHAR.search(text)
    if bad:
        raise ValueError(f"{text!r} has {_unwritten(bad.group())}")
    return text


def _unwritten(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate ({code}): write the character itself (in JSON, as both halves of its surrogate pair)"
    return f"the control character {code}"


def check_character_id(v: str) -> str:
    if not CHARACTER_ID.match(v):
        raise ValueError("character id must look like franchise/key, e.g. pokemon/pikachu")
    return v


LanguageTag = Annotated[str, AfterValidator(check_language_tag)]
# A name, alias or other text that is matched in prompts or written into them.
NameText = Annotated[str, AfterValidator(check_text)]
# The tags are checked by check_names, which names the language at fault (NamesError) so that the loader reports it
# at the language's own line and field (names.jp), like the other errors of the map.
NamesByLanguage = dict[str, list[NameText]]


class NamesError(ValueError):
    """A problem with one language of a `names` map; `tag` lets the loader point at that language's own line."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag


def check_names(names: dict[str, list[str]]) -> dict[str, list[str]]:
    for tag, values in names.items():
        problem = language_tag_problem(tag)
        if problem:
            raise NamesError(tag, problem)
        if not values:
            raise NamesError(tag, f"names.{tag} is an empty list")
        for v in values:
            if not isinstance(v, str) or not v.strip():
                raise NamesError(tag, f"names.{tag} has an empty name")
    return names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FranchiseRecord(_Strict):
    id: str = Field(description="slug, e.g. pokemon")
    name: NameText
    rightsholder: Optional[str] = None
    names: NamesByLanguage = Field(description="franchise names per language; they count as context")
    cues: list[NameText] = Field(default_factory=list, description="words that point to this franchise")
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
    text: NameText = Field(min_length=1)
    lang: Optional[LanguageTag] = None
    ambiguous: Optional[bool] = None


class Examples(_Strict):
    should_match: list[str] = Field(default_factory=list)
    should_not_match: list[str] = Field(default_factory=list)


class CharacterRecord(_Strict):
    id: str
    franchise: Optional[str] = Field(default=None, description="franchise id; defaults to the file's franchise")
    rightsholder: Optional[str] = Field(default=None, description="defaults to the franchise's rightsholder")
    names: NamesByLanguage
    aliases: list[Union[NameText, AliasRecord]] = Field(default_factory=list)
    cues: list[NameText] = Field(default_factory=list)
    ambiguous: list[NameText] = Field(default_factory=list, description="names that are also common words")
    not_ambiguous: list[NameText] = Field(default_factory=list, description="names never to mark ambiguous")
    descriptor: Optional[NameText] = Field(default=None, description="generic description used by rewrites")
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
    title: NameText = Field(min_length=1)
    synonyms: list[NameText] = Field(default_factory=list)
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
