"""The decision log: append-only, hash-chained, with the disclosure accounting beside it.

Every decision and every cancellation is an entry. Entry ``n`` stores the hash of entry
``n-1``, and its own hash covers its sequence number, that previous hash and its canonical
body (the decision, the request without its records, and a digest of the people it
disclosed). Writers lock the single ``chain_head`` row, so entries from several processes
form one chain; verification recomputes it from the start and names the first entry that
was altered, removed or added out of order.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from ..schemas import CheckRequest, Decision
from .database import TRANSACTION_ID
from .tables import check_key, decision_log, disclosure

GENESIS = "0" * 64
chain_head = sa.table(
    "chain_head", sa.column("id"), sa.column("seq", sa.BigInteger), sa.column("hash")
)
catalog = sa.table("catalog", sa.column("id"), sa.column("revision", sa.BigInteger))


class Subjects(msgspec.Struct, frozen=True, kw_only=True):
    """The people a decision disclosed: how many, under which key, and a digest."""

    count: int
    key_id: str
    sha256: str


class LoggedDecision(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="decision", tag_field="kind"
):
    decision: Decision
    request: CheckRequest
    subjects: Subjects | None = None


class LoggedCancel(msgspec.Struct, frozen=True, kw_only=True, tag="cancel", tag_field="kind"):
    decision_id: str
    cancelled_at: datetime.datetime
    by: str
    reason: str
    agreement: str | None
    agreement_version: int | None
    source_system: str
    recipient: str
    purpose: str
    on: datetime.date | None
    records_released: int


_entry: msgspec.json.Decoder[LoggedDecision | LoggedCancel] = msgspec.json.Decoder(
    LoggedDecision | LoggedCancel
)


def entry_hash(seq: int, prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{seq}\n{prev_hash}\n{body}".encode()).hexdigest()


def subjects_digest(subjects: Sequence[bytes]) -> str:
    digest = hashlib.sha256()
    for start in range(0, len(subjects), 4096):  # bytes.join holds 80 bytes an item
        digest.update(b"".join(subjects[start : start + 4096]))
    return digest.hexdigest()


_REVISION = sa.select(catalog.c.revision).where(catalog.c.id == 1)
# The catalog's row is locked with the head's: on PostgreSQL a statement that waited for
# a lock reads the newest version of the rows it locked, but the other rows of a join as
# they were when it began, so a batch queued behind another would decide under a catalog
# changed (an agreement suspended, and the change confirmed) while it waited. Locked, a
# catalog change and a batch take turns. (SQLite's writers take turns anyway.)
_LOCK_HEAD = (
    sa.select(chain_head.c.seq, chain_head.c.hash, catalog.c.revision)
    .select_from(chain_head.join(catalog, sa.true()))
    .where(chain_head.c.id == 1, catalog.c.id == 1)
    .with_for_update(of=(chain_head, catalog))
)
# On PostgreSQL the lock also takes the transaction's id, which a commit whose answer is
# lost is looked up by (``database.TRANSACTION_ID``): one round trip fewer at commit.
_LOCK_HEAD_POSTGRESQL = _LOCK_HEAD.add_columns(sa.func.txid_current().label("xid"))
_ADVANCE = (
    sa.update(chain_head)
    .where(chain_head.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)
_INSERT = sa.insert(decision_log)


def catalog_revision(session: Session) -> int:
    return int(session.connection().execute(_REVISION).scalar_one())


def bump_catalog(session: Session) -> None:
    session.execute(
        sa.update(catalog).where(catalog.c.id == 1).values(revision=catalog.c.revision + 1)
    )


_DAILY = (
    sa.select(decision_log.c.on_date, sa.func.sum(decision_log.c.records_counted))
    .where(
        decision_log.c.agreement_id == sa.bindparam("agreement"),
        decision_log.c.on_date >= sa.bindparam("first"),
        decision_log.c.on_date <= sa.bindparam("last"),
    )
    .group_by(decision_log.c.on_date)
)


def daily_usage(
    session: Session,
    agreement_id: str,
    first: datetime.date,
    last: datetime.date,
    recorded_before: datetime.datetime | None = None,
) -> dict[datetime.date, int]:
    """Records counted against the agreement's period limit, per check date in
    ``first .. last`` (allowed decisions less cancelled ones; only those logged before
    ``recorded_before``, when given)."""
    query = _DAILY
    if recorded_before is not None:
        query = query.where(decision_log.c.recorded_at < recorded_before)
    params = {"agreement": agreement_id, "first": first, "last": last}
    return {day: int(total) for day, total in session.connection().execute(query, params) if total}


class Head:
    """The log's head, locked for this transaction; appends advance it."""

    __slots__ = ("catalog_revision", "hash", "seq")

    def __init__(self, seq: int, hash: str, catalog_revision: int) -> None:
        self.seq, self.hash, self.catalog_revision = seq, hash, catalog_revision


def lock_head(session: Session) -> Head:
    """Lock the log's head for this transaction: taken before the period usage is read, so
    that checks racing for the last records under a limit are decided one after the
    other. Also reads the catalog counter, so the caller knows whether its cached
    agreements are current."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        row = connection.execute(_LOCK_HEAD_POSTGRESQL).one()
        session.info[TRANSACTION_ID] = int(row.xid)
    else:
        row = connection.execute(_LOCK_HEAD).one()
    return Head(int(row.seq), str(row.hash), int(row.revision))


class Pending:
    """Entries appended in one transaction but written together by :func:`flush`: one
    multi-row insert for the log, one for the disclosures, one move of the head (the
    group commit's path). The chain is computed as entries are appended."""

    __slots__ = ("disclosures", "entries")

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.disclosures: list[tuple[int, int, bytes]] = []


def _append(
    session: Session, locked: Head, values: dict[str, Any], body: str, pending: Pending | None
) -> int:
    seq, previous = locked.seq + 1, locked.hash
    digest = entry_hash(seq, previous, body)
    locked.seq, locked.hash = seq, digest
    row = {**values, "seq": seq, "body": body, "prev_hash": previous, "hash": digest}
    if pending is not None:
        pending.entries.append(row)
        return seq
    connection = session.connection()
    connection.execute(_INSERT, row)
    connection.execute(_ADVANCE, {"new_seq": seq, "new_hash": digest})
    return seq


def flush(session: Session, locked: Head, pending: Pending) -> None:
    """Write what was appended to ``pending`` and move the head to its last entry.

    This is the group commit's path, so it goes to the driver with prepared SQL rather
    than through SQLAlchemy's compiler, which cost about 90 µs a log row: on PostgreSQL
    one statement (both inserts and the move of the head, from arrays: one round trip);
    on SQLite, one prepared insert run for every row. Errors still pass through
    SQLAlchemy, so they are mapped as every other database error is."""
    if not pending.entries:
        return
    connection = session.connection()
    dialect = connection.dialect
    rows = _log_rows(dialect, pending.entries)
    if dialect.name == "postgresql":
        seqs, ordinals, subjects = (
            zip(*pending.disclosures, strict=True) if pending.disclosures else ((), (), ())
        )
        columns = [list(column) for column in zip(*rows, strict=True)]
        connection.exec_driver_sql(
            _FLUSH_POSTGRESQL,
            (*columns, list(seqs), list(ordinals), list(subjects), locked.seq, locked.hash),
        )
    else:
        connection.exec_driver_sql(_INSERT_SQLITE, rows)
        if pending.disclosures:
            _write_disclosures(session, pending.disclosures)
        connection.execute(_ADVANCE, {"new_seq": locked.seq, "new_hash": locked.hash})
    pending.entries, pending.disclosures = [], []


_LOG_COLUMNS = tuple(column.name for column in decision_log.columns)
_INSERT_SQLITE = (
    f"INSERT INTO decision_log ({', '.join(_LOG_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _LOG_COLUMNS)})"
)
_processors: dict[str, list[tuple[str, Any]]] = {}


def _log_rows(dialect: sa.Dialect, entries: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Log rows as the driver takes them: each value through its column type's bind
    processor for ``dialect``, as SQLAlchemy would have sent it (SQLite's dates as text)."""
    processors = _processors.get(dialect.name)
    if processors is None:
        processors = [
            (c.name, c.type.dialect_impl(dialect).bind_processor(dialect))
            for c in decision_log.columns
        ]
        _processors[dialect.name] = processors
    return [
        tuple(entry[name] if p is None else p(entry[name]) for name, p in processors)
        for entry in entries
    ]


# The types' names are PostgreSQL's whatever the driver, so the statement is made once.
_ARRAYS = ", ".join(f"%b::{c.type.compile(postgresql.dialect())}[]" for c in decision_log.columns)
_FLUSH_POSTGRESQL = (
    f"WITH log AS (INSERT INTO decision_log ({', '.join(_LOG_COLUMNS)}) "
    f"SELECT * FROM unnest({_ARRAYS})), "
    "accounted AS (INSERT INTO disclosure (decision_seq, ordinal, subject) "
    "SELECT * FROM unnest(%b::BIGINT[], %b::INTEGER[], %b::BYTEA[])) "
    "UPDATE chain_head SET seq = %s, hash = %s WHERE id = 1"
)


def append_decision(
    session: Session,
    locked: Head,
    decision: Decision,
    request: CheckRequest,
    subjects: Sequence[bytes],
    key_id: str,
    pending: Pending | None = None,
) -> int:
    """Log one decision and, when it is allowed, one disclosure entry per person (now, or
    with ``pending`` when it is flushed)."""
    public = msgspec.structs.replace(request, records=None)
    accounted = decision.allowed and bool(subjects)
    logged = LoggedDecision(
        decision=decision,
        request=public,
        subjects=Subjects(count=len(subjects), key_id=key_id, sha256=subjects_digest(subjects))
        if accounted
        else None,
    )
    body = msgspec.json.encode(logged, order="deterministic").decode()
    seq = _append(
        session,
        locked,
        dict(
            kind="decision",
            decision_id=decision.decision_id,
            agreement_id=decision.agreement,
            agreement_version=decision.agreement_version,
            source_system=request.source_system,
            recipient=request.recipient,
            purpose=request.purpose,
            on_date=decision.on,
            allowed=decision.allowed,
            records_counted=decision.record_count if decision.allowed else 0,
            recorded_at=decision.checked_at,
        ),
        body,
        pending,
    )
    if accounted:
        if pending is not None:
            pending.disclosures.extend((seq, i, subject) for i, subject in enumerate(subjects))
        else:
            insert_disclosures(session, seq, subjects)
    return seq


def insert_disclosures(session: Session, seq: int, subjects: Sequence[bytes]) -> None:
    # zip of C iterators: a million rows without a Python frame each
    _write_disclosures(session, zip(itertools.repeat(seq), itertools.count(), subjects))


def _write_disclosures(session: Session, rows: Iterable[tuple[int, int, bytes]]) -> None:
    """(decision_seq, ordinal, subject) rows: COPY on PostgreSQL, executemany on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY disclosure (decision_seq, ordinal, subject) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    sqlite: Any = connection.connection.driver_connection
    sqlite.executemany(
        "INSERT INTO disclosure (decision_seq, ordinal, subject) VALUES (?, ?, ?)", rows
    )


@dataclasses.dataclass(frozen=True)
class LogRow:
    seq: int
    decision: Decision
    cancelled: bool


def find(session: Session, decision_id: str) -> tuple[int, LoggedDecision, bool] | None:
    """(seq, logged decision, cancelled?) of a decision."""
    rows = session.execute(
        sa.select(decision_log.c.seq, decision_log.c.kind, decision_log.c.body)
        .where(decision_log.c.decision_id == decision_id)
        .order_by(decision_log.c.seq)
    ).all()
    found = None
    cancelled = False
    for row in rows:
        if row.kind == "decision":
            logged = _entry.decode(row.body)
            assert isinstance(logged, LoggedDecision)
            found = (int(row.seq), logged)
        else:
            cancelled = True
    if found is None:
        return None
    return found[0], found[1], cancelled


def append_cancel(
    session: Session,
    locked: Head,
    original: LoggedDecision,
    by: str,
    reason: str,
    at: datetime.datetime,
) -> int:
    decision = original.decision
    body = msgspec.json.encode(
        LoggedCancel(
            decision_id=decision.decision_id,
            cancelled_at=at,
            by=by,
            reason=reason,
            agreement=decision.agreement,
            agreement_version=decision.agreement_version,
            source_system=original.request.source_system,
            recipient=original.request.recipient,
            purpose=original.request.purpose,
            on=decision.on,
            records_released=decision.record_count,
        ),
        order="deterministic",
    ).decode()
    return _append(
        session,
        locked,
        dict(
            kind="cancel",
            decision_id=decision.decision_id,
            agreement_id=decision.agreement,
            agreement_version=decision.agreement_version,
            source_system=original.request.source_system,
            recipient=original.request.recipient,
            purpose=original.request.purpose,
            on_date=decision.on,
            allowed=False,
            records_counted=-decision.record_count,
            recorded_at=at,
        ),
        body,
        None,
    )


def within(
    query: sa.Select[Any],
    agreement: str | None,
    first: datetime.date | None,
    last: datetime.date | None,
) -> sa.Select[Any]:
    """``query`` on the decision log narrowed to one agreement and to checks dated
    ``first .. last`` (inclusive), each only when given."""
    if agreement is not None:
        query = query.where(decision_log.c.agreement_id == agreement)
    if first is not None:
        query = query.where(decision_log.c.on_date >= first)
    if last is not None:
        query = query.where(decision_log.c.on_date <= last)
    return query


def list_decisions(
    session: Session,
    *,
    agreement: str | None = None,
    allowed: bool | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    source_system: str | None = None,
    limit: int = 100,
) -> list[LogRow]:
    cancelled = (
        sa.select(decision_log.c.decision_id).where(decision_log.c.kind == "cancel").subquery()
    )
    query = (
        sa.select(
            decision_log.c.seq,
            decision_log.c.body,
            decision_log.c.decision_id.in_(sa.select(cancelled.c.decision_id)).label("cancelled"),
        )
        .where(decision_log.c.kind == "decision")
        .order_by(decision_log.c.seq.desc())
        .limit(limit)
    )
    query = within(query, agreement, since, until)
    if allowed is not None:
        query = query.where(decision_log.c.allowed == allowed)
    if source_system is not None:
        query = query.where(decision_log.c.source_system == source_system)
    out = []
    for row in session.execute(query):
        logged = _entry.decode(row.body)
        if isinstance(logged, LoggedDecision):
            out.append(LogRow(int(row.seq), logged.decision, bool(row.cancelled)))
    return out


def entries(session: Session, batch: int = 1000) -> Iterator[Any]:
    """Every log entry in sequence order, read in batches."""
    last = 0
    while True:
        rows = session.execute(
            sa.select(decision_log)
            .where(decision_log.c.seq > last)
            .order_by(decision_log.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1].seq)


def first_seq(session: Session) -> int | None:
    """The lowest entry number in the log (1 for a whole log), None when it is empty."""
    found = session.execute(sa.select(sa.func.min(decision_log.c.seq))).scalar()
    return None if found is None else int(found)


def head(session: Session) -> tuple[int, str]:
    row = session.execute(
        sa.select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
    ).one()
    return int(row.seq), str(row.hash)


def subjects_of(session: Session, seq: int) -> list[bytes]:
    return [
        bytes(r[0])
        for r in session.execute(
            sa.select(disclosure.c.subject)
            .where(disclosure.c.decision_seq == seq)
            .order_by(disclosure.c.ordinal)
        )
    ]


def decode_entry(body: str) -> LoggedDecision | LoggedCancel:
    return _entry.decode(body)


def logged_since(
    session: Session, agreement_id: str, since: datetime.datetime
) -> list[tuple[LoggedDecision, bool]]:
    """(logged decision, cancelled?) for every decision under ``agreement_id`` logged at
    ``since`` or later, oldest first: what an amendment's impact replays."""
    cancelled = (
        sa.select(decision_log.c.decision_id).where(decision_log.c.kind == "cancel").subquery()
    )
    rows = session.execute(
        sa.select(
            decision_log.c.body,
            decision_log.c.decision_id.in_(sa.select(cancelled.c.decision_id)).label("cancelled"),
        )
        .where(
            decision_log.c.kind == "decision",
            decision_log.c.agreement_id == agreement_id,
            decision_log.c.recorded_at >= since,
        )
        .order_by(decision_log.c.seq)
    )
    out = []
    for row in rows:
        logged = _entry.decode(row.body)
        if isinstance(logged, LoggedDecision):
            out.append((logged, bool(row.cancelled)))
    return out


def find_key(session: Session, scope: str, key: str) -> tuple[str, str] | None:
    """(request SHA-256, decision id) of a check sent with this idempotency key."""
    row = session.execute(
        sa.select(check_key.c.request_sha256, check_key.c.decision_id).where(
            check_key.c.scope == scope, check_key.c.key == key
        )
    ).first()
    return (row.request_sha256, row.decision_id) if row is not None else None


def insert_keys(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(sa.insert(check_key), list(rows))
