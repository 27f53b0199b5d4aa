"""Table models. The canonical document (JSON) is the truth; other columns index it."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata

UTC_TIMESTAMP = sa.DateTime(timezone=True)


class PartyRow(SQLModel, table=True):
    __tablename__ = "party"

    id: str = Field(primary_key=True, max_length=120)
    name: str = Field(sa_type=sa.Text)
    current_version: int
    created_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)
    updated_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)


class PartyVersionRow(SQLModel, table=True):
    __tablename__ = "party_version"

    party_id: str = Field(primary_key=True, foreign_key="party.id", max_length=120)
    version: int = Field(primary_key=True)
    document: str = Field(sa_type=sa.Text)
    content_hash: str = Field(max_length=64)
    recorded_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)
    recorded_by: str = Field(max_length=200)
    source: str | None = Field(default=None, sa_type=sa.Text)


class AgreementRow(SQLModel, table=True):
    __tablename__ = "agreement"

    id: str = Field(primary_key=True, max_length=120)
    title: str = Field(sa_type=sa.Text)
    kind: str = Field(max_length=20)
    discloser: str = Field(max_length=120, index=True)
    current_version: int
    revision: int = Field(default=1, description="bumped by every version and status event")
    created_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)
    updated_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)


class AgreementVersionRow(SQLModel, table=True):
    __tablename__ = "agreement_version"

    agreement_id: str = Field(primary_key=True, foreign_key="agreement.id", max_length=120)
    version: int = Field(primary_key=True)
    version_effective: datetime.date = Field(index=True)
    effective: datetime.date
    expires: datetime.date = Field(index=True)
    status: str = Field(max_length=20)
    document: str = Field(sa_type=sa.Text)
    content_hash: str = Field(max_length=64)
    recorded_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)
    recorded_by: str = Field(max_length=200)
    source: str | None = Field(default=None, sa_type=sa.Text)


class StatusEventRow(SQLModel, table=True):
    __tablename__ = "status_event"

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(foreign_key="agreement.id", max_length=120, index=True)
    on_date: datetime.date
    status: str = Field(max_length=20)
    reason: str = Field(sa_type=sa.Text)
    recorded_at: datetime.datetime = Field(sa_type=UTC_TIMESTAMP)
    recorded_by: str = Field(max_length=200)
