"""In-place edits of lexicon files: `guard lexicon add`, `new-character` and `add-example`.

Edits go through the round-trip writer (`guard.lexicon.canonical`): comments, key order and the style of
everything that is not edited stay as they were, new lists are written in the canonical style, and the
result is validated before it replaces the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from guard.errors import LexiconError
from guard.lexicon.canonical import block, dump, flow, load_rt, write_validated
from guard.lexicon.loader import bundled_lexicon_dir, expand_paths, pick_error
from guard.lexicon.schema import AliasRecord, CharacterRecord, language_tag_problem

PathLike = Union[str, Path]

# Key order of a character record, as in the schema; new keys are inserted where this order puts them.
CHARACTER_KEYS = ("id", "franchise", "rightsholder", "names", "aliases", "cues", "ambiguous", "not_ambiguous", "descriptor", "examples")
MAIN_LANGS = ("en", "ja", "zh-Hans", "ko")

HEADER = (
    "{name} lexicon for character-guard.\n"
    "Created with `guard lexicon new-character`. Schema and workflow: lexicons/README.md"
)


@dataclass
class EditResult:
    path: Path
    changed: bool
    message: str
    notes: list[str] = field(default_factory=list)


def _id_line(character_id: str) -> re.Pattern:
    return re.compile(r"^\s*(?:-\s+)?id:\s*['\"]?" + re.escape(character_id) + r"['\"]?\s*$", re.M)


def lexicon_files(paths: Optional[Sequence[PathLike]] = None) -> list[Path]:
    return expand_paths(paths if paths else [bundled_lexicon_dir()])


def find_character_file(character_id: str, paths: Optional[Sequence[PathLike]] = None) -> Path:
    """The lexicon file that defines `character_id` (a text search: no file is parsed)."""
    rx = _id_line(character_id)
    hits = [p for p in lexicon_files(paths) if rx.search(p.read_text(encoding="utf-8"))]
    if not hits:
        raise LexiconError(", ".join(str(p) for p in (paths or [bundled_lexicon_dir()])), f"no character {character_id} in these lexicons")
    if len(hits) > 1:
        raise LexiconError(str(hits[1]), f"character {character_id} is defined in more than one file ({hits[0]}, {hits[1]})")
    return hits[0]


_FRANCHISE_ID = re.compile(r"^franchise:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+id:\s*['\"]?([a-z0-9_]+)['\"]?\s*$", re.M)


def find_franchise_file(franchise_id: str, paths: Optional[Sequence[PathLike]] = None) -> Optional[Path]:
    for p in lexicon_files(paths):
        m = _FRANCHISE_ID.search(p.read_text(encoding="utf-8"))
        if m and m.group(1) == franchise_id:
            return p
    return None


def _character_map(doc, character_id: str, path: Path) -> CommentedMap:
    for c in doc.get("characters") or []:
        if isinstance(c, dict) and c.get("id") == character_id:
            return c
    raise LexiconError(str(path), f"no character {character_id} in this file")


def insert_key(m: CommentedMap, key: str, value, order: Sequence[str] = CHARACTER_KEYS) -> None:
    """Set m[key], inserting a new key after the last existing key that comes before it in `order`."""
    if key in m:
        m[key] = value
        return
    rank = {k: i for i, k in enumerate(order)}
    mine = rank.get(key, len(order))
    pos = 0
    for i, k in enumerate(m.keys()):
        if rank.get(k, len(order)) <= mine:
            pos = i + 1
    m.insert(pos, key, value)


def _add_to_list(m: CommentedMap, key: str, value: str) -> bool:
    seq = m.get(key)
    if seq is None:
        insert_key(m, key, flow([value]))
        return True
    if value in seq:
        return False
    seq.append(value)
    return True


def _remove_from_list(m: CommentedMap, key: str, value: str) -> bool:
    seq = m.get(key)
    if not seq or value not in seq:
        return False
    seq.remove(value)
    if not seq:
        del m[key]
    return True


def _norm():
    from guard.normalize import default_normalizer

    nz = default_normalizer()
    return lambda s: nz.normalize(s).text


def add_alias(
    character_id: str,
    alias: str,
    *,
    lang: Optional[str] = None,
    ambiguous: Optional[bool] = None,
    paths: Optional[Sequence[PathLike]] = None,
    path: Optional[Path] = None,
    generated: Optional[str] = None,
) -> EditResult:
    """Add `alias` to a character, or change how an existing name or alias is marked.

    - a new alias is appended to `aliases`: a plain string, or `{text, lang, ambiguous}` when --lang or an
      ambiguity flag is given;
    - an existing alias gets the given lang / ambiguous values;
    - an existing name (in `names`) is not repeated: --ambiguous / --not-ambiguous put it in the character's
      `ambiguous` / `not_ambiguous` list instead;
    - so does a spelling that the compiler already generates for the character (`generated` says how, e.g.
      "partial: part of the name"; see `alias_report`): "Shogun" of Raiden Shogun.
    """
    alias = alias.strip()
    try:
        AliasRecord(text=alias, lang=lang, ambiguous=ambiguous)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise LexiconError("(command line)", err["msg"], field="lang" if err["loc"][:1] == ("lang",) else "alias") from None
    path = path or find_character_file(character_id, paths)
    doc = load_rt(path)
    char = _character_map(doc, character_id, path)
    norm = _norm()
    n = norm(alias)
    names = [(tag, v) for tag, values in (char.get("names") or {}).items() for v in values]
    notes: list[str] = []

    same_name = [(tag, v) for tag, v in names if v == alias] or [(tag, v) for tag, v in names if norm(v) == n]
    if not same_name and generated:
        same_name = [("", alias)]
    if same_name:
        tag, v = same_name[0]
        if tag:
            what = f"{v!r} is already a name of {character_id} (names.{tag})" + ("" if v == alias else f", the same as {alias!r} after normalization")
        else:
            what = f"{v!r} is already generated for {character_id} ({generated})"
        if ambiguous is None:
            return EditResult(path, False, what + "; nothing to add", notes)
        changed = False
        if ambiguous:
            changed |= _remove_from_list(char, "not_ambiguous", v)
            changed |= _add_to_list(char, "ambiguous", v)
            msg = f"marked {v!r} ambiguous for {character_id}"
        else:
            changed |= _remove_from_list(char, "ambiguous", v)
            changed |= _add_to_list(char, "not_ambiguous", v)
            msg = f"marked {v!r} not ambiguous for {character_id}"
        if changed:
            write_validated(path, dump(doc))
            return EditResult(path, True, msg, notes)
        return EditResult(path, False, msg.replace("marked", "already marked", 1), notes)

    aliases = char.get("aliases")
    for i, a in enumerate(aliases or []):
        text = a.get("text") if isinstance(a, dict) else a
        if text == alias or norm(str(text)) == n:
            if lang is None and ambiguous is None:
                return EditResult(path, False, f"{text!r} is already an alias of {character_id}; nothing to add", notes)
            rec = a if isinstance(a, CommentedMap) else CommentedMap([("text", text)])
            rec.fa.set_flow_style()
            before = dict(rec)
            if lang is not None:
                rec["lang"] = lang
            if ambiguous is not None:
                rec["ambiguous"] = ambiguous
            if dict(rec) == before and isinstance(a, CommentedMap):
                return EditResult(path, False, f"alias {text!r} of {character_id} already has these settings", notes)
            aliases[i] = rec
            write_validated(path, dump(doc))
            return EditResult(path, True, f"updated alias {text!r} of {character_id}", notes)

    if lang is None and ambiguous is None:
        item: Union[str, CommentedMap] = alias
    else:
        item = CommentedMap([("text", alias)])
        if lang is not None:
            item["lang"] = lang
        if ambiguous is not None:
            item["ambiguous"] = ambiguous
        item.fa.set_flow_style()
    if aliases is None:
        insert_key(char, "aliases", flow([item]))
    else:
        aliases.append(item)
    write_validated(path, dump(doc))
    return EditResult(path, True, f"added alias {alias!r} to {character_id} in {path}", notes)


def parse_names(pairs: Sequence[str]) -> dict[str, list[str]]:
    """`en=Pikachu ja=ピカチュウ en=Pika` -> {"en": ["Pikachu", "Pika"], "ja": ["ピカチュウ"]}."""
    out: dict[str, list[str]] = {}
    for pair in pairs:
        tag, sep, value = pair.partition("=")
        tag, value = tag.strip(), value.strip()
        if not sep or not tag or not value:
            raise LexiconError("(command line)", f"--name {pair!r}: expected TAG=NAME, e.g. en=Pikachu", field="names")
        problem = language_tag_problem(tag)
        if problem:
            raise LexiconError("(command line)", f"--name {pair!r}: {problem}", field="names")
        if value not in out.setdefault(tag, []):
            out[tag].append(value)
    return out


def new_character(
    character_id: str,
    *,
    franchise: str,
    names: dict[str, list[str]],
    aliases: Sequence[str] = (),
    cues: Sequence[str] = (),
    ambiguous: Sequence[str] = (),
    rightsholder: Optional[str] = None,
    descriptor: Optional[str] = None,
    paths: Optional[Sequence[PathLike]] = None,
    file: Optional[Path] = None,
    franchise_name: Optional[str] = None,
) -> EditResult:
    """Append a character record to the lexicon file of `franchise`.

    The file is the one whose franchise record has that id (among `paths`, default the bundled lexicons), or
    `file`. A `file` that does not exist yet is created with a minimal franchise record.
    """
    record = dict(
        id=character_id, names=names, aliases=list(aliases), cues=list(cues), ambiguous=list(ambiguous),
        rightsholder=rightsholder, descriptor=descriptor,
    )
    try:
        CharacterRecord.model_validate(record)
    except ValidationError as exc:
        err, loc = pick_error(exc.errors(), record)
        raise LexiconError("(command line)", err["msg"], field=".".join(str(p) for p in loc) or None) from None
    search = list(paths) if paths else [bundled_lexicon_dir()]
    if file is not None and file.exists() and file not in search:
        search.append(file)
    rx = _id_line(character_id)
    existing = [s for s in search if Path(s).exists()]
    for p in lexicon_files(existing) if existing else []:
        if rx.search(p.read_text(encoding="utf-8")):
            raise LexiconError(str(p), f"character {character_id} already exists")

    target = file if file is not None else find_franchise_file(franchise, paths)
    notes: list[str] = []
    if target is None:
        raise LexiconError(
            ", ".join(str(s) for s in search),
            f"no lexicon file has franchise {franchise!r}; pass --file NEW.yaml to create one",
        )
    if target.exists():
        doc = load_rt(target)
        file_franchise = (doc.get("franchise") or {}).get("id")
    else:
        doc = CommentedMap()
        doc["version"] = 1
        fr = CommentedMap()
        fr["id"] = franchise
        fr["name"] = franchise_name or franchise
        fr["rightsholder"] = rightsholder
        fr["names"] = CommentedMap([("en", flow([franchise_name or franchise]))])
        fr["cues"] = flow([])
        doc["franchise"] = fr
        doc["characters"] = CommentedSeq()
        doc.yaml_set_start_comment(HEADER.format(name=franchise_name or franchise))
        file_franchise = franchise
        notes.append(f"created {target} with a minimal franchise record for {franchise!r}: fill in its names and cues")

    rec = CommentedMap()
    rec["id"] = character_id
    if franchise != file_franchise:
        rec["franchise"] = franchise
    file_rightsholder = (doc.get("franchise") or {}).get("rightsholder")
    if rightsholder is not None and rightsholder != file_rightsholder:
        rec["rightsholder"] = rightsholder
    rec["names"] = CommentedMap((tag, flow(values)) for tag, values in names.items())
    if aliases:
        rec["aliases"] = flow(aliases)
    if cues:
        rec["cues"] = flow(cues)
    if ambiguous:
        rec["ambiguous"] = flow(ambiguous)
    if descriptor:
        rec["descriptor"] = descriptor
    if doc.get("characters") is None:
        doc["characters"] = CommentedSeq()
    doc["characters"].append(rec)
    missing = [t for t in MAIN_LANGS if t not in names]
    if missing:
        notes.append("no name in " + ", ".join(missing) + " (lint reports missing main languages)")
    write_validated(target, dump(doc))
    return EditResult(target, True, f"added character {character_id} to {target}", notes)


def add_example(
    character_id: str,
    prompt: str,
    *,
    should_match: bool = True,
    paths: Optional[Sequence[PathLike]] = None,
    path: Optional[Path] = None,
) -> EditResult:
    """Append a prompt to the character's `examples.should_match` (or `should_not_match`)."""
    key = "should_match" if should_match else "should_not_match"
    path = path or find_character_file(character_id, paths)
    added = add_examples(path, {character_id: {key: [prompt]}})
    if not added:
        return EditResult(path, False, f"{character_id} already has this {key} example", [])
    return EditResult(path, True, f"added a {key} example to {character_id} in {path}", [])


def add_examples(path: Path, examples: dict[str, dict[str, Sequence[str]]]) -> int:
    """Append many examples to one file in a single validated write: {character id: {"should_match": [...],
    "should_not_match": [...]}}. Prompts a character already has are skipped. Returns how many were added."""
    doc = load_rt(path)
    added = 0
    for character_id, kinds in examples.items():
        char = _character_map(doc, character_id, path)
        for key, prompts in kinds.items():
            if key not in ("should_match", "should_not_match"):
                raise LexiconError(str(path), f"unknown example kind {key!r}", field="examples")
            for prompt in prompts:
                prompt = prompt.strip()
                if not prompt:
                    raise LexiconError("(command line)", "empty prompt", field="examples")
                ex = char.get("examples")
                if ex is None:
                    ex = CommentedMap()
                    insert_key(char, "examples", ex)
                if ex.get(key) is None:
                    insert_key(ex, key, block([]), order=("should_match", "should_not_match"))
                if prompt in ex[key]:
                    continue
                ex[key].append(prompt)
                added += 1
    if added:
        write_validated(path, dump(doc))
    return added


@dataclass
class AliasReport:
    conflicts: list[str]  # other characters that have this alias as a lexicon name
    notes: list[str]
    generated: Optional[str] = None  # how the compiler already generates it for this character, if it does


def alias_report(alias: str, character_id: str, *, lang: Optional[str] = None, paths: Optional[Sequence[PathLike]] = None) -> AliasReport:
    """What adding `alias` to `character_id` would mean, judged on the compiled lexicons: other characters
    that have it as a name (a conflict), context words and generated spellings it equals, and whether the
    compiler's rules would mark it ambiguous."""
    from guard import ambiguity
    from guard.cache import compile_cached
    from guard.compiler import CUE, FRANCHISE, NAME, _script_class
    from guard.expand import despaced
    from guard.lexicon.loader import load_lexicons

    loaded = load_lexicons(list(paths) if paths else None)
    compiled = compile_cached(loaded)
    n = compiled.normalizer.normalize(alias.strip()).text.strip()
    conflicts: list[str] = []
    notes: list[str] = []
    index = {p: i for i, p in enumerate(compiled.patterns)}
    seen = set()
    generated: Optional[str] = None
    for pattern in dict.fromkeys((n, despaced(n))):
        pid = index.get(pattern)
        if pid is None:
            continue
        for e in compiled.entries[pid]:
            key = (e.char, e.kind, e.alias, e.franchise)
            if key in seen:
                continue
            seen.add(key)
            if e.char >= 0 and e.kind != CUE:
                cid = compiled.characters[e.char].id
                if cid == character_id:
                    if e.kind != NAME and generated is None:
                        generated = f"{e.kind}: {e.note}, from {e.alias!r}"
                    continue
                if e.kind == NAME:
                    conflicts.append(f"a name of {cid} ({e.alias!r})")
                else:
                    notes.append(f"{pattern!r} is a generated spelling ({e.note}) of {cid}; a lexicon name wins over it")
            elif e.kind == FRANCHISE:
                notes.append(f"it is also a name of the franchise {e.franchise} (context)")
            elif e.kind == CUE:
                notes.append(f"it is also a cue of {compiled.characters[e.char].id if e.char >= 0 else e.franchise}")
            else:
                notes.append(f"it is also {e.kind} {e.alias!r} ({e.note})")
    reason = ambiguity.auto_reason(alias.strip(), n, _script_class(n), lang or "", NAME)
    if reason:
        notes.append(f"the compiler marks it ambiguous ({reason}): it will match only with context; --not-ambiguous overrides")
    return AliasReport(conflicts, notes, generated)
