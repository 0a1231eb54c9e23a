"""`guard serve`: run the guard service (and optionally a guarding reverse proxy) with uvicorn."""
from __future__ import annotations

import logging
from typing import Optional

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0: any free port).")
@click.option("--lexicon", "lexicons", multiple=True, type=click.Path(exists=True), help="Lexicon file or directory (repeatable). Default: the bundled lexicons.")
@click.option("--policy", "policies", multiple=True, type=click.Path(exists=True), help="Policy file or directory (repeatable). Default: the bundled example policies.")
@click.option("--unknown-action", default="reject", show_default=True, type=click.Choice(["allow", "tag", "rewrite", "reject"]), help="Policy action for characters no policy covers.")
@click.option("--max-rewrites", type=click.IntRange(min=1), default=None, metavar="N",
              help="Reject a prompt that needs more than N mentions rewritten in one round. Default: 1000.")
@click.option("--upstream", default=None, metavar="URL", help="Reverse-proxy mode: forward every other request to this generation API, guarded.")
@click.option("--route", "routes", multiple=True, metavar="'METHODS /path/pattern'",
              help="Proxy mode: a guarded route, e.g. 'POST /v1/images/*' (repeatable). Default: every POST, PUT and PATCH.")
@click.option("--prompt-pointer", "pointers", multiple=True, metavar="POINTER",
              help="Proxy mode: JSON pointer to the prompt, '*' matches any index or key (repeatable). "
                   "Default: /prompt /negative_prompt /messages/*/content /input.")
@click.option("--fail-open", is_flag=True, help="Proxy mode: if the engine fails, forward requests unchecked instead of answering 503.")
@click.option("--max-body-size", default=1 << 20, show_default=True, type=click.IntRange(min=1), help="Largest request body accepted, in bytes.")
@click.option("--body-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds a request body may take to arrive once the server has to wait for it (408 after); 0: no limit.")
@click.option("--audit-log", default=None, metavar="PATH|-", help="Write one JSON line per decision to this file ('-': stdout).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Reload when a lexicon or policy file changes (SIGHUP always reloads).")
@click.option("--watch-interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05), help="Seconds between checks for changed files.")
@click.option("--ledger", "ledger_url", default=None, envvar="GUARD_LEDGER", metavar="URL",
              help="Record revenue-bearing decisions in this attribution ledger: a SQLite file (or sqlite:///path) or a "
                   "postgresql://user:pw@host/db URL; env GUARD_LEDGER. Default: no ledger.")
@click.option("--ledger-durable", is_flag=True,
              help="Wait for each record's commit before the request goes on (default: buffered, committed in batches).")
@click.option("--ledger-split", default="equal", show_default=True, type=click.Choice(["equal", "per_character", "policy_rate"]),
              help="How a generation featuring several rightsholders is split between them (see docs/ledger.md).")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve_cmd(
    host: str,
    port: int,
    lexicons: tuple[str, ...],
    policies: tuple[str, ...],
    unknown_action: str,
    max_rewrites: Optional[int],
    upstream: Optional[str],
    routes: tuple[str, ...],
    pointers: tuple[str, ...],
    fail_open: bool,
    max_body_size: int,
    body_timeout: float,
    audit_log: Optional[str],
    watch: bool,
    watch_interval: float,
    ledger_url: Optional[str],
    ledger_durable: bool,
    ledger_split: str,
    log_level: str,
) -> None:
    """Serve POST /v1/check, GET /healthz and GET /metrics; with --upstream, guard and proxy everything else.

    Lexicons and policies reload on SIGHUP and (with --watch) when their files change; a reload that fails
    keeps the running engine and logs why.

    With --ledger, every revenue-bearing decision (of /v1/check and of the proxy) becomes an attribution record;
    the ledger is flushed and closed at shutdown. `guard ledger report` reads it.
    """
    import uvicorn

    from guard.errors import FileFormatError
    from guard.service import create_app
    from middleware.holder import EngineHolder

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if (routes or pointers or fail_open) and not upstream:
        raise click.UsageError("--route, --prompt-pointer and --fail-open apply to proxy mode; add --upstream URL")
    ledger = None
    if ledger_url:
        from guard.ledger import Ledger, LedgerError

        try:  # opened first, so that a wrong URL fails before the lexicons are loaded
            ledger = Ledger.open(ledger_url, durable=ledger_durable, split=ledger_split)
        except (LedgerError, OSError, ValueError) as exc:
            raise click.ClickException(f"--ledger: {exc}") from None  # (not the URL itself: it may hold a password)
        logging.getLogger("guard.service").info("recording attributions in %r", ledger)
    # The app flushes and closes the ledger at shutdown; on an early exit (a broken policy) atexit does.
    try:
        holder = EngineHolder.from_paths(
            lexicons or None, policies or None, unknown_action=unknown_action, max_rewrites=max_rewrites
        )
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        app = create_app(
            holder,
            upstream=upstream,
            audit=audit_log,
            max_body_size=max_body_size,
            body_timeout=body_timeout or None,
            routes=list(routes) or None,
            prompt_pointers=list(pointers) or None,
            fail_open=fail_open,
            watch=watch,
            watch_interval=watch_interval,
            ledger=ledger,
            close_ledger=ledger is not None,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=log_level == "debug")
