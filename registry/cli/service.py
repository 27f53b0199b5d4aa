"""``registry serve`` and ``registry tokens``."""

from __future__ import annotations

import datetime
import os

import click

from ..access import Tokens
from ..schemas.access import ROLES
from ..service import default_actor
from ..supervise import WriterProcess
from . import main
from .output import Output
from .state import State

pass_state = click.make_pass_decorator(State)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes. More than one needs PostgreSQL to be useful: SQLite has one writer.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--writer",
    type=click.Choice(["process", "thread"]),
    default="process",
    show_default=True,
    help="Where checks are decided and committed: one process for all workers, or a "
    "thread in each worker.",
)
@pass_state
def serve(state: State, host: str, port: int, workers: int, log_level: str, writer: str) -> None:
    """The HTTP API (under /v1, OpenAPI at /schema) served by granian."""
    from granian import Granian

    # The workers read their settings from the environment: pass on the options given.
    if state.database:
        os.environ["REGISTRY_DATABASE_URL"] = state.database
    if state.plugins_dir:
        os.environ["REGISTRY_PLUGINS_DIR"] = state.plugins_dir
    state.registry()  # fail here, with a clear message, if the database or plugins are wrong
    state.close()
    server = Granian(
        "registry.app:serve_app",
        factory=True,
        address=host,
        port=port,
        interface="asgi",  # type: ignore[arg-type]
        workers=workers,
        log_level=log_level,  # type: ignore[arg-type]
        respawn_failed_workers=True,
    )
    if writer == "thread":
        server.serve()
        return
    with WriterProcess():  # the workers' checks are decided there (registry.writer)
        server.serve()


@main.group()
def tokens() -> None:
    """API tokens: issued once, stored hashed, revocable."""


@tokens.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--system", help="The data system a system token speaks for (required for it).")
@click.option("--name", required=True, help="Who or what holds the token.")
@click.option(
    "--expires-in-days",
    "days",
    type=click.IntRange(1, 3650),
    help="Days until the token stops working (default: never).",
)
@pass_state
def tokens_create(state: State, role: str, system: str | None, name: str, days: int | None) -> None:
    """Issue a token. It is printed once: only its hash is kept."""
    issued = Tokens(state.registry().db).create(
        role,
        name=name,
        by=default_actor(),
        system=system,
        expires_in=datetime.timedelta(days=days) if days else None,
    )
    out = Output.current()
    out.line(issued.token)
    info = issued.info
    bound = f" for system {info.system}" if info.system else ""
    expires = f", expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
    out.error_note(
        f"token {info.token_id} ({info.role}{bound}{expires}): store it now, it is not shown again"
    )


@tokens.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_state
def tokens_list(state: State, fmt: str) -> None:
    """Every token ever issued (never the secrets), revoked and expired ones included."""
    found = Tokens(state.registry().db).list()
    out = Output.current()
    if fmt == "json":
        out.json(found)
        return
    now = datetime.datetime.now(datetime.UTC)
    out.table(
        "API tokens",
        ["id", "name", "role", "system", "created", "expires", "state"],
        [
            (
                t.token_id,
                t.name,
                t.role,
                t.system or "",
                f"{t.created_at:%Y-%m-%d} by {t.created_by}",
                f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never",
                "active" if t.active(now) else ("revoked" if t.revoked_at else "expired"),
            )
            for t in found
        ],
    )


@tokens.command("revoke")
@click.argument("token_id")
@pass_state
def tokens_revoke(state: State, token_id: str) -> None:
    """Revoke a token by its id (the part after ``rgt_``). Other processes stop accepting
    it within a few seconds (their token cache)."""
    info = Tokens(state.registry().db).revoke(token_id, by=default_actor())
    Output.current().line(f"token {info.token_id} ({info.name}) revoked")
