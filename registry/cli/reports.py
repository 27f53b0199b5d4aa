"""``registry report``: what auditors read, with the log's tamper check first."""

from __future__ import annotations

import datetime

import click

from .. import reports
from . import main
from .output import DATE, Output
from .state import State

pass_state = click.make_pass_decorator(State)


@main.command()
@click.option("--agreement", metavar="ID", help="Only this agreement.")
@click.option("--from", "first", type=DATE, help="Checks dated on or after this day.")
@click.option("--to", "last", type=DATE, help="Checks dated on or before this day.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "disclosures-csv", "denials-csv"]),
    default="table",
)
@pass_state
def report(
    state: State,
    agreement: str | None,
    first: datetime.date | None,
    last: datetime.date | None,
    fmt: str,
) -> None:
    """Disclosures per agreement (transfers, records, distinct people, recipients) and
    denials by reason over a period, with the decision log's tamper check. Exit 1 when the
    log fails verification: the figures come from a log that was altered."""
    found = state.registry().report(agreement, first, last)
    out = Output.current()
    if fmt == "json":
        out.json(found)
    elif fmt == "disclosures-csv":
        click.echo(reports.disclosures_csv(found.disclosures), nl=False)
    elif fmt == "denials-csv":
        click.echo(reports.denials_csv(found.denials), nl=False)
    else:
        period = f"{first or 'the first check'} to {last or 'the last check'}"  # by check date
        log = found.log
        out.line(
            f"Decision log: verified, {log.entries} entries"
            if log.ok
            else f"Decision log: FAILED verification at entry {log.seq}: {log.problem}"
        )
        out.table(
            f"Disclosures, checks dated {period}",
            ["agreement", "transfers", "records", "people", "first", "last", "recipients"],
            (
                [d.agreement, d.transfers, d.records, d.people, d.first, d.last, d.recipients]
                for d in found.disclosures
            ),
        )
        out.table(
            f"Denials by reason, checks dated {period}",
            ["reason", "agreement", "decisions"],
            ([d.code, d.agreement or "", d.decisions] for d in found.denials),
        )
    if not found.log.ok:
        raise SystemExit(1)
