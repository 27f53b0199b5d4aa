"""Reports for auditors: disclosures per agreement over a period (transfers, records,
distinct people, recipients), denials by reason, and the decision log's tamper check with
its result, so that a report never leaves out whether the log it was read from is whole.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import msgspec

from . import spreadsheet
from .schemas import DisclosureSummary
from .schemas.views import View
from .store.verify import Verification


class DenialCount(View, frozen=True):
    """How many denied decisions gave one reason (under one agreement)."""

    code: str
    agreement: str | None
    decisions: int


class AuditReport(View, frozen=True):
    """Disclosures and denials for checks dated in ``first .. last`` (open ends: all)."""

    generated_at: datetime.datetime
    first: datetime.date | None
    last: datetime.date | None
    agreement: str | None
    log: Verification
    disclosures: tuple[DisclosureSummary, ...]
    denials: tuple[DenialCount, ...]


def disclosures_csv(rows: Sequence[DisclosureSummary]) -> str:
    return spreadsheet.to_csv(
        ["agreement", "transfers", "records", "people", "first", "last", "recipients"],
        ([r.agreement, r.transfers, r.records, r.people, r.first or "", r.last or "",
          ";".join(r.recipients)] for r in rows),
    )  # fmt: skip


def denials_csv(rows: Sequence[DenialCount]) -> str:
    return spreadsheet.to_csv(
        ["code", "agreement", "decisions"],
        ([r.code, r.agreement or "", r.decisions] for r in rows),
    )


def as_json(report: AuditReport) -> bytes:
    return msgspec.json.encode(report)
