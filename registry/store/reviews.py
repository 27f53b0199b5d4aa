"""Reviews of agreements as rows: recorded, never changed or deleted."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..schemas import Review
from .tables import agreement_review


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _review(row: Any) -> Review:
    return Review(
        agreement=row.agreement_id,
        version=row.version,
        reviewed_on=row.reviewed_on,
        outcome=row.outcome,
        note=row.note,
        next_review=row.next_review,
        recorded_at=_utc(row.recorded_at),
        recorded_by=row.recorded_by,
    )


def insert(session: Session, review: Review) -> None:
    session.execute(
        sa.insert(agreement_review).values(
            agreement_id=review.agreement,
            version=review.version,
            reviewed_on=review.reviewed_on,
            outcome=review.outcome,
            note=review.note,
            next_review=review.next_review,
            recorded_at=review.recorded_at,
            recorded_by=review.recorded_by,
        )
    )


def for_agreement(session: Session, agreement_id: str) -> list[Review]:
    rows = session.execute(
        sa.select(agreement_review)
        .where(agreement_review.c.agreement_id == agreement_id)
        .order_by(agreement_review.c.id)
    )
    return [_review(row) for row in rows]


def latest(session: Session, as_of: datetime.date) -> dict[str, Review]:
    """Each agreement's latest review held on or before ``as_of``."""
    rows = session.execute(
        sa.select(agreement_review)
        .where(agreement_review.c.reviewed_on <= as_of)
        .order_by(agreement_review.c.reviewed_on, agreement_review.c.id)
    )
    return {row.agreement_id: _review(row) for row in rows}
