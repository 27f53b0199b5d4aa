"""The core checker's transfer and record rules: every core reason code of the contract.

All limits and dates are inclusive. Field coverage is hierarchical at dot boundaries and
memoised per agreement version, so a typical check costs a few dictionary lookups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..schemas import Agreement
from . import fieldtree, recordcheck
from .checker import Finding, Transfer
from .fields import covers, reaches_into
from .recordcheck import compile_check
from .subjects import is_identifier
from .values import is_missing


@dataclasses.dataclass(slots=True)
class CorePrepared:
    agreement: Agreement
    recipients: frozenset[str]
    source_systems: frozenset[str]
    purposes: frozenset[str]
    required_elements: tuple[str, ...]
    signers: frozenset[str]
    approvals: tuple[tuple[str, int], ...]
    required_fields: tuple[tuple[str, tuple[str, ...]], ...]
    verdicts: dict[str, tuple[str, str] | None]
    tree: dict[str, Any]
    requested: dict[tuple[str, ...], list[Finding]]
    clean: Callable[[Any], bool]
    required_parts: tuple[tuple[str, ...], ...]
    subject_index: int  # the subject key's place in required_parts, or -1

    def verdict(self, field: str) -> tuple[str, str] | None:
        """None when the field may travel, else (reason code, message)."""
        try:
            return self.verdicts[field]
        except KeyError:
            if len(self.verdicts) >= 4096:  # record keys are the caller's: keep it bounded
                self.verdicts.clear()
            found = self.verdicts[field] = _field_verdict(self.agreement, field)
            return found


def prepare(agreement: Agreement) -> CorePrepared:
    rules = agreement.request
    required = _required_fields(agreement)
    tree = fieldtree.build(agreement.fields.permitted, agreement.fields.prohibited)
    return CorePrepared(
        agreement=agreement,
        recipients=frozenset(agreement.recipients),
        source_systems=frozenset(agreement.source_systems),
        purposes=frozenset(p.code for p in agreement.purposes),
        required_elements=rules.required,
        signers=frozenset(rules.authorized_signers),
        approvals=tuple((a.role, a.count) for a in rules.approvals),
        required_fields=required,
        verdicts={},
        tree=tree,
        requested={},
        clean=compile_check(required, tree, agreement.records.subject_key),
        required_parts=tuple(parts for _, parts in required),
        subject_index=next(
            (n for n, (f, _) in enumerate(required) if f == agreement.records.subject_key), -1
        ),
    )


def _required_fields(agreement: Agreement) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``records.required_fields``, plus the subject key: a record that does not say whom
    it is about cannot be accounted for, so it cannot be disclosed."""
    fields = list(agreement.records.required_fields)
    key = agreement.records.subject_key
    if key is not None and key not in fields:
        fields.append(key)
    return tuple((f, tuple(f.split("."))) for f in fields)


def _field_verdict(agreement: Agreement, field: str) -> tuple[str, str] | None:
    ref = f"{agreement.id}"
    for pattern in agreement.fields.prohibited:
        if reaches_into(field, pattern):
            return "field_prohibited", f"field '{field}' is prohibited by {ref} ('{pattern}')"
    if not any(covers(parent, field) for parent in agreement.fields.permitted):
        return "field_not_permitted", f"field '{field}' is not permitted by {ref}"
    return None


def check_transfer(t: Transfer, p: CorePrepared) -> list[Finding]:
    a = t.agreement
    request = t.request
    out: list[Finding] = []
    if t.on < a.effective or t.on > t.term_end or t.status != "active":
        out.extend(_dates_and_status(t, a))
    if request.recipient not in p.recipients:
        out.append(
            Finding(
                "recipient_not_party",
                f"recipient '{request.recipient}' is not a party to {a.id}",
                "recipient",
            )
        )
    if request.source_system not in p.source_systems:
        out.append(
            Finding(
                "source_system_not_covered",
                f"source system '{request.source_system}' is not covered by {a.id}",
                "source_system",
            )
        )
    if request.purpose not in p.purposes:
        out.append(
            Finding(
                "purpose_not_permitted",
                f"purpose '{request.purpose}' is not a purpose of {a.id}",
                "purpose",
            )
        )
    fields = p.requested.get(request.fields)
    if fields is None:
        if len(p.requested) > 1024:
            p.requested.clear()
        fields = p.requested[request.fields] = [
            Finding(v[0], v[1], f) for f in request.fields if (v := p.verdict(f)) is not None
        ]
    out.extend(fields)
    given = request.request
    for element in p.required_elements:
        value = given.get(element)
        if type(value) is str and value and not value.isspace():
            continue  # the common case: text
        if is_missing(value):
            out.append(
                Finding(
                    "request_element_missing",
                    f"the request has no '{element}', which the agreement requires",
                    f"request.{element}",
                )
            )
    signed_by = given.get("signed_by")
    if p.signers and not (type(signed_by) is str and signed_by in p.signers):
        out.extend(_signer(given, p))
    if p.approvals:
        out.extend(_approvals(request.approvals, p))
    limits = a.limits
    if (
        limits.max_records_per_request is not None
        or limits.max_records_per_period is not None
        or request.record_count is not None
    ):
        _limits(t, a, out)
    if t.received_under:
        out.extend(_redisclosure(t))
    return out


def _dates_and_status(t: Transfer, a: Agreement) -> Iterator[Finding]:
    if t.on < a.effective:
        yield Finding(
            "agreement_not_yet_effective",
            f"{a.id} takes effect on {a.effective}; the transfer is dated {t.on}",
            "on",
        )
    elif t.on > t.term_end:
        yield Finding(
            "agreement_expired",
            f"{a.id} expired on {t.term_end}; the transfer is dated {t.on}",
            "on",
        )
    if t.status != "active":
        yield Finding("agreement_not_active", f"{a.id} is {t.status} on {t.on}", "agreement")


def _signer(given: Mapping[str, Any], p: CorePrepared) -> Iterator[Finding]:
    signed_by = given.get("signed_by")
    if is_missing(signed_by):
        if "signed_by" not in p.required_elements:
            yield Finding(
                "signer_not_authorized",
                "the request is not signed by an authorized signer",
                "request.signed_by",
            )
    elif not isinstance(signed_by, str) or signed_by not in p.signers:
        yield Finding(
            "signer_not_authorized",
            f"'{signed_by}' is not an authorized signer of the agreement",
            "request.signed_by",
        )


def _approvals(given: Sequence[Any], p: CorePrepared) -> Iterator[Finding]:
    for role, count in p.approvals:
        people = {a.by.strip().casefold() for a in given if a.role == role and a.by.strip()}
        if len(people) < count:
            yield Finding(
                "approval_missing",
                f"{count} approval(s) by '{role}' required, {len(people)} given",
                "approvals",
            )


def _limits(t: Transfer, a: Agreement, out: list[Finding]) -> None:
    """Appends to ``out``: no generator for a rule that almost always finds nothing."""
    limits = a.limits
    if (
        limits.max_records_per_request is not None
        and t.record_count > limits.max_records_per_request
    ):
        out.append(
            Finding(
                "request_record_limit_exceeded",
                f"{t.record_count} records exceed the limit of "
                f"{limits.max_records_per_request} per request",
                "record_count",
            )
        )
    if (
        limits.max_records_per_period is not None
        and t.period_used + t.record_count > limits.max_records_per_period
    ):
        out.append(
            Finding(
                "period_record_limit_exceeded",
                f"{t.period_used} records already disclosed in a {limits.period_days}-day "
                f"window that includes {t.on}; {t.record_count} more would exceed the limit "
                f"of {limits.max_records_per_period}",
                "record_count",
            )
        )
    records = t.request.records
    if (
        records is not None
        and t.request.record_count is not None
        and len(records) != t.record_count
    ):
        out.append(
            Finding(
                "record_count_mismatch",
                f"record_count is {t.record_count} but {len(records)} records were sent",
                "record_count",
            )
        )


def _redisclosure(t: Transfer) -> Iterator[Finding]:
    for source_id, source in t.received_under.items():
        if source is None:
            yield Finding(
                "redisclosure_prohibited",
                f"the data was received under '{source_id}', which is not a known "
                "agreement: redisclosure cannot be shown to be allowed",
                "received_under",
            )
        elif source.obligations.redisclosure == "prohibited":
            yield Finding(
                "redisclosure_prohibited",
                f"the data was received under {source_id}, which prohibits redisclosure",
                "received_under",
            )


def suspects(p: CorePrepared, records: Sequence[Any]) -> list[int]:
    """Offsets of the records not certainly clean, which the exact checks then look at:
    the compiled twin of the generated check when it is built, else the generated check."""
    if recordcheck.compiled is not None:
        return recordcheck.compiled.unclear(records, p.required_parts, p.subject_index, p.tree)
    clean = p.clean
    return [offset for offset, record in enumerate(records) if not clean(record)]


def check_records(
    p: CorePrepared, records: Sequence[Mapping[str, Any]], start: int
) -> Iterator[Finding]:
    missing: dict[str, list[int]] = {}
    refused: dict[str, tuple[str, list[int]]] = {}
    required = p.required_fields
    tree = p.tree
    verdict = p.verdict
    index = start

    def found(path: str, result: tuple[str, str] | None) -> None:
        entry = refused.get(path)
        if entry is None:
            refused[path] = (result[0] if result else "field_not_permitted", [index])
        elif entry[1][-1] != index:
            entry[1].append(index)

    subject_key = p.agreement.records.subject_key
    for offset in suspects(p, records):
        record = records[offset]
        index = start + offset
        if not isinstance(record, dict):
            missing.setdefault("", []).append(index)
            continue
        for field, parts in required:
            value: Any = record
            for part in parts:
                value = value.get(part) if isinstance(value, dict) else None
            if is_missing(value) or (field == subject_key and not is_identifier(value)):
                missing.setdefault(field, []).append(index)
        fieldtree.walk(record, tree, "", verdict, found)
    for field, indexes in missing.items():
        if field:
            yield Finding(
                "record_invalid",
                f"records lack '{field}', which every record needs"
                + (
                    " to account for the person" if field == p.agreement.records.subject_key else ""
                ),
                field,
                indexes,
            )
        else:
            yield Finding("record_invalid", "records must be JSON objects", None, indexes)
    for path, (code, indexes) in refused.items():
        what = "prohibited" if code == "field_prohibited" else "not permitted"
        yield Finding(
            code, f"records carry '{path}', which is {what} by {p.agreement.id}", path, indexes
        )
