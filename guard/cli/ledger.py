"""`guard ledger`: the revenue-share attribution ledger."""
from __future__ import annotations

import click

from guard.ledger.errors import LedgerError

DEFAULT_LEDGER = "guard-ledger.sqlite3"

ledger_option = click.option(
    "--ledger", "ledger_url", envvar="GUARD_LEDGER", default=DEFAULT_LEDGER, show_default=True, metavar="URL",
    help="SQLite file (or sqlite:///path) or postgresql://user:pw@host/db URL; env GUARD_LEDGER.",
)


@click.group("ledger")
def ledger_group() -> None:
    """Revenue-share attribution ledger: reports for rightsholders."""


@ledger_group.command("report")
@click.option("--from", "start", required=True, metavar="DATE",
              help="First day (YYYY-MM-DD, UTC), or an exact ISO datetime.")
@click.option("--to", "end", required=True, metavar="DATE",
              help="Last day, included (YYYY-MM-DD, UTC), or an exact ISO datetime (excluded).")
@click.option("--rightsholder", default=None, metavar="ID", help="Only this rightsholder's shares.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@ledger_option
def report_cmd(start: str, end: str, rightsholder: str | None, fmt: str, ledger_url: str) -> None:
    """Counts per character and rightsholder, share-weighted totals, by region and by commercial/personal use.

    \b
    decisions  generations featuring the rightsholder / character (or in the region / use)
    share      share-weighted count: the fractions of generations credited by the split rule
    royalty    sum of share x the tag's share_rate
    """
    from guard.ledger.report import build_report
    from guard.ledger.store import open_store

    try:
        store = open_store(ledger_url, create=False)
        report = build_report(store, start, end, rightsholder)
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.render(fmt), nl=False)
