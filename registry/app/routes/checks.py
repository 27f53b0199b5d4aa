"""``/v1/checks``: does this transfer fit an active agreement? One request with its
records, or a request and a stream of NDJSON records."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.params import HeaderParameter, RawBody

from ...checking import decode_request, source_system_of
from ...errors import InvalidInput
from ...ndjson import MAX_LINE_BYTES
from ...ndjson import records as ndjson_records
from ...schemas import CheckRequest, Decision
from ...schemas.access import Principal
from ...writer import LARGE_BODY, Checks
from ..auth import CHECKERS, allow, speaks_for
from ..bodies import documented, schema_of
from ..errors import answers
from ..metrics import Metrics
from . import registry_of

PATH = "/v1/checks"
# What an Idempotency-Key may be (also read by registry.app.fastpath).
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,200}$"
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        description="Any string of 1 to 200 printable characters the caller chooses for this "
        "check (a UUID, say). Sent again with the same key and request, the check gets the "
        "decision logged the first time instead of a second one: retrying after a lost answer "
        "is safe. The same key with another request is 409.",
    ),
]

EXAMPLE = {
    "agreement": "irs-ice-2025-mou",
    "source_system": "irs-itin-address",
    "recipient": "dhs-ice",
    "purpose": "nontax-criminal-investigation",
    "fields": ["taxpayer.name", "taxpayer.address"],
    "on": "2025-06-01",
    "request": {
        "signed_by": "Director, U.S. Immigration and Customs Enforcement",
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
        "case_number": "ICE-2025-000123",
        "relevance_statement": "Named subject of an investigation under 8 U.S.C. 1253(a)(1).",
        "certification": True,
    },
    "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
    "records": [
        {
            "taxpayer": {
                "name": "Jane Roe",
                "tin": "900-70-1234",
                "address": {
                    "street": "12 Main St",
                    "city": "Springfield",
                    "state": "IL",
                    "zip": "62701",
                },
            }
        }
    ],
}

CHECK_BODY = documented(
    {"application/json": schema_of(CheckRequest, EXAMPLE)},
    "The check request; unknown fields and wrong types are refused with the field named.",
)
STREAM_BODY = documented(
    {
        "application/x-ndjson": {
            "type": "string",
            "description": "NDJSON: the first line is the check request (without records); "
            "every further line is one record, a JSON object.",
        }
    },
    "A check request line followed by any number of record lines, streamed.",
)
_END = b""
_ABORT = bytes(1)  # compared by identity: never a chunk


def _metrics(state: State) -> Metrics:
    return state.metrics


class CheckController(Controller):
    path = PATH
    tags = ["checks"]  # noqa: RUF012 - litestar reads a list

    @post(
        "/",
        guards=[allow(*CHECKERS)],
        operation_class=CHECK_BODY,
        status_code=200,
        responses=answers(400, 403, 409, 413),
    )
    async def check(
        self,
        request: Request[Principal, str, State],
        state: State,
        body: RawBody,
        idempotency_key: IdempotencyKey = None,
    ) -> Decision:
        """Decide a transfer and record the decision (and, when allowed, one disclosure per
        person) before answering. Allowed or denied, the answer is 200 with the reasons;
        an allowed decision carries a signed receipt."""
        # Only the source system is read here; the writer decodes the rest. A large body
        # is read off the event loop, so that other requests go on.
        source = (
            source_system_of(body)
            if len(body) < LARGE_BODY
            else await anyio.to_thread.run_sync(source_system_of, body)
        )
        principal = request.user
        speaks_for(principal, source)
        metrics = _metrics(state)
        with metrics.timed("request"):
            # A writer commits queued checks together (registry.groupcommit, in a process
            # of its own under ``registry serve``); the answer waits until this one is
            # durable.
            checks: Checks = state.checks  # a writer process's, or this process's
            decision = await checks(body, scoped(principal, idempotency_key))
        metrics.decided(decision)
        return decision

    @post(
        "/records",
        guards=[allow(*CHECKERS)],
        operation_class=STREAM_BODY,
        request_max_body_size=None,
        status_code=200,
        responses=answers(400, 403, 409),
    )
    async def check_records(
        self,
        request: Request[Principal, str, State],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Decision:
        """Decide a transfer whose records are streamed as NDJSON, in bounded memory, with
        no limit on their number. Every record is checked before anything is recorded.
        Under an ``Idempotency-Key`` a stream sent again is read and checked again, then
        answered with the decision logged the first time (the same key with another request
        line or other records is 409)."""
        chunks: queue.Queue[bytes] = queue.Queue(maxsize=16)
        stream = request.stream()
        first = await _first_line(stream)
        checked = decode_request(first.line)
        speaks_for(request.user, checked.source_system)
        registry = registry_of(state)
        metrics = _metrics(state)

        def decide() -> Decision:
            lines = _lines(first.rest, chunks)
            with metrics.timed("stream"):
                return registry.check_stream(
                    checked,
                    ndjson_records(lines, "records"),
                    idempotency_key=scoped(request.user, idempotency_key),
                )

        failed: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(_pump, stream, chunks)
            try:
                # The streams' own threads: a long or stalled upload holds one of them,
                # never one of the threads every other route needs.
                decision = await anyio.to_thread.run_sync(decide, limiter=state.stream_threads)
            except Exception as exc:
                failed = exc  # raised below: out of the group it is not an ExceptionGroup
            finally:
                group.cancel_scope.cancel()
        if failed is not None:
            raise failed
        metrics.decided(decision)
        return decision


def scoped(principal: Principal, key: str | None) -> tuple[str, str] | None:
    """An idempotency key in its scope: the system a system token speaks for, else the
    token (two systems may pick the same key)."""
    if key is None:
        return None
    scope = f"system:{principal.system}" if principal.system else f"token:{principal.token_id}"
    return scope, key


class _First:
    def __init__(self, line: bytes, rest: bytes) -> None:
        self.line, self.rest = line, rest


async def _first_line(stream: Any) -> _First:
    buffered = b""
    async for chunk in stream:
        buffered += chunk
        if b"\n" in buffered or not chunk:
            break
        if len(buffered) > MAX_LINE_BYTES:
            break
    line, _, rest = buffered.partition(b"\n")
    if len(line) > MAX_LINE_BYTES:
        raise InvalidInput(f"the first line (the check request) is over {MAX_LINE_BYTES} bytes")
    if not line.strip():
        raise InvalidInput("the first line must be the check request, as JSON")
    return _First(line, rest)


async def _pump(stream: Any, chunks: queue.Queue[bytes]) -> None:
    """Move the body's chunks to the checking thread; the bounded queue keeps memory
    bounded when the checks are slower than the network. If the upload breaks off, the
    thread is told so and decides nothing."""
    finished = False
    try:
        # A client that goes away mid-upload makes the stream raise: the thread is told
        # below, and the request ends as a broken upload, not as a server error.
        with contextlib.suppress(Exception):
            async for chunk in stream:
                if chunk:
                    while True:
                        try:
                            chunks.put_nowait(chunk)
                            break
                        except queue.Full:
                            await anyio.sleep(0.001)
            finished = True
    finally:
        while True:
            try:
                chunks.put_nowait(_END if finished else _ABORT)
                break
            except queue.Full:
                if not finished:  # the thread only needs to learn that it must stop
                    with contextlib.suppress(queue.Empty):
                        chunks.get_nowait()
                    continue
                await anyio.sleep(0.001)


def _lines(rest: bytes, chunks: queue.Queue[bytes]) -> Iterator[bytes]:
    """The record lines: those after the request line in the first chunk (the whole body,
    when it came in one), then those of every later chunk."""
    pending, chunk = b"", rest
    while True:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
        if len(pending) > MAX_LINE_BYTES:
            yield pending  # ndjson names the over-long line
            pending = b""
        chunk = chunks.get()
        if chunk is _ABORT:
            raise InvalidInput("the upload broke off before its end; nothing was decided")
        if chunk is _END:
            break
    if pending.strip():
        yield pending
