"""Rows ↔ Structs: the one place documents are encoded for storage and decoded back."""

from __future__ import annotations

import datetime
import hashlib

import msgspec

from ..schemas import Agreement, Party, StatusEvent, VersionInfo
from .tables import AgreementVersionRow, PartyVersionRow, StatusEventRow

_agreement_decoder = msgspec.json.Decoder(Agreement)
_party_decoder = msgspec.json.Decoder(Party)


def canonical(document: msgspec.Struct) -> str:
    """The canonical JSON of a document: defaults omitted, table keys sorted."""
    return msgspec.json.encode(document, order="deterministic").decode()


def content_hash(document: msgspec.Struct) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


# Lists whose order means nothing: a file that only reorders one makes no new version
# (the diff of two versions reports no change for it either).
_SETS = (
    ("recipients",),
    ("source_systems",),
    ("legal_authority",),
    ("required_checkers",),
    ("fields", "permitted"),
    ("fields", "prohibited"),
    ("request", "required"),
    ("request", "authorized_signers"),
    ("records", "required_fields"),
)


def same_terms(old: Agreement, new: Agreement) -> bool:
    """Whether two agreements differ at most in the order of lists that are sets."""
    return _unordered(old) == _unordered(new)


def _unordered(agreement: Agreement) -> object:
    data = msgspec.to_builtins(agreement)
    for path in _SETS:
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) or {}
        if isinstance(parent.get(path[-1]), (list, tuple)):
            parent[path[-1]] = sorted(parent[path[-1]], key=str)
    return data


def utc(moment: datetime.datetime) -> datetime.datetime:
    """SQLite hands back naive timestamps; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def agreement_from_row(row: AgreementVersionRow) -> Agreement:
    return _agreement_decoder.decode(row.document)


def party_from_row(row: PartyVersionRow) -> Party:
    return _party_decoder.decode(row.document)


def version_info(row: AgreementVersionRow) -> VersionInfo:
    return VersionInfo(
        agreement=row.agreement_id,
        version=row.version,
        version_effective=row.version_effective,
        content_hash=row.content_hash,
        recorded_at=utc(row.recorded_at),
        recorded_by=row.recorded_by,
        source=row.source,
    )


def status_event(row: StatusEventRow) -> StatusEvent:
    return StatusEvent(
        agreement=row.agreement_id,
        on=row.on_date,
        status=row.status,  # type: ignore[arg-type]
        reason=row.reason,
        recorded_at=utc(row.recorded_at),
        recorded_by=row.recorded_by,
    )
