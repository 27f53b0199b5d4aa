"""``registry subject-key``: the keys that hash people in the disclosure accounting."""

from __future__ import annotations

import click

from . import main
from .output import FORMATS, Output
from .state import State

pass_state = click.make_pass_decorator(State)


@main.group("subject-key")
def subject_key() -> None:
    """The keys that hash people's identifiers for the disclosure accounting."""


@subject_key.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_state
def subject_key_list(state: State, fmt: str) -> None:
    """The database's subject keys, oldest first, and which of them this process holds
    (the first key in its key file is its current key, the others retired ones)."""
    registry = state.registry()
    found = registry.subject_keys()
    configured = registry.configured_subject_keys()
    out = Output.current()
    if fmt == "json":
        out.json({"database": found, "process": configured})
        return

    def held(key_id: str) -> str:
        if key_id not in configured:
            return "missing"
        return "current" if key_id == configured[0] else "retired"

    rows = [
        [
            k.epoch,
            k.key_id,
            "current" if k.retired_at is None else "retired",
            k.recorded_at,
            k.retired_at,
            k.recorded_by,
            held(k.key_id),
        ]
        for k in found
    ]
    known = {k.key_id for k in found}
    rows.extend(["", k, "not used", "", "", "", held(k)] for k in configured if k not in known)
    out.table(
        "Subject keys",
        ["epoch", "key id", "database", "current from", "retired", "by", "this process"],
        rows,
    )


@subject_key.command("rotate")
@click.option("--by", metavar="NAME", help="Who rotates the key (default: your user name).")
@pass_state
def subject_key_rotate(state: State, by: str | None) -> None:
    """Make this process's current key (the first in its key file) the database's current
    subject key. Every key the database used before must follow it in the key file: older
    entries are looked up with them.

    Stop the processes that use the database first, and start them again with the new
    key file: one still running with the old key refuses to check.
    """
    registry = state.registry()
    key = registry.rotate_subject_key(by)
    retired = [k.key_id for k in registry.subject_keys() if k.retired_at is not None]
    Output.current().line(
        f"subject key {key.key_id} is current from {key.recorded_at:%Y-%m-%d %H:%M:%S}Z "
        f"(epoch {key.epoch}); retired: {', '.join(retired)}"
    )


__all__ = ["subject_key"]
