"""``registry agreements ...``: lint, load, list, show, versions, history, diff, status."""

from __future__ import annotations

import datetime
import re

import click
import msgspec
import tomli_w

from ..documents import collect, read
from ..engine.lint import has_errors
from ..engine.lint import lint as lint_documents
from ..errors import InvalidInput
from ..schemas.types import VERSION_NUMBER
from . import main
from .output import DATE, FORMATS, Output, summary
from .state import State

pass_state = click.make_pass_decorator(State)


@main.group()
def agreements() -> None:
    """Register, amend, inspect and change the status of agreements."""


@agreements.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_state
def lint(state: State, paths: tuple[str, ...], fmt: str) -> None:
    """Validate agreement and party files; report every problem with file, line and field.

    Parties already loaded in the database count as known. Exit 0 with only warnings,
    2 with any error.
    """
    files, problems = collect(paths)
    known = state.registry().parties() if state.database_exists() else {}
    problems += lint_documents([read(f) for f in files], state.plugins(), known)
    out = Output.current()
    if fmt == "json":
        out.json(problems)
    else:
        out.problems(problems)
        out.line(summary(problems, len(files)))
    if has_errors(problems):
        raise click.exceptions.Exit(2)


@agreements.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--by", metavar="NAME", help="Who makes the change (default: your user name).")
@click.option(
    "--expect",
    "expect",
    multiple=True,
    metavar="ID=VERSION",
    help="Amend ID only if its current version is VERSION (repeatable); "
    "otherwise fail with a conflict and load nothing.",
)
@pass_state
def load(state: State, paths: tuple[str, ...], by: str | None, expect: tuple[str, ...]) -> None:
    """Validate, then create or amend parties and agreements: all files or none.

    A changed file becomes a new version; an identical one changes nothing. With
    --expect, an amendment someone else got in first is refused instead of superseding it.
    """
    out = Output.current()
    outcomes, problems = state.registry().load(
        paths, recorded_by=by, expected_versions=_expectations(expect)
    )
    out.problems(problems)
    for o in outcomes:
        if o.action == "unchanged":
            out.line(f"{o.kind} {o.id}: unchanged (version {o.version})")
        else:
            out.line(f"{o.kind} {o.id}: {o.action}, version {o.version}")
    changed = sum(o.action != "unchanged" for o in outcomes)
    out.line(f"{changed} changed, {len(outcomes) - changed} unchanged")


def _expectations(values: tuple[str, ...]) -> dict[str, int]:
    expected = {}
    for value in values:
        agreement_id, _, version = value.partition("=")
        if not agreement_id or not re.fullmatch(VERSION_NUMBER, version):
            raise InvalidInput(f"--expect {value!r}: expected ID=VERSION, such as my-mou=3")
        expected[agreement_id] = int(version)
    return expected


@agreements.command("list")
@click.option("--on", "on", type=DATE, help="Show the version and status in force that day.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def list_(state: State, on: datetime.date | None, fmt: str) -> None:
    """Every agreement with the version and status in force on a date (today)."""
    rows = state.registry().list_agreements(on)
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        f"Agreements on {(on or datetime.date.today()).isoformat()}",
        ["id", "kind", "status", "version", "effective", "expires", "discloser", "recipients"],
        (
            [r.id, r.kind, r.status, r.version, r.effective, r.expires, r.discloser, r.recipients]
            for r in rows
        ),
    )


@agreements.command()
@click.argument("agreement_id")
@click.option("--version", type=click.IntRange(min=1), help="A version number (default: current).")
@click.option("--on", "on", type=DATE, help="The version in force on this day.")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml")
@pass_state
def show(
    state: State, agreement_id: str, version: int | None, on: datetime.date | None, fmt: str
) -> None:
    """Print one version of an agreement as a file would hold it."""
    if version is not None and on is not None:
        raise InvalidInput("give --version or --on, not both")
    record = state.registry().agreement(agreement_id, version, on)
    out = Output.current()
    if fmt == "json":
        out.json(record)
        return
    info = record.info
    header = (
        f"# {info.agreement} version {info.version} of {record.current_version}, "
        f"in force from {info.version_effective}\n"
        f"# recorded {info.recorded_at:%Y-%m-%d %H:%M:%SZ} by {info.recorded_by}"
        + (f" from {info.source}" if info.source else "")
        + f"\n# status on {record.status_on}: {record.status}\n"
    )
    document = msgspec.to_builtins(record.agreement, builtin_types=(datetime.date,))
    click.echo(header + tomli_w.dumps(document), nl=False)


@agreements.command()
@click.argument("agreement_id")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def versions(state: State, agreement_id: str, fmt: str) -> None:
    """Every version of an agreement, oldest first."""
    rows = state.registry().versions(agreement_id)
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        f"Versions of {agreement_id}",
        ["version", "in force from", "recorded", "by", "source"],
        ([v.version, v.version_effective, v.recorded_at, v.recorded_by, v.source] for v in rows),
    )


@agreements.command()
@click.argument("agreement_id")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def history(state: State, agreement_id: str, fmt: str) -> None:
    """Versions and status changes of an agreement, in the order they were recorded."""
    rows = state.registry().history(agreement_id)
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        f"History of {agreement_id}",
        ["recorded", "by", "what"],
        ([e.recorded_at, e.recorded_by, e.summary] for e in rows),
    )


@agreements.command()
@click.argument("agreement_id")
@click.argument("old", required=False, type=click.IntRange(min=1))
@click.argument("new", required=False, type=click.IntRange(min=1))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_state
def diff(state: State, agreement_id: str, old: int | None, new: int | None, fmt: str) -> None:
    """What changed between two versions (default: the previous and the current)."""
    if old is not None and new is None:
        raise InvalidInput("give two versions, or none")
    a, b, changes = state.registry().diff(agreement_id, old, new)
    out = Output.current()
    if fmt == "json":
        out.json({"agreement": agreement_id, "from": a, "to": b, "changes": changes})
        return
    out.line(f"{agreement_id}: version {a} → version {b}")
    if not changes:
        out.line("  no changes")
    for change in changes:
        out.line(f"  - {change.summary}")


@agreements.command()
@click.option("--parties", is_flag=True, help="The parties file's schema instead.")
@pass_state
def schema(state: State, parties: bool) -> None:
    """Print the JSON Schema of agreement files (with installed plugins' tables)."""
    from ..engine import jsonschema

    document = (
        jsonschema.parties_schema() if parties else jsonschema.agreement_schema(state.plugins())
    )
    click.echo(jsonschema.render(document), nl=False)


def _status_command(name: str, verb: str, doc: str) -> None:
    @agreements.command(name, help=doc)
    @click.argument("agreement_id")
    @click.option("--on", "on", type=DATE, required=True, help="The day the change takes effect.")
    @click.option("--reason", required=True, help="Why (a court order, a safeguard finding...).")
    @click.option("--by", metavar="NAME", help="Who makes the change (default: your user name).")
    @pass_state
    def command(
        state: State, agreement_id: str, on: datetime.date, reason: str, by: str | None
    ) -> None:
        event = getattr(state.registry(), verb)(agreement_id, on, reason, recorded_by=by)
        Output.current().line(f"{agreement_id}: {event.status} from {event.on} ({event.reason})")


_status_command("suspend", "suspend", "Suspend an active agreement from a date.")
_status_command("reinstate", "reinstate", "Reinstate a suspended agreement from a date.")
_status_command(
    "terminate", "terminate", "Terminate an agreement from a date. Termination is final."
)


@agreements.command()
@click.argument("agreement_id")
@click.option(
    "--outcome",
    type=click.Choice(["renew", "amend", "let-expire", "terminate"]),
    required=True,
    help="What should happen to the agreement.",
)
@click.option("--note", required=True, help="What the reviewer found (1 to 2000 characters).")
@click.option(
    "--next-review", "next_review", type=DATE, required=True, help="When to review it again."
)
@click.option("--on", "on", type=DATE, help="The day of the review (default: today).")
@click.option("--by", metavar="NAME", help="Who reviewed it (default: your user name).")
@pass_state
def review(
    state: State,
    agreement_id: str,
    outcome: str,
    note: str,
    next_review: datetime.date,
    on: datetime.date | None,
    by: str | None,
) -> None:
    """Record a review: its outcome, a note and the next review date. The agreement leaves
    the due-for-review list until then."""
    done = state.registry().record_review(
        agreement_id,
        outcome=outcome,
        note=note,
        next_review=next_review,
        reviewed_on=on,
        recorded_by=by,
    )
    Output.current().line(
        f"{agreement_id} v{done.version}: reviewed on {done.reviewed_on}, {done.outcome}; "
        f"next review {done.next_review}"
    )


@agreements.command()
@click.argument("agreement_id")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def reviews(state: State, agreement_id: str, fmt: str) -> None:
    """Every review of an agreement, in the order recorded."""
    rows = state.registry().reviews(agreement_id)
    out = Output.current()
    if fmt == "json":
        out.json(rows)
        return
    out.table(
        f"Reviews of {agreement_id}",
        ["reviewed", "version", "outcome", "next review", "by", "note"],
        ([r.reviewed_on, r.version, r.outcome, r.next_review, r.recorded_by, r.note] for r in rows),
    )


@agreements.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="Replay the decisions logged in this many days.",
)
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def impact(state: State, path: str, days: int, fmt: str) -> None:
    """Before loading an amended file: which recent decisions it would decide the other
    way, and why. Nothing is loaded or logged."""
    found = state.registry().impact(path, days)
    out = Output.current()
    if fmt == "json":
        out.json(found)
        return
    out.line(
        f"{found.agreement}: {found.replayed} decision(s) logged since "
        f"{found.since:%Y-%m-%d %H:%M} UTC replayed under the amended file; "
        f"{len(found.changed)} would change"
    )
    out.table(
        None,
        ["decision", "on", "from → to", "purpose", "records", "before", "after", "why after"],
        (
            [
                r.decision_id,
                r.on,
                f"{r.source_system} → {r.recipient}",
                r.purpose,
                r.record_count,
                "allowed" if r.allowed_before else "denied",
                "allowed" if r.allowed_after else "denied",
                ", ".join(r.reasons_after) or ", ".join(r.reasons_before),
            ]
            for r in found.changed
        ),
    )
    out.line(f"note: {found.note}")
