"""`guard scan [FILE|-]`: stream prompts in, one JSON result per line out."""
from __future__ import annotations

import json
import re
import sys
from typing import IO, Any, Iterator, Optional

import click

from guard.cli.common import build_guard, lexicon_option, policy_option


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for lineno, raw in enumerate(stream, 1):
        yield lineno, raw


def parse_line(lineno: int, raw: bytes) -> tuple[Optional[object], Optional[str], Optional[str]]:
    """(id, prompt, error) for one input line. JSON objects need a string "prompt"; other lines are prompts."""
    return _read_line(lineno, raw)[:3]


def _read_line(lineno: int, raw: bytes) -> tuple[Optional[object], Optional[str], Optional[str], Any]:
    """`parse_line`, and the line's "context" value (None for plain text), read from the one decoding and parse."""
    try:
        text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")  # without the byte order mark of a file's start
    except UnicodeDecodeError as exc:
        return lineno, None, f"invalid UTF-8 at byte {exc.start}", None
    text = text.rstrip("\r\n")
    if not text.strip():
        return None, None, None, None
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            return lineno, None, f"invalid JSON: {getattr(exc, 'msg', exc)}", None
        if not isinstance(obj, dict):
            return lineno, None, "expected a JSON object", None
        ident = obj.get("id", lineno)
        prompt = obj.get("prompt")
        if not isinstance(prompt, str):
            return ident, None, 'missing or non-string "prompt"', None
        if _SURROGATE.search(prompt):
            return ident, None, "prompt holds a lone surrogate (not valid Unicode text)", None
        return ident, prompt, None, obj.get("context")
    return lineno, text, None, None


def scan_stream(guard, stream: IO[bytes], out: IO[str], *, with_action: bool, candidates: bool, progress: bool) -> int:
    errors = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit=" prompts", file=sys.stderr)
    for lineno, raw in _lines(stream):
        ident, prompt, error, context_value = _read_line(lineno, raw)
        if bar is not None:
            bar.update(1)
        if error is not None:
            errors += 1
            out.write(_json_line({"id": ident, "line": lineno, "error": error}))
            continue
        if prompt is None:
            continue
        context, error = line_context(context_value) if with_action else (None, None)
        if error is not None:
            errors += 1
            out.write(_json_line({"id": ident, "line": lineno, "error": error}))
            continue
        decision = None
        if with_action and guard.policy is not None:
            matches, decision = guard.scan_and_check(prompt, context, include_candidates=candidates)
        else:
            matches = guard.scan(prompt, include_candidates=candidates)
        record = {
            "id": ident,
            "characters": sorted({m.character_id for m in matches if m.confirmed}),
            "matches": [m.to_dict() for m in matches],
        }
        if decision is not None:
            record["action"] = decision.action
        out.write(_json_line(record))
    if bar is not None:
        bar.close()
    return errors


def _json_line(record: dict) -> str:
    """One output line, non-ASCII as is; with JSON escapes where the record holds a lone surrogate (an id of the
    input, "\\ud800"), which no UTF-8 output can hold."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record)
    return text + "\n"


def line_context(value: Any):
    """(CheckContext or None, error or None) from a JSON line's optional "context" value."""
    if value is None:
        return None, None
    from pydantic import ValidationError

    from guard.models import CheckContext

    if not isinstance(value, dict):
        return None, '"context" must be a JSON object'
    try:
        return CheckContext.model_validate(value), None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        return None, f"invalid context: {where}: {err.get('msg')}"


@click.command("scan")
@click.argument("source", default="-", type=click.Path(exists=True, allow_dash=True, dir_okay=False))
@lexicon_option
@policy_option
@click.option("--candidates", is_flag=True, help="Also report ambiguous names that lack context (confirmed=false).")
@click.option("--no-action", is_flag=True, help="Skip the policy decision; report detections only.")
def scan_cmd(source: str, lexicon: tuple[str, ...], policy: tuple[str, ...], candidates: bool, no_action: bool) -> None:
    """Scan prompts from a JSONL or text FILE (or - for stdin) and print one JSON object per line.

    JSON lines are {"id": ..., "prompt": ..., "context": {...}}; "id" and "context" (a CheckContext: commercial,
    region, age_group, ...) are optional. The context is used for the reported action."""
    guard = build_guard(lexicon, policy)
    stream = sys.stdin.buffer if source == "-" else open(source, "rb")
    try:
        errors = scan_stream(
            guard, stream, sys.stdout, with_action=not no_action, candidates=candidates, progress=sys.stderr.isatty()
        )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if errors:
        click.echo(f"guard scan: {errors} line(s) could not be scanned (see their error objects)", err=True)
