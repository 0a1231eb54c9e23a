"""`guard lexicon import`: regenerate lexicon files from the shared character JSONL data.

Re-running it is safe: an existing file keeps its franchise record, comments, and every hand-made field of a
character (aliases, cues, ambiguity overrides, examples). Only `names` is refreshed from the data, and
characters new in the data are appended.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Iterable, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from guard.errors import LexiconError
from guard.lexicon.loader import load_file
from guard.lexicon.schema import NamesByLanguage, NameText, check_character_id, check_names
from guard.textlines import utf8_lines

HEADER = (
    "{name} lexicon for character-guard.\n"
    "Names come from {source} (see README: Data sources and licences); re-run `guard lexicon import` to refresh\n"
    "them. Hand edits to the franchise record, aliases, cues, ambiguity overrides and examples are kept.\n"
    "Schema: lexicons/README.md"
)


def franchise_slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


_YAML_SPECIAL = re.compile(r"[:#?\[\]{},&*!|>'\"%@`]")


def _portable(value: str):
    """Quote a string that libyaml's YAML 1.1 scanner would misread unquoted in a flow list (a ':' inside it),
    so the files load at C speed."""
    return DoubleQuotedScalarString(value) if isinstance(value, str) and _YAML_SPECIAL.search(value) else value


def _flow(values: Iterable[str]) -> CommentedSeq:
    seq = CommentedSeq([_portable(v) for v in values])
    seq.fa.set_flow_style()
    return seq


def _names_map(names: dict[str, list[str]]) -> CommentedMap:
    m = CommentedMap()
    for tag, values in names.items():
        m[tag] = _flow(values)
    return m


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.allow_unicode = True
    return y


def _text_lines(path: Path):
    """(line number, text) of each line of a UTF-8 file (a byte order mark on the first dropped); a line that is not
    UTF-8 names the file, the line and the byte."""
    with open(path, "rb") as fh:
        for lineno, text in utf8_lines(fh):
            if isinstance(text, UnicodeDecodeError):
                raise LexiconError(str(path), f"invalid UTF-8 (byte 0x{text.object[text.start]:02x})", line=lineno)
            yield lineno, text


def _jsonl(path: Path, required: tuple[str, ...]):
    """(line number, record) for each non-empty line; bad JSON or a missing field names the file and line."""
    for lineno, line in _text_lines(path):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LexiconError(str(path), f"invalid JSON: {exc.msg}", line=lineno) from None
        for key in required:
            if not isinstance(rec, dict) or key not in rec:
                raise LexiconError(str(path), "missing field", line=lineno, field=key)
        yield lineno, rec


class _SourceRecord(BaseModel):
    """What the importer reads of a character record (other keys are ignored), checked before anything is
    written: a bad record names its line and field instead of making a lexicon file invalid."""

    model_config = ConfigDict(extra="ignore")

    id: str
    franchise: str = Field(min_length=1)
    rightsholder: Optional[str] = None
    names: NamesByLanguage

    # The lexicon schema's own checks of a character's id and names.
    _id = field_validator("id")(check_character_id)
    _names = field_validator("names")(check_names)


class _SourceTitle(BaseModel):
    """What the importer reads of a title record (shared/data/titles), checked the same way."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: NameText
    synonyms: list[NameText] = Field(default_factory=list)

    @field_validator("id", "title")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def _check_record(model: type[BaseModel], rec: dict, path: Path, lineno: int) -> None:
    """A record that `model` refuses names its file, line and field."""
    try:
        model.model_validate(rec)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise LexiconError(str(path), err["msg"].removeprefix("Value error, "), line=lineno, field=field) from None


def read_records(path: Path) -> list[dict]:
    records = []
    for lineno, rec in _jsonl(path, ("id", "franchise", "names")):
        _check_record(_SourceRecord, rec, path, lineno)
        rec["_line"] = lineno
        records.append(rec)
    return records


def _write_checked(y: YAML, doc, path: Path, source: Path) -> None:
    """Write `doc` to `path` only once it validates as a lexicon file, so an import never leaves a file that no
    longer loads on its own (the file as it was stays in place). Ids are checked across files when the directory
    is loaded, not here."""
    tmp = path.with_name(path.name + ".tmp")  # not *.yaml: a lexicon directory never loads it
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            y.dump(doc, fh)
        try:
            load_file(tmp)
        except LexiconError as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise LexiconError(str(source), f"the records would make {path.name} invalid ({where}{exc.message}); "
                               f"{path.name} is unchanged") from None
        if path.exists():
            shutil.copymode(path, tmp)  # the file keeps its permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_ambiguous(path: Optional[Path]) -> dict[str, list[str]]:
    """character id -> names that the curated list says are also common words."""
    out: dict[str, list[str]] = {}
    if path is None or not path.exists():
        return out
    for _lineno, rec in _jsonl(path, ("id", "name")):
        names = out.setdefault(rec["id"], [])
        if rec["name"] not in names:
            names.append(rec["name"])
    return out


def import_records(
    source: Path,
    out_dir: Path,
    *,
    ambiguous_path: Optional[Path] = None,
) -> list[Path]:
    """Write or update one lexicon file per franchise found in `source`. Returns the files written."""
    records = read_records(source)
    if ambiguous_path is None:
        candidate = source.parent / "ambiguous_names.jsonl"
        ambiguous_path = candidate if candidate.exists() else None
    curated = read_ambiguous(ambiguous_path)
    by_franchise: dict[str, list[dict]] = {}
    for rec in records:
        by_franchise.setdefault(franchise_slug(rec["franchise"]), []).append(rec)

    written = []
    y = _yaml()
    for slug, recs in by_franchise.items():
        path = out_dir / f"{slug}.yaml"
        if path.exists():
            load_file(path)  # refuse to merge into a file that does not validate
            doc = y.load(path.read_text(encoding="utf-8"))
        else:
            doc = CommentedMap()
            doc["version"] = 1
            fr = CommentedMap()
            fr["id"] = slug
            fr["name"] = recs[0]["franchise"]
            fr["rightsholder"] = recs[0].get("rightsholder")
            fr["names"] = _names_map({"en": [recs[0]["franchise"]]})
            fr["cues"] = _flow([])
            doc["franchise"] = fr
            doc["characters"] = CommentedSeq()
            doc.yaml_set_start_comment(HEADER.format(name=recs[0]["franchise"], source=source.name))
        existing = {c["id"]: c for c in doc["characters"]}
        file_rightsholder = doc["franchise"].get("rightsholder")
        for rec in recs:
            char = existing.get(rec["id"])
            if char is None:
                char = CommentedMap()
                char["id"] = rec["id"]
                doc["characters"].append(char)
                existing[rec["id"]] = char
            if rec.get("rightsholder") != file_rightsholder:
                char["rightsholder"] = rec.get("rightsholder")
            char["names"] = _names_map(rec["names"])
            names = {n for values in rec["names"].values() for n in values}
            amb = [n for n in curated.get(rec["id"], []) if n in names]
            if amb:
                merged = list(char.get("ambiguous", []))
                merged += [n for n in amb if n not in merged]
                char["ambiguous"] = _flow(merged)
        _write_checked(y, doc, path, source)
        written.append(path)
    return written


def is_title_data(source: Path) -> bool:
    """Whether the first record of `source` is a title's; False for anything unreadable, which the character
    import then reports with its line."""
    try:
        for _lineno, line in _text_lines(source):
            if line.strip():
                rec = json.loads(line)
                return isinstance(rec, dict) and "title" in rec and "names" not in rec
    except (LexiconError, json.JSONDecodeError):
        return False
    return False


def _franchise_names(out_dir: Path, normalize) -> dict[str, list[str]]:
    """franchise id -> normalized franchise names, from the character lexicons in out_dir."""
    from guard.lexicon.loader import expand_paths
    from guard.lexicon.schema import LexiconFile

    out: dict[str, list[str]] = {}
    for path in expand_paths([out_dir]):
        lex = load_file(path)
        if isinstance(lex, LexiconFile):
            names = {normalize(n) for values in lex.franchise.names.values() for n in values}
            out[lex.franchise.id] = sorted(n for n in names if len(n.replace(" ", "")) >= 4)
    return out


def import_titles(source: Path, out_dir: Path) -> Path:
    """Write `<out_dir>/<source stem>.yaml` from a titles JSONL (shared/data/titles/anime_titles.jsonl).

    Each title is linked to a franchise when its title or a synonym contains one of the franchise's names.
    Hand-set `franchise` and `ambiguous` values of an existing file are kept.
    """
    from guard.normalize import normalize

    norm = lambda s: normalize(s).text  # noqa: E731
    franchises = _franchise_names(out_dir, norm)
    path = out_dir / f"{source.stem}.yaml"
    kept: dict[str, dict] = {}
    if path.exists():
        old = load_file(path)
        for t in getattr(old, "titles", []):
            kept[t.id] = {k: v for k, v in (("franchise", t.franchise), ("ambiguous", t.ambiguous)) if v is not None}
    doc = CommentedMap()
    doc["version"] = 1
    doc["source"] = f"bangumi-data ({source.name}), CC BY 4.0: title data from bangumi-data"
    titles = CommentedSeq()
    seen: set[str] = set()
    for lineno, rec in _jsonl(source, ("id", "title")):
        _check_record(_SourceTitle, rec, source, lineno)
        if rec["id"] in seen:
            continue
        seen.add(rec["id"])
        item = CommentedMap()
        item["id"] = rec["id"]
        item["title"] = _portable(rec["title"])
        synonyms = [s for s in rec.get("synonyms", []) if s and s.strip()]
        if synonyms:
            item["synonyms"] = _flow(synonyms)
        forms = [norm(rec["title"])] + [norm(s) for s in synonyms]
        linked = kept.get(rec["id"], {}).get("franchise")
        if linked is None:
            for fid, names in franchises.items():
                if any(n in f for f in forms for n in names):
                    linked = fid
                    break
        if linked:
            item["franchise"] = linked
        if "ambiguous" in kept.get(rec["id"], {}):
            item["ambiguous"] = kept[rec["id"]]["ambiguous"]
        titles.append(item)
    doc["titles"] = titles
    doc.yaml_set_start_comment(
        "Anime title lexicon for character-guard, generated by `guard lexicon import` from bangumi-data\n"
        "(CC BY 4.0: title data from bangumi-data). Titles linked to a franchise are context for its names.\n"
        "Hand-set `franchise` and `ambiguous` values are kept when the import is re-run."
    )
    _write_checked(_yaml(), doc, path, source)
    return path
