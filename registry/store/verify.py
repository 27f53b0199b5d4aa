"""Verify the decision log from its first entry: the chain, the bodies, the disclosures."""

from __future__ import annotations

import msgspec
from sqlalchemy.orm import Session

from ..schemas.views import View
from .convert import utc
from .decisions import (
    GENESIS,
    LoggedCancel,
    LoggedDecision,
    decode_entry,
    entries,
    entry_hash,
    first_seq,
    head,
    subjects_digest,
    subjects_of,
)


class Verification(View, frozen=True):
    """The result of verifying the log; ``problem`` names the first bad entry."""

    ok: bool
    entries: int
    last_hash: str
    problem: str | None = None
    seq: int | None = None


def verify(session: Session) -> Verification:
    # The head first. An entry past it was appended while we read, and its head moved in
    # the same commit: read the head again, and verify on. One still past the head was
    # inserted without moving it, and the accounting, cancellations and limits would
    # count it as any other: tampering, as is an entry numbered below 1.
    last_seq, last_hash = head(session)
    below = first_seq(session)
    if below is not None and below < 1:
        return _bad(
            0, GENESIS, f"an entry numbered {below} was inserted: the log starts at 1", below
        )
    expected_seq, previous = 1, GENESIS
    for row in entries(session):
        seq = int(row.seq)
        if seq > last_seq:
            last_seq, last_hash = head(session)
            if seq > last_seq:
                return _bad(
                    expected_seq - 1,
                    previous,
                    f"entry {seq} lies past the log's head (entry {last_seq}): it was "
                    "inserted without moving the head",
                    seq,
                )
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            return _bad(
                expected_seq - 1,
                previous,
                f"entry {missing} is missing (the log jumps from {expected_seq - 1} to {seq})",
                expected_seq,
            )
        if row.prev_hash != previous:
            return _bad(
                seq - 1,
                previous,
                f"entry {seq} does not follow entry {seq - 1}: "
                "an entry before it was altered, removed or inserted",
                seq,
            )
        if entry_hash(seq, row.prev_hash, row.body) != row.hash:
            return _bad(
                seq - 1,
                previous,
                f"entry {seq} was altered: its content no longer matches its hash",
                seq,
            )
        problem = _columns_disagree(session, row)
        if problem:
            return _bad(seq - 1, previous, f"entry {seq} was altered: {problem}", seq)
        previous, expected_seq = row.hash, seq + 1
    if last_seq != expected_seq - 1 or last_hash != previous:
        return _bad(
            expected_seq - 1,
            previous,
            f"the log ends at entry {expected_seq - 1} but its head records entry "
            f"{last_seq}: entries after {expected_seq - 1} were removed",
            expected_seq,
        )
    return Verification(ok=True, entries=expected_seq - 1, last_hash=previous)


def _bad(count: int, last_hash: str, problem: str, seq: int) -> Verification:
    return Verification(ok=False, entries=count, last_hash=last_hash, problem=problem, seq=seq)


def _columns_disagree(session: Session, row: object) -> str | None:
    try:
        entry = decode_entry(row.body)  # type: ignore[attr-defined]
    except msgspec.DecodeError:
        return "its body is not a log entry"
    get = row.__getattribute__
    checks: dict[str, object]
    if isinstance(entry, LoggedCancel):
        checks = {
            "kind": "cancel",
            "decision_id": entry.decision_id,
            "agreement_id": entry.agreement,
            "agreement_version": entry.agreement_version,
            "source_system": entry.source_system,
            "recipient": entry.recipient,
            "purpose": entry.purpose,
            "on_date": entry.on,
            "allowed": False,
            "records_counted": -entry.records_released,
            "recorded_at": entry.cancelled_at,
        }
    else:
        assert isinstance(entry, LoggedDecision)
        d, request = entry.decision, entry.request
        checks = {
            "kind": "decision",
            "decision_id": d.decision_id,
            "agreement_id": d.agreement,
            "agreement_version": d.agreement_version,
            "source_system": request.source_system,
            "recipient": request.recipient,
            "purpose": request.purpose,
            "on_date": d.on,
            "allowed": d.allowed,
            "records_counted": d.record_count if d.allowed else 0,
            "recorded_at": d.checked_at,
        }
    for column, value in checks.items():
        stored = get(column)
        if column == "recorded_at":
            stored = utc(stored)
        if stored != value:
            return f"column {column} says {stored!r}, its hashed body {value!r}"
    if isinstance(entry, LoggedDecision):
        subjects = subjects_of(session, int(get("seq")))
        expected = entry.subjects
        if expected is None:
            if subjects:
                return f"{len(subjects)} disclosure entries were added to it"
        elif len(subjects) != expected.count or subjects_digest(subjects) != expected.sha256:
            return (
                f"its disclosure entries were altered ({len(subjects)} found, "
                f"{expected.count} recorded)"
            )
    return None
