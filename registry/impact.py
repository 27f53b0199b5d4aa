"""What an amendment would do: the decisions of the last days replayed under the proposed
version, and those that would come out the other way.

Records are never kept in the log (only their count and the people's keyed hashes), so
record rules cannot be run again: a replayed decision keeps the record findings it had,
and only the transfer rules (parties, purposes, fields, request elements, limits, status,
dates, the plugins' transfer rules) are decided again. Period limits are replayed too:
each replayed decision counts the records the replayed decisions before it would have
allowed, on top of what the log allowed before the replayed days (``usage_before``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence

from .catalog import Catalog
from .engine import limits
from .engine.decide import Candidate, Check
from .engine.evaluate import Evaluator
from .engine.timeline import status_on
from .schemas import Agreement, Decision
from .schemas.views import View
from .store.agreements import StoredAgreement
from .store.decisions import LoggedDecision


class ImpactRow(View, frozen=True):
    """A logged decision that the proposed version would decide the other way."""

    decision_id: str
    on: datetime.date
    source_system: str
    recipient: str
    purpose: str
    record_count: int
    allowed_before: bool
    allowed_after: bool
    reasons_before: tuple[str, ...]
    reasons_after: tuple[str, ...]


class Impact(View, frozen=True):
    """The replay of one agreement's recent decisions under a proposed version."""

    agreement: str
    current_version: int
    since: datetime.datetime
    replayed: int
    changed: tuple[ImpactRow, ...]
    note: str = (
        "records are not kept, so record rules are not run again: each decision keeps "
        "the record findings it had"
    )


def replay(
    evaluator: Evaluator,
    catalog: Catalog,
    stored: StoredAgreement,
    proposed: Agreement,
    logged: Sequence[tuple[LoggedDecision, bool]],
    since: datetime.datetime,
    usage_before: Callable[[datetime.date, datetime.date], Mapping[datetime.date, int]],
) -> Impact:
    """Decide again, under ``proposed``, the decisions in ``logged`` (oldest first, all
    logged since ``since``). ``usage_before(first, last)`` gives the records the log had
    allowed before ``since``, per check date in ``first .. last``."""
    version = stored.current_version + 1
    allowed: list[tuple[datetime.date, int]] = []  # records allowed, by check date
    changed: list[ImpactRow] = []
    replayed = 0
    for entry, cancelled in logged:
        before = entry.decision
        on = before.on or before.checked_at.date()
        replayed += 1
        after = _decide(
            evaluator, catalog, stored, proposed, version, entry, on, allowed, usage_before
        )
        record_findings = tuple(r.code for r in before.reasons if r.records is not None)
        allowed_after = after.allowed and not record_findings
        if allowed_after and not cancelled:
            allowed.append((on, before.record_count))
        if allowed_after != before.allowed:
            changed.append(
                ImpactRow(
                    decision_id=before.decision_id,
                    on=on,
                    source_system=entry.request.source_system,
                    recipient=entry.request.recipient,
                    purpose=entry.request.purpose,
                    record_count=before.record_count,
                    allowed_before=before.allowed,
                    allowed_after=allowed_after,
                    reasons_before=tuple(r.code for r in before.reasons),
                    reasons_after=tuple(r.code for r in after.reasons) + record_findings,
                )
            )
    return Impact(
        agreement=stored.id,
        current_version=stored.current_version,
        since=since,
        replayed=replayed,
        changed=tuple(changed),
    )


def _decide(
    evaluator: Evaluator,
    catalog: Catalog,
    stored: StoredAgreement,
    proposed: Agreement,
    version: int,
    entry: LoggedDecision,
    on: datetime.date,
    allowed: list[tuple[datetime.date, int]],
    usage_before: Callable[[datetime.date, datetime.date], Mapping[datetime.date, int]],
) -> Decision:
    request = entry.request
    candidate = Candidate(proposed, version, status_on(proposed, stored.events, on))
    check = Check(
        evaluator,
        request,
        on,
        [candidate],
        catalog.parties,
        catalog.received_under(request, on),
    )
    used = 0
    dates = limits.span(proposed, on)
    if dates is not None and proposed.limits.period_days is not None:
        daily = limits.add_days(dict(usage_before(*dates)), allowed)
        used = limits.peak_usage(daily, on, proposed.limits.period_days)
    return check.decide(
        {proposed.id: used}, entry.decision.record_count, entry.decision.decision_id,
        entry.decision.checked_at,
    )  # fmt: skip
