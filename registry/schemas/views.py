"""What the registry answers with: lint problems, history, lists and load results."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .agreement import Agreement
from .types import AgreementStatus, Severity


class View(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the answer Structs."""


class Problem(View, frozen=True):
    """One lint finding: where it is, what is wrong and what would be valid."""

    severity: Severity
    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    hint: str | None = None

    def location(self) -> str:
        """``file:line: field`` as editors and terminals link it."""
        place = self.file or "<input>"
        if self.line is not None:
            place = f"{place}:{self.line}"
        return f"{place}: {self.field}" if self.field else place


class VersionInfo(View, frozen=True):
    """Metadata of one immutable version of an agreement."""

    agreement: str
    version: int
    version_effective: datetime.date
    content_hash: str
    recorded_at: datetime.datetime
    recorded_by: str
    source: str | None = None


ReviewOutcome = Literal["renew", "amend", "let-expire", "terminate"]


class Review(View, frozen=True):
    """A reviewer's review of an agreement: what should happen to it, and when to look
    again. Until ``next_review`` the agreement is not due for review."""

    agreement: str
    version: int
    reviewed_on: datetime.date
    outcome: ReviewOutcome
    note: str
    next_review: datetime.date
    recorded_at: datetime.datetime
    recorded_by: str


class StatusEvent(View, frozen=True):
    """A dated status change recorded through the CLI or API (not from a file)."""

    agreement: str
    on: datetime.date
    status: AgreementStatus
    reason: str
    recorded_at: datetime.datetime
    recorded_by: str


class HistoryEntry(View, frozen=True):
    """One line of an agreement's history, in the order it was recorded."""

    recorded_at: datetime.datetime
    recorded_by: str
    kind: Literal["version", "status", "review"]
    summary: str
    version: int | None = None
    on: datetime.date | None = None
    status: AgreementStatus | None = None
    reason: str | None = None
    source: str | None = None
    outcome: str | None = None
    next_review: datetime.date | None = None


class AgreementSummary(View, frozen=True):
    """A row of the agreement list: the current version and the status on a date."""

    id: str
    title: str
    kind: str
    version: int
    status: AgreementStatus
    status_on: datetime.date
    effective: datetime.date
    expires: datetime.date
    term_end: Annotated[
        datetime.date,
        Meta(
            description="The last day transfers may be allowed: `expires`, or later where a "
            "checker extends the term (a Privacy Act renewal of a matching agreement). The "
            "filter expiring_within and the expiring list go by this date."
        ),
    ]
    discloser: str
    recipients: tuple[str, ...]


class AgreementRecord(View, frozen=True):
    """One version of an agreement with its metadata and the status on a date."""

    agreement: Agreement
    info: VersionInfo
    current_version: int
    status: AgreementStatus
    status_on: datetime.date


class Change(View, frozen=True):
    """One difference between two versions, in words a lawyer reads."""

    section: str
    summary: str


class ExpiringRow(View, frozen=True):
    """An agreement that expires, or is due for review, within the window."""

    agreement: str
    title: str
    status: AgreementStatus
    due: Literal["expiring", "review"]
    expires: datetime.date
    review_from: datetime.date
    days_left: int
    discloser: str
    recipients: tuple[str, ...]
    version: int
    flags: tuple[str, ...] = ()
    last_review: datetime.date | None = None


class LoadOutcome(View, frozen=True):
    """What loading did to one party or agreement."""

    kind: Literal["party", "agreement"]
    id: str
    action: Literal["created", "amended", "unchanged"]
    version: int
    source: str | None = None


class DisclosureEntry(View, frozen=True):
    """One disclosure about one person (26 U.S.C. 6103(p)(3)(A); 5 U.S.C. 552a(c))."""

    date: datetime.date
    decision_id: str
    agreement: str
    agreement_version: int
    recipient: str
    recipient_name: str
    recipient_address: str
    purpose: str
    authority: tuple[str, ...]
    records: int


class DisclosureSummary(View, frozen=True):
    """Disclosures under one agreement: transfers, records and distinct people."""

    agreement: str
    transfers: int
    records: int
    people: int
    first: datetime.date | None = None
    last: datetime.date | None = None
    recipients: tuple[str, ...] = ()
