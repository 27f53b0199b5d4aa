"""The agreement and party documents: the single source of truth for the file format.

Files (TOML or YAML), the database's canonical documents and the HTTP API all decode into
these Structs. ``forbid_unknown_fields`` makes a typo in a hand-written file an error, and
``omit_defaults`` keeps the canonical document (and so its content hash) stable.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .types import (
    AgreementKind,
    AgreementStatus,
    CheckerName,
    Count,
    Days,
    FieldPath,
    FieldPattern,
    NoticeDays,
    PositiveCount,
    Redisclosure,
    SafeguardStatus,
    ShortText,
    Slug,
    Text,
)


class Document(
    msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, omit_defaults=True
):
    """Base of every document Struct: strict, immutable, canonical when encoded."""


class Safeguards(Document, frozen=True):
    """Result of the recipient's latest safeguard review (26 U.S.C. 6103(p)(4))."""

    status: Annotated[SafeguardStatus, Meta(description="Outcome of the latest safeguard review.")]
    reviewed: Annotated[datetime.date | None, Meta(description="Date of that review.")] = None


class Party(Document, frozen=True):
    """An organisation that discloses or receives data under agreements."""

    id: Slug
    name: Text
    address: Annotated[Text, Meta(description="Postal address, used in disclosure accountings.")]
    safeguards: Safeguards | None = None


class PartiesFile(Document, frozen=True):
    """A parties file: ``[[party]]`` tables."""

    party: tuple[Party, ...]


class StatusChange(Document, frozen=True):
    """A dated change of status; a check on date D uses the status in force on D."""

    on: datetime.date
    status: AgreementStatus
    reason: str = ""


class Purpose(Document, frozen=True):
    """A purpose for which data may be disclosed under the agreement."""

    code: Slug
    description: str = ""


class Fields(Document, frozen=True):
    """Which fields may travel. Prohibited wins over permitted."""

    permitted: Annotated[
        tuple[FieldPath, ...],
        Meta(description="Fields that may be disclosed; each covers its sub-fields."),
    ] = ()
    prohibited: Annotated[
        tuple[FieldPattern, ...],
        Meta(description="Fields that may never be disclosed; wins over permitted."),
    ] = ()


class Limits(Document, frozen=True):
    """Volume limits. All inclusive: a transfer equal to the cap is allowed."""

    max_records_per_request: Count | None = None
    max_records_per_period: Count | None = None
    period_days: Annotated[
        Days | None,
        Meta(
            description=(
                "Window length. A check on D counts in every window of this many days that "
                "contains D: D-(period_days-1) .. D, up to D .. D+(period_days-1)."
            )
        ),
    ] = None


class Approval(Document, frozen=True):
    """Approvals a request needs before data may leave: ``count`` people in ``role``."""

    role: ShortText
    count: PositiveCount = 1


class RequestRules(Document, frozen=True):
    """What every request under the agreement must carry."""

    required: Annotated[
        tuple[ShortText, ...],
        Meta(description="Request elements that must be present and not missing."),
    ] = ()
    authorized_signers: tuple[ShortText, ...] = ()
    approvals: tuple[Approval, ...] = ()


class RecordRules(Document, frozen=True):
    """What every record must carry, and which field identifies the person."""

    required_fields: tuple[FieldPath, ...] = ()
    subject_key: Annotated[
        FieldPath | None,
        Meta(description="Field that identifies the person, for disclosure accounting."),
    ] = None


class Obligations(Document, frozen=True):
    """Duties of the recipient once data is received."""

    retention_days: Count | None = None
    redisclosure: Redisclosure = "prohibited"


class Agreement(Document, frozen=True, kw_only=True):
    """A formal agreement (MOU, ISA, CMA, DUA) and the terms a transfer must fit."""

    id: Annotated[Slug, Meta(description="Unique and never reused.")]
    title: Text
    kind: AgreementKind
    status: Annotated[AgreementStatus, Meta(description="Status as of `effective`.")]
    effective: Annotated[datetime.date, Meta(description="First day in force (inclusive).")]
    expires: Annotated[datetime.date, Meta(description="Last day in force (inclusive).")]
    review_notice_days: Annotated[
        NoticeDays,
        Meta(description="Reviewers see the agreement this many days before `expires`."),
    ] = 90
    version_effective: Annotated[
        datetime.date | None,
        Meta(description="When this version takes force; defaults to `effective`."),
    ] = None
    discloser: Annotated[Slug, Meta(description="Party id of the organisation disclosing.")]
    recipients: Annotated[tuple[Slug, ...], Meta(description="Party ids of the recipients.")]
    source_systems: Annotated[
        tuple[Slug, ...],
        Meta(description="Data systems of the discloser that may export under it."),
    ]
    legal_authority: tuple[ShortText, ...]
    required_checkers: Annotated[
        tuple[CheckerName, ...],
        Meta(description="Checker plugins that must run for every check under it."),
    ] = ()
    status_changes: tuple[StatusChange, ...] = ()
    purposes: tuple[Purpose, ...]
    fields: Fields
    limits: Limits = Limits()
    request: RequestRules = RequestRules()
    records: RecordRules = RecordRules()
    obligations: Obligations = Obligations()
    checkers: Annotated[
        dict[CheckerName, dict[str, Any]],
        Meta(description="One table per checker plugin, with the plugin's own schema."),
    ] = {}

    @property
    def in_force_from(self) -> datetime.date:
        """The day this version takes force."""
        return self.version_effective or self.effective
