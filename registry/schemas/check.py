"""A check: the transfer a data system asks about, and the decision it gets back.

The same Structs serve Python, the CLI and HTTP. Requests are strict: unknown fields and
wrong types are invalid input, never a decision.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .types import Count, FieldPath, ShortText, Slug


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of request Structs."""


class GivenApproval(Strict, frozen=True, kw_only=True):
    """An approval given for this request."""

    role: ShortText
    by: ShortText


class CheckRequest(Strict, frozen=True, kw_only=True):
    """Does this transfer fit an active agreement?"""

    agreement: Annotated[
        Slug | None,
        Meta(
            description="The agreement relied on; omit it to try every agreement that "
            "names this source system and recipient."
        ),
    ] = None
    source_system: Annotated[Slug, Meta(description="The data system that exports.")]
    recipient: Annotated[Slug, Meta(description="Party id of the receiving organisation.")]
    purpose: Annotated[Slug, Meta(description="Purpose code, one of the agreement's.")]
    fields: Annotated[tuple[FieldPath, ...], Meta(description="Every field the export carries.")]
    record_count: Annotated[
        Count | None, Meta(description="Records in the export; defaults to len(records).")
    ] = None
    on: Annotated[
        datetime.date | None, Meta(description="Date of the transfer; defaults to today.")
    ] = None
    request: Annotated[
        dict[str, Any],
        Meta(description="The request's elements (signed_by, statutory_authority, ...)."),
    ] = {}
    approvals: tuple[GivenApproval, ...] = ()
    received_under: Annotated[
        tuple[Slug, ...],
        Meta(description="Agreements under which this data was first received."),
    ] = ()
    records: Annotated[
        tuple[dict[str, Any], ...] | None,
        Meta(description="The records themselves, checked one by one; or stream them."),
    ] = None


class Reason(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a checker objects. ``code`` is a core code or ``plugin.code``."""

    code: str
    checker: str
    message: str
    field: str | None = None
    records: tuple[int, ...] | None = None
    record_total: int | None = None
    agreement: str | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The answer to a check. Allowed only when no checker objects."""

    decision_id: str
    allowed: bool
    agreement: str | None
    agreement_version: int | None
    checkers: tuple[str, ...]
    reasons: tuple[Reason, ...]
    checked_at: datetime.datetime
    on: datetime.date | None = None
    record_count: int = 0
    source_system: str | None = None
    recipient: str | None = None
    purpose: str | None = None
    cancelled: bool = False
    receipt: Annotated[
        str | None,
        Meta(
            description="An allowed decision's signed receipt, to attach to the export; "
            "verify it with the registry's public key. Never stored in the log."
        ),
    ] = None
