"""Reading the disclosure accounting: by person, and summed per agreement."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ConfigError
from ..schemas import DisclosureSummary
from .decisions import LoggedDecision, decode_entry, within
from .meta import SubjectKey, missing_subject_keys
from .tables import decision_log, disclosure


def _cancelled() -> sa.Select[tuple[str]]:
    return sa.select(decision_log.c.decision_id).where(decision_log.c.kind == "cancel")


@dataclasses.dataclass(frozen=True)
class Disclosed:
    logged: LoggedDecision
    seq: int


def for_subject(session: Session, subjects: Mapping[str, bytes]) -> list[Disclosed]:
    """Every allowed, uncancelled decision that disclosed the person whose hash under each
    subject key is given (by key id). Refused when the database has used a key that is not
    given, rather than leave out the decisions whose people were hashed with it."""
    missing = missing_subject_keys(session, subjects)
    if missing:
        raise ConfigError(
            "looking a person up needs every subject key this database has used; this "
            "process lacks "
            + ", ".join(_named(k) for k in missing)
            + ": add each to the key file (or REGISTRY_SUBJECT_KEY) after the current key"
        )
    rows = session.execute(
        sa.select(decision_log.c.seq, decision_log.c.body)
        .join(disclosure, disclosure.c.decision_seq == decision_log.c.seq)
        .where(disclosure.c.subject.in_(list(subjects.values())))
        .where(decision_log.c.decision_id.not_in(_cancelled()))
        .order_by(decision_log.c.seq)
    ).all()
    return _decoded(rows)


def _named(key: SubjectKey) -> str:
    when = "current" if key.retired_at is None else f"retired {key.retired_at:%Y-%m-%d}"
    return f"key {key.key_id} ({when})"


def for_agreement(session: Session, agreement_id: str | None, limit: int = 1000) -> list[Disclosed]:
    """Allowed, uncancelled decisions (newest first), optionally under one agreement."""
    query = (
        sa.select(decision_log.c.seq, decision_log.c.body)
        .where(decision_log.c.kind == "decision", decision_log.c.allowed.is_(True))
        .where(decision_log.c.decision_id.not_in(_cancelled()))
        .order_by(decision_log.c.seq.desc())
        .limit(limit)
    )
    if agreement_id is not None:
        query = query.where(decision_log.c.agreement_id == agreement_id)
    return _decoded(session.execute(query).all())


def _decoded(rows: Sequence[Any]) -> list[Disclosed]:
    out = []
    for seq, body in rows:
        logged = decode_entry(body)
        if isinstance(logged, LoggedDecision):
            out.append(Disclosed(logged, int(seq)))
    return out


def summary(
    session: Session,
    agreement_id: str | None = None,
    first: datetime.date | None = None,
    last: datetime.date | None = None,
) -> list[DisclosureSummary]:
    """Per agreement: allowed, uncancelled transfers checked in ``first .. last``, their
    records, distinct people and recipients."""
    allowed = (
        sa.select(
            decision_log.c.seq,
            decision_log.c.agreement_id,
            decision_log.c.on_date,
            decision_log.c.records_counted,
            decision_log.c.recipient,
        )
        .where(decision_log.c.kind == "decision", decision_log.c.allowed.is_(True))
        .where(decision_log.c.decision_id.not_in(_cancelled()))
    )
    allowed_sq = within(allowed, agreement_id, first, last).subquery()
    transfers = session.execute(
        sa.select(
            allowed_sq.c.agreement_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(allowed_sq.c.records_counted), 0),
            sa.func.min(allowed_sq.c.on_date),
            sa.func.max(allowed_sq.c.on_date),
        ).group_by(allowed_sq.c.agreement_id)
    ).all()
    people: dict[str, int] = dict(
        session.execute(
            sa.select(allowed_sq.c.agreement_id, sa.func.count(sa.distinct(disclosure.c.subject)))
            .join(disclosure, disclosure.c.decision_seq == allowed_sq.c.seq)
            .group_by(allowed_sq.c.agreement_id)
        ).all()
    )
    recipients: dict[str, list[str]] = {}
    for a, recipient in session.execute(
        sa.select(allowed_sq.c.agreement_id, allowed_sq.c.recipient)
        .distinct()
        .order_by(allowed_sq.c.recipient)
    ):
        recipients.setdefault(a, []).append(recipient)
    return [
        DisclosureSummary(
            agreement=a,
            transfers=int(n),
            records=int(r),
            people=int(people.get(a, 0)),
            first=earliest,
            last=latest,
            recipients=tuple(recipients.get(a, ())),
        )
        for a, n, r, earliest, latest in sorted(transfers, key=lambda row: row[0])
    ]


def denials(
    session: Session,
    agreement_id: str | None = None,
    first: datetime.date | None = None,
    last: datetime.date | None = None,
) -> list[tuple[str, str | None, int]]:
    """(reason code, agreement, denied decisions giving it) for checks dated in
    ``first .. last``: the codes are read from each logged decision."""
    query = sa.select(decision_log.c.body).where(
        decision_log.c.kind == "decision", decision_log.c.allowed.is_(False)
    )
    query = within(query, agreement_id, first, last)
    counts: dict[tuple[str, str | None], int] = {}
    for (body,) in session.execute(query.execution_options(yield_per=1000)):
        try:
            logged = decode_entry(body)
        except msgspec.DecodeError:
            continue  # an altered entry: the report's verification names it
        if not isinstance(logged, LoggedDecision):
            continue
        for code in {r.code for r in logged.decision.reasons}:
            key = (code, logged.decision.agreement)
            counts[key] = counts.get(key, 0) + 1
    return sorted(
        ((code, agreement, n) for (code, agreement), n in counts.items()),
        key=lambda row: (-row[2], row[0], row[1] or ""),
    )
