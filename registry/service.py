"""The registry as a library: what the CLI, the HTTP API and data systems call.

``registry.connect(url)`` returns a :class:`Registry`. It owns the database and the plugin
manager; every method takes and returns msgspec Structs.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import getpass
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from . import documents
from . import impact as impact_engine
from .catalog import Catalog
from .checking import Checking, decode_request, keyed
from .engine import diff as diff_engine
from .engine import expiring as expiring_engine
from .engine.evaluate import Evaluator
from .engine.lint import has_errors, lint
from .engine.plugins import Plugins, build_plugins
from .engine.subjects import SubjectHasher, key_id
from .errors import Conflict, InvalidInput, NotFound
from .groupcommit import GroupCommit
from .impact import Impact
from .receipts import InvalidReceipt, Signer, payload_for
from .receipts import verify as verify_receipt
from .reports import AuditReport, DenialCount
from .schemas import (
    Agreement,
    AgreementRecord,
    AgreementSummary,
    Change,
    CheckRequest,
    Decision,
    DisclosureEntry,
    DisclosureSummary,
    ExpiringRow,
    HistoryEntry,
    LoadOutcome,
    PartiesFile,
    Party,
    Problem,
    Review,
    StatusEvent,
    VersionInfo,
)
from .schemas.receipt import PublicKey, ReceiptPayload
from .schemas.types import AgreementStatus
from .schemas.views import ReviewOutcome
from .settings import Settings
from .store import Database, keys, meta, open_database
from .store import decisions as decision_rows
from .store import disclosures as accounting_rows
from .store import reviews as review_rows
from .store.agreements import AgreementStore, StoredAgreement
from .store.decisions import catalog_revision
from .store.meta import SubjectKey
from .store.retry import retrying
from .store.verify import Verification


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


class Registry:
    """Agreements, parties and (later) checks over one database."""

    def __init__(self, settings: Settings, db: Database, plugins: Plugins) -> None:
        self.settings = settings
        self.db = db
        self.plugins = plugins
        self.agreements_store = AgreementStore(db)
        self._writer: GroupCommit | None = None
        self._writer_lock = threading.Lock()
        self.evaluator = Evaluator(plugins, settings.system_checkers)
        self._subject_key_id: str | None = None  # once this process has hashed with it
        self.checking = Checking(
            db,
            self.evaluator,
            self._subject_hasher,
            self._load_catalog,
            settings.check_timeout,
            self._signer,
            self._signing_key_stamp,
        )

    def _subject_hasher(self) -> SubjectHasher:
        current, *retired = self.settings.subject_keys()
        hasher = SubjectHasher(current, retired)
        at = datetime.datetime.now(datetime.UTC)

        def record_key_id() -> None:
            with self.db.write() as session:
                meta.ensure_subject_key(
                    session, hasher.key_id, hasher.key_ids[1:], default_actor(), at
                )

        retrying(record_key_id)  # two processes may record it first at once
        self._subject_key_id = hasher.key_id
        return hasher

    def _signing_key_stamp(self) -> object:
        """What changes when the key file is replaced or rewritten (None while it is
        missing: the next check creates it)."""
        try:
            found = os.stat(self.settings.signing_key_path())
        except OSError:
            return None
        return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)

    def _signer(self) -> Signer:
        signer = Signer.load_or_create(self.settings.signing_key_path())

        def register() -> None:
            with self.db.write() as session:
                keys.register(session, signer.key_id, signer.public_key_hex)

        retrying(register)  # two processes may register the same new key at once
        return signer

    def _load_catalog(self, session: Any) -> Catalog:
        if self._subject_key_id is not None:  # a rotation moves the catalog's revision too
            meta.check_subject_key(session, self._subject_key_id, ())
        revision = catalog_revision(session)
        stored = self.agreements_store.all(session)
        parties = self.agreements_store.parties(session)
        return Catalog(revision, {s.id: s for s in stored}, parties)

    def catalog(self) -> Catalog:
        with self.db.read() as session:
            return self.checking.catalog(catalog_revision(session), session)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        plugins_dir: str | None = None,
        upgrade_empty: bool = True,
        plugins: Plugins | None = None,
    ) -> Registry:
        settings = Settings.from_env(url, plugins_dir)
        plugins = plugins or build_plugins(settings.plugins_dir)
        db = open_database(settings.database_url, upgrade_empty=upgrade_empty)
        return cls(settings, db, plugins)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.checking.close()
        self.db.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files ------------------------------------------------------------------------

    def lint(self, paths: Iterable[str | Path]) -> list[Problem]:
        """Every problem in the files, checked against the parties already loaded too."""
        docs, problems = self._read(paths)
        return problems + lint(docs, self.plugins, self.agreements_store.parties())

    def load(
        self,
        paths: Iterable[str | Path],
        *,
        recorded_by: str | None = None,
        expected_versions: dict[str, int] | None = None,
    ) -> tuple[list[LoadOutcome], list[Problem]]:
        """Lint, then create or amend everything in one transaction (all or nothing).

        Raises :class:`InvalidInput` with the problems when any is an error.
        """
        docs, problems = self._read(paths)
        problems += lint(docs, self.plugins, self.agreements_store.parties())
        if has_errors(problems):
            raise InvalidInput("the files have errors; nothing was loaded", problems)
        parties: list[tuple[Party, str | None]] = []
        agreements: list[tuple[Agreement, str | None]] = []
        for doc in docs:
            if isinstance(doc.value, PartiesFile):
                parties.extend((party, doc.path) for party in doc.value.party)
            elif isinstance(doc.value, Agreement):
                agreements.append((doc.value, doc.path))
        saved = self.save(
            parties, agreements, recorded_by=recorded_by, expected_versions=expected_versions
        )
        return saved, problems

    def save(
        self,
        parties: list[tuple[Party, str | None]],
        agreements: list[tuple[Agreement, str | None]],
        *,
        recorded_by: str | None = None,
        expected_versions: dict[str, int] | None = None,
    ) -> list[LoadOutcome]:
        """Store already-validated documents (the API's path); all or nothing."""
        by = recorded_by or default_actor()
        return retrying(
            lambda: self.agreements_store.load(parties, agreements, by, expected_versions)
        )

    def save_document(
        self,
        raw: bytes,
        fmt: str,
        *,
        source: str,
        recorded_by: str,
        expected_id: str | None = None,
        expected_version: int | None = None,
    ) -> tuple[list[LoadOutcome], list[Problem]]:
        """Create or amend from one document sent as bytes (an API body): parsed, linted
        and saved exactly as a file would be. ``expected_id`` is the id the caller meant
        (a URL's); ``expected_version`` the version the caller read (optimistic
        concurrency)."""
        doc = documents.parse(raw, documents.SourceDocument(path=source, format=fmt))
        problems = doc.problems + lint([doc], self.plugins, self.agreements_store.parties())
        if has_errors(problems) or doc.value is None:
            raise InvalidInput(f"{source} has errors; nothing was saved", problems)
        if isinstance(doc.value, PartiesFile):
            if expected_id is not None:
                raise InvalidInput(f"{source} is a parties file, not agreement '{expected_id}'")
            return self.save(
                [(p, source) for p in doc.value.party], [], recorded_by=recorded_by
            ), problems
        if expected_id is not None and doc.value.id != expected_id:
            raise InvalidInput(
                f"the document is agreement '{doc.value.id}', not '{expected_id}'",
                [
                    Problem(
                        severity="error", rule="id", message="id differs from the URL", field="id"
                    )
                ],
            )
        expected = {doc.value.id: expected_version} if expected_version is not None else None
        saved = self.save(
            [], [(doc.value, source)], recorded_by=recorded_by, expected_versions=expected
        )
        return saved, problems

    def _read(
        self, paths: Iterable[str | Path]
    ) -> tuple[list[documents.SourceDocument], list[Problem]]:
        files, problems = documents.collect(paths)
        if not files and not problems:
            problems.append(
                Problem(severity="error", rule="file.missing", message="no agreement files found")
            )
        return [documents.read(path) for path in files], problems

    # --- agreements ---------------------------------------------------------------------

    def list_agreements(self, on: datetime.date | None = None) -> list[AgreementSummary]:
        day = on or datetime.date.today()
        out = []
        # the catalog's agreements, kept while it does not move: their checkers' prepared
        # policies (for the term's end) are cached with them, not prepared again each time
        for stored in self.catalog().agreements.values():
            in_force = stored.in_force(day)
            agreement = in_force.agreement
            out.append(
                AgreementSummary(
                    id=stored.id,
                    title=agreement.title,
                    kind=agreement.kind,
                    version=in_force.version,
                    status=stored.status_on(day),
                    status_on=day,
                    effective=agreement.effective,
                    expires=agreement.expires,
                    term_end=self.evaluator.policy(agreement, in_force.version).term_end,
                    discloser=agreement.discloser,
                    recipients=agreement.recipients,
                )
            )
        return out

    def stored(self, agreement_id: str) -> StoredAgreement:
        return self.agreements_store.get(agreement_id)

    def agreement(
        self, agreement_id: str, version: int | None = None, on: datetime.date | None = None
    ) -> AgreementRecord:
        """One version (the current one by default, or the one in force on ``on``)."""
        stored = self.stored(agreement_id)
        day = on or datetime.date.today()
        if version is not None:
            chosen = stored.version(version)
        elif on is not None:
            chosen = stored.in_force(on)
        else:
            chosen = stored.current
        return AgreementRecord(
            agreement=chosen.agreement,
            info=chosen.info,
            current_version=stored.current_version,
            status=stored.status_on(day),
            status_on=day,
        )

    def versions(self, agreement_id: str) -> list[VersionInfo]:
        return [v.info for v in self.stored(agreement_id).versions]

    def history(self, agreement_id: str) -> list[HistoryEntry]:
        """Versions and status events, in the order they were recorded."""
        stored = self.stored(agreement_id)
        entries: list[HistoryEntry] = []
        previous: Agreement | None = None
        for v in stored.versions:
            if previous is None:
                summary = f"version 1 registered, in force from {v.agreement.in_force_from}"
            else:
                changes = diff_engine.diff(previous, v.agreement)
                summary = (
                    f"version {v.version} in force from {v.agreement.in_force_from}: "
                    + "; ".join(c.summary for c in changes)
                )
            entries.append(
                HistoryEntry(
                    recorded_at=v.info.recorded_at,
                    recorded_by=v.info.recorded_by,
                    kind="version",
                    summary=summary,
                    version=v.version,
                    source=v.info.source,
                )
            )
            previous = v.agreement
        for event in stored.events:
            entries.append(
                HistoryEntry(
                    recorded_at=event.recorded_at,
                    recorded_by=event.recorded_by,
                    kind="status",
                    summary=f"{event.status} from {event.on}: {event.reason}",
                    on=event.on,
                    status=event.status,
                    reason=event.reason,
                )
            )
        for review in self.reviews(agreement_id):
            entries.append(
                HistoryEntry(
                    recorded_at=review.recorded_at,
                    recorded_by=review.recorded_by,
                    kind="review",
                    summary=f"reviewed on {review.reviewed_on} (version {review.version}): "
                    f"{review.outcome}; next review {review.next_review}: {review.note}",
                    version=review.version,
                    on=review.reviewed_on,
                    outcome=review.outcome,
                    next_review=review.next_review,
                    reason=review.note,
                )
            )
        return sorted(entries, key=lambda e: e.recorded_at)

    def diff(
        self, agreement_id: str, a: int | None = None, b: int | None = None
    ) -> tuple[int, int, list[Change]]:
        """Changes from version ``a`` to ``b`` (default: the previous to the current)."""
        stored = self.stored(agreement_id)
        new = b if b is not None else stored.current_version
        old = a if a is not None else max(new - 1, 1)
        return (
            old,
            new,
            diff_engine.diff(stored.version(old).agreement, stored.version(new).agreement),
        )

    def set_status(
        self,
        agreement_id: str,
        status: AgreementStatus,
        on: datetime.date,
        reason: str,
        *,
        recorded_by: str | None = None,
    ) -> StatusEvent:
        by = recorded_by or default_actor()
        return retrying(
            lambda: self.agreements_store.record_status(agreement_id, on, status, reason, by)
        )

    def suspend(self, agreement_id: str, on: datetime.date, reason: str, **kw: str) -> StatusEvent:
        return self.set_status(agreement_id, "suspended", on, reason, **kw)

    def reinstate(
        self, agreement_id: str, on: datetime.date, reason: str, **kw: str
    ) -> StatusEvent:
        return self.set_status(agreement_id, "active", on, reason, **kw)

    def terminate(
        self, agreement_id: str, on: datetime.date, reason: str, **kw: str
    ) -> StatusEvent:
        return self.set_status(agreement_id, "terminated", on, reason, **kw)

    def expiring(
        self, within_days: int = 90, as_of: datetime.date | None = None
    ) -> list[ExpiringRow]:
        """Agreements expiring or due for review within the window, soonest first, each
        with its checkers' flags (such as an open Privacy Act renewal window)."""
        day = as_of or datetime.date.today()

        def term(stored: StoredAgreement) -> tuple[datetime.date, tuple[str, ...]]:
            policy = self.evaluator.policy(stored.current.agreement, stored.current_version)
            return policy.term_end, self.evaluator.review_flags(policy, day)

        with self.db.read() as session:
            latest = review_rows.latest(session, day)
        return expiring_engine.expiring(
            self.catalog().agreements.values(),  # as list_agreements, for the same reason
            within_days,
            day,
            term,  # type: ignore[arg-type]
            latest,
        )

    def record_review(
        self,
        agreement_id: str,
        *,
        outcome: str,
        note: str,
        next_review: datetime.date,
        reviewed_on: datetime.date | None = None,
        recorded_by: str | None = None,
    ) -> Review:
        """Record a review of the agreement's current version: its outcome (renew, amend,
        let-expire, terminate), a note, and when to look again. Nothing is written when the
        agreement is unknown or terminated, or the dates make no sense."""
        day = reviewed_on or datetime.date.today()
        try:
            checked = msgspec.convert(outcome, ReviewOutcome)
        except msgspec.ValidationError:
            raise _bad_review(
                f"unknown outcome {outcome!r}: use renew, amend, let-expire or terminate",
                "outcome",
            ) from None
        if not note.strip() or len(note) > 2000:
            raise _bad_review("a review needs a note of 1 to 2000 characters", "note")
        if day > datetime.date.today():
            raise _bad_review(f"a review cannot be dated in the future ({day})", "reviewed_on")
        if next_review <= day:
            raise _bad_review(
                f"the next review ({next_review}) must come after this one ({day})", "next_review"
            )

        def record() -> Review:
            with self.db.write() as session:
                stored = self.agreements_store.locked(session, agreement_id)
                if stored.terminated:
                    raise Conflict(
                        f"agreement '{agreement_id}' is terminated: there is nothing to review"
                    )
                review = Review(
                    agreement=agreement_id,
                    version=stored.current_version,
                    reviewed_on=day,
                    outcome=checked,
                    note=note.strip(),
                    next_review=next_review,
                    recorded_at=datetime.datetime.now(datetime.UTC),
                    recorded_by=recorded_by or default_actor(),
                )
                review_rows.insert(session, review)
                return review

        return retrying(record)

    def impact(self, path: str | Path, days: int = 30) -> Impact:
        """What loading the amended agreement file at ``path`` would have done to the
        decisions logged under it in the last ``days`` days: those it would decide the
        other way, and why (see :mod:`registry.impact`). Nothing is written."""
        docs, problems = self._read([path])
        problems += lint(docs, self.plugins, self.agreements_store.parties())
        if has_errors(problems):
            raise InvalidInput(f"{path} has errors", problems)
        proposed = [d.value for d in docs if isinstance(d.value, Agreement)]
        if len(proposed) != 1:
            raise InvalidInput(f"{path}: give one agreement file")
        stored = self.stored(proposed[0].id)
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
        with self.db.read() as session:
            logged = decision_rows.logged_since(session, stored.id, since)

            def usage_before(first: datetime.date, last: datetime.date) -> dict[datetime.date, int]:
                return decision_rows.daily_usage(session, stored.id, first, last, since)

            return impact_engine.replay(
                self.evaluator, self.catalog(), stored, proposed[0], logged, since, usage_before
            )

    def reviews(self, agreement_id: str) -> list[Review]:
        """Every review of the agreement, in the order recorded."""
        self.stored(agreement_id)  # NotFound for an unknown agreement
        with self.db.read() as session:
            return review_rows.for_agreement(session, agreement_id)

    def parties(self) -> dict[str, Party]:
        return self.agreements_store.parties()

    # --- checks ---------------------------------------------------------------------------

    def check(self, request: CheckRequest | Mapping[str, Any] | bytes | str) -> Decision:
        """Decide whether a transfer fits an active agreement; the decision is logged (and
        its disclosures accounted) before it is returned."""
        return self.checking.check(request)

    def submit_check(
        self, request: CheckRequest | Mapping[str, Any] | bytes | str
    ) -> concurrent.futures.Future[Decision]:
        """Queue a check for the writer thread, which commits queued checks together (group
        commit); the future resolves once the decision is durable. For services with many
        callers at once; :meth:`check` is the simple path."""
        return self.group_commit().submit(decode_request(request))

    async def check_async(
        self,
        request: CheckRequest | Mapping[str, Any] | bytes | str,
        *,
        idempotency_key: tuple[str, str] | None = None,
    ) -> Decision:
        """The same from a coroutine: awaits the committed decision without a thread of its
        own (the HTTP API's path). ``idempotency_key`` (scope, key): a check sent again
        with the same key gets the decision logged the first time, not a second one."""
        decoded = decode_request(request)
        return await self.group_commit().submit_async(decoded, keyed(decoded, idempotency_key))

    def group_commit(self) -> GroupCommit:
        """The writer thread that decides and commits queued checks together."""
        with self._writer_lock:
            if self._writer is None:
                checking = self.checking
                self._writer = GroupCommit(
                    lambda requests, keys: checking.check_batch(requests, sign=False, keys=keys),
                    finish=checking.with_receipt,
                )
            return self._writer

    def check_stream(
        self,
        request: CheckRequest | Mapping[str, Any] | bytes | str,
        records: Iterable[Any],
        *,
        idempotency_key: tuple[str, str] | None = None,
    ) -> Decision:
        """The same for records that arrive as a stream, checked in bounded memory.
        ``idempotency_key`` (scope, key): a stream sent again with the same key and the same
        request and records gets the decision logged the first time."""
        return self.checking.check_stream(request, records, idempotency_key=idempotency_key)

    def cancel(self, decision_id: str, reason: str, *, by: str | None = None) -> Decision:
        """Release an allowed decision whose export did not happen."""
        return self.checking.cancel(decision_id, by or default_actor(), reason)

    # --- receipts -------------------------------------------------------------------------

    def receipt_for(self, decision_id: str) -> str | None:
        """The signed receipt of an allowed, uncancelled decision, derived again from the
        log with the current key; None for a denial or a cancelled decision."""
        return self.checking.receipt_for(decision_id)

    def public_keys(self) -> list[PublicKey]:
        """Every key that has signed receipts for this database, oldest first."""
        with self.db.read() as session:
            return keys.all_keys(session)

    def verify_receipt(self, receipt: str) -> ReceiptPayload:
        """The payload of a receipt signed by one of this database's keys, for a decision
        the log holds as allowed and not cancelled; raises
        :class:`registry.receipts.InvalidReceipt` otherwise (``cancelled``: the export it
        vouched for was called off, and its records released)."""
        payload = verify_receipt(
            receipt, {key.key_id: key.public_key for key in self.public_keys()}
        )
        try:
            logged, request, cancelled = self.checking.logged(payload.decision_id)
        except NotFound:
            raise InvalidReceipt(
                "unknown_decision", f"decision {payload.decision_id} is not in this log"
            ) from None
        if cancelled:
            raise InvalidReceipt(
                "cancelled",
                f"decision {payload.decision_id} was cancelled: its export must not happen",
            )
        # Signed, yet not what the log holds: only a key in other hands signs that.
        expected = payload_for(payload.kid, logged, request) if logged.allowed else None
        if payload != expected:
            differ = [
                name
                for name in payload.__struct_fields__
                if expected is None or getattr(payload, name) != getattr(expected, name)
            ]
            raise InvalidReceipt(
                "mismatch",
                f"the receipt does not say what decision {payload.decision_id} is in the log "
                f"({', '.join(differ) if expected is not None else 'it was denied'}): "
                "its signing key may be in other hands",
            )
        return payload

    def decision(self, decision_id: str) -> Decision:
        return self.checking.decision(decision_id)

    def decisions(self, **filters: Any) -> list[Decision]:
        return self.checking.decisions(**filters)

    def verify(self) -> Verification:
        return self.checking.verify()

    def subject_keys(self) -> list[SubjectKey]:
        """The subject keys the database has used, oldest first: the last is current."""
        with self.db.read() as session:
            return meta.subject_keys(session)

    def configured_subject_keys(self) -> tuple[str, ...]:
        """The ids of this process's subject keys: the current one, then retired ones."""
        return tuple(key_id(key) for key in self.settings.subject_keys())

    def rotate_subject_key(self, by: str | None = None) -> SubjectKey:
        """Make this process's current subject key the database's, retiring the one before.
        The database's keys must all be among this process's retired keys. Processes that
        started with the old key refuse to check until restarted with the new one."""
        current, *retired = self.configured_subject_keys()
        at = datetime.datetime.now(datetime.UTC)

        def rotate() -> SubjectKey:
            with self.db.write() as session:
                return meta.rotate_subject_key(session, current, retired, by or default_actor(), at)

        return retrying(rotate)

    def disclosures(
        self, *, agreement: str | None = None, subject: str | None = None, limit: int = 1000
    ) -> list[DisclosureEntry]:
        """Disclosures about one person (by identifier), or under one agreement."""
        if subject is not None:
            entries = self.checking.disclosures_for(subject, self.catalog())
            return [e for e in entries if agreement is None or e.agreement == agreement]
        return self.checking.disclosures(agreement, self.catalog(), limit)

    def disclosure_summary(
        self,
        agreement: str | None = None,
        first: datetime.date | None = None,
        last: datetime.date | None = None,
    ) -> list[DisclosureSummary]:
        """Per agreement: transfers, records, distinct people and recipients, for checks
        dated in ``first .. last``."""
        with self.db.read() as session:
            return accounting_rows.summary(session, agreement, first, last)

    def report(
        self,
        agreement: str | None = None,
        first: datetime.date | None = None,
        last: datetime.date | None = None,
    ) -> AuditReport:
        """The auditors' report: the log's tamper check, disclosures and denials by reason."""
        if first is not None and last is not None and last < first:
            raise InvalidInput(f"the period ends ({last}) before it starts ({first})")
        verified = self.verify()
        with self.db.read() as session:
            summary = accounting_rows.summary(session, agreement, first, last)
            denied = accounting_rows.denials(session, agreement, first, last)
        return AuditReport(
            generated_at=datetime.datetime.now(datetime.UTC),
            first=first,
            last=last,
            agreement=agreement,
            log=verified,
            disclosures=tuple(summary),
            denials=tuple(DenialCount(code=c, agreement=a, decisions=n) for c, a, n in denied),
        )


def _bad_review(message: str, field: str) -> InvalidInput:
    """Invalid review input, naming the field; nothing is written."""
    return InvalidInput(
        message, [Problem(severity="error", rule="review", message=message, field=field)]
    )


__all__ = ["NotFound", "Registry"]
