"""The writer process: under ``registry serve``, one process decides and commits the
``POST /v1/checks`` of every worker.

Why a process of its own: in a worker, the group commit's writer thread
(:mod:`registry.groupcommit`) and the event loop that parses requests share one
interpreter lock. Measured on two cores, a worker on SQLite spent about 300 µs of CPU a
check in the writer but about 950 µs of wall time, waiting for the lock, and the event
loop slowed alike: the service answered 30% of what a bare endpoint does. Here the
workers only read requests and answer them; the writer process holds the group commit,
the database's write connection and the receipt key, on a core of its own. Workers on
one machine then share one writer, so with PostgreSQL they no longer take turns on the
log's head lock either (writers on other machines still do, and stay correct).

The protocol runs over a Unix socket that only the serving process tree knows (its path
is in ``REGISTRY_WRITER_SOCKET``). A frame is a 4-byte big-endian length and a msgpack
array: a worker sends ``[id, body, scope, key]`` (the check request's JSON as the caller
sent it, and its idempotency key), the writer answers ``[id, decision, failure]``. A
decision is answered only once it is committed (and signed), as in-process.

Faults: a worker that cannot reach the writer answers 503 (nothing was sent, so nothing
was recorded); a worker whose connection drops with checks sent but unanswered answers
504 for those (they may have been committed: :class:`CommitInDoubt`). ``registry serve``
restarts a writer that exits, and the writer exits when its parent does.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import logging
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

import msgspec

from .checking import Checking, decode_request, keyed
from .errors import (
    CommitInDoubt,
    ConfigError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    Overloaded,
    RegistryError,
    SchemaError,
)
from .groupcommit import Key, decide_all
from .schemas import CheckRequest, Decision, Problem
from .store.database import BAD_DATA, DatabaseError, is_bad_data, is_unavailable

if TYPE_CHECKING:
    from .service import Registry

log = logging.getLogger("registry.writer")

SOCKET_ENV = "REGISTRY_WRITER_SOCKET"
MAX_FRAME = 256 * 1024 * 1024  # above any body the API accepts
_LENGTH = struct.Struct(">I")


class Ask(msgspec.Struct, array_like=True):
    """A worker's check: the request's JSON as sent, and its idempotency key if any."""

    id: int
    body: bytes
    scope: str | None = None
    key: str | None = None


class Failure(msgspec.Struct, array_like=True):
    """Why a check has no decision: the kind of error (``_RAISED``) and its message."""

    kind: str
    message: str
    problems: list[Problem] = []


class Answer(msgspec.Struct, array_like=True):
    id: int
    decision: Decision | None = None
    failure: Failure | None = None


_encode = msgspec.msgpack.Encoder().encode
_asks = msgspec.msgpack.Decoder(Ask)
_answers = msgspec.msgpack.Decoder(Answer)

# The errors a check may end in, by the name they travel under.
_RAISED: dict[str, type[RegistryError]] = {
    "invalid": InvalidInput,
    "not_found": NotFound,
    "conflict": Conflict,
    "in_doubt": CommitInDoubt,
    "unavailable": DatabaseUnavailable,
    "overloaded": Overloaded,
    "schema": SchemaError,
    "config": ConfigError,
}
# How the API decides a check: ``check(body, request, key)``, in a worker or in-process.
Checks = Callable[[bytes, "tuple[str, str] | None"], Awaitable[Decision]]
LARGE_BODY = 256 * 1024  # decoded on a thread of its own
_KINDS = {cls: kind for kind, cls in _RAISED.items()}


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


def frames(buffer: bytearray) -> list[bytes]:
    """Take the complete frames off the front of ``buffer``."""
    out, start, end = [], 0, len(buffer)
    while end - start >= 4:
        (size,) = _LENGTH.unpack_from(buffer, start)
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes is over the limit")
        if end - start - 4 < size:
            break
        out.append(bytes(buffer[start + 4 : start + 4 + size]))
        start += 4 + size
    del buffer[:start]
    return out


def failure_of(exc: BaseException) -> Failure:
    """An error as it travels to the worker, which raises it again (:func:`raised`)."""
    for cls in type(exc).__mro__:
        kind = _KINDS.get(cls)
        if kind is not None:
            problems = list(getattr(exc, "problems", ()))
            return Failure(kind, str(exc), [p for p in problems if isinstance(p, Problem)])
    if isinstance(exc, DatabaseError) and is_unavailable(exc):
        return Failure("unavailable", "the database is unavailable; nothing was recorded")
    if isinstance(exc, DatabaseError) and is_bad_data(exc):
        return Failure("invalid", BAD_DATA)
    log.error("a check failed in the writer", exc_info=exc)
    return Failure("internal", f"{type(exc).__name__}: {exc}")


def raised(failure: Failure) -> Exception:
    """The error a worker raises for ``failure`` (the API maps it as it would in-process)."""
    cls = _RAISED.get(failure.kind)
    if cls is InvalidInput:
        return InvalidInput(failure.message, failure.problems)
    if cls is not None:
        return cls(failure.message)
    return RuntimeError(f"the writer process failed on this check: {failure.message}")


# --- the writer process -----------------------------------------------------------------


class Desk:
    """The writer process's checks. Asks queue here, and the event loop's next turn
    decides what is queued in one batch and answers it, on the loop's thread: while a
    batch is decided the workers' next asks wait in the socket, to make the next batch.
    Only the checkers (for their deadline) and the receipts' signatures (while the commit
    syncs the disk) run on threads of their own, one hand-off each a batch, so that little
    waits for the interpreter lock held by another thread."""

    def __init__(
        self, checking: Checking, *, max_batch: int = 256, max_waiting: int = 4096
    ) -> None:
        self.checking = checking
        self.max_batch, self.max_waiting = max_batch, max_waiting
        self.queue: collections.deque[tuple[_Served, int, CheckRequest, Key | None]]
        self.queue = collections.deque()
        self.loop = asyncio.get_running_loop()
        self._scheduled = False
        self.idle = asyncio.Event()
        self.idle.set()

    def put(self, conn: _Served, ident: int, request: CheckRequest, key: Key | None) -> None:
        if len(self.queue) >= self.max_waiting:
            raise Overloaded(
                f"{self.max_waiting} checks are waiting to be decided; nothing was recorded, "
                "try again shortly"
            )
        self.queue.append((conn, ident, request, key))
        if not self._scheduled:
            self._scheduled = True
            self.idle.clear()
            self.loop.call_soon(self._decide)

    def _decide(self) -> None:
        self._scheduled = False
        batch = [self.queue.popleft() for _ in range(min(self.max_batch, len(self.queue)))]
        checking = self.checking
        results = decide_all(
            lambda requests, keys: checking.check_batch(requests, keys=keys),
            [(request, key) for _, _, request, key in batch],
        )
        for (conn, ident, _, _), result in zip(batch, results, strict=True):
            if isinstance(result, Decision):
                conn.send(Answer(ident, decision=result))
            else:
                conn.send(Answer(ident, failure=failure_of(result)))
        if self.queue:
            self._scheduled = True
            self.loop.call_soon(self._decide)
        else:
            self.idle.set()


class _Framed(asyncio.Protocol):
    """A connection that carries frames: each whole one goes to :meth:`received`; a
    frame over the limit closes the connection."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's (granian's workers use it when it is installed) do
        # not derive from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            received = frames(self.buffer)
        except ValueError as exc:
            log.error("closing a connection between a worker and the writer: %s", exc)
            if self.transport is not None:
                self.transport.close()
            return
        for payload in received:
            self.received(payload)

    def received(self, payload: bytes) -> None:
        raise NotImplementedError


class _Served(_Framed):
    """One worker's connection: asks in, answers out (written once per loop turn)."""

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.out: list[bytes] = []

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None  # answers still to come are dropped: the worker answers 504

    def received(self, payload: bytes) -> None:
        try:
            ask = _asks.decode(payload)
        except msgspec.DecodeError as exc:  # pragma: no cover - workers send what they should
            log.error("a malformed ask from a worker: %s", exc)
            return
        try:
            request = decode_request(ask.body)
            scoped = (ask.scope, ask.key) if ask.scope is not None and ask.key else None
            self.desk.put(self, ask.id, request, keyed(request, scoped))
        except Exception as exc:
            self.send(Answer(ask.id, failure=failure_of(exc)))

    def send(self, answer: Answer) -> None:
        if not self.out:
            self.desk.loop.call_soon(self._flush)
        self.out.append(frame(_encode(answer)))

    def _flush(self) -> None:
        out, self.out = self.out, []
        if self.transport is not None and out:
            self.transport.write(b"".join(out))


async def serve_writer(path: str, checking: Checking, stop: asyncio.Event, **desk: int) -> None:
    """Answer workers on the Unix socket ``path`` until ``stop`` is set; then decide and
    answer what is queued, and return."""
    loop = asyncio.get_running_loop()
    if os.path.exists(path):
        os.unlink(path)
    queued = Desk(checking, **desk)
    server = await loop.create_unix_server(lambda: _Served(queued), path)
    os.chmod(path, 0o600)
    try:
        await stop.wait()
    finally:
        server.close()
        await queued.idle.wait()
        await asyncio.sleep(0)  # the last answers are written
        if os.path.exists(path):
            os.unlink(path)


def _watch_parent(parent: int, stop: Callable[[], object]) -> None:
    """Stop when the process that started this one (``registry serve``) is gone, even
    killed: this process is then given another parent."""

    def wait() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        log.warning("registry serve is gone: the writer stops")
        stop()

    threading.Thread(target=wait, name="registry-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m registry.writer --socket PATH [--parent PID]``, started by
    ``registry serve`` with the workers' environment."""
    from .service import Registry

    parser = argparse.ArgumentParser(prog="registry-writer")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--parent", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    registry = Registry.open()
    # Read the keys and the catalog now: a bad key file or database fails the start.
    registry.checking.hasher, registry.checking.signer  # noqa: B018
    registry.catalog()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if args.parent is not None:
            _watch_parent(args.parent, functools.partial(loop.call_soon_threadsafe, stop.set))
        await serve_writer(args.socket, registry.checking, stop)

    try:
        asyncio.run(run())
    finally:
        registry.close()


# --- the workers' side ------------------------------------------------------------------


_UNREACHABLE = (
    "the registry's writer process does not answer; nothing was recorded, try again shortly"
)


class _Link(_Framed):
    """A worker's connection to the writer, shared by its requests."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[Decision]] = {}
        self.out: dict[int, bytes] = {}  # asks not yet written, by id
        self.next_id = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiting, self.waiting = self.waiting, {}
        unsent, self.out = self.out, {}
        for ident, future in waiting.items():
            if future.done():
                continue
            if ident in unsent:
                future.set_exception(DatabaseUnavailable(_UNREACHABLE))
            else:
                future.set_exception(
                    CommitInDoubt(
                        "the registry's writer stopped while this check was being decided: "
                        "it may have been recorded. Look it up, or send it again with the "
                        "same Idempotency-Key"
                    )
                )

    def received(self, payload: bytes) -> None:
        answer = _answers.decode(payload)
        future = self.waiting.pop(answer.id, None)
        if future is None or future.done():
            return  # the request went away
        if answer.failure is not None:
            future.set_exception(raised(answer.failure))
        elif answer.decision is not None:
            future.set_result(answer.decision)

    def ask(self, body: bytes, key: tuple[str, str] | None) -> asyncio.Future[Decision]:
        assert self.transport is not None
        self.next_id += 1
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        scope, name = key if key is not None else (None, None)
        if not self.out:  # one write for the asks of this turn of the event loop
            future.get_loop().call_soon(self._flush)
        self.out[self.next_id] = frame(_encode(Ask(self.next_id, body, scope, name)))
        return future

    def _flush(self) -> None:
        out, self.out = self.out, {}
        if self.transport is not None and out:
            self.transport.write(b"".join(out.values()))


class WriterClient:
    """Checks sent to the writer process; one connection per event loop, made again when
    it breaks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._links: dict[asyncio.AbstractEventLoop, _Link] = {}
        self._connecting: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def check(self, body: bytes, key: tuple[str, str] | None = None) -> Decision:
        """The committed decision on the check request ``body`` (its JSON, as the caller
        sent it), with its receipt when allowed; raises what the in-process path raises."""
        link = await self.connect()
        return await link.ask(body, key)

    async def connect(self) -> _Link:
        """This event loop's connection to the writer, made now if there is none; checks
        sent at once after it are written at once (those that wait for it are not)."""
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is not None and link.transport is not None and not link.transport.is_closing():
            return link
        lock = self._connecting.setdefault(loop, asyncio.Lock())
        async with lock:
            link = self._links.get(loop)
            if link is None or link.transport is None or link.transport.is_closing():
                try:
                    _, link = await loop.create_unix_connection(_Link, self.path)
                except OSError as exc:
                    raise DatabaseUnavailable(_UNREACHABLE) from exc
                self._links[loop] = link
        return link

    def close(self) -> None:
        for link in self._links.values():
            if link.transport is not None:
                link.transport.close()
        self._links.clear()


def in_process(registry: Registry) -> Checks:
    """The same ``check`` as :meth:`WriterClient.check`, deciding in this process."""

    async def check(body: bytes, key: tuple[str, str] | None = None) -> Decision:
        # A large body is decoded off the event loop, so that other requests go on.
        request = (
            decode_request(body)
            if len(body) < LARGE_BODY
            else await asyncio.to_thread(decode_request, body)
        )
        return await registry.check_async(request, idempotency_key=key)

    return check


if __name__ == "__main__":
    main(sys.argv[1:])
