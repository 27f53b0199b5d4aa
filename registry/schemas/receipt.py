"""Receipts: what an allowed decision's signed receipt says, and the keys that verify it.

The signing and verifying are in :mod:`registry.receipts`; these are only the Structs, so
the CLI, the HTTP API and the store can share them.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

KeyId = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-f]{16}(?!\n)$",  # see types._END
        description="The first 16 hex digits of the SHA-256 of the raw 32-byte public key.",
        examples=["3f9a0c1d2e4b5a69"],
    ),
]


class ReceiptPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an allowed decision's receipt vouches for: this transfer was checked and
    allowed under this agreement version, and logged as this decision."""

    v: Annotated[int, Meta(description="Format version of the receipt: 1.")] = 1
    kid: Annotated[KeyId, Meta(description="The key that signed the receipt.")]
    decision_id: Annotated[str, Meta(description="The decision in the registry's log.")]
    agreement: Annotated[str, Meta(description="The agreement that allowed the transfer.")]
    agreement_version: Annotated[int, Meta(description="Its version in force on `on`.")]
    source_system: Annotated[str, Meta(description="The data system that exports.")]
    recipient: Annotated[str, Meta(description="Party id of the receiving organisation.")]
    purpose: Annotated[str, Meta(description="Purpose code the transfer was allowed for.")]
    fields: Annotated[tuple[str, ...], Meta(description="The fields the request named.")]
    record_count: Annotated[int, Meta(description="The records allowed.")]
    on: Annotated[datetime.date, Meta(description="Date of the transfer.")]
    checked_at: Annotated[datetime.datetime, Meta(description="When it was decided (UTC).")]


class PublicKey(msgspec.Struct, frozen=True, kw_only=True):
    """A public key that signs (or signed) receipts. Keys are never removed, so receipts
    signed before a new key was configured still verify."""

    key_id: KeyId
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: Annotated[
        str, Meta(description="The raw 32-byte Ed25519 public key, in lowercase hex.")
    ]
    created_at: Annotated[
        datetime.datetime, Meta(description="When the key was first used with this database.")
    ]
