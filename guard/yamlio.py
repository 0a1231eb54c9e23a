"""YAML loading with errors that point at a file, line and field.

Files are parsed with the fast safe loader. Only when validation fails is the file parsed again with the
round-trip loader, which keeps line numbers, to say where the offending field is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Type, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from guard.errors import FileFormatError

M = TypeVar("M", bound=BaseModel)


def read_text(path: Path, error_cls: Type[FileFormatError] = FileFormatError) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error_cls(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error_cls(str(path), f"invalid UTF-8 at byte {exc.start}", line=line) from exc


def load_yaml(path: Path, error_cls: Type[FileFormatError] = FileFormatError) -> Any:
    text = read_text(path, error_cls)
    try:
        # libyaml (ruamel.yaml.clib) first, for speed; its YAML 1.1 scanner refuses a few things YAML 1.2
        # allows (a ':' inside an unquoted flow scalar), so those files go to the pure-Python parser.
        return YAML(typ="safe", pure=False).load(text)
    except YAMLError:
        pass
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error_cls(str(path), f"YAML syntax error: {exc.problem or exc}", line=line) from exc
    except YAMLError as exc:
        raise error_cls(str(path), f"YAML error: {exc}") from exc


def _line_of(text: str, loc: tuple) -> int | None:
    """Line (1-based) of the deepest node on `loc` that exists in the round-trip parse of `text`."""
    try:
        node = YAML(typ="rt").load(text)
    except YAMLError:
        return None
    line = None
    for key in loc:
        try:
            if isinstance(key, int) and hasattr(node, "lc") and isinstance(node, list):
                if key >= len(node):
                    break
                line = node.lc.item(key)[0] + 1
                node = node[key]
            elif hasattr(node, "lc") and isinstance(node, dict):
                if key not in node:
                    break
                line = node.lc.key(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def validate(model: Type[M], data: Any, path: Path, error_cls: Type[FileFormatError] = FileFormatError) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        field = ".".join(str(p) for p in loc) or None
        text = Path(path).read_text(encoding="utf-8")
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise error_cls(str(path), err.get("msg", "invalid value") + more, line=_line_of(text, loc), field=field) from None


def load_model(model: Type[M], path: Path, error_cls: Type[FileFormatError] = FileFormatError) -> M:
    data = load_yaml(path, error_cls)
    if data is None:
        raise error_cls(str(path), "file is empty")
    return validate(model, data, path, error_cls)
