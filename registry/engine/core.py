"""The core checker, registered like any plugin. Its lint rules cover the contract's terms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from ..schemas import Agreement, Problem
from . import core_checks
from .checker import Checker, Finding, LintContext, Transfer
from .fields import covered_by_any, prohibiting_pattern
from .plugins import hookimpl

CORE_REASON_CODES = {
    "agreement_not_found": "no agreement with that id",
    "no_matching_agreement": "agreement omitted and no candidate allows the transfer",
    "agreement_not_active": "status on the transfer date is draft, suspended or terminated",
    "agreement_not_yet_effective": "the transfer date is before `effective`",
    "agreement_expired": "the transfer date is after `expires` (or a lawful extension)",
    "recipient_not_party": "the recipient is not among `recipients`",
    "source_system_not_covered": "the source system is not among `source_systems`",
    "purpose_not_permitted": "the purpose is not among `purposes`",
    "field_not_permitted": "a field (requested, or carried by records) is not permitted",
    "field_prohibited": "a field (requested, or carried by records) matches `prohibited`",
    "request_element_missing": "a `request.required` element is missing",
    "signer_not_authorized": "`request.signed_by` is not among `authorized_signers`",
    "approval_missing": "the approvals given do not meet `request.approvals`",
    "request_record_limit_exceeded": "`record_count` > `max_records_per_request`",
    "period_record_limit_exceeded": "records in the window + this transfer > the period cap",
    "record_invalid": "records miss `records.required_fields`",
    "record_count_mismatch": "`record_count` differs from the number of records sent",
    "redisclosure_prohibited": "data received under an agreement that prohibits redisclosure",
    "checker_missing": "a required checker is not installed",
    "checker_failed": "a checker raised an error or timed out",
}

_ORDER = {"draft": 0, "active": 1, "suspended": 1, "terminated": 2}


class CoreChecker(Checker):
    """The terms every agreement has: dates, status, parties, purposes, fields, limits,
    request and record requirements, and redisclosure."""

    name = "core"
    description = "Dates, status, parties, purposes, fields, limits, request and records."
    applies_to_all = True
    reason_codes: ClassVar[Mapping[str, str]] = CORE_REASON_CODES

    def prepare(self, agreement: Agreement, config: Any) -> core_checks.CorePrepared:
        return core_checks.prepare(agreement)

    def check_transfer(self, transfer: Transfer, prepared: Any) -> Iterable[Finding]:
        return core_checks.check_transfer(transfer, prepared)

    def check_records(
        self, transfer: Transfer, prepared: Any, records: Sequence[Mapping[str, Any]], start: int
    ) -> Iterator[Finding]:
        return core_checks.check_records(prepared, records, start)

    def lint(self, agreement: Agreement, config: Any, context: LintContext) -> Iterator[Problem]:
        yield from _dates(self, agreement)
        yield from _status_changes(self, agreement)
        yield from _parties(self, agreement, context)
        yield from _missing_lists(self, agreement)
        yield from _fields(self, agreement)
        yield from _limits(self, agreement)
        yield from _request(self, agreement)
        for index, name in enumerate(agreement.required_checkers):
            if name not in context.checkers:
                yield self.problem(
                    "error",
                    "checker_missing",
                    f"required checker '{name}' is not installed",
                    f"required_checkers[{index}]",
                    "installed checkers: " + ", ".join(sorted(context.checkers)),
                )


def _dates(c: Checker, a: Agreement) -> Iterator[Problem]:
    if a.expires < a.effective:
        yield c.problem(
            "error",
            "dates",
            f"expires ({a.expires}) is before effective ({a.effective})",
            "expires",
            f"a date on or after {a.effective}",
        )
        return
    if a.version_effective is not None:
        if a.version_effective < a.effective:
            yield c.problem(
                "warning",
                "dates",
                f"version_effective ({a.version_effective}) is before effective "
                f"({a.effective}); the version takes force on {a.effective} in practice",
                "version_effective",
            )
        elif a.version_effective > a.expires:
            yield c.problem(
                "warning",
                "dates",
                f"version_effective ({a.version_effective}) is after expires ({a.expires}): "
                "this version never takes force",
                "version_effective",
            )
    term_days = (a.expires - a.effective).days + 1
    if a.review_notice_days >= term_days:
        yield c.problem(
            "warning",
            "dates",
            f"review_notice_days ({a.review_notice_days}) is not shorter than the term "
            f"({term_days} days): the agreement is due for review from its first day",
            "review_notice_days",
        )


def _status_changes(c: Checker, a: Agreement) -> Iterator[Problem]:
    previous = None
    status = a.status
    seen_days: Counter[Any] = Counter(ch.on for ch in a.status_changes)
    for index, change in enumerate(a.status_changes):
        field = f"status_changes[{index}]"
        if seen_days[change.on] > 1:
            yield c.problem(
                "error",
                "status_changes",
                f"two status changes on {change.on}: which applies?",
                f"{field}.on",
                "one change a day",
            )
        if previous is not None and change.on < previous:
            yield c.problem(
                "warning",
                "status_changes",
                f"status change on {change.on} is listed after one on {previous}",
                f"{field}.on",
                "list status changes in date order",
            )
        if change.on < a.effective or change.on > a.expires:
            yield c.problem(
                "warning",
                "status_changes",
                f"status change on {change.on} falls outside the term "
                f"({a.effective} to {a.expires})",
                f"{field}.on",
            )
        if status == "terminated":
            yield c.problem(
                "error",
                "status_changes",
                "no status change can follow a termination",
                f"{field}.status",
                "termination is final",
            )
        elif _ORDER[change.status] < _ORDER[status]:
            yield c.problem(
                "error",
                "status_changes",
                f"an agreement cannot go back from {status} to draft",
                f"{field}.status",
                "active, suspended or terminated",
            )
        if change.status == status:
            yield c.problem(
                "warning",
                "status_changes",
                f"status is already {status} on {change.on}",
                f"{field}.status",
            )
        previous = change.on
        status = change.status


def _parties(c: Checker, a: Agreement, context: LintContext) -> Iterator[Problem]:
    known = ", ".join(sorted(context.parties)) or "none loaded"
    if a.discloser not in context.parties:
        yield c.problem(
            "error",
            "unknown_party",
            f"discloser '{a.discloser}' is not a known party",
            "discloser",
            f"a party id from parties.toml ({known})",
        )
    for index, recipient in enumerate(a.recipients):
        if recipient not in context.parties:
            yield c.problem(
                "error",
                "unknown_party",
                f"recipient '{recipient}' is not a known party",
                f"recipients[{index}]",
                f"a party id from parties.toml ({known})",
            )
        if recipient == a.discloser:
            yield c.problem(
                "warning",
                "parties",
                f"'{recipient}' is both discloser and recipient",
                f"recipients[{index}]",
            )
    yield from _duplicates(c, a.recipients, "recipients", "warning")
    yield from _duplicates(c, a.source_systems, "source_systems", "warning")


def _missing_lists(c: Checker, a: Agreement) -> Iterator[Problem]:
    for field, value in (
        ("recipients", a.recipients),
        ("source_systems", a.source_systems),
        ("legal_authority", a.legal_authority),
        ("purposes", a.purposes),
        ("fields.permitted", a.fields.permitted),
    ):
        if not value:
            yield c.problem(
                "error",
                "missing",
                f"{field} is empty: nothing could ever be disclosed",
                field,
                "at least one entry",
            )
    yield from _duplicates(c, [p.code for p in a.purposes], "purposes", "error", ".code")


def _fields(c: Checker, a: Agreement) -> Iterator[Problem]:
    permitted, prohibited = a.fields.permitted, a.fields.prohibited
    yield from _duplicates(c, permitted, "fields.permitted", "warning")
    for index, field in enumerate(permitted):
        pattern = prohibiting_pattern(field, prohibited)
        if pattern is not None:
            yield c.problem(
                "error",
                "field_conflict",
                f"field '{field}' is both permitted and prohibited (by '{pattern}')",
                f"fields.permitted[{index}]",
                "remove it from one of the two lists; prohibited wins",
            )
    for index, field in enumerate(a.records.required_fields):
        if not covered_by_any(field, permitted):
            yield c.problem(
                "error",
                "records",
                f"records must carry '{field}', which the agreement does not permit",
                f"records.required_fields[{index}]",
                "a field covered by fields.permitted",
            )
        elif prohibiting_pattern(field, prohibited):
            yield c.problem(
                "error",
                "records",
                f"records must carry '{field}', which is prohibited",
                f"records.required_fields[{index}]",
            )
    key = a.records.subject_key
    if key is not None and prohibiting_pattern(key, prohibited):
        yield c.problem(
            "error",
            "records",
            f"subject_key '{key}' is a prohibited field: records could never carry it",
            "records.subject_key",
        )
    elif key is not None and not covered_by_any(key, permitted):
        yield c.problem(
            "warning",
            "records",
            f"subject_key '{key}' is not a permitted field: records cannot carry it",
            "records.subject_key",
        )


def _limits(c: Checker, a: Agreement) -> Iterator[Problem]:
    limits = a.limits
    if limits.max_records_per_period is not None and limits.period_days is None:
        yield c.problem(
            "error",
            "limits",
            "max_records_per_period needs period_days",
            "limits.period_days",
            "the window in days, such as 30",
        )
    if limits.period_days is not None and limits.max_records_per_period is None:
        yield c.problem(
            "warning",
            "limits",
            "period_days has no effect without max_records_per_period",
            "limits.period_days",
        )
    if (
        limits.max_records_per_request is not None
        and limits.max_records_per_period is not None
        and limits.max_records_per_request > limits.max_records_per_period
    ):
        yield c.problem(
            "warning",
            "limits",
            "max_records_per_request is larger than max_records_per_period",
            "limits.max_records_per_request",
        )


def _request(c: Checker, a: Agreement) -> Iterator[Problem]:
    rules = a.request
    if rules.authorized_signers and "signed_by" not in rules.required:
        yield c.problem(
            "warning",
            "request",
            "authorized_signers is set but 'signed_by' is not required: an unsigned "
            "request would not be checked against the signers",
            "request.required",
            "add 'signed_by'",
        )
    yield from _duplicates(c, rules.required, "request.required", "warning")
    yield from _duplicates(
        c, [ap.role for ap in rules.approvals], "request.approvals", "error", ".role"
    )


def _duplicates(
    c: Checker, values: Any, field: str, severity: str, suffix: str = ""
) -> Iterator[Problem]:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            yield c.problem(
                severity,
                "duplicate",
                f"'{value}' appears twice in {field}",
                f"{field}[{index}]{suffix}",
            )
        seen.add(value)


@hookimpl
def register_checkers() -> list[Checker]:
    return [CoreChecker()]
