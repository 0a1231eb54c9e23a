"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import click

from guard.errors import FileFormatError

lexicon_option = click.option(
    "--lexicon", "lexicon", multiple=True, type=click.Path(exists=True), help="Lexicon file or directory (repeatable); replaces the bundled lexicons."
)
policy_option = click.option(
    "--policy", "policy", multiple=True, type=click.Path(exists=True), help="Policy file or directory (repeatable); replaces the example policies."
)


def build_guard(lexicons=(), policies=(), **kwargs):
    from guard.engine import Guard

    try:
        return Guard.from_paths(list(lexicons) or None, list(policies) or None, **kwargs)
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from None
