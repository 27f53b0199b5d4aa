"""The Python client: against a real server (uvicorn in a thread, on SQLite and PostgreSQL)
for what it sends and decodes, and against scripted transports for its retry policy."""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from registry.access import Tokens
from registry.app import create_app
from registry.client import (
    USER_AGENT,
    AuthenticationFailed,
    Client,
    ClientError,
    ConflictError,
    Forbidden,
    InvalidRequest,
    NotFoundError,
    OutcomeUnknown,
    ServiceUnavailable,
    TransferDenied,
)
from registry.errors import InvalidInput, NotFound
from registry.schemas import CheckRequest, Decision
from registry.service import Registry
from tests.checking.helpers import AGREEMENT, record, request
from tests.conftest import AGREEMENTS, BACKENDS, _postgres_schema_url
from tests.servers import serving

SYSTEM = "irs-itin-address"
ZIP_ONLY = {"taxpayer": {"name": "Zip Only", "tin": "900701234", "address": {"zip": "62701"}}}


# --- a real server ------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    tokens: dict[str, str]

    def client(self, role: str = "system", **options: Any) -> Client:
        return Client(self.url, self.tokens[role], **options)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per backend for the whole module (a database each test would cost
    seconds); each test makes decisions of its own, so sharing the log is harmless."""
    if request.param == "sqlite":
        yield from _serve(f"sqlite:///{tmp_path_factory.mktemp('client') / 'registry.db'}")
    else:
        server = request.getfixturevalue("postgres_server")
        with contextlib.contextmanager(_postgres_schema_url)(server) as url:
            yield from _serve(url)


def _serve(db_url: str) -> Iterator[Served]:
    registry = Registry.open(db_url)
    try:
        registry.load([AGREEMENTS])
        issue = Tokens(registry.db).create
        tokens = {
            "system": issue("system", name="ITIN system", by="tests", system=SYSTEM).token,
            "other_system": issue(
                "system", name="SSA", by="tests", system="ssa-wage-records"
            ).token,
        }
        with serving(create_app(registry, token_cache_seconds=0)) as url:
            yield Served(url, tokens)
    finally:
        registry.close()


def test_check_returns_an_allowed_decision(served: Served) -> None:
    with served.client() as client:
        decision = client.check(request(records=[record(1), record(2)]))
        assert isinstance(decision, Decision)
        assert decision.allowed and decision.reasons == ()
        assert (decision.agreement, decision.agreement_version) == (AGREEMENT, 1)
        assert decision.record_count == 2
        looked_up = client.decision(decision.decision_id)
    assert (looked_up.decision_id, looked_up.allowed) == (decision.decision_id, True)
    assert looked_up.reasons == decision.reasons


def test_check_returns_a_denied_decision_with_every_reason(served: Served) -> None:
    with served.client() as client:
        decision = client.check(request(records=[record(0), ZIP_ONLY], purpose="curiosity"))
    assert not decision.allowed
    codes = {r.code for r in decision.reasons}
    assert {"purpose_not_permitted", "irc6103.address_incomplete"} <= codes


def test_check_takes_a_request_struct(served: Served) -> None:
    struct = msgspec.convert(request(records=[record(1)]), CheckRequest)
    with served.client() as client:
        assert client.check(struct).allowed


def test_require_returns_the_allowed_decision(served: Served) -> None:
    with served.client() as client:
        assert client.require(request(records=[record(1)])).allowed


def test_require_raises_transfer_denied_with_the_reasons(served: Served) -> None:
    with served.client() as client, pytest.raises(TransferDenied) as raised:
        client.require(request(records=[ZIP_ONLY], purpose="curiosity"))
    denied = raised.value
    assert not denied.decision.allowed
    assert denied.reasons == denied.decision.reasons
    for reason in denied.reasons:
        assert f"{reason.code}: {reason.message}" in str(denied)
    assert denied.decision.decision_id in str(denied)


def test_check_records_streams_a_generator(served: Served) -> None:
    pulled = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(5_000):
            pulled += 1
            yield record(i, taxable_periods=[]) if i == 4_321 else record(i)

    with served.client() as client:
        decision = client.check_records(request(), records())
    assert pulled == 5_000 and decision.record_count == 5_000
    reasons = {r.code: r for r in decision.reasons}
    assert reasons["record_invalid"].records == (4_321,)
    assert "request_record_limit_exceeded" in reasons  # the memorandum allows 2,500


def test_check_records_sent_again_under_its_key_gets_the_first_decision(served: Served) -> None:
    with served.client() as client:
        first = client.check_records(request(), [record(1), record(2)], idempotency_key="b-1")
        again = client.check_records(request(), [record(1), record(2)], idempotency_key="b-1")
    assert first.allowed and first.decision_id == again.decision_id


def test_check_records_sends_a_file_as_it_is(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    path.write_text("".join(json.dumps(record(i)) + "\n" for i in range(200)))
    with served.client() as client:
        by_path = client.check_records(request(), path)
        by_name = client.check_records(request(), str(path))
        with path.open("rb") as file:
            by_file = client.check_records(request(), file)
    for decision in (by_path, by_name, by_file):
        assert decision.allowed and decision.record_count == 200


def test_a_bad_line_in_a_records_file_is_named(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    path.write_text(json.dumps(record(1)) + "\n{not json\n")
    with served.client() as client, pytest.raises(InvalidRequest) as raised:
        client.check_records(request(), path)
    assert raised.value.status_code == 400
    assert "records:2: not JSON" in str(raised.value)
    assert [p.line for p in raised.value.problems] == [2]


def test_invalid_request_names_the_field(served: Served) -> None:
    with served.client() as client, pytest.raises(InvalidRequest) as raised:
        client.check(request(record_count="three"))
    error = raised.value
    assert error.status_code == 400 and error.field == "record_count"
    assert [p.field for p in error.problems] == ["record_count"]
    assert "record_count" in str(error)
    assert isinstance(error, InvalidInput)  # as the in-process registry raises


def test_a_bad_token_is_refused_and_never_repeated(served: Served) -> None:
    token = "not-a-real-token-5f2c9e"
    with Client(served.url, token) as client, pytest.raises(AuthenticationFailed) as raised:
        client.check(request(records=[record(1)]))
    error = raised.value
    assert error.status_code == 401
    assert token not in str(error) and token not in repr(error) and token not in error.detail
    assert token not in repr(client)


def test_a_system_token_cannot_check_for_another_system(served: Served) -> None:
    with served.client("other_system") as client, pytest.raises(Forbidden) as raised:
        client.check(request(records=[record(1)]))
    assert raised.value.status_code == 403
    assert SYSTEM in str(raised.value)


def test_a_refusal_comes_back_while_records_are_still_streaming(served: Served) -> None:
    with served.client("other_system") as client, pytest.raises(Forbidden):
        client.check_records(request(), records(20_000))  # ~4 MB the server never reads


def test_cancel_releases_an_allowed_decision_once(served: Served) -> None:
    with served.client() as client:
        allowed = client.check(request(records=[record(1)]))
        cancelled = client.cancel(allowed.decision_id, "the export did not happen")
        assert cancelled.cancelled and client.decision(allowed.decision_id).cancelled
        with pytest.raises(ConflictError, match="already cancelled"):
            client.cancel(allowed.decision_id, "again")


def test_require_refuses_a_decision_cancelled_since(served: Served) -> None:
    # The recovery after OutcomeUnknown is to send the check again under its key; if the
    # decision was cancelled meanwhile, that answer allows no export.
    with served.client() as client:
        key = f"require-{uuid.uuid4()}"
        body = request(records=[record(1)])
        allowed = client.require(body, idempotency_key=key)
        client.cancel(allowed.decision_id, "the export did not happen")
        with pytest.raises(TransferDenied, match="cancelled") as raised:
            client.require(body, idempotency_key=key)
    assert raised.value.decision.decision_id == allowed.decision_id
    assert raised.value.decision.allowed and raised.value.decision.cancelled


def test_an_unknown_decision_is_not_found(served: Served) -> None:
    with served.client() as client, pytest.raises(NotFoundError) as raised:
        client.decision("no-such-decision")
    assert raised.value.status_code == 404 and isinstance(raised.value, NotFound)


def test_health_needs_no_token(served: Served) -> None:
    with served.client() as client:
        health = client.health()
    assert health.ok and health.database == "ok"


# --- the retry policy, against scripted transports ----------------------------------------

URL = "http://registry.test"
DECISION = Decision(
    decision_id="d-1",
    allowed=True,
    agreement=AGREEMENT,
    agreement_version=1,
    checkers=("core",),
    reasons=(),
    checked_at=datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC),
)
Step = httpx.Response | Exception


def answer(status: int = 200, **headers: str) -> httpx.Response:
    if status == 200:
        return httpx.Response(200, content=msgspec.json.encode(DECISION), headers=headers)
    body = {"status_code": status, "detail": f"scripted {status}"}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """Answers calls with ``steps`` in turn: a response, or an exception raised as the
    transport would raise it. Records every request and the body the server got."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def client(self, transport: httpx.BaseTransport, **options: Any) -> Client:
        client = Client(URL, "secret-token", transport=transport, backoff=0.001, **options)
        self.waits: list[float] = []
        client._sleep = self.waits.append  # no real waiting
        return client

    def mock(self, **options: Any) -> Client:
        """Through httpx.MockTransport, which reads each body before answering."""
        return self.client(httpx.MockTransport(self._answer), **options)

    def unread(self, **options: Any) -> Client:
        """A transport where a failure comes before the body is read, as when the
        connection is refused."""
        return self.client(_Unread(self), **options)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        self.bodies.append(request.read())
        return step


class _Unread(httpx.BaseTransport):
    def __init__(self, script: Script) -> None:
        self.script = script

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.script._answer(request)


def records(count: int) -> Iterator[dict[str, Any]]:
    return (record(i) for i in range(count))


def ndjson_lines(body: bytes) -> int:
    return len(body.splitlines())


def test_get_retries_on_503_then_succeeds() -> None:
    script = Script(answer(503), answer(503), answer(200))
    with script.mock() as client:
        assert client.decision("d-1") == DECISION
    assert len(script.requests) == 3 and len(script.waits) == 2
    assert script.waits[1] > script.waits[0] / 2  # backs off


def test_get_retries_on_a_read_timeout_until_the_retries_run_out() -> None:
    script = Script(*[httpx.ReadTimeout("slow")] * 3)
    with script.mock(retries=2) as client, pytest.raises(ServiceUnavailable, match="no answer"):
        client.decision("d-1")
    assert len(script.requests) == 3


def test_check_is_retried_after_a_refused_connection() -> None:
    script = Script(httpx.ConnectError("refused"), answer(200))
    with script.mock() as client:
        assert client.check(request()) == DECISION
    assert len(script.requests) == 2


def test_check_is_retried_after_a_read_timeout_under_the_same_key() -> None:
    # Safe: the registry answers a check sent again under its key with the first decision.
    script = Script(httpx.ReadTimeout("timed out"), answer(200))
    with script.mock() as client:
        assert client.check(request()) == DECISION
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36


def test_each_check_has_its_own_key_unless_one_is_given() -> None:
    script = Script(answer(200), answer(200), answer(200))
    with script.mock() as client:
        client.check(request())
        client.check(request())
        client.check(request(), idempotency_key="export-0001")
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert keys[0] != keys[1] and keys[2] == "export-0001"


@pytest.mark.parametrize("status", [502, 504])
def test_check_is_retried_after_a_gateway_error(status: int) -> None:
    script = Script(answer(status), answer(200))
    with script.mock() as client:
        assert client.check(request()) == DECISION
    assert len(script.requests) == 2


def test_check_is_not_retried_after_a_500() -> None:
    script = Script(answer(500), answer(200))
    with script.mock() as client, pytest.raises(ClientError) as raised:
        client.check(request())
    assert len(script.requests) == 1 and raised.value.status_code == 500


def test_a_stream_that_can_be_sent_again_is_retried_under_its_key() -> None:
    script = Script(httpx.ReadTimeout("timed out"), answer(200))
    with script.mock() as client:
        assert client.check_records(request(), [record(1)]) == DECISION
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert ndjson_lines(script.bodies[-1]) == 2  # sent again whole: the request and the record


def test_an_iterator_read_once_is_outcome_unknown_with_its_key() -> None:
    script = Script(httpx.ReadTimeout("timed out"), answer(200))
    with script.mock() as client, pytest.raises(OutcomeUnknown) as raised:
        client.check_records(request(), records(3), idempotency_key="batch-7")
    assert len(script.requests) == 1
    assert raised.value.idempotency_key == "batch-7"
    assert "idempotency_key='batch-7'" in str(raised.value)


def test_check_is_retried_on_503_since_nothing_was_recorded() -> None:
    script = Script(answer(503), answer(200))
    with script.mock() as client:
        assert client.check(request()).allowed
    assert len(script.requests) == 2


CANCELLED = httpx.Response(
    200, content=msgspec.json.encode(msgspec.structs.replace(DECISION, cancelled=True))
)


def test_cancel_is_sent_again_after_a_dropped_connection() -> None:
    script = Script(httpx.RemoteProtocolError("server disconnected"), CANCELLED)
    with script.mock() as client:
        assert client.cancel("d-1", "not exported").cancelled
    assert len(script.requests) == 2


def test_a_cancel_whose_answer_was_lost_is_found_done() -> None:
    """The first attempt went through: the repeat is refused as already cancelled, and the
    decision read back says so."""
    script = Script(httpx.ReadTimeout("slow"), answer(409), CANCELLED)
    with script.mock() as client:
        assert client.cancel("d-1", "not exported").cancelled
    assert [r.method for r in script.requests] == ["POST", "POST", "GET"]


def test_a_conflict_on_the_first_cancel_is_raised() -> None:
    script = Script(answer(409))
    with script.mock() as client, pytest.raises(ConflictError):
        client.cancel("d-1", "not exported")
    assert len(script.requests) == 1


def test_a_conflict_after_a_lost_answer_is_raised_unless_the_decision_is_cancelled() -> None:
    script = Script(httpx.ReadTimeout("slow"), answer(409), answer(200))  # not cancelled
    with script.mock() as client, pytest.raises(ConflictError):
        client.cancel("d-1", "not exported")


def test_a_cancel_never_answered_is_outcome_unknown() -> None:
    script = Script(*[httpx.ReadTimeout("slow")] * 3)
    with script.mock(retries=2) as client, pytest.raises(OutcomeUnknown, match="may have"):
        client.cancel("d-1", "not exported")
    assert len(script.requests) == 3


def test_retry_after_is_honoured() -> None:
    script = Script(answer(503, **{"Retry-After": "2"}), answer(200))
    with script.mock() as client:
        client.check(request())
    assert script.waits == [2.0]


def test_retry_after_as_a_date_is_honoured() -> None:
    soon = email.utils.format_datetime(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=20), usegmt=True
    )
    script = Script(answer(503, **{"Retry-After": soon}), answer(200))
    with script.mock() as client:
        client.decision("d-1")
    assert 15 < script.waits[0] <= 20


def test_retry_after_is_capped() -> None:
    script = Script(answer(503, **{"Retry-After": "3600"}), answer(200))
    with script.mock(max_wait=1.5) as client:
        client.check(request())
    assert script.waits == [1.5]


def test_503_after_the_retries_is_service_unavailable() -> None:
    script = Script(*[answer(503, **{"Retry-After": "1"}) for _ in range(3)])
    with script.mock(retries=2) as client, pytest.raises(ServiceUnavailable) as raised:
        client.check(request())
    assert len(script.requests) == 3
    assert raised.value.status_code == 503 and raised.value.retry_after == 1.0


def test_refused_connections_after_the_retries_are_service_unavailable() -> None:
    script = Script(*[httpx.ConnectError("refused")] * 4)
    with script.mock() as client, pytest.raises(ServiceUnavailable, match="could not reach"):
        client.check(request())
    assert len(script.requests) == 4  # retries=3


def test_a_stream_not_yet_read_is_retried_after_a_refused_connection() -> None:
    script = Script(httpx.ConnectError("refused"), answer(200))
    with script.unread() as client:
        client.check_records(request(), records(10))
    assert len(script.requests) == 2
    assert ndjson_lines(script.bodies[0]) == 11  # the request line and every record


def test_a_consumed_iterator_is_not_sent_again() -> None:
    script = Script(answer(503), answer(200))
    with script.mock() as client, pytest.raises(ServiceUnavailable) as raised:
        client.check_records(request(), records(10))
    assert len(script.requests) == 1
    assert "cannot be sent again" in str(raised.value)


@pytest.mark.parametrize("kind", ["list", "path", "file"])
def test_a_replayable_body_is_sent_again_whole(kind: str, tmp_path: Path) -> None:
    lines = [record(i) for i in range(10)]
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"".join(msgspec.json.encode(r) + b"\n" for r in lines))
    sources: dict[str, Callable[[], Any]] = {
        "list": lambda: lines,
        "path": lambda: path,
        "file": lambda: io.BytesIO(path.read_bytes()),
    }
    script = Script(answer(503), answer(200))
    with script.mock() as client:
        client.check_records(request(), sources[kind]())
    assert len(script.bodies) == 2 and script.bodies[0] == script.bodies[1]
    assert ndjson_lines(script.bodies[1]) == 11


def test_records_go_out_in_chunks_with_the_request_first() -> None:
    script = Script(answer(200))
    with script.mock() as client:
        client.check_records(request(), records(2_000))
    first, *rest = script.bodies[0].splitlines()
    assert json.loads(first)["agreement"] == AGREEMENT and "records" not in json.loads(first)
    assert len(rest) == 2_000 and json.loads(rest[-1]) == record(1_999)
    sent = script.requests[0]
    assert sent.headers["content-type"] == "application/x-ndjson"
    assert sent.headers["transfer-encoding"] == "chunked"  # streamed, not buffered


def test_records_inside_a_streamed_request_are_refused() -> None:
    with Script().mock() as client, pytest.raises(ValueError, match="not inside the request"):
        client.check_records(request(records=[record(1)]), records(1))


def test_every_call_names_the_client_and_carries_the_token() -> None:
    script = Script(answer(200))
    with script.mock() as client:
        client.check(request())
    sent = script.requests[0]
    assert sent.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("agreement-registry-client/")
    assert sent.headers["authorization"] == "Bearer secret-token"


def test_no_error_message_repeats_the_token() -> None:
    leaky = httpx.Response(400, text="bad token secret-token in header")
    script = Script(leaky, httpx.ConnectError("refused secret-token"))
    with script.mock(retries=0) as client:
        with pytest.raises(InvalidRequest) as bad:
            client.check(request())
        with pytest.raises(ServiceUnavailable) as down:
            client.check(request())
    for error in (bad.value, down.value):
        assert "secret-token" not in str(error) and "secret-token" not in error.detail


def test_a_check_in_doubt_after_the_retries_is_outcome_unknown_with_its_key() -> None:
    """An attempt that timed out may have been recorded: "nothing was recorded" would
    invite a second check under a new key, and a second allowed decision."""
    script = Script(httpx.ReadTimeout("slow"), answer(503), httpx.ConnectError("refused"))
    with script.mock(retries=2) as client, pytest.raises(OutcomeUnknown) as raised:
        client.check(request(), idempotency_key="export-0042")
    assert raised.value.idempotency_key == "export-0042"
    assert "idempotency_key='export-0042'" in str(raised.value)
    assert not isinstance(raised.value, ServiceUnavailable)


@pytest.mark.parametrize("status", [502, 504])
def test_a_check_answered_only_by_gateway_errors_is_in_doubt(status: int) -> None:
    script = Script(answer(status), answer(status))
    with script.mock(retries=1) as client, pytest.raises(OutcomeUnknown) as raised:
        client.check(request())
    assert raised.value.idempotency_key == script.requests[0].headers["idempotency-key"]


def test_a_check_only_refused_or_503_is_still_nothing_recorded() -> None:
    script = Script(httpx.ConnectError("refused"), answer(503), answer(503))
    with script.mock(retries=2) as client, pytest.raises(ServiceUnavailable):
        client.check(request())


@pytest.mark.parametrize("records_", [None, [record(1)]], ids=["check", "check_records"])
def test_a_500_after_an_attempt_in_doubt_is_outcome_unknown_with_its_key(
    records_: list[dict[str, Any]] | None,
) -> None:
    # The timed-out attempt may have been recorded: a plain error would read as "failed".
    script = Script(httpx.ReadTimeout("slow"), answer(500))
    with script.mock() as client, pytest.raises(OutcomeUnknown) as raised:
        if records_ is None:
            client.check(request(), idempotency_key="export-0500")
        else:
            client.check_records(request(), records_, idempotency_key="export-0500")
    assert raised.value.idempotency_key == "export-0500"
    assert len(script.requests) == 2


def test_require_sends_the_key_it_is_given() -> None:
    script = Script(answer(200))
    with script.mock() as client:
        assert client.require(request(), idempotency_key="export-0007") == DECISION
    assert script.requests[0].headers["idempotency-key"] == "export-0007"


def test_an_empty_key_is_refused_not_replaced() -> None:
    script = Script(answer(200))
    with script.mock() as client, pytest.raises(ValueError, match="idempotency_key"):
        client.check(request(), idempotency_key="")
    assert script.requests == []


def test_many_retries_wait_at_most_max_wait() -> None:
    script = Script()
    with script.mock(max_wait=7.0) as client:
        client._wait(5000, None)  # 2**5000 seconds, were it not capped
    assert script.waits == [7.0]


def test_a_text_file_read_with_next_is_sent_from_where_it_stands_once(tmp_path: Path) -> None:
    # Python refuses tell() on a text file iterated with next(): not replayable, not a crash.
    path = tmp_path / "records.ndjson"
    path.write_text("".join(msgspec.json.encode(record(i)).decode() + "\n" for i in range(4)))
    script = Script(answer(200))
    with path.open() as file, script.mock() as client:
        next(file)  # a header line the caller skipped, say
        assert client.check_records(request(), file) == DECISION
    assert ndjson_lines(script.bodies[0]) == 1 + 3
    script = Script(httpx.ReadTimeout("slow"), answer(200))
    with path.open() as file, script.mock() as client, pytest.raises(OutcomeUnknown):
        next(file)
        client.check_records(request(), file)
    assert len(script.requests) == 1  # read once, so never sent again
