"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import sys

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


def prompt_text(prompt: str) -> str:
    """The PROMPT argument as text: for "-", standard input as UTF-8 (without a byte order mark, or the line
    breaks at its end), else the argument itself (see Utf8Text). Bytes that are not UTF-8 are an error (exit
    status 2), not text checked with replacement characters in place of what was written."""
    if prompt == "-":
        raw = sys.stdin.buffer.read()
        skip = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        try:
            return raw[skip:].decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            at = skip + exc.start
            raise click.BadParameter(f"standard input is not valid UTF-8: byte 0x{raw[at]:02x} at offset {at}",
                                     param_hint="PROMPT") from None
    return prompt


class Utf8Text(click.ParamType):
    """A text argument or option. Argument bytes that are not UTF-8 reach Python as lone surrogates; they are an
    error (exit status 2) rather than text written to a lexicon or checked as a prompt."""

    name = "text"

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                self.fail(f"not valid UTF-8 at character {exc.start}", param, ctx)
        return value


UTF8_TEXT = Utf8Text()
