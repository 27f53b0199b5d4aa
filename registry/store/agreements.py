"""Agreements and parties in the database: immutable versions and dated status events.

Nothing here updates a document or deletes a row. Loading a changed document adds a
version; an identical one changes nothing. Writers lock the agreement row (PostgreSQL) or
hold SQLite's write lock from the start of the transaction, so two processes amending the
same agreement each get their own version number, never the same one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Iterator, Sequence

from sqlmodel import Session, col, select

from ..engine.timeline import ever_terminated, status_on, version_in_force
from ..errors import Conflict, InvalidInput, NotFound
from ..schemas import Agreement, LoadOutcome, Party, StatusEvent, VersionInfo
from ..schemas.types import AgreementStatus
from .convert import (
    agreement_from_row,
    canonical,
    content_hash,
    party_from_row,
    same_terms,
    status_event,
    version_info,
)
from .database import Database
from .decisions import bump_catalog
from .tables import AgreementRow, AgreementVersionRow, PartyRow, PartyVersionRow, StatusEventRow


@dataclasses.dataclass(frozen=True)
class StoredVersion:
    version: int
    agreement: Agreement
    info: VersionInfo


@dataclasses.dataclass(frozen=True)
class StoredAgreement:
    """Every version of one agreement and the status events recorded for it."""

    id: str
    current_version: int
    revision: int
    versions: tuple[StoredVersion, ...]
    events: tuple[StatusEvent, ...]

    @property
    def current(self) -> StoredVersion:
        return self.versions[-1]

    def current_agreement(self) -> Agreement:
        return self.current.agreement

    def version(self, number: int) -> StoredVersion:
        for stored in self.versions:
            if stored.version == number:
                return stored
        raise NotFound(
            f"agreement '{self.id}' has no version {number} (versions 1 to {self.current_version})"
        )

    def in_force(self, on: datetime.date) -> StoredVersion:
        return version_in_force(self.versions, on)

    def status_on(self, on: datetime.date) -> AgreementStatus:
        return status_on(self.in_force(on).agreement, self.events, on)

    @property
    def terminated(self) -> bool:
        return ever_terminated(self.current.agreement, self.events)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class AgreementStore:
    """Reads and writes agreements and parties."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reading ----------------------------------------------------------------------

    def parties(self, session: Session | None = None) -> dict[str, Party]:
        """The current version of every party (through ``session`` when given)."""
        with self._session(session) as session:
            rows = session.exec(
                select(PartyVersionRow)
                .join(PartyRow, col(PartyRow.id) == col(PartyVersionRow.party_id))
                .where(col(PartyVersionRow.version) == col(PartyRow.current_version))
            ).all()
            return {row.party_id: party_from_row(row) for row in rows}

    def get(self, agreement_id: str) -> StoredAgreement:
        found = self._read([agreement_id])
        if not found:
            raise NotFound(f"no agreement '{agreement_id}'")
        return found[0]

    def all(self, session: Session | None = None) -> list[StoredAgreement]:
        return self._read(None, session)

    @contextlib.contextmanager
    def _session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.db.read() as fresh:
                yield fresh

    def _read(
        self, ids: Sequence[str] | None, session: Session | None = None
    ) -> list[StoredAgreement]:
        with self._session(session) as session:
            heads = select(AgreementRow).order_by(col(AgreementRow.id))
            versions = select(AgreementVersionRow).order_by(
                col(AgreementVersionRow.agreement_id), col(AgreementVersionRow.version)
            )
            events = select(StatusEventRow).order_by(col(StatusEventRow.id))
            if ids is not None:
                heads = heads.where(col(AgreementRow.id).in_(ids))
                versions = versions.where(col(AgreementVersionRow.agreement_id).in_(ids))
                events = events.where(col(StatusEventRow.agreement_id).in_(ids))
            head_rows = session.exec(heads).all()
            version_rows = session.exec(versions).all()
            event_rows = session.exec(events).all()
        by_id: dict[str, list[StoredVersion]] = {}
        for row in version_rows:
            by_id.setdefault(row.agreement_id, []).append(
                StoredVersion(row.version, agreement_from_row(row), version_info(row))
            )
        events_by_id: dict[str, list[StatusEvent]] = {}
        for event_row in event_rows:
            events_by_id.setdefault(event_row.agreement_id, []).append(status_event(event_row))
        return [
            StoredAgreement(
                id=head.id,
                current_version=head.current_version,
                revision=head.revision,
                versions=tuple(
                    v for v in by_id.get(head.id, ()) if v.version <= head.current_version
                ),
                events=tuple(events_by_id.get(head.id, ())),
            )
            for head in head_rows
        ]

    # --- writing ----------------------------------------------------------------------

    def load(
        self,
        parties: Sequence[tuple[Party, str | None]],
        agreements: Sequence[tuple[Agreement, str | None]],
        recorded_by: str,
        expected_versions: dict[str, int] | None = None,
    ) -> list[LoadOutcome]:
        """Create or amend parties and agreements in one transaction: all or nothing.

        ``expected_versions`` (agreement id → current version) makes an amendment fail with
        :class:`Conflict` when someone else changed the agreement first; an expected
        version of 0 means the agreement must not exist yet.
        """
        outcomes: list[LoadOutcome] = []
        with self.db.write() as session:
            stamp = now()
            for party, source in sorted(parties, key=lambda p: p[0].id):
                outcomes.append(_save_party(session, party, source, recorded_by, stamp))
            for agreement, source in sorted(agreements, key=lambda a: a[0].id):
                expected = (expected_versions or {}).get(agreement.id)
                outcomes.append(
                    _save_agreement(session, agreement, source, recorded_by, stamp, expected)
                )
            if any(o.action != "unchanged" for o in outcomes):
                bump_catalog(session)
        return outcomes

    def record_status(
        self,
        agreement_id: str,
        on: datetime.date,
        status: AgreementStatus,
        reason: str,
        recorded_by: str,
    ) -> StatusEvent:
        """Record a dated status change (suspend, reinstate, terminate)."""
        if not reason.strip():
            raise InvalidInput("a reason is required for a status change")
        with self.db.write() as session:
            head = _lock_agreement(session, agreement_id)
            if head is None:
                raise NotFound(f"no agreement '{agreement_id}'")
            stored = _read_in(session, head)
            if stored.terminated:
                raise Conflict(f"agreement '{agreement_id}' is terminated: termination is final")
            before = stored.status_on(on)
            allowed_from = {
                "suspended": ("active",),
                "active": ("suspended",),
                "terminated": ("draft", "active", "suspended"),
            }[status]
            if before not in allowed_from:
                raise Conflict(
                    f"cannot {_VERBS[status]} agreement '{agreement_id}' on {on}: "
                    f"its status that day is {before}"
                )
            row = StatusEventRow(
                agreement_id=agreement_id,
                on_date=on,
                status=status,
                reason=reason.strip(),
                recorded_at=now(),
                recorded_by=recorded_by,
            )
            session.add(row)
            head.revision += 1
            head.updated_at = row.recorded_at
            session.add(head)
            bump_catalog(session)
            session.flush()
            return status_event(row)

    def locked(self, session: Session, agreement_id: str) -> StoredAgreement:
        """The agreement, its row locked for the rest of ``session``'s transaction."""
        head = _lock_agreement(session, agreement_id)
        if head is None:
            raise NotFound(f"no agreement '{agreement_id}'")
        return _read_in(session, head)


def _lock_agreement(session: Session, agreement_id: str) -> AgreementRow | None:
    return session.exec(
        select(AgreementRow).where(AgreementRow.id == agreement_id).with_for_update()
    ).first()


def _read_in(session: Session, head: AgreementRow) -> StoredAgreement:
    """Every version and status event of the agreement whose ``head`` row is read."""
    version_rows = session.exec(
        select(AgreementVersionRow)
        .where(AgreementVersionRow.agreement_id == head.id)
        .order_by(col(AgreementVersionRow.version))
    ).all()
    event_rows = session.exec(
        select(StatusEventRow)
        .where(StatusEventRow.agreement_id == head.id)
        .order_by(col(StatusEventRow.id))
    ).all()
    return StoredAgreement(
        id=head.id,
        current_version=head.current_version,
        revision=head.revision,
        versions=tuple(
            StoredVersion(r.version, agreement_from_row(r), version_info(r)) for r in version_rows
        ),
        events=tuple(status_event(r) for r in event_rows),
    )


def _save_party(
    session: Session, party: Party, source: str | None, by: str, stamp: datetime.datetime
) -> LoadOutcome:
    digest = content_hash(party)
    head = session.exec(select(PartyRow).where(PartyRow.id == party.id).with_for_update()).first()
    if head is not None:
        current = session.get(PartyVersionRow, (party.id, head.current_version))
        if current is not None and current.content_hash == digest:
            return LoadOutcome(
                kind="party",
                id=party.id,
                action="unchanged",
                version=head.current_version,
                source=source,
            )
        head.current_version += 1
        head.name = party.name
        head.updated_at = stamp
        action = "amended"
    else:
        head = PartyRow(
            id=party.id, name=party.name, current_version=1, created_at=stamp, updated_at=stamp
        )
        action = "created"
    session.add(head)
    session.flush()
    session.add(
        PartyVersionRow(
            party_id=party.id,
            version=head.current_version,
            document=canonical(party),
            content_hash=digest,
            recorded_at=stamp,
            recorded_by=by,
            source=source,
        )
    )
    session.flush()
    return LoadOutcome(
        kind="party",
        id=party.id,
        action=action,  # type: ignore[arg-type]
        version=head.current_version,
        source=source,
    )


_VERBS = {"suspended": "suspend", "active": "reinstate", "terminated": "terminate"}


def _refuse_early_changes(session: Session, head: AgreementRow, agreement: Agreement) -> None:
    """Refuse a new status change dated before the amendment takes force. Until then the
    version before decides, and a termination (say) only in the new version would not
    apply on its date: checks would be allowed while the registry refuses to suspend an
    agreement it counts as terminated. A change the version before has too (history kept
    in the file) is fine."""
    early = [c for c in agreement.status_changes if c.on < agreement.in_force_from]
    if not early:
        return
    stored = _read_in(session, head)
    for change in early:
        if stored.status_on(change.on) != change.status:
            how = _VERBS.get(change.status)
            record = (
                f"record it with `registry agreements {how} {agreement.id} --on {change.on}`"
                " (or the API), or "
                if how
                else ""
            )
            raise InvalidInput(
                f"agreement '{agreement.id}': the status change to {change.status} on "
                f"{change.on} comes before this amendment takes force "
                f"({agreement.in_force_from}), and until then the version before decides, "
                f"which does not have it: {record}date it on or after "
                f"{agreement.in_force_from}"
            )


def _save_agreement(
    session: Session,
    agreement: Agreement,
    source: str | None,
    by: str,
    stamp: datetime.datetime,
    expected: int | None,
) -> LoadOutcome:
    digest = content_hash(agreement)
    head = _lock_agreement(session, agreement.id)
    # Stamped once its row is locked: a load that waited for another's lock records its
    # version after that one's, so versions and their times go in the same order.
    stamp = max(stamp, now())
    if head is None:
        if expected:
            raise Conflict(
                f"agreement '{agreement.id}' does not exist (expected version {expected})"
            )
        head = AgreementRow(
            id=agreement.id,
            title=agreement.title,
            kind=agreement.kind,
            discloser=agreement.discloser,
            current_version=1,
            revision=1,
            created_at=stamp,
            updated_at=stamp,
        )
        action = "created"
    else:
        if expected == 0:
            raise Conflict(
                f"agreement '{agreement.id}' already exists at version {head.current_version}: "
                "to amend it, say which version you are amending (If-Match, --expect)"
            )
        if expected is not None and expected != head.current_version:
            raise Conflict(
                f"agreement '{agreement.id}' is at version {head.current_version}, not "
                f"{expected}: someone else changed it; reload and try again"
            )
        current = session.get(AgreementVersionRow, (agreement.id, head.current_version))
        if current is not None and (
            current.content_hash == digest or same_terms(agreement_from_row(current), agreement)
        ):
            return LoadOutcome(
                kind="agreement",
                id=agreement.id,
                action="unchanged",
                version=head.current_version,
                source=source,
            )
        events = session.exec(
            select(StatusEventRow).where(StatusEventRow.agreement_id == agreement.id)
        ).all()
        if current is not None and ever_terminated(
            agreement_from_row(current), [status_event(e) for e in events]
        ):
            raise Conflict(
                f"agreement '{agreement.id}' is terminated: it cannot be amended "
                "(register a new agreement with a new id)"
            )
        _refuse_early_changes(session, head, agreement)
        head.current_version += 1
        head.revision += 1
        head.title, head.kind, head.discloser = agreement.title, agreement.kind, agreement.discloser
        head.updated_at = stamp
        action = "amended"
    session.add(head)
    session.flush()
    session.add(
        AgreementVersionRow(
            agreement_id=agreement.id,
            version=head.current_version,
            version_effective=agreement.in_force_from,
            effective=agreement.effective,
            expires=agreement.expires,
            status=agreement.status,
            document=canonical(agreement),
            content_hash=digest,
            recorded_at=stamp,
            recorded_by=by,
            source=source,
        )
    )
    session.flush()
    return LoadOutcome(
        kind="agreement",
        id=agreement.id,
        action=action,  # type: ignore[arg-type]
        version=head.current_version,
        source=source,
    )
