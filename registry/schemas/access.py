"""Who may call the API: roles, tokens and the caller a token speaks for."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Role = Literal["legal", "system", "reviewer", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("legal", "system", "reviewer", "auditor", "admin")

TokenName = Annotated[
    str, Meta(min_length=1, max_length=200, description="Who or what holds the token.")
]


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A token as stored: never the secret, only who holds it and what it may do."""

    token_id: str
    name: str
    role: Role
    system: str | None = None
    created_at: datetime.datetime
    created_by: str
    expires_at: datetime.datetime | None = None
    revoked_at: datetime.datetime | None = None
    revoked_by: str | None = None

    def active(self, at: datetime.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A new token: ``token`` is shown once and stored only as a hash."""

    token: str
    info: TokenInfo


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The caller a valid token speaks for."""

    token_id: str
    name: str
    role: Role
    system: str | None = None

    @property
    def actor(self) -> str:
        """How the caller is named in records of who changed what."""
        return f"{self.name} (token {self.token_id}, {self.role})"
