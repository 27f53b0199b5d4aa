"""The writer process (registry.writer): checks decided in one process for every worker,
answered as the in-process path answers them, and the faults between the two."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from registry import writer
from registry.errors import (
    CommitInDoubt,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    Overloaded,
)
from registry.schemas import Problem
from registry.service import Registry
from registry.supervise import _answers  # as registry serve waits for its writer
from tests.api.conftest import issue_tokens
from tests.checking.helpers import request
from tests.conftest import AGREEMENTS
from tests.servers import free_port, start_serve, stop_serve


@contextlib.contextmanager
def writer_on(registry: Registry, **desk: int) -> Iterator[str]:
    """``serve_writer`` over ``registry`` on a thread of its own; yields the socket."""
    folder = tempfile.mkdtemp(prefix="writer-test-")
    path = os.path.join(folder, "writer.sock")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(writer.serve_writer(path, registry.checking, stop, **desk),),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 10
    # Until it accepts a connection: the socket's file appears when it is bound, a moment
    # before it listens (an ask then is refused, as for a writer that is down).
    while not _answers(path):
        assert time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.01)
    try:
        yield path
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def ask(path: str, *bodies: Any, key: tuple[str, str] | None = None) -> list[Any]:
    """Send ``bodies`` at once on one connection; the decisions, or the errors raised."""

    async def run() -> list[Any]:
        client = writer.WriterClient(path)
        try:
            with contextlib.suppress(DatabaseUnavailable):
                await client.connect()  # so that the asks go in one write
            calls = [
                client.check(b if isinstance(b, bytes) else json.dumps(b).encode(), key)
                for b in bodies
            ]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            client.close()

    return asyncio.run(run())


def test_a_check_is_decided_logged_and_signed_by_the_writer(loaded: Registry) -> None:
    with writer_on(loaded) as path:
        allowed, denied = ask(path, request(), request(purpose="curiosity"))
    assert allowed.allowed and not denied.allowed
    assert {r.code for r in denied.reasons} >= {"purpose_not_permitted"}
    assert loaded.verify_receipt(allowed.receipt).decision_id == allowed.decision_id
    logged = {d.decision_id for d in loaded.decisions()}
    assert logged == {allowed.decision_id, denied.decision_id}
    assert loaded.verify().ok


def test_checks_sent_together_are_decided_in_order_under_the_limit(loaded: Registry) -> None:
    # 10,000 records a 30-day period: of 20 checks of 700, the first 14 fit.
    bodies = [request(record_count=700, on="2025-06-15") for _ in range(20)]
    with writer_on(loaded) as path:
        decisions = ask(path, *bodies)
    assert [d.allowed for d in decisions] == [True] * 14 + [False] * 6
    assert sum(d.record_count for d in loaded.decisions(limit=100) if d.allowed) == 14 * 700


def test_bad_input_comes_back_as_the_in_process_error_naming_the_field(
    loaded: Registry,
) -> None:
    with writer_on(loaded) as path:
        (wrong_type,) = ask(path, request(record_count="many"))
        (not_json,) = ask(path, b"{not json")
    assert isinstance(wrong_type, InvalidInput)
    assert wrong_type.problems[0].field == "record_count"
    assert isinstance(not_json, InvalidInput)
    assert loaded.decisions() == []


def test_an_idempotency_key_replays_the_first_decision_and_refuses_another_request(
    loaded: Registry,
) -> None:
    key = ("system:irs-itin-address", "retry-1")
    with writer_on(loaded) as path:
        (first,) = ask(path, request(), key=key)
        (again,) = ask(path, request(), key=key)
        (other,) = ask(path, request(purpose="curiosity"), key=key)
    assert again.decision_id == first.decision_id
    assert isinstance(other, Conflict)
    assert len(loaded.decisions()) == 1


def test_the_same_key_gives_the_same_digest_in_the_writer_and_in_process(
    loaded: Registry,
) -> None:
    key = ("system:irs-itin-address", "moved")
    with writer_on(loaded) as path:
        (first,) = ask(path, request(), key=key)
    again = loaded.check_async(request(), idempotency_key=key)
    assert asyncio.run(again).decision_id == first.decision_id


def test_more_checks_than_may_wait_are_refused_as_overloaded(loaded: Registry) -> None:
    with writer_on(loaded, max_waiting=2) as path:
        answers = ask(path, *[request() for _ in range(6)])
    refused = [a for a in answers if isinstance(a, Overloaded)]
    assert refused and len(refused) < 6
    assert len(loaded.decisions(limit=10)) == 6 - len(refused)


def test_a_writer_that_does_not_run_gives_unavailable_nothing_recorded(tmp_path: Path) -> None:
    (answer,) = ask(str(tmp_path / "nobody.sock"), request())
    assert isinstance(answer, DatabaseUnavailable)
    assert not isinstance(answer, CommitInDoubt)


def test_a_writer_that_drops_the_connection_mid_check_gives_commit_in_doubt(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "w.sock")

    async def run() -> Any:
        async def drop(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await reader.read(1)  # the ask arrived: it may be decided and committed
            w.close()

        server = await asyncio.start_unix_server(drop, path)
        client = writer.WriterClient(path)
        try:
            return await client.check(json.dumps(request()).encode())
        except Exception as exc:
            return exc
        finally:
            client.close()
            server.close()

    answer = asyncio.run(run())
    assert isinstance(answer, CommitInDoubt)
    assert "may have been recorded" in str(answer)


def test_asks_not_yet_sent_when_the_connection_breaks_were_not_recorded() -> None:
    async def run() -> BaseException | None:
        link = writer._Link()
        link.transport = object()  # type: ignore[assignment]  # never written to
        future = link.ask(b"{}", None)
        link.connection_lost(None)  # before the loop's turn that writes it
        return future.exception()

    answer = asyncio.run(run())
    assert isinstance(answer, DatabaseUnavailable) and not isinstance(answer, CommitInDoubt)


def test_frames_are_taken_whole_across_reads_and_an_oversized_one_is_refused() -> None:
    one, two = writer.frame(b"first"), writer.frame(b"second ask")
    buffer = bytearray(one + two[:5])
    assert writer.frames(buffer) == [b"first"]
    buffer += two[5:]
    assert writer.frames(buffer) == [b"second ask"] and buffer == b""
    with pytest.raises(ValueError, match="over the limit"):
        writer.frames(bytearray((writer.MAX_FRAME + 1).to_bytes(4, "big")))


@pytest.mark.parametrize(
    "error",
    [
        InvalidInput("bad", [Problem(severity="error", rule="request", message="m", field="on")]),
        NotFound("no such decision"),
        Conflict("used before"),
        CommitInDoubt("may have been"),
        DatabaseUnavailable("gone"),
        Overloaded("too many"),
    ],
)
def test_errors_travel_as_their_own_kind(error: Exception) -> None:
    failure = msgspec.msgpack.decode(
        msgspec.msgpack.encode(writer.failure_of(error)), type=writer.Failure
    )
    again = writer.raised(failure)
    assert type(again) is type(error) and str(again) == str(error)
    assert getattr(again, "problems", []) == getattr(error, "problems", [])


def test_database_errors_travel_as_unavailable_or_bad_input() -> None:
    gone = sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
    nul = sa.exc.DataError("INSERT", {}, Exception("invalid byte sequence 0x00"))
    assert isinstance(writer.raised(writer.failure_of(gone)), DatabaseUnavailable)
    assert isinstance(writer.raised(writer.failure_of(nul)), InvalidInput)
    assert isinstance(writer.raised(writer.failure_of(KeyError("x"))), RuntimeError)


# --- under registry serve ---------------------------------------------------------------


def _writer_pid(server_pid: int) -> int:
    """The writer process ``registry serve`` runs (a child of any of its threads)."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if not proc.name.isdigit():
                continue
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == server_pid and b"registry.writer" in (proc / "cmdline").read_bytes():
                return int(proc.name)
    raise AssertionError("registry serve runs no writer process")


def _until(condition: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_serve_restarts_a_writer_that_dies_and_checks_go_on(db_url: str) -> None:
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    headers = {"Authorization": f"Bearer {issue_tokens(registry)['system']}"}
    port = free_port()
    server = start_serve(db_url, port)
    url = f"http://127.0.0.1:{port}/v1/checks"
    try:
        first = _writer_pid(server.pid)
        assert httpx.post(url, json=request(), headers=headers, timeout=30).status_code == 200
        os.kill(first, signal.SIGKILL)

        def answered() -> httpx.Response | None:
            # Only once a new writer runs: while the killed one is dying (its memory gone
            # from /proc, its sockets not yet closed) a check sent to it may be lost with
            # it, and 504 ("may have been recorded") is then the right answer.
            try:
                if _writer_pid(server.pid) == first:
                    return None
            except (ValueError, AssertionError, FileNotFoundError):
                return None
            answer = httpx.post(url, json=request(), headers=headers, timeout=30)
            assert answer.status_code in (200, 503), answer.text
            return answer if answer.status_code == 200 else None

        assert _until(answered).json()["allowed"]
        assert _writer_pid(server.pid) != first
    finally:
        stop_serve(server)
    assert len(registry.decisions()) == 2
    assert registry.verify().ok
    registry.close()


@pytest.mark.slow
def test_the_writer_stops_when_serve_is_killed(tmp_path: Path) -> None:
    server = start_serve(f"sqlite:///{tmp_path}/r.db", free_port())
    try:
        pid = _writer_pid(server.pid)
        server.send_signal(signal.SIGKILL)  # the serving process alone, not its group
        server.wait(10)

        def gone() -> bool:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            except OSError:
                return True
            return state == "Z"

        assert _until(gone, 15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def test_a_writer_started_again_while_serve_stops_is_stopped_too(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer dies; the watcher starts another, slowly; serve stops meanwhile. The new
    # writer must not outlive serve (it would hold the database and the key until then).
    from registry import supervise

    Registry.open(db_url).close()  # the schema, so the writer starts quickly
    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    spawned: list[Any] = []
    real_popen = supervise.subprocess.Popen

    def slow_popen(*args: Any, **kwargs: Any) -> Any:
        if spawned:  # the restart: stop() is called before it spawns
            time.sleep(0.5)
        proc = real_popen(*args, **kwargs)
        spawned.append(proc)
        return proc

    monkeypatch.setattr(supervise.subprocess, "Popen", slow_popen)
    process = supervise.WriterProcess()
    with process:
        os.kill(spawned[0].pid, signal.SIGKILL)
        time.sleep(0.3)  # past the pause before a restart: the watcher is spawning
    assert len(spawned) == 2
    assert spawned[0].poll() is not None and spawned[1].poll() is not None
