"""Group commit: one writer thread decides queued checks and commits them together.

A recorded check costs little CPU but one synced commit; a service answering many
callers at once would spend its time waiting for the disk, one commit per check. Here
callers put their check on a queue and wait; the writer takes everything queued (up to
``max_batch``), decides each in turn inside one transaction (so limits stay exact: each
check sees the usage logged by the ones before it), commits once, and only then wakes the
callers. No caller is answered before its decision is durable.

Decisions leave the writer unsigned; a small pool signs the allowed ones' receipts (Ed25519
signing releases the GIL, so it runs beside the writer's next batch) and then wakes the
callers.

If a batch fails (a checker bug that escaped isolation, a constraint), its checks are
decided again one at a time (:func:`decide_all`), so one bad check cannot fail the others;
if the database is gone, every caller gets the error (the API answers 503; nothing was
recorded).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Sequence

from .errors import CommitInDoubt, DatabaseUnavailable, Overloaded
from .schemas import CheckRequest, Decision
from .store.database import is_unavailable

log = logging.getLogger("registry.groupcommit")

_STOP = object()


class AsyncResult:
    """An asyncio future that the writer's threads resolve: results for one event loop
    are handed over in one call per batch, not one wake-up per check."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Decision] = loop.create_future()


Waiter = concurrent.futures.Future[Decision] | AsyncResult
Key = tuple[str, str, str]  # an idempotency key: scope, key, digest of the request


def _settle(results: list[tuple[AsyncResult, Decision | BaseException]]) -> None:
    for waiter, result in results:
        if waiter.future.done():  # the caller went away
            continue
        if isinstance(result, BaseException):
            waiter.future.set_exception(result)
        else:
            waiter.future.set_result(result)


def _deliver(results: list[tuple[Waiter, Decision | BaseException]]) -> None:
    """Resolve waiters: concurrent futures at once, asyncio ones in one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[AsyncResult, Decision | BaseException]]]
    by_loop = {}
    for waiter, result in results:
        if isinstance(waiter, AsyncResult):
            by_loop.setdefault(waiter.loop, []).append((waiter, result))
        elif isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, group)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.warning("an event loop closed before %d answers were delivered", len(group))


def _for_everyone(exc: BaseException) -> bool:
    return isinstance(exc, (DatabaseUnavailable, CommitInDoubt)) or is_unavailable(exc)


def decide_all(
    decide_batch: Callable[[Sequence[CheckRequest], Sequence[Key | None]], list[Decision]],
    checks: Sequence[tuple[CheckRequest, Key | None]],
) -> list[Decision | BaseException]:
    """Decide ``checks`` in one batch; if the batch fails (a checker bug that escaped
    isolation, a constraint), decide each alone, so that one bad check cannot fail the
    others. The result for each check is its decision or the error it ended in.

    A database that cannot be reached fails every check alike, and one by one each would
    wait for it again (ten seconds each for a server that does not answer); a commit in
    doubt may have recorded the batch, which deciding again would record twice. Those
    errors are every check's answer at once."""
    refused: dict[int, BaseException] = {}  # a check's own error, found before deciding
    left = list(range(len(checks)))
    while True:
        try:
            decided = decide_batch([checks[i][0] for i in left], [checks[i][1] for i in left])
        except BaseException as exc:
            at = getattr(exc, "batch_index", None)
            if isinstance(at, int) and 0 <= at < len(left) and len(left) > 1:
                # One check's idempotency key conflicts: nothing was decided yet, so the
                # others go again as one batch (not one by one: a client that reuses keys
                # must not make every batch it lands in cost a commit a check).
                refused[left.pop(at)] = exc
                continue
            if len(left) == 1 or _for_everyone(exc):
                return _merged(len(checks), refused, left, [exc] * len(left))
            log.warning("a batch of %d checks failed (%s); deciding each alone", len(left), exc)
            break
        return _merged(len(checks), refused, left, list(decided))
    results: list[Decision | BaseException] = []
    for i in left:
        request, key = checks[i]
        try:
            results.extend(decide_batch([request], [key]))
        except BaseException as one:
            results.append(one)
    return _merged(len(checks), refused, left, results)


def _merged(
    count: int,
    refused: dict[int, BaseException],
    left: Sequence[int],
    results: Sequence[Decision | BaseException],
) -> list[Decision | BaseException]:
    merged: list[Decision | BaseException | None] = [None] * count
    for i, error in refused.items():
        merged[i] = error
    for i, result in zip(left, results, strict=True):
        merged[i] = result
    return [m for m in merged if m is not None]


def signed(
    finish: Callable[[Decision, CheckRequest], Decision], decision: Decision, request: CheckRequest
) -> Decision:
    """The committed ``decision`` with its receipt; without, if signing fails (the
    decision stands: a receipt can be had again from the log)."""
    try:
        return finish(decision, request)
    except Exception as exc:
        log.error("could not sign a receipt for %s: %s", decision.decision_id, exc)
        return decision


class GroupCommit:
    """A writer thread over ``decide_batch`` (``Checking.check_batch``)."""

    def __init__(
        self,
        decide_batch: Callable[[Sequence[CheckRequest], Sequence[Key | None]], list[Decision]],
        *,
        finish: Callable[[Decision, CheckRequest], Decision] | None = None,
        max_batch: int = 256,
        max_waiting: int = 4096,
    ) -> None:
        self._decide_batch = decide_batch
        self._finish = finish
        self._finishers = (
            concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="registry-receipts")
            if finish is not None
            else None
        )
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="registry-writer", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self.batches = 0  # counters for benchmarks and tests
        self.decided = 0
        self._thread.start()

    def submit(
        self, request: CheckRequest, key: Key | None = None
    ) -> concurrent.futures.Future[Decision]:
        """Queue a check; the future resolves once its decision is committed."""
        future: concurrent.futures.Future[Decision] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the registry is closed")
            self._enqueue((request, future, key))
        return future

    def submit_async(
        self, request: CheckRequest, key: Key | None = None
    ) -> asyncio.Future[Decision]:
        """Queue a check from a coroutine; await the result (the event loop is woken once
        per batch, not once per check)."""
        waiter = AsyncResult(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                raise RuntimeError("the registry is closed")
            self._enqueue((request, waiter, key))
        return waiter.future

    def _enqueue(self, item: tuple[CheckRequest, Waiter, Key | None]) -> None:
        """Queue a check, unless ``max_waiting`` are waiting already: then refuse it at
        once (the API answers 503 with Retry-After) rather than hold ever more requests
        in memory while the database is slow."""
        if self._queue.qsize() >= self.max_waiting:
            raise Overloaded(
                f"{self.max_waiting} checks are waiting to be decided; nothing was recorded, "
                "try again shortly"
            )
        self._queue.put(item)

    def check(self, request: CheckRequest) -> Decision:
        return self.submit(request).result()

    def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()
        if self._finishers is not None:
            self._finishers.shutdown(wait=True)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._decide(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _decide(self, batch: list[tuple[CheckRequest, Waiter, Key | None]]) -> None:
        live = [
            (r, w, k)
            for r, w, k in batch
            if isinstance(w, AsyncResult) or w.set_running_or_notify_cancel()
        ]
        if not live:
            return
        results = decide_all(self._decide_batch, [(r, k) for r, _, k in live])
        decided = [(item, r) for item, r in zip(live, results, strict=True) if type(r) is Decision]
        failed = [
            (w, r) for (_, w, _), r in zip(live, results, strict=True) if type(r) is not Decision
        ]
        if not failed:
            self.batches += 1
            self.decided += len(live)
        _deliver(failed)
        if decided:
            self._resolve([item for item, _ in decided], [r for _, r in decided])

    def _resolve(
        self, live: list[tuple[CheckRequest, Waiter, Key | None]], decisions: list[Decision]
    ) -> None:
        """Wake the callers with their committed decisions, signed by the finishers."""
        pairs = list(zip(live, decisions, strict=True))
        if self._finishers is None or self._finish is None:
            _deliver([(waiter, decision) for (_, waiter, _), decision in pairs])
            return
        finish = self._finish

        def sign_and_wake(
            items: list[tuple[tuple[CheckRequest, Waiter, Key | None], Decision]],
        ) -> None:
            _deliver(
                [
                    (waiter, signed(finish, decision, request))
                    for (request, waiter, _), decision in items
                ]
            )

        half = (len(pairs) + 1) // 2
        for part in (pairs[:half], pairs[half:]):
            if part:
                self._finishers.submit(sign_and_wake, part)
