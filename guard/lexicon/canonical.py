"""The canonical form of a lexicon file, and validated in-place writes.

The canonical writer is the importer's round-trip writer (ruamel.yaml: comments, key order and quotes are kept;
2-space mappings, sequences indented under their key, no line wrapping, Unicode as-is) plus one rule about list
styles: lists of names (`names.<tag>`, `aliases`, `cues`, `ambiguous`, `not_ambiguous`, title `synonyms`) are
flow lists on one line, as the importer writes them, and example prompts (`examples.should_match`,
`examples.should_not_match`) are block lists, one prompt a line.

A file is in canonical form when loading it and dumping it again with this writer gives the same text.
Every tool that edits a lexicon (`guard lexicon import`, `add`, `new-character`, `add-example`,
`lint --fix`) writes through `write_validated`, which validates the new text with the loader before it
replaces the file, so a failed edit never leaves an invalid file behind.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from guard.errors import LexiconError

FLOW_KEYS = frozenset({"aliases", "cues", "ambiguous", "not_ambiguous", "synonyms"})
BLOCK_KEYS = frozenset({"should_match", "should_not_match"})


def yaml_rt() -> YAML:
    """The round-trip reader/writer with the importer's settings. Quotes are kept as written: a maintainer's
    quoting is not a style question the canonical form settles, and edits then touch only what they change."""
    from guard.lexicon.importer import _yaml

    y = _yaml()
    y.preserve_quotes = True
    return y


def flow(values: Iterable[Any]) -> CommentedSeq:
    seq = CommentedSeq(list(values))
    seq.fa.set_flow_style()
    return seq


def block(values: Iterable[Any]) -> CommentedSeq:
    seq = CommentedSeq(list(values))
    seq.fa.set_block_style()
    return seq


def load_rt(path: Path) -> Any:
    from guard.yamlio import read_text

    text = read_text(path, LexiconError)
    try:
        return yaml_rt().load(text)
    except Exception as exc:  # noqa: BLE001 - ruamel raises several error types
        raise LexiconError(str(path), f"YAML syntax error: {exc}") from None


def canonicalize(node: Any, key: Any = None, parent_key: Any = None) -> None:
    """Apply the list-style rule in place (see the module docstring)."""
    if isinstance(node, CommentedMap):
        for k, v in node.items():
            canonicalize(v, k, key)
    elif isinstance(node, CommentedSeq):
        if key in BLOCK_KEYS:
            node.fa.set_block_style()
        elif (key in FLOW_KEYS or parent_key == "names") and all(not isinstance(v, CommentedSeq) for v in node):
            node.fa.set_flow_style()
            for v in node:
                if isinstance(v, CommentedMap):
                    v.fa.set_flow_style()
            return
        for v in node:
            canonicalize(v, None, key)


def dump(doc: Any) -> str:
    buf = io.StringIO()
    yaml_rt().dump(doc, buf)
    return buf.getvalue()


def canonical_text(text: str) -> str:
    doc = yaml_rt().load(text)
    canonicalize(doc)
    return dump(doc)


def first_difference(a: str, b: str) -> int | None:
    """1-based line of the first difference between two texts, or None if they are equal."""
    if a == b:
        return None
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            return i
    return min(len(la), len(lb)) + 1


def write_validated(path: Path, text: str) -> None:
    """Replace `path` with `text` only if `text` is a valid lexicon file; otherwise raise LexiconError naming
    `path` (with the line and field of the problem) and leave the file as it was."""
    from guard.lexicon.loader import load_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".yaml.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        try:
            load_file(tmp)
        except LexiconError as exc:
            raise LexiconError(str(path), f"{exc.message} (the file was left unchanged)", line=exc.line, field=exc.field) from None
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
