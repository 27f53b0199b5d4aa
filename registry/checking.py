"""Checks with the database: decide, log durably, account for the people disclosed.

A recorded check takes the decision log's lock first (SQLite: the write lock; PostgreSQL:
the chain head row), then reads the records already disclosed in the period window, then
decides and appends, then commits, and only then returns: a decision the caller saw is
durable, and two checks racing for the last records under a limit are decided one after
the other. Checkers run on a worker thread with a deadline; one that hangs or raises
denies the transfer. An allowed decision is signed (its receipt) after it is committed; the
receipt is not logged, since Ed25519 gives the same signature again from the logged entry.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import functools
import gc
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from . import ndjson
from .catalog import Catalog
from .engine import limits, recordcheck
from .engine.decide import Check
from .engine.evaluate import CORE, Evaluator
from .engine.subjects import SubjectHasher, normalise
from .errors import Conflict, InvalidInput, NotFound
from .groupcommit import signed
from .receipts import Signer
from .schemas import CheckRequest, Decision, DisclosureEntry, Problem, Reason
from .store import decisions as log
from .store import disclosures as accounting
from .store.database import Database
from .store.verify import Verification, verify

T = TypeVar("T")
BATCH = 1_000
_request_decoder = msgspec.json.Decoder(CheckRequest)


def _new_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="checker")


def decode_request(value: CheckRequest | Mapping[str, Any] | bytes | str) -> CheckRequest:
    """A strict CheckRequest from a Struct, a dict or JSON; InvalidInput names the field."""
    if isinstance(value, CheckRequest):
        return value
    try:
        if isinstance(value, (bytes, str)):
            return _request_decoder.decode(value)
        return msgspec.convert(value, CheckRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        if isinstance(value, (bytes, str)) and value[:3] in (b"\xef\xbb\xbf", "\ufeff"):
            raise invalid_request(
                "the request starts with a byte order mark (BOM): send UTF-8 without one"
            ) from exc
        raise invalid_request(str(exc)) from exc
    except RecursionError as exc:
        raise invalid_request("the request is nested too deeply") from exc
    except UnicodeDecodeError as exc:  # msgspec, for a JSON string that is not UTF-8
        raise invalid_request("the request is not UTF-8 text") from exc


class _Source(msgspec.Struct):
    source_system: str


_source_decoder = msgspec.json.Decoder(_Source)


def source_system_of(body: bytes) -> str:
    """The source system a check request's JSON names, read without decoding the rest
    (who may send it is decided before the rest is); a body that names none is decoded
    whole, which raises the InvalidInput naming the field."""
    try:
        return _source_decoder.decode(body).source_system
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return decode_request(body).source_system


# msgspec names an unknown or a missing key at the end of its message (quotes and all: a
# key may hold them), and gives only the path of the object that holds it.
_KEY_IN_MESSAGE = re.compile(r"(?:unknown field|missing required field) '(.*)'$")


def invalid_request(message: str) -> InvalidInput:
    """InvalidInput for a request msgspec refused, naming the offending field: the path
    msgspec gives, and the key its message names for an unknown or a missing key
    (``approvals[0].by``)."""
    text = message.replace("`", "'")
    field = None
    if " - at '$" in text:
        text, _, where = text.partition(" - at '$")
        field = where.rstrip("'").lstrip(".") or None
    key = _KEY_IN_MESSAGE.search(text)
    if key is not None:
        name = key[1] or '""'  # an empty key, shown as such
        field = f"{field}.{name}" if field else name
    problem = Problem(severity="error", rule="request", message=text, field=field)
    where = f" at {field}" if field else ""
    return InvalidInput(f"invalid check request{where}: {text}", [problem])


def new_decision_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Checking:
    """Checks, the decision log and the disclosure accounting of one registry."""

    def __init__(
        self,
        db: Database,
        evaluator: Evaluator,
        hasher: Callable[[], SubjectHasher],
        load_catalog: Callable[[Any], Catalog],
        timeout: float,
        signer: Callable[[], Signer],
        signer_stamp: Callable[[], object] = lambda: None,
    ) -> None:
        self.db = db
        self.evaluator = evaluator
        self._make_hasher = hasher
        self._hasher: SubjectHasher | None = None
        self._make_signer = signer
        self._signer_stamp = signer_stamp
        self._signer: Signer | None = None
        self._signed_with: object = None  # the stamp of the key file the signer was read from
        self._signer_lock = threading.Lock()  # not the catalog's: see ``signer``
        self._load_catalog = load_catalog
        self._catalog: Catalog | None = None
        self._catalog_lock = threading.Lock()
        self.timeout = timeout
        self._pool = _new_pool()
        self._signing = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="signer")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._signing.shutdown(wait=False, cancel_futures=True)

    @property
    def hasher(self) -> SubjectHasher:
        """The subject-hash key, read (and checked against the database) on first use:
        commands that never touch a person's identifier do not need the secret."""
        with self._catalog_lock:
            if self._hasher is None:
                self._hasher = self._make_hasher()
            return self._hasher

    @property
    def signer(self) -> Signer:
        """The receipt-signing key, read (or created) and registered in the database on
        first use: before a check takes the log's lock, so that a key file that cannot be
        read fails the check before anything is logged. Its own lock: registering the key
        waits for the database, whose lock a check may hold while it reads the catalog.

        Read again when the key's file was replaced (``signer_stamp``, its inode, size and
        time, changed): a key rotated by replacing the file signs from the next check on,
        without a restart, as docs/checks.md says."""
        stamp = self._signer_stamp()
        with self._signer_lock:
            if self._signer is None or stamp != self._signed_with:
                self._signer = self._make_signer()
                # after: the first use creates the file, which is then no change
                self._signed_with = self._signer_stamp()
            return self._signer

    def catalog(self, revision: int, session: Any) -> Catalog:
        """The cached catalog, read again through ``session`` (no second connection, so
        a check holding the log's lock never waits for the pool) when it has moved."""
        with self._catalog_lock:
            if self._catalog is None or self._catalog.revision != revision:
                self._catalog = self._load_catalog(session)
            return self._catalog

    # --- checks -------------------------------------------------------------------------

    def check(self, value: CheckRequest | Mapping[str, Any] | bytes | str) -> Decision:
        """Decide a transfer whose records (if any) are in the request; log it."""
        request = decode_request(value)
        records = request.records or ()
        count = request.record_count if request.record_count is not None else len(records)
        on = request.on or datetime.date.today()
        hasher = self.hasher  # before the log's lock: the first use may write the key's id
        signer = self.signer  # likewise
        with self.db.write() as session:
            locked = log.lock_head(session)
            catalog = self.catalog(locked.catalog_revision, session)
            decision = self._logged(session, locked, catalog, request, hasher, on, count)
        return _with_receipt(signer, decision, request)

    def check_batch(
        self,
        requests: Sequence[CheckRequest],
        *,
        sign: bool = True,
        keys: Sequence[IdempotencyKey | None] | None = None,
    ) -> list[Decision]:
        """Decide several checks one after the other in one transaction and commit them
        together: the log's lock is taken once, the disk synced once, the checkers run in
        one hand-off to the worker thread, and the log and disclosure rows are written in
        one insert each (see :mod:`registry.groupcommit`). Limits stay exact: each check's
        period usage is what the log held when the lock was taken plus what the checks
        before it in the batch allowed. All or none are recorded. With ``sign=False`` the
        allowed decisions come back without receipts, for the caller to sign
        (:meth:`with_receipt`) off the writer's thread.

        ``keys`` (scope, key, request digest) make checks idempotent: a check whose key
        was seen before gets the decision logged then, not a new one; the same key with
        another request is a :class:`Conflict`. The log's lock orders them, so two
        copies of one check racing each other are decided once."""
        hasher, signer = self.hasher, self.signer
        given = list(keys) if keys is not None else [None] * len(requests)
        with self.db.write() as session:
            locked = log.lock_head(session)
            catalog = self.catalog(locked.catalog_revision, session)
            replayed, fresh = _replays(session, requests, given)
            trials = []
            for index in fresh:
                request = requests[index]
                records = request.records or ()
                count = request.record_count if request.record_count is not None else len(records)
                on = request.on or datetime.date.today()
                trials.append(_Pending(request, on, count, self._start(catalog, request, on)))
            logged = self._usage_before(session, trials)
            try:
                decided = self._run(lambda: _decide_in_turn(trials, logged))
            except TimeoutError:
                # A checker hung on one of them: decide each alone, each with its deadline
                # (the hung one is denied), as if they had come one by one.
                decided = [
                    self._logged(session, locked, catalog, t.request, hasher, t.on, t.count)
                    for t in trials
                ]
            else:
                pending = log.Pending()
                for trial, decision in zip(trials, decided, strict=True):
                    records = trial.request.records or ()
                    subjects = (
                        self._subjects(decision, catalog, records) if decision.allowed else []
                    )
                    log.append_decision(
                        session, locked, decision, trial.request, subjects, hasher.key_id, pending
                    )
                log.flush(session, locked, pending)
            decisions = _in_order(len(requests), fresh, decided, replayed)
            log.insert_keys(session, _new_keys(given, fresh, decisions))
            # The receipts are signed on another thread while the commit syncs the disk
            # (both let go of the GIL); those of a batch that fails to commit are dropped.
            if not sign:
                return decisions
            receipts = self._signing.submit(_receipts, signer, decisions, requests)
        return receipts.result()

    def with_receipt(self, decision: Decision, request: CheckRequest) -> Decision:
        """``decision`` with its receipt when it is allowed (signing releases the GIL, so
        several threads sign at once)."""
        return _with_receipt(self.signer, decision, request)

    def _usage_before(
        self, session: Any, trials: Sequence[_Pending]
    ) -> dict[tuple[str, datetime.date], dict[datetime.date, int]]:
        """Records already allowed per day around each limited candidate's check date,
        as logged."""
        usage: dict[tuple[str, datetime.date], dict[datetime.date, int]] = {}
        for trial in trials:
            for candidate in trial.check.trials:
                agreement = candidate.candidate.agreement
                key = (agreement.id, trial.on)
                dates = limits.span(agreement, trial.on)
                if key not in usage and dates is not None:
                    usage[key] = log.daily_usage(session, agreement.id, *dates)
        return usage

    def _logged(
        self,
        session: Any,
        locked: log.Head,
        catalog: Catalog,
        request: CheckRequest,
        hasher: SubjectHasher,
        on: datetime.date,
        count: int,
    ) -> Decision:
        records = request.records or ()
        check = self._start(catalog, request, on)
        decision = self._decide(session, check, count, [(0, records)] if records else [])
        subjects = self._subjects(decision, catalog, records) if decision.allowed else []
        log.append_decision(session, locked, decision, request, subjects, hasher.key_id)
        return decision

    def check_stream(
        self,
        value: CheckRequest | Mapping[str, Any] | bytes | str,
        records: Iterable[Any],
        *,
        batch_size: int = BATCH,
        idempotency_key: tuple[str, str] | None = None,
    ) -> Decision:
        """Decide a transfer whose records arrive as a stream (NDJSON, say), in bounded
        memory: records are checked batch by batch before any lock is taken.

        Under ``idempotency_key`` (scope, key) the request and every record are hashed as
        they go by; a stream sent again with the same key and the same hash gets the
        decision logged the first time (another hash is a Conflict)."""
        request = decode_request(value)
        if request.records:
            raise InvalidInput("give the records in the request or as a stream, not both")
        on = request.on or datetime.date.today()
        signer = self.signer  # before the records are read: a bad key file fails at once
        with self.db.read() as session:
            catalog = self.catalog(log.catalog_revision(session), session)
        check = self._start(catalog, request, on)
        spool = SubjectSpool(self.hasher, _subject_keys(check))
        seen, failure = 0, None
        sent = (
            hashlib.sha256(msgspec.json.encode(request, order="deterministic"))
            if idempotency_key is not None
            else None
        )
        collecting = gc.isenabled()
        gc.disable()  # decoded records hold no cycles; collecting them costs more than they do
        try:
            for batch in _batches(records, batch_size):
                if failure is None:
                    failure = self._feed(check, seen, batch, spool)
                if sent is not None:
                    sent.update(msgspec.json.encode(batch))
                seen += len(batch)
        finally:
            if collecting:
                gc.enable()
        count = request.record_count if request.record_count is not None else seen
        with self.db.write() as session:
            locked = log.lock_head(session)
            if idempotency_key is not None and sent is not None:
                replayed = _replayed(session, idempotency_key, sent.hexdigest())
                if replayed is not None:
                    return _with_receipt(signer, replayed, request)
            current = self.catalog(locked.catalog_revision, session)
            changed = current is not catalog and _terms(current, request, on) != _terms(
                catalog, request, on
            )
            if current is not catalog:  # agreements and parties as they are now
                check.parties = current.parties
                check.received_under = current.received_under(request, on)
            if failure or changed or (request.record_count is not None and seen != count):
                decision = self._refusal(check, count, failure, changed, seen)
            else:
                decision = self._decide(session, check, count, [])
            subjects = spool.subjects(decision.agreement) if decision.allowed else []
            log.append_decision(session, locked, decision, request, subjects, self.hasher.key_id)
            if idempotency_key is not None and sent is not None:
                keyed = (*idempotency_key, sent.hexdigest())
                log.insert_keys(session, _new_keys([keyed], [0], [decision]))
        return _with_receipt(signer, decision, request)

    def _start(self, catalog: Catalog, request: CheckRequest, on: datetime.date) -> Check:
        """The check, its candidates' policies prepared. Preparing runs plugin code (each
        checker's ``prepare`` and ``term_end``) on an agreement version's first check: then
        it runs under the checkers' deadline, and a preparation that misses it denies the
        check (every checker broken) instead of holding the log's lock as long as it
        hangs."""
        candidates = catalog.candidates(request, on)

        def start(evaluator: Any) -> Check:
            received = catalog.received_under(request, on)
            return Check(evaluator, request, on, candidates, catalog.parties, received)

        versions = [(c.agreement, c.version) for c in candidates or ()]
        if self.evaluator.ready(versions, request.source_system):
            return start(self.evaluator)
        try:
            return self._run(lambda: start(self.evaluator))
        except TimeoutError:
            why = f"preparing it took over {self.timeout} s"
            return start(_Unprepared(self.evaluator, request.source_system, why))

    def _feed(
        self, check: Check, start: int, batch: Sequence[Any], spool: SubjectSpool
    ) -> str | None:
        """Check a batch and gather its people, on one thread: the records are still in
        that core's cache when the spool reads them."""

        def work() -> None:
            check.feed(start, batch)
            spool.add(batch)

        try:
            self._run(work)
        except TimeoutError:
            return f"checking records {start}-{start + len(batch) - 1} took over {self.timeout} s"
        return None

    def _decide(
        self, session: Any, check: Check, count: int, batches: list[tuple[int, Sequence[Any]]]
    ) -> Decision:
        usage = {
            trial.candidate.agreement.id: self._usage(session, trial.candidate.agreement, check.on)
            for trial in check.trials
        }

        def decide() -> Decision:
            for start, batch in batches:
                check.feed(start, batch)
            return check.decide(usage, count, new_decision_id(), now())

        try:
            return self._run(decide)
        except TimeoutError:
            return self._refusal(
                check, count, f"the checkers took over {self.timeout} s", False, count
            )

    def _usage(self, session: Any, agreement: Any, on: datetime.date) -> int:
        """The fullest window of the period containing ``on`` (see engine.limits)."""
        dates = limits.span(agreement, on)
        if dates is None:
            return 0
        daily = log.daily_usage(session, agreement.id, *dates)
        return limits.peak_usage(daily, on, agreement.limits.period_days)

    def _run(self, work: Callable[[], T]) -> T:
        while True:
            pool = self._pool
            try:
                future = pool.submit(work)
            except RuntimeError:  # the pool was retired (below) since it was read
                if self._pool is pool:
                    raise
                continue
            try:
                return future.result(timeout=self.timeout)
            except concurrent.futures.CancelledError:
                # Queued behind a hung checker whose pool was retired by another check:
                # nothing of it ran, so it runs in the new pool, with a deadline of its own.
                if self._pool is pool:
                    raise
            except concurrent.futures.TimeoutError as exc:
                # A thread cannot be stopped: leave the hung one to its pool and give later
                # checks a fresh pool, so hung checkers never take all the workers.
                with self._catalog_lock:
                    if self._pool is pool:
                        self._pool = _new_pool()
                        pool.shutdown(wait=False, cancel_futures=True)
                raise TimeoutError from exc

    def _refusal(
        self, check: Check, count: int, failure: str | None, changed: bool, seen: int
    ) -> Decision:
        if failure:
            reason = Reason(
                code="checker_failed", checker=CORE, message=f"the transfer is denied: {failure}"
            )
        elif changed:
            reason = Reason(
                code="agreement_changed",
                checker=CORE,
                message="the agreement changed while the records were checked; check again",
            )
        else:
            reason = Reason(
                code="record_count_mismatch",
                checker=CORE,
                message=f"record_count is {count} but {seen} records were sent",
                field="record_count",
            )
        first = check.trials[0].candidate if len(check.trials) == 1 else None
        return Decision(
            decision_id=new_decision_id(),
            allowed=False,
            agreement=first.agreement.id if first else check.request.agreement,
            agreement_version=first.version if first else None,
            checkers=(CORE,),
            reasons=(reason,),
            checked_at=now(),
            on=check.on,
            record_count=count,
            source_system=check.request.source_system,
            recipient=check.request.recipient,
            purpose=check.request.purpose,
        )

    def _subjects(
        self, decision: Decision, catalog: Catalog, records: Sequence[Any]
    ) -> list[bytes]:
        stored = catalog.agreements.get(decision.agreement or "")
        key = (
            stored.version(decision.agreement_version or 1).agreement.records.subject_key
            if stored
            else None
        )
        if not key or not records:
            return []
        spool = SubjectSpool(self.hasher, {decision.agreement or "": key})
        spool.add(records)
        return spool.subjects(decision.agreement)

    # --- the log --------------------------------------------------------------------------

    def cancel(self, decision_id: str, by: str, reason: str) -> Decision:
        """Release an allowed decision whose export did not happen."""
        if not reason.strip():
            raise InvalidInput("a reason is required to cancel a decision")
        with self.db.write() as session:
            locked = log.lock_head(session)
            found = log.find(session, decision_id)
            if found is None:
                raise NotFound(f"no decision '{decision_id}'")
            _, logged, cancelled = found
            if not logged.decision.allowed:
                raise Conflict(
                    f"decision '{decision_id}' was a denial: there is nothing to release"
                )
            if cancelled:
                raise Conflict(f"decision '{decision_id}' is already cancelled")
            log.append_cancel(session, locked, logged, by, reason.strip(), now())
        return msgspec.structs.replace(logged.decision, cancelled=True)

    def decision(self, decision_id: str) -> Decision:
        with self.db.read() as session:
            found = log.find(session, decision_id)
        if found is None:
            raise NotFound(f"no decision '{decision_id}'")
        _, logged, cancelled = found
        return msgspec.structs.replace(logged.decision, cancelled=cancelled)

    def logged(self, decision_id: str) -> tuple[Decision, CheckRequest, bool]:
        """A logged decision, the request it decided and whether it was cancelled."""
        with self.db.read() as session:
            found = log.find(session, decision_id)
        if found is None:
            raise NotFound(f"no decision '{decision_id}'")
        _, logged, cancelled = found
        return logged.decision, logged.request, cancelled

    def receipt_for(self, decision_id: str) -> str | None:
        """The receipt of a logged decision, signed again with the current key (the same
        receipt while the key is the same); None for a denial or a cancelled decision."""
        decision, request, cancelled = self.logged(decision_id)
        if not decision.allowed or cancelled:
            return None
        return self.signer.sign(decision, request)

    def decisions(self, **filters: Any) -> list[Decision]:
        with self.db.read() as session:
            rows = log.list_decisions(session, **filters)
        return [msgspec.structs.replace(r.decision, cancelled=r.cancelled) for r in rows]

    def verify(self) -> Verification:
        with self.db.read() as session:
            return verify(session)

    # --- accounting -------------------------------------------------------------------------

    def disclosures_for(self, subject: str, catalog: Catalog) -> list[DisclosureEntry]:
        digests = self.hasher.digests(subject)  # under every key: before and after rotations
        if not digests:
            raise InvalidInput("give the person's identifier, such as a TIN")
        with self.db.read() as session:
            found = accounting.for_subject(session, digests)
        return [_entry(d.logged, catalog) for d in found]

    def disclosures(
        self, agreement: str | None, catalog: Catalog, limit: int = 1000
    ) -> list[DisclosureEntry]:
        with self.db.read() as session:
            found = accounting.for_agreement(session, agreement, limit)
        return [_entry(d.logged, catalog) for d in found]


class SubjectSpool:
    """The people in a stream of records, deduplicated, for each candidate agreement's
    subject key.

    Identifiers are kept normalised and hashed only when ``subjects()`` is asked for, that
    is when the transfer is allowed: a denied transfer accounts for nobody, so it never
    pays for hashing. An identifier of up to 18 ASCII digits, the usual TIN or SSN, is kept
    as the number "1" followed by its digits (leading zeros survive): half the memory of
    the text, and a million of them go in faster.
    """

    def __init__(self, hasher: SubjectHasher, keys: Mapping[str, str]) -> None:
        self.hasher = hasher
        self.keys = {agreement: tuple(key.split(".")) for agreement, key in keys.items()}
        self._people: dict[tuple[str, ...], set[Any]] = {
            parts: set() for parts in self.keys.values()
        }
        self._hashed: dict[tuple[str, ...], list[bytes]] = {}

    def add(self, records: Sequence[Any]) -> None:
        if recordcheck.compiled is not None:
            for parts, people in self._people.items():
                recordcheck.compiled.add_people(records, parts, people, normalise)
            return
        for parts, people in self._people.items():
            values: list[Any] = list(records)
            for part in parts:  # comprehensions: a batch at C speed, not a record at a time
                values = [v.get(part) if isinstance(v, dict) else None for v in values]
            people.update(map(_person, values))

    def subjects(self, agreement: str | None) -> list[bytes]:
        """The hashes of the people for ``agreement``'s subject key, sorted: written in
        the order of the subject index, a million entries go in a third faster, and the
        order of the accounting says nothing about the order of the records."""
        parts = self.keys.get(agreement or "")
        if not parts:
            return []
        if parts not in self._hashed:
            people = self._people[parts]
            people.discard(None)  # records without an identifier (checks deny those)
            ordered: list[Any] = list(people)
            people.clear()
            if recordcheck.compiled is not None:
                recordcheck.compiled.hash_people(ordered, self.hasher.keyed)
            else:
                digest = self.hasher.digest
                for index, value in enumerate(ordered):
                    ordered[index] = digest(str(value)[1:] if type(value) is int else value)
            ordered.sort()
            self._hashed[parts] = ordered
        return self._hashed[parts]


def _person(value: Any) -> int | str | None:
    """The spool's key for an identifier: its normal text, or for up to 18 ASCII digits
    the number "1" followed by them."""
    if not (type(value) is str and value.isdigit() and value.isascii()):
        value = normalise(value)
        if value is None or not (value.isdigit() and value.isascii()):
            return value
    return int("1" + value) if len(value) <= 18 else value


@dataclasses.dataclass(slots=True)
class _Pending:
    request: CheckRequest
    on: datetime.date
    count: int
    check: Check


def _decide_in_turn(
    trials: Sequence[_Pending],
    logged: Mapping[tuple[str, datetime.date], Mapping[datetime.date, int]],
) -> list[Decision]:
    """Decide checks in order; each one's period usage counts the records allowed by the
    ones before it (under the same agreement, inside its window)."""
    allowed: list[tuple[str, datetime.date, int]] = []
    out = []
    for trial in trials:
        check = trial.check
        records = trial.request.records or ()
        if records:
            check.feed(0, records)
        usage = {}
        for candidate in check.trials:
            agreement = candidate.candidate.agreement
            period = agreement.limits.period_days
            daily = logged.get((agreement.id, trial.on))
            if daily is None or period is None:
                usage[agreement.id] = 0
                continue
            ours = ((day, n) for a, day, n in allowed if a == agreement.id)
            usage[agreement.id] = limits.peak_usage(
                limits.add_days(dict(daily), ours), trial.on, period
            )
        decision = check.decide(usage, trial.count, new_decision_id(), now())
        if decision.allowed and decision.agreement is not None:
            allowed.append((decision.agreement, trial.on, decision.record_count))
        out.append(decision)
    return out


IdempotencyKey = tuple[str, str, str]  # scope (the caller), key, SHA-256 of the request


def keyed(request: CheckRequest, key: tuple[str, str] | None) -> IdempotencyKey | None:
    """The idempotency key (scope, key) of ``request`` with the digest of the request."""
    if key is None:
        return None
    digest = hashlib.sha256(msgspec.json.encode(request, order="deterministic"))
    return (*key, digest.hexdigest())


def _replays(
    session: Any, requests: Sequence[CheckRequest], keys: Sequence[IdempotencyKey | None]
) -> tuple[dict[int, Decision | int], list[int]]:
    """Which checks were decided before under their key: index → the logged decision (or
    the index of an earlier copy in this batch); and the indexes to decide now."""
    replayed: dict[int, Decision | int] = {}
    fresh: list[int] = []
    first_seen: dict[tuple[str, str], tuple[int, str]] = {}
    for index, key in enumerate(keys):
        if key is None:
            fresh.append(index)
            continue
        scope, name, digest = key
        earlier = first_seen.get((scope, name))
        if earlier is not None:  # a copy in this batch: not in the log yet
            if earlier[1] != digest:
                raise KeyConflict(name, index)
            replayed[index] = earlier[0]
            continue
        logged = _replayed(session, (scope, name), digest, index)
        if logged is not None:
            replayed[index] = logged
            continue
        first_seen[(scope, name)] = (index, digest)
        fresh.append(index)
    return replayed, fresh


def _in_order(
    count: int,
    fresh: Sequence[int],
    decided: Sequence[Decision],
    replayed: Mapping[int, Decision | int],
) -> list[Decision]:
    out: list[Decision | None] = [None] * count
    for index, decision in zip(fresh, decided, strict=True):
        out[index] = decision
    for index, found in replayed.items():
        out[index] = out[found] if isinstance(found, int) else found
    return [d for d in out if d is not None]


class KeyConflict(Conflict):
    """An idempotency key used before for another request (409). ``batch_index``: which
    check of a batch it is; it is found before anything of the batch was decided, so the
    batch can be decided again without it (see groupcommit.decide_all)."""

    def __init__(self, key: str, batch_index: int | None = None) -> None:
        super().__init__(
            f"idempotency key {key!r} was used before for another request; "
            "use a new key for a new check"
        )
        self.batch_index = batch_index


def _replayed(
    session: Any, idempotency_key: tuple[str, str], sent: str, index: int | None = None
) -> Decision | None:
    """The decision logged under this key before, or None; KeyConflict for another
    request (``index``: the check's place in its batch)."""
    scope, key = idempotency_key
    found = log.find_key(session, scope, key)
    if found is None:
        return None
    if found[0] != sent:
        raise KeyConflict(key, index)
    hit = log.find(session, found[1])
    if hit is None:  # pragma: no cover - the key and its decision are written together
        return None
    _, entry, cancelled = hit
    return msgspec.structs.replace(entry.decision, cancelled=cancelled)


def _new_keys(
    keys: Sequence[IdempotencyKey | None], fresh: Sequence[int], decisions: Sequence[Decision]
) -> list[dict[str, Any]]:
    at = now()
    return [
        {
            "scope": keys[i][0],  # type: ignore[index]
            "key": keys[i][1],  # type: ignore[index]
            "request_sha256": keys[i][2],  # type: ignore[index]
            "decision_id": decisions[i].decision_id,
            "created_at": at,
        }
        for i in fresh
        if keys[i] is not None
    ]


class _Unprepared:
    """The evaluator, but every policy it hands out is unprepared (see
    :meth:`Evaluator.unprepared`): for a check whose preparation missed its deadline."""

    def __init__(self, evaluator: Evaluator, source_system: str, why: str) -> None:
        self._evaluator, self._source, self._why = evaluator, source_system, why

    def policy(self, agreement: Any, version: int) -> Any:
        return self._evaluator.unprepared(agreement, version, self._source, self._why)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._evaluator, name)


def _receipts(
    signer: Signer, decisions: Sequence[Decision], requests: Sequence[CheckRequest]
) -> list[Decision]:
    """The committed decisions, each allowed one with its receipt (without, if signing it
    fails: see :func:`groupcommit.signed`)."""
    sign = functools.partial(_with_receipt, signer)
    return [signed(sign, d, r) for d, r in zip(decisions, requests, strict=True)]


def _with_receipt(signer: Signer, decision: Decision, request: CheckRequest) -> Decision:
    """The committed decision, with its receipt when it is allowed (and not cancelled)."""
    if not decision.allowed or decision.cancelled:
        return decision
    return msgspec.structs.replace(decision, receipt=signer.sign(decision, request))


def _batches(records: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Batches of at least ``size`` records (but the last); decoded NDJSON comes in
    chunks already, which are joined rather than taken apart."""
    batch: list[Any] = []
    if isinstance(records, ndjson.Records):
        for chunk in records.batches():
            batch.extend(chunk)
            if len(batch) >= size:
                yield batch
                batch = []
    else:
        for record in records:
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _subject_keys(check: Check) -> dict[str, str]:
    return {
        t.candidate.agreement.id: t.candidate.agreement.records.subject_key
        for t in check.trials
        if t.candidate.agreement.records.subject_key
    }


def _terms(
    catalog: Catalog, request: CheckRequest, on: datetime.date
) -> list[tuple[str, int, str]]:
    return [(c.agreement.id, c.version, c.status) for c in catalog.candidates(request, on) or ()]


def _entry(logged: log.LoggedDecision, catalog: Catalog) -> DisclosureEntry:
    decision, request = logged.decision, logged.request
    party = catalog.parties.get(request.recipient)
    stored = catalog.agreements.get(decision.agreement or "")
    authority: list[str] = []
    if stored is not None and decision.agreement_version:
        authority.extend(stored.version(decision.agreement_version).agreement.legal_authority)
    statute = request.request.get("statutory_authority")
    for item in statute if isinstance(statute, list) else [statute]:
        if isinstance(item, str) and item and item not in authority:
            authority.append(item)
    return DisclosureEntry(
        date=decision.on or decision.checked_at.date(),
        decision_id=decision.decision_id,
        agreement=decision.agreement or "",
        agreement_version=decision.agreement_version or 0,
        recipient=request.recipient,
        recipient_name=party.name if party else "",
        recipient_address=party.address if party else "",
        purpose=request.purpose,
        authority=tuple(authority),
        records=decision.record_count,
    )
