"""The `guard` command line. Each command group lives in its own module."""
from __future__ import annotations

import click

from guard.cli.check import check_cmd
from guard.cli.ledger import ledger_group
from guard.cli.lexicon import lexicon_group
from guard.cli.scan import scan_cmd
from guard.cli.serve import serve_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="character-guard")
def main() -> None:
    """character-guard: find copyrighted characters in generation prompts and decide what to do."""


main.add_command(scan_cmd)
main.add_command(check_cmd)
main.add_command(lexicon_group)
main.add_command(serve_cmd)
main.add_command(ledger_group)
