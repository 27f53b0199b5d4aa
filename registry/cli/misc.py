"""``registry expiring``, ``parties``, ``plugins`` and ``db``."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from ..store import backup, migrations_api
from ..store.database import engine_for
from . import main
from .checks import EXIT_DENIED
from .output import DATE, FORMATS, Output
from .state import State

pass_state = click.make_pass_decorator(State)


@main.command()
@click.option(
    "--within",
    "within",
    type=click.IntRange(min=0, max=36_500),
    default=90,
    show_default=True,
    help="Days ahead to look.",
)
@click.option("--as-of", "as_of", type=DATE, help="The day to look from (default: today).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "ics"]), default="table"
)
@pass_state
def expiring(state: State, within: int, as_of: datetime.date | None, fmt: str) -> None:
    """Agreements expiring or due for review within the window, soonest first.

    Suspended agreements are included; terminated and already expired ones are not.
    """
    day = as_of or datetime.date.today()
    rows = state.registry().expiring(within, day)
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    if fmt in ("csv", "ics"):
        from .. import calendar

        text = calendar.to_csv(rows) if fmt == "csv" else calendar.to_ics(rows).decode()
        click.echo(text, nl=False)
        return
    out.table(
        f"Expiring or due for review within {within} days of {day}",
        ["agreement", "due", "status", "expires", "days left", "review from", "parties", "flags"],
        (
            [
                r.agreement,
                r.due,
                r.status,
                r.expires,
                r.days_left,
                r.review_from,
                f"{r.discloser} → {', '.join(r.recipients)}",
                r.flags,
            ]
            for r in rows
        ),
    )


@main.group()
def parties() -> None:
    """Parties to agreements."""


@parties.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def parties_list(state: State, fmt: str) -> None:
    """Every party with its address and safeguard review."""
    found = sorted(state.registry().parties().values(), key=lambda p: p.id)
    out = Output.current()
    if fmt == "json":
        out.json(found)
        return
    out.table(
        "Parties",
        ["id", "name", "address", "safeguards", "reviewed"],
        (
            [
                p.id,
                p.name,
                p.address,
                p.safeguards.status if p.safeguards else "",
                p.safeguards.reviewed if p.safeguards else "",
            ]
            for p in found
        ),
    )


@main.group()
def plugins() -> None:
    """Checker plugins."""


@plugins.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def plugins_list(state: State, fmt: str) -> None:
    """The active plugins, where each came from, and their checkers."""
    loaded = state.plugins()
    rows = []
    for info in loaded.describe():
        for name in info.checkers or ("",):
            checker = loaded.checkers.get(name)
            rows.append(
                {
                    "plugin": info.name,
                    "source": info.source,
                    "checker": name,
                    "table": f"[checkers.{name}]" if checker and checker.config else "",
                    "description": checker.description if checker else "",
                }
            )
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        "Plugins",
        ["checker", "plugin", "source", "table", "description"],
        ([r["checker"], r["plugin"], r["source"], r["table"], r["description"]] for r in rows),
    )


@main.group()
def db() -> None:
    """The database: its schema, and backups."""


@db.command()
@pass_state
def upgrade(state: State) -> None:
    """Upgrade the database schema to this program's version (back up first)."""
    with engine_for(state.settings.database_url) as engine:
        before, after = migrations_api.upgrade(engine)
    out = Output.current()
    if before == after:
        out.line(f"schema already at revision {after}")
    else:
        out.line(f"schema upgraded from {before or 'empty'} to {after}")


@db.command()
@pass_state
def current(state: State) -> None:
    """The schema revision of the database and the one this program needs."""
    if not state.database_exists():
        Output.current().line(
            f"no database at {state.settings.database_url} yet: it is created on first use"
        )
        return
    with engine_for(state.settings.database_url) as engine:
        Output.current().line(migrations_api.describe(engine))


@db.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@pass_state
def db_backup(state: State, dest: Path, force: bool) -> None:
    """Copy the database to DEST while it is in use, and verify the copy's decision log.

    SQLite: an online copy (changes in the -wal file included), checked with PRAGMA
    integrity_check. PostgreSQL: pg_dump -Fc of the database, or of the schema the URL's
    search_path names; pg_dump must be on PATH. Keep the entry count and last hash printed
    with the backup: a restored log must show the same. Exit 1 when the log fails
    verification (the copy is still written, as evidence).
    """
    made = backup.backup(state.settings.database_url, dest, force=force)
    out = Output.current()
    out.line(f"backup written to {made.path} ({made.size:,} bytes)")
    out.line(made.checked)
    log = made.log
    if log is None:
        out.line(
            f"decision log not verified: the schema is at revision {made.revision}, this "
            f"program needs {migrations_api.head_revision()}; verify it after `registry db upgrade`"
        )
    elif log.ok:
        out.line(f"decision log verified: {log.entries} entries, last hash {log.last_hash}")
    else:
        out.error(f"decision log FAILED verification: {log.problem}")
        out.line(f"the first {log.entries} entries verify")
        raise click.exceptions.Exit(EXIT_DENIED)
