"""API tokens as rows: the secret is never stored, only its SHA-256."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..schemas.access import TokenInfo
from .tables import api_token

_INFO = (
    api_token.c.id,
    api_token.c.name,
    api_token.c.role,
    api_token.c.system,
    api_token.c.created_at,
    api_token.c.created_by,
    api_token.c.expires_at,
    api_token.c.revoked_at,
    api_token.c.revoked_by,
)


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite returns naive UTC
        return value.replace(tzinfo=datetime.UTC)
    return value


def _info(row: Any) -> TokenInfo:
    created = _utc(row.created_at)
    assert created is not None
    return TokenInfo(
        token_id=row.id,
        name=row.name,
        role=row.role,
        system=row.system,
        created_at=created,
        created_by=row.created_by,
        expires_at=_utc(row.expires_at),
        revoked_at=_utc(row.revoked_at),
        revoked_by=row.revoked_by,
    )


def insert(session: Session, info: TokenInfo, secret_hash: str) -> None:
    session.execute(
        sa.insert(api_token).values(
            id=info.token_id,
            name=info.name,
            role=info.role,
            system=info.system,
            secret_hash=secret_hash,
            created_at=info.created_at,
            created_by=info.created_by,
            expires_at=info.expires_at,
        )
    )


def find(session: Session, token_id: str) -> tuple[TokenInfo, str] | None:
    """The token and its secret's hash, or None."""
    row = session.execute(
        sa.select(*_INFO, api_token.c.secret_hash).where(api_token.c.id == token_id)
    ).first()
    return (_info(row), row.secret_hash) if row is not None else None


def all_tokens(session: Session) -> list[TokenInfo]:
    rows = session.execute(sa.select(*_INFO).order_by(api_token.c.created_at, api_token.c.id))
    return [_info(row) for row in rows]


def revoke(session: Session, token_id: str, at: datetime.datetime, by: str) -> bool:
    """Mark the token revoked; False when there is no such token. Revoking twice keeps the
    first date."""
    found = session.execute(
        sa.select(api_token.c.revoked_at).where(api_token.c.id == token_id).with_for_update()
    ).first()
    if found is None:
        return False
    if found.revoked_at is None:
        session.execute(
            sa.update(api_token)
            .where(api_token.c.id == token_id)
            .values(revoked_at=at, revoked_by=by)
        )
    return True
