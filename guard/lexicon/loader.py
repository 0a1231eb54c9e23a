"""Loading lexicon files and directories."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence, Union

from pydantic import ValidationError

from guard.errors import LexiconError
from guard.lexicon.schema import LexiconFile, NamesError, TitleFile
from guard.yamlio import _line_of, load_yaml, read_text

PathLike = Union[str, Path]


def bundled_lexicon_dir() -> Path:
    return Path(str(resources.files("lexicons")))


def expand_paths(paths: Iterable[PathLike]) -> list[Path]:
    """Files as given, and every *.yaml / *.yml in a directory, sorted, so the result is deterministic."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml") and q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise LexiconError(str(p), "no such file or directory")
    if not out:
        raise LexiconError(", ".join(str(p) for p in paths) or "(none)", "no lexicon files found")
    return out


@dataclass(frozen=True)
class LoadedLexicon:
    files: tuple[tuple[Path, LexiconFile], ...]
    digest: str
    titles: tuple[tuple[Path, TitleFile], ...] = ()


def load_file(path: PathLike) -> Union[LexiconFile, TitleFile]:
    """A character lexicon, or a title lexicon when the file's top level has `titles`."""
    path = Path(path)
    data = load_yaml(path, LexiconError)
    if data is None:
        raise LexiconError(str(path), "file is empty")
    model = TitleFile if isinstance(data, dict) and "titles" in data and "franchise" not in data else LexiconFile
    _check_unique_ids(path, data, "titles" if model is TitleFile else "characters")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err, loc = pick_error(exc.errors(), data)
        field = ".".join(str(p) for p in loc) or None
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        line = _line_of(read_text(path, LexiconError), loc)
        raise LexiconError(str(path), err.get("msg", "invalid value") + more, line=line, field=field) from None


def _clean_loc(err: dict, data) -> tuple:
    """The error's location as keys and indexes of the file. Unions add the member type to the location
    ("str", "AliasRecord"): dropped. A missing field keeps its own name."""
    loc = tuple(err.get("loc", ()))
    known = _known_keys(data, loc)
    out = tuple(p for p in loc if isinstance(p, int) or p in known)
    if err.get("type") == "missing" and loc and loc[-1] not in out:
        out += (loc[-1],)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, NamesError):  # the language's own line, not the line of `names:`
        out += (cause.tag,)
    return out


def pick_error(errors: list, data) -> tuple[dict, tuple]:
    """The first error, or, when a union reports one error per member at the same place (an alias that is
    neither a string nor a valid record), the most specific of those."""
    first = _clean_loc(errors[0], data)
    best, best_loc = errors[0], first
    for err in errors[1:]:
        loc = _clean_loc(err, data)
        if loc[: len(first)] == first and len(loc) > len(best_loc):
            best, best_loc = err, loc
    return best, best_loc


def _check_unique_ids(path: Path, data, key: str) -> None:
    """A second record with an id already used: name its line and field (a model validator could not)."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return
    seen: set = set()
    for i, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            line = _line_of(read_text(path, LexiconError), (key, i, "id"))
            raise LexiconError(str(path), f"id {ident} appears twice", line=line, field=f"{key}.{i}.id")
        seen.add(ident)


def _known_keys(data, loc) -> set:
    keys: set = set()
    node = data
    for p in loc:
        if isinstance(node, dict):
            keys.update(node.keys())
            node = node.get(p)
        elif isinstance(node, list) and isinstance(p, int) and p < len(node):
            node = node[p]
        else:
            break
    return keys


def lexicon_digest(paths: Sequence[PathLike] | None = None) -> tuple[list[Path], str]:
    """The lexicon files behind `paths` (None: the bundled ones) and the hash of their names and contents,
    computed without parsing them, so a compiled cache can be found before any YAML is read."""
    files = expand_paths(paths if paths else [bundled_lexicon_dir()])
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return files, h.hexdigest()


def load_lexicons(paths: Sequence[PathLike] | None = None) -> LoadedLexicon:
    files, digest = lexicon_digest(paths)
    loaded = []
    titles = []
    seen_ids: dict[str, Path] = {}
    for f in files:
        lex = load_file(f)
        if isinstance(lex, TitleFile):
            titles.append((f, lex))
            continue
        for c in lex.characters:
            if c.id in seen_ids:
                raise LexiconError(str(f), f"character id {c.id} is already defined in {seen_ids[c.id]}", field="characters.id")
            seen_ids[c.id] = f
        loaded.append((f, lex))
    if not loaded:
        raise LexiconError(", ".join(str(f) for f in files), "no character lexicon among these files")
    return LoadedLexicon(tuple(loaded), digest, tuple(titles))
