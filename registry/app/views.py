"""Bodies the HTTP API takes and returns beyond the library's own Structs."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from ..schemas import Change, Problem
from ..schemas.types import ShortText
from ..schemas.views import ReviewOutcome

Reason = Annotated[str, Meta(min_length=1, max_length=2000, description="Why, in words.")]


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are errors."""


class StatusChangeBody(Body, frozen=True):
    """Suspend, reinstate or terminate an agreement from a date."""

    on: datetime.date
    reason: Reason


class CancelBody(Body, frozen=True):
    """Release an allowed decision whose export did not happen."""

    reason: Reason


class ReviewBody(Body, frozen=True):
    """A review: what should happen to the agreement, a note, and when to look again."""

    outcome: ReviewOutcome
    note: Annotated[str, Meta(min_length=1, max_length=2000)]
    next_review: datetime.date
    reviewed_on: datetime.date | None = None


class SubjectQuery(Body, frozen=True):
    """A person's identifier, sent in a body so that it never appears in a URL or a log."""

    subject: ShortText


class ReceiptBody(Body, frozen=True):
    """A receipt, as an allowed decision carried it."""

    receipt: Annotated[str, Meta(min_length=1, max_length=20_000)]


class DiffView(msgspec.Struct, frozen=True, kw_only=True):
    """The changes from one version of an agreement to another, in words."""

    agreement: str
    from_version: int
    to_version: int
    changes: tuple[Change, ...]


class PluginView(msgspec.Struct, frozen=True, kw_only=True):
    """An active plugin, where it came from and the checkers it contributes."""

    name: str
    source: str
    checkers: tuple[str, ...]


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the service and its database answer."""

    status: str
    database: str
    version: str


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every error answer: the status, a message for people, the offending field when
    there is one, and every problem found (for agreement documents)."""

    status_code: int
    detail: str
    field: str | None = None
    problems: tuple[Problem, ...] = ()
    code: Annotated[
        str | None,
        msgspec.Meta(
            description="Why, for programs, where the error has such a code: a receipt that "
            "does not verify says malformed, unsupported_version, unknown_key, bad_signature, "
            "undecodable, unknown_decision, cancelled or mismatch.",
        ),
    ] = None
