"""``registry check``, ``decisions`` and ``disclosures``."""

from __future__ import annotations

import contextlib
import datetime
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from .. import ndjson, spreadsheet
from ..errors import InvalidInput
from ..schemas import Decision
from . import main
from .output import DATE, Output
from .state import State

pass_state = click.make_pass_decorator(State)
EXIT_DENIED = 1


def _read_request(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc


@contextlib.contextmanager
def _record_lines(path: str) -> Iterator[Iterator[bytes]]:
    """Lines of the NDJSON file, with a progress bar when stderr is a terminal."""
    try:
        handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        if not sys.stderr.isatty():
            yield iter(handle)
            return
        size = Path(path).stat().st_size
        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Output.current().errors,
        )
        with progress:
            task = progress.add_task("checking records", total=size)

            def lines() -> Iterator[bytes]:
                for line in handle:
                    progress.advance(task, len(line))
                    yield line

            yield lines()


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--records",
    "records_path",
    type=click.Path(dir_okay=False),
    help="Records as NDJSON (one JSON object a line), streamed in bounded memory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@pass_state
def check(state: State, file: str, records_path: str | None, as_json: bool) -> None:
    """Ask whether the transfer in FILE (a JSON check request, - for stdin) fits an
    active agreement. Exit 0 allowed, 1 denied, 2 invalid input. Every decision is logged."""
    body = _read_request(file)
    registry = state.registry()
    if records_path:
        with _record_lines(records_path) as lines:
            decision = registry.check_stream(body, ndjson.records(lines, records_path))
    else:
        decision = registry.check(body)
    out = Output.current()
    if as_json:
        out.json(decision)
    else:
        _print_decision(out, decision)
    if not decision.allowed:
        raise click.exceptions.Exit(EXIT_DENIED)


def _print_decision(out: Output, d: Decision) -> None:
    under = f"{d.agreement} v{d.agreement_version}" if d.agreement_version else (d.agreement or "-")
    verdict = "ALLOWED" if d.allowed else "DENIED"
    out.line(
        f"{verdict}: {d.record_count} record(s) from {d.source_system} to {d.recipient} "
        f"for {d.purpose} on {d.on}, under {under}"
    )
    out.line(
        f"decision {d.decision_id}, checked by {', '.join(d.checkers)}"
        + (" (cancelled)" if d.cancelled else "")
    )
    if d.receipt:
        out.line(f"receipt {d.receipt}")
    for r in d.reasons:
        where = f" [{r.field}]" if r.field else ""
        agreement = f" ({r.agreement})" if r.agreement else ""
        out.line(f"  - {r.code}{agreement}{where}: {r.message}")
        if r.records:
            shown = ", ".join(map(str, r.records[:20]))
            more = f" ... ({r.record_total} in all)" if (r.record_total or 0) > 20 else ""
            out.line(f"      records: {shown}{more}")


@main.group()
def decisions() -> None:
    """The decision log: list, show, cancel, verify."""


@decisions.command("list")
@click.option("--agreement", help="Only decisions under this agreement.")
@click.option("--allowed/--denied", "allowed", default=None, help="Only allowed, or denied.")
@click.option("--since", type=DATE, help="Transfers dated on or after this day.")
@click.option("--until", type=DATE, help="Transfers dated on or before this day.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_state
def decisions_list(
    state: State,
    agreement: str | None,
    allowed: bool | None,
    since: datetime.date | None,
    until: datetime.date | None,
    limit: int,
    fmt: str,
) -> None:
    """Recent decisions, newest first."""
    rows = state.registry().decisions(
        agreement=agreement, allowed=allowed, since=since, until=until, limit=limit
    )
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        "Decisions",
        ["decision", "checked", "on", "outcome", "agreement", "records", "recipient", "reasons"],
        (
            [
                d.decision_id,
                d.checked_at,
                d.on,
                "cancelled" if d.cancelled else ("allowed" if d.allowed else "denied"),
                f"{d.agreement or ''} v{d.agreement_version}"
                if d.agreement_version
                else d.agreement,
                d.record_count,
                d.recipient,
                ", ".join(dict.fromkeys(r.code for r in d.reasons)),
            ]
            for d in rows
        ),
    )


@decisions.command("show")
@click.argument("decision_id")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def decisions_show(state: State, decision_id: str, as_json: bool) -> None:
    """One decision with every reason."""
    decision = state.registry().decision(decision_id)
    if as_json:
        Output.current().json(decision)
    else:
        _print_decision(Output.current(), decision)


@decisions.command("cancel")
@click.argument("decision_id")
@click.option("--reason", required=True, help="Why the export did not happen.")
@click.option("--by", metavar="NAME", help="Who cancels (default: your user name).")
@pass_state
def decisions_cancel(state: State, decision_id: str, reason: str, by: str | None) -> None:
    """Release an allowed decision whose export did not happen: its records no longer
    count toward the period limit and its disclosures leave the accounting."""
    decision = state.registry().cancel(decision_id, reason, by=by)
    Output.current().line(
        f"decision {decision.decision_id} cancelled: "
        f"{decision.record_count} record(s) released under {decision.agreement}"
    )


@decisions.command("verify")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def decisions_verify(state: State, as_json: bool) -> None:
    """Verify that the decision log was not altered; name the first bad entry (exit 1)."""
    result = state.registry().verify()
    out = Output.current()
    if as_json:
        out.json(result)
    elif result.ok:
        out.line(f"decision log verified: {result.entries} entries, last hash {result.last_hash}")
    else:
        out.error(f"decision log FAILED verification: {result.problem}")
        out.line(f"the first {result.entries} entries verify")
    if not result.ok:
        raise click.exceptions.Exit(EXIT_DENIED)


@main.command()
@click.option("--agreement", help="Only disclosures under this agreement.")
@click.option(
    "--subject",
    metavar="VALUE",
    help="Every disclosure about this person (their identifier, such as a TIN).",
)
@click.option("--summary", is_flag=True, help="Totals per agreement: transfers, records, people.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="At most this many entries, newest first (not with --subject or --summary).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@pass_state
def disclosures(
    state: State, agreement: str | None, subject: str | None, summary: bool, limit: int, fmt: str
) -> None:
    """The disclosure accounting: date, recipient name and address, purpose, authority,
    agreement and version."""
    if summary and subject:
        raise InvalidInput("--summary counts per agreement; it cannot be combined with --subject")
    registry = state.registry()
    out = Output.current()
    if summary:
        totals = registry.disclosure_summary(agreement)
        columns = ["agreement", "transfers", "records", "people", "first", "last"]
        rows: list[list[Any]] = [
            [t.agreement, t.transfers, t.records, t.people, t.first, t.last] for t in totals
        ]
        _emit(out, fmt, "Disclosures per agreement", columns, rows, totals)
        return
    entries = registry.disclosures(agreement=agreement, subject=subject, limit=limit)
    columns = [
        "date",
        "recipient",
        "recipient address",
        "purpose",
        "authority",
        "agreement",
        "version",
        "records",
        "decision",
    ]
    rows = [
        [
            e.date,
            e.recipient_name or e.recipient,
            e.recipient_address,
            e.purpose,
            "; ".join(e.authority),
            e.agreement,
            e.agreement_version,
            e.records,
            e.decision_id,
        ]
        for e in entries
    ]
    title = "Disclosures about this person" if subject else "Disclosures"
    _emit(out, fmt, title, columns, rows, entries)


def _emit(
    out: Output, fmt: str, title: str, columns: list[str], rows: list[list[Any]], values: Any
) -> None:
    if fmt == "json":
        out.json(values)
    elif fmt == "csv":
        cells = [["" if v is None else v for v in row] for row in rows]
        sys.stdout.write(spreadsheet.to_csv(columns, cells))
    else:
        out.table(title, columns, rows)


__all__ = ["check", "decisions", "disclosures"]
