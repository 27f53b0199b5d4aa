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


class CatalogRow(SQLModel, table=True):
    """One row: a counter bumped by every change to agreements or parties, so that
    processes caching the catalog know when to read it again."""

    __tablename__ = "catalog"

    id: int = Field(default=1, primary_key=True)
    revision: int = Field(default=0, sa_type=sa.BigInteger)


class MetaRow(SQLModel, table=True):
    """Settings the database must agree on (none since the subject keys have a table)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(sa_type=sa.Text)


class ChainHeadRow(SQLModel, table=True):
    """One row: the last entry of the decision log. Writers lock it, which orders the log."""

    __tablename__ = "chain_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_type=sa.BigInteger)
    hash: str = Field(max_length=64)


decision_log = sa.Table(
    "decision_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("decision_id", sa.String(40), nullable=False),
    sa.Column("agreement_id", sa.String(120), nullable=True),
    sa.Column("agreement_version", sa.Integer, nullable=True),
    sa.Column("source_system", sa.String(120), nullable=False),
    sa.Column("recipient", sa.String(120), nullable=False),
    sa.Column("purpose", sa.String(120), nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("records_counted", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("decision_id", "kind", name="uq_decision_log_decision_kind"),
    sa.Index("ix_decision_log_agreement_on", "agreement_id", "on_date"),
)

disclosure = sa.Table(
    "disclosure",
    metadata,
    sa.Column("decision_seq", sa.BigInteger, nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("subject", sa.LargeBinary(16), nullable=False),
    sa.Index("ix_disclosure_subject", "subject"),
    sa.Index("ix_disclosure_decision_seq", "decision_seq"),
)

subject_key = sa.Table(
    "subject_key",
    metadata,
    sa.Column("epoch", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("recorded_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("key_id", name="uq_subject_key_key_id"),
)

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("system", sa.String(120), nullable=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=True),
    sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
    sa.Column("revoked_by", sa.String(200), nullable=True),
)

signing_key = sa.Table(
    "signing_key",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("algorithm", sa.String(20), nullable=False),
    sa.Column("public_key", sa.String(128), nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
)

agreement_review = sa.Table(
    "agreement_review",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agreement_id", sa.String(120), sa.ForeignKey("agreement.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("reviewed_on", sa.Date, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("next_review", sa.Date, nullable=False),
    sa.Column("recorded_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Index("ix_agreement_review_agreement", "agreement_id"),
)

check_key = sa.Table(
    "check_key",
    metadata,
    sa.Column("scope", sa.String(120), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("decision_id", sa.String(40), nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
)
