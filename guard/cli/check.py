"""`guard check "prompt" [--context JSON] [--policy PATH]... [--lexicon PATH]...`: print the Decision as JSON."""
from __future__ import annotations

import json
import sys
from typing import Optional

import click
from pydantic import ValidationError

from guard.cli.common import UTF8_TEXT, build_guard, lexicon_option, policy_option, prompt_text
from guard.models import CheckContext

UNKNOWN_ACTIONS = ("reject", "rewrite", "tag", "allow")


def parse_context(raw: Optional[str]) -> CheckContext:
    """A CheckContext from JSON text. Raises click.BadParameter (exit status 2) with a plain explanation."""
    if raw is None:
        return CheckContext()
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                                 param_hint="--context") from None
    if not isinstance(obj, dict):
        raise click.BadParameter("must be a JSON object, e.g. '{\"region\": \"JP\", \"commercial\": true}'",
                                 param_hint="--context") from None
    try:
        return CheckContext.model_validate(obj)
    except ValidationError as exc:
        allowed = ", ".join(CheckContext.model_fields)
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "context"
            if err.get("type") == "extra_forbidden":
                problems.append(f"unknown field {where!r} (allowed: {allowed})")
            else:
                problems.append(f"{where}: {err.get('msg', 'invalid value')}")
        raise click.BadParameter("; ".join(problems), param_hint="--context") from None


@click.command("check")
@click.argument("prompt", type=UTF8_TEXT)
@click.option("--context", "context_json", metavar="JSON", type=UTF8_TEXT,
              help='Who asks and for what use, e.g. \'{"region":"JP","commercial":true}\'. Fields: '
                   + ", ".join(CheckContext.model_fields) + ". Unknown fields are an error.")
@policy_option
@lexicon_option
@click.option("--unknown-action", type=click.Choice(UNKNOWN_ACTIONS), default="reject", show_default=True,
              help="Action for characters whose rightsholder has no policy or has not opted in.")
@click.option("--max-rewrites", type=click.IntRange(min=1), default=None, metavar="N",
              help="Reject a prompt that needs more than N mentions rewritten in one round. Default: 1000.")
@click.option("--compact", is_flag=True, help="One line of JSON instead of indented JSON.")
@click.option("--exit-status", is_flag=True, help="Exit with status 1 when the decision is reject.")
def check_cmd(prompt: str, context_json: Optional[str], policy: tuple[str, ...], lexicon: tuple[str, ...],
              unknown_action: str, max_rewrites: Optional[int], compact: bool, exit_status: bool) -> None:
    """Decide what to do with PROMPT (- reads it from stdin) and print the decision as JSON.

    The decision holds the action (allow, tag, rewrite or reject), the prompt (rewritten where it was
    rewritten), every character mention with the rule that fired and why, revenue-share tags, rejection
    codes and messages, the themes found, the policy version and the time taken.
    """
    ctx = parse_context(context_json)  # before the (slower) build, so a typo fails fast
    prompt = prompt_text(prompt)
    kwargs = {"unknown_action": unknown_action} if unknown_action != "reject" else {}
    if max_rewrites is not None:
        kwargs["max_rewrites"] = max_rewrites
    guard = build_guard(lexicon, policy, **kwargs)
    if getattr(guard, "policy", None) is None:
        raise click.ClickException("the policy engine is not available")
    decision = guard.check(prompt, ctx)
    data = decision.model_dump(mode="json")
    click.echo(json.dumps(data, ensure_ascii=False, indent=None if compact else 2))
    if exit_status and decision.action == "reject":
        sys.exit(1)
