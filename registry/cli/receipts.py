"""``registry receipts``: verify an allowed decision's signed receipt, list the keys."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import InvalidInput, NotFound
from ..receipts import InvalidReceipt, keys_from_json, verify
from . import main
from .output import Output
from .state import State

pass_state = click.make_pass_decorator(State)
EXIT_INVALID_RECEIPT = 1


@main.group()
def receipts() -> None:
    """Signed receipts of allowed decisions: verify them, list the keys, show one again."""


def _read(path: str, what: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the {what} {path}: {exc.strerror}") from exc


@receipts.command("verify")
@click.argument("receipt", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the receipt from this file (- for stdin) instead of the argument.",
)
@click.option(
    "--keys",
    "keys_path",
    type=click.Path(dir_okay=False),
    help="Verify offline with these public keys (JSON, as 'registry receipts keys' prints "
    "them) instead of the database's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verified payload as JSON.")
@pass_state
def receipts_verify(
    state: State, receipt: str | None, file: str | None, keys_path: str | None, as_json: bool
) -> None:
    """Verify RECEIPT (or the one in --file) with the registry's public keys and its log
    (a cancelled decision's receipt is refused), or offline with --keys (the signature
    only), and print what it vouches for. Exit 0 valid, 1 not valid, 2 bad usage."""
    if (receipt is None) == (file is None):
        raise InvalidInput("give the receipt either as an argument or with --file")
    if file is not None:
        try:
            receipt = _read(file, "receipt file").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the receipt file {file} is not text") from exc
    assert receipt is not None
    out = Output.current()
    try:
        if keys_path is not None:  # offline: the signature only
            payload = verify(receipt, keys_from_json(_read(keys_path, "keys file")))
        else:  # the signature, and that the log holds the decision, not cancelled
            payload = state.registry().verify_receipt(receipt)
    except InvalidReceipt as exc:
        out.error(str(exc))
        raise click.exceptions.Exit(EXIT_INVALID_RECEIPT) from exc
    if as_json:
        out.json(payload)
        return
    out.line(f"VALID receipt of decision {payload.decision_id}, signed with key {payload.kid}")
    out.table(
        None,
        ["field", "value"],
        [
            ["agreement", f"{payload.agreement} v{payload.agreement_version}"],
            ["source system", payload.source_system],
            ["recipient", payload.recipient],
            ["purpose", payload.purpose],
            ["fields", payload.fields],
            ["records", payload.record_count],
            ["on", payload.on],
            ["checked at", payload.checked_at],
        ],
    )


@receipts.command("keys")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="JSON (the default, ready for 'receipts verify --keys') or a table.",
)
@pass_state
def receipts_keys(state: State, fmt: str) -> None:
    """Every public key that has signed receipts for this database, oldest first."""
    found = state.registry().public_keys()
    out = Output.current()
    if fmt == "json":
        out.json(found)
        return
    out.table(
        "Receipt signing keys",
        ["key id", "algorithm", "public key", "first used"],
        ([k.key_id, k.algorithm, k.public_key, k.created_at] for k in found),
    )


@receipts.command("show")
@click.argument("decision_id")
@pass_state
def receipts_show(state: State, decision_id: str) -> None:
    """Print the receipt of an allowed decision again (signed with the current key)."""
    receipt = state.registry().receipt_for(decision_id)
    if receipt is None:
        raise NotFound(f"decision '{decision_id}' was denied or cancelled: it has no receipt")
    Output.current().line(receipt)


__all__ = ["receipts"]
