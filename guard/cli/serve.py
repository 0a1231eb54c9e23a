"""`guard serve`: run the guard service (and optionally a guarding reverse proxy) with uvicorn."""
from __future__ import annotations

import logging
from typing import Optional

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on (0: any free port).")
@click.option("--lexicon", "lexicons", multiple=True, type=click.Path(exists=True), help="Lexicon file or directory (repeatable). Default: the bundled lexicons.")
@click.option("--policy", "policies", multiple=True, type=click.Path(exists=True), help="Policy file or directory (repeatable). Default: the bundled example policies.")
@click.option("--unknown-action", default="reject", show_default=True, type=click.Choice(["allow", "tag", "rewrite", "reject"]), help="Policy action for characters no policy covers.")
@click.option("--upstream", default=None, metavar="URL", help="Reverse-proxy mode: forward every other request to this generation API, guarded.")
@click.option("--route", "routes", multiple=True, metavar="'METHODS /path/pattern'",
              help="Proxy mode: a guarded route, e.g. 'POST /v1/images/*' (repeatable). Default: every POST, PUT and PATCH.")
@click.option("--prompt-pointer", "pointers", multiple=True, metavar="POINTER",
              help="Proxy mode: JSON pointer to the prompt, '*' matches any index or key (repeatable). "
                   "Default: /prompt /negative_prompt /messages/*/content /input.")
@click.option("--fail-open", is_flag=True, help="Proxy mode: if the engine fails, forward requests unchecked instead of answering 503.")
@click.option("--max-body-size", default=1 << 20, show_default=True, type=int, help="Largest request body accepted, in bytes.")
@click.option("--audit-log", default=None, metavar="PATH|-", help="Write one JSON line per decision to this file ('-': stdout).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Reload when a lexicon or policy file changes (SIGHUP always reloads).")
@click.option("--watch-interval", default=1.0, show_default=True, type=float, help="Seconds between checks for changed files.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve_cmd(
    host: str,
    port: int,
    lexicons: tuple[str, ...],
    policies: tuple[str, ...],
    unknown_action: str,
    upstream: Optional[str],
    routes: tuple[str, ...],
    pointers: tuple[str, ...],
    fail_open: bool,
    max_body_size: int,
    audit_log: Optional[str],
    watch: bool,
    watch_interval: float,
    log_level: str,
) -> None:
    """Serve POST /v1/check, GET /healthz and GET /metrics; with --upstream, guard and proxy everything else.

    Lexicons and policies reload on SIGHUP and (with --watch) when their files change; a reload that fails
    keeps the running engine and logs why.
    """
    import uvicorn

    from guard.errors import FileFormatError
    from guard.service import create_app
    from middleware.holder import EngineHolder

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if (routes or pointers or fail_open) and not upstream:
        raise click.UsageError("--route, --prompt-pointer and --fail-open apply to proxy mode; add --upstream URL")
    try:
        holder = EngineHolder.from_paths(lexicons or None, policies or None, unknown_action=unknown_action)
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        app = create_app(
            holder,
            upstream=upstream,
            audit=audit_log,
            max_body_size=max_body_size,
            routes=list(routes) or None,
            prompt_pointers=list(pointers) or None,
            fail_open=fail_open,
            watch=watch,
            watch_interval=watch_interval,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=log_level == "debug")
