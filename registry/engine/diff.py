"""What changed between two versions of an agreement, in words a lawyer reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..schemas import Agreement, Change

_LABELS = {
    "title": "Title",
    "kind": "Kind",
    "status": "Status as of the effective date",
    "effective": "Effective date",
    "expires": "Expiry date",
    "review_notice_days": "Review notice (days)",
    "version_effective": "Version takes force",
    "discloser": "Discloser",
    "recipients": "Recipients",
    "source_systems": "Source systems",
    "legal_authority": "Legal authority",
    "required_checkers": "Required checkers",
    "fields.permitted": "Permitted fields",
    "fields.prohibited": "Prohibited fields",
    "limits.max_records_per_request": "Records per request (limit)",
    "limits.max_records_per_period": "Records per period (limit)",
    "limits.period_days": "Limit period (days)",
    "request.required": "Required request elements",
    "request.authorized_signers": "Authorized signers",
    "records.required_fields": "Required record fields",
    "records.subject_key": "Subject key",
    "obligations.retention_days": "Retention (days)",
    "obligations.redisclosure": "Redisclosure",
}


def diff(old: Agreement, new: Agreement) -> list[Change]:
    """Every difference from ``old`` to ``new``; empty when they are the same."""
    return list(_diff(old, new))


def _diff(old: Agreement, new: Agreement) -> Iterator[Change]:
    for name in (
        "title",
        "kind",
        "status",
        "effective",
        "expires",
        "review_notice_days",
        "version_effective",
        "discloser",
    ):
        yield from _scalar(name, getattr(old, name), getattr(new, name))
    for name in ("recipients", "source_systems", "legal_authority", "required_checkers"):
        yield from _listed(name, getattr(old, name), getattr(new, name))
    yield from _purposes(old, new)
    for section, names in (
        ("fields", ("permitted", "prohibited")),
        ("limits", ("max_records_per_request", "max_records_per_period", "period_days")),
        ("request", ("required", "authorized_signers")),
        ("records", ("required_fields", "subject_key")),
        ("obligations", ("retention_days", "redisclosure")),
    ):
        for name in names:
            before = getattr(getattr(old, section), name)
            after = getattr(getattr(new, section), name)
            key = f"{section}.{name}"
            if isinstance(before, tuple):
                yield from _listed(key, before, after)
            else:
                yield from _scalar(key, before, after)
    yield from _approvals(old, new)
    yield from _status_changes(old, new)
    yield from _tables(old.checkers, new.checkers)


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


def _scalar(name: str, before: Any, after: Any, label: str | None = None) -> Iterator[Change]:
    if before == after:
        return
    label = label or _label(name)
    if before is None:
        yield Change(section=name, summary=f"{label} set to {_show(after)}")
    elif after is None:
        yield Change(section=name, summary=f"{label} removed (was {_show(before)})")
    else:
        yield Change(
            section=name, summary=f"{label} changed from {_show(before)} to {_show(after)}"
        )


def _listed(name: str, before: Sequence[Any], after: Sequence[Any]) -> Iterator[Change]:
    added = [v for v in after if v not in before]
    removed = [v for v in before if v not in after]
    label = _label(name)
    if added:
        yield Change(section=name, summary=f"{label} added: {', '.join(map(str, added))}")
    if removed:
        yield Change(section=name, summary=f"{label} removed: {', '.join(map(str, removed))}")


def _purposes(old: Agreement, new: Agreement) -> Iterator[Change]:
    before = {p.code: p for p in old.purposes}
    after = {p.code: p for p in new.purposes}
    for code in sorted(after.keys() - before.keys()):
        yield Change(section="purposes", summary=f"Purpose added: {code}")
    for code in sorted(before.keys() - after.keys()):
        yield Change(section="purposes", summary=f"Purpose removed: {code}")
    for code in sorted(before.keys() & after.keys()):
        if before[code].description != after[code].description:
            yield Change(section="purposes", summary=f"Purpose {code}: description reworded")


def _approvals(old: Agreement, new: Agreement) -> Iterator[Change]:
    before = {a.role: a.count for a in old.request.approvals}
    after = {a.role: a.count for a in new.request.approvals}
    for role in sorted(after.keys() - before.keys()):
        yield Change(
            section="request.approvals", summary=f"Approval required: {after[role]} × {role}"
        )
    for role in sorted(before.keys() - after.keys()):
        yield Change(section="request.approvals", summary=f"Approval no longer required: {role}")
    for role in sorted(before.keys() & after.keys()):
        if before[role] != after[role]:
            yield Change(
                section="request.approvals",
                summary=f"Approvals by {role} changed from {before[role]} to {after[role]}",
            )


def _status_changes(old: Agreement, new: Agreement) -> Iterator[Change]:
    for change in new.status_changes:
        if change not in old.status_changes:
            reason = f" ({change.reason})" if change.reason else ""
            yield Change(
                section="status_changes",
                summary=f"Status change added: {change.status} on {change.on}{reason}",
            )
    for change in old.status_changes:
        if change not in new.status_changes:
            yield Change(
                section="status_changes",
                summary=f"Status change removed: {change.status} on {change.on}",
            )


def _tables(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> Iterator[Change]:
    for name in sorted(after.keys() | before.keys()):
        old, new = before.get(name), after.get(name)
        section = f"checkers.{name}"
        if old is None:
            yield Change(section=section, summary=f"Terms for checker {name} added")
        elif new is None:
            yield Change(section=section, summary=f"Terms for checker {name} removed")
        else:
            for key in sorted(old.keys() | new.keys()):
                yield from _scalar(
                    section, _plain(old.get(key)), _plain(new.get(key)), f"{name} {key}"
                )


def _plain(value: Any) -> str | None:
    """A plugin table's value in words: lists joined with commas, nothing as None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_plain(v)) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_plain(v)}" for k, v in sorted(value.items()))
    return str(value)
