"""The registry over HTTP, for data systems that run elsewhere: the same checks and the same
:class:`~registry.schemas.Decision` as ``registry.connect().check()``, built on httpx::

    from registry.client import Client

    with Client("https://registry.example.gov", token) as client:
        decision = client.require(request)                        # or raises TransferDenied
        decision = client.check_records(request, "records.ndjson")  # streamed, any size

Errors are :class:`ClientError` subclasses carrying ``status_code``, ``detail`` and ``field``;
they double as the in-process errors (:class:`InvalidRequest` is an
:class:`~registry.errors.InvalidInput`, and so on), so code written against ``Registry``
catches the same things. No message ever contains the token.

Retry policy. A check is recorded before it is answered, and an allowed one counts toward
the agreement's limits and enters the disclosure accounting, so a check is retried only
when it certainly was not recorded:

- GET (``decision``, ``health``): retried on any connection failure or timeout and on
  502, 503 and 504 answers (``health`` returns a 503's health report instead).
- POST ``/v1/checks`` (``check``, ``require``): every call carries an ``Idempotency-Key``
  (a new UUID, or the one the caller gives), and the registry answers a check sent again
  with the same key with the decision it logged the first time. So a check is retried
  like a GET: after a read timeout, a dropped connection, or a 502, 503 or 504. To repeat
  a check later yourself, pass the same ``idempotency_key``.
- POST ``/v1/checks/records`` (``check_records``): under an idempotency key too, and
  retried as a check when its records can be sent again (below).
- Once an attempt of a keyed check may have been recorded (it was sent and no answer came
  back, or the answer was a 502 or 504), a later failure (the retries used up, or a 5xx
  answer to a retry) raises :class:`OutcomeUnknown` carrying the key, never an error that
  says nothing was recorded.
- POST ``/v1/decisions/{id}/cancel``: no key, but a cancellation happens once, so it is
  sent again after a lost answer and a repeat refused as already cancelled is read back.
- A streamed records body is sent again only if it can be replayed from its start: a
  path, a seekable file, or a re-iterable collection such as a list. An iterator that
  has been (even partly) consumed is never sent again.
- At most ``retries`` retries, waiting ``backoff * 2**n`` seconds (n = 0, 1, 2, ...), half of
  it randomised (jitter), or longer if the server's ``Retry-After`` asks for it; no wait
  is longer than ``max_wait`` seconds.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import os
import random
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec

from .errors import Conflict, DatabaseUnavailable, InvalidInput, NotFound, RegistryError
from .schemas import CheckRequest, Decision, Problem, Reason

__all__ = [
    "AuthenticationFailed",
    "Client",
    "ClientError",
    "ConflictError",
    "Forbidden",
    "Health",
    "InvalidRequest",
    "NotFoundError",
    "OutcomeUnknown",
    "ServiceUnavailable",
    "TransferDenied",
]

CHUNK_BYTES = 64 * 1024
try:
    _VERSION = metadata.version("agreement-registry")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    _VERSION = "unknown"
USER_AGENT = f"agreement-registry-client/{_VERSION}"

# The request certainly never left this process: safe to send again, whatever it is.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Mistakes in the call itself: sending again cannot help.
_NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
_GET_RETRY = frozenset({502, 503, 504})
_POST_RETRY = frozenset({503})

CheckInput = CheckRequest | Mapping[str, Any]
Records = Iterable[Mapping[str, Any]] | str | os.PathLike[str] | IO[bytes] | IO[str]


# --- errors -------------------------------------------------------------------------------


class ClientError(RegistryError):
    """The registry refused the call or could not be reached. ``status_code`` is the HTTP
    status (None when no answer came), ``detail`` the server's message, ``field`` the
    offending field when there is one, ``problems`` every problem the server listed."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: str | None = None,
        field: str | None = None,
        problems: Iterable[Problem] = (),
    ) -> None:
        Exception.__init__(self, message)
        self.status_code = status_code
        self.detail = detail if detail is not None else message
        self.field = field
        self.problems = list(problems)


class InvalidRequest(ClientError, InvalidInput):
    """400, 413, 415 or 422: the input was refused and nothing was recorded."""


class AuthenticationFailed(ClientError):
    """401: the token is missing, unknown, expired or revoked."""


class Forbidden(ClientError):
    """403: the token's role may not do this, or a system token asked for another system."""


class NotFoundError(ClientError, NotFound):
    """404: no such decision (a system token sees only its own system's decisions)."""


class ConflictError(ClientError, Conflict):
    """409: the change conflicts with the stored state (say, cancelling twice)."""


class ServiceUnavailable(ClientError, DatabaseUnavailable):
    """503, or no connection, after the retries the policy allows. Nothing was recorded:
    the same call may be made again later. ``retry_after`` is the server's hint, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class OutcomeUnknown(ClientError):
    """The request was sent, or may have been, but no usable answer came back: the
    registry may have recorded the decision (or the cancellation). Look it up before
    checking again; a check made again is a new decision, and an allowed one counts again
    toward the agreement's limits.

    For :meth:`Client.check`, ``idempotency_key`` is the key every attempt carried: the
    same check sent again with it later gets the decision recorded, if one was, or is
    decided then, never twice."""

    def __init__(self, message: str, *, idempotency_key: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.idempotency_key = idempotency_key


class TransferDenied(RegistryError):
    """:meth:`Client.require` was told no, or got a decision cancelled since. ``decision``
    is the whole decision and ``reasons`` every reason; the message lists their codes and
    messages (or says the decision was cancelled)."""

    def __init__(self, decision: Decision) -> None:
        under = (
            f"{decision.agreement} v{decision.agreement_version}"
            if decision.agreement and decision.agreement_version is not None
            else decision.agreement or "no agreement"
        )
        where = f"(decision {decision.decision_id}, {under}):"
        if decision.allowed and decision.cancelled:
            lines = [f"transfer no longer allowed {where}"]
            lines.append("- the decision was cancelled: check again for a new one")
        else:
            lines = [f"transfer denied {where}"]
            lines += [f"- {r.code}: {r.message}" for r in decision.reasons] or [
                "- (no reason given)"
            ]
        super().__init__("\n".join(lines))
        self.decision = decision
        self.reasons: tuple[Reason, ...] = decision.reasons


# --- answers ------------------------------------------------------------------------------


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /health`` says: ``status`` is "ok" when the database answers."""

    status: str
    database: str
    version: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _ErrorBody(msgspec.Struct, kw_only=True):
    status_code: int | None = None
    detail: str | None = None
    field: str | None = None
    problems: tuple[Problem, ...] = ()


_encoder = msgspec.json.Encoder()
_decision = msgspec.json.Decoder(Decision)
_health = msgspec.json.Decoder(Health)
_error_body = msgspec.json.Decoder(_ErrorBody)


# --- bodies -------------------------------------------------------------------------------


class _Stream:
    """A streamed body, and whether it may be sent again: only if it can start over, or if
    nothing has been read from it yet."""

    def __init__(self, chunks: Callable[[], Iterator[bytes]], *, replayable: bool) -> None:
        self._chunks = chunks
        self.replayable = replayable
        self.started = False

    def stream(self) -> Iterator[bytes]:
        self.started = True  # runs when httpx reads the first chunk, not before
        yield from self._chunks()

    def resendable(self) -> bool:
        return self.replayable or not self.started


Content = bytes | _Stream | None


def _resendable(body: Content) -> bool:
    return body.resendable() if isinstance(body, _Stream) else True


def _request_json(request: CheckInput, *, streamed: bool) -> bytes:
    if isinstance(request, CheckRequest):
        if streamed and request.records is not None:
            raise ValueError("give the records to check_records, not inside the request")
        return _encoder.encode(request)
    if isinstance(request, Mapping):
        body = dict(request)
        if streamed:
            if body.get("records") is not None:
                raise ValueError("give the records to check_records, not inside the request")
            body.pop("records", None)
        return _encoder.encode(body)
    raise TypeError(f"a check request is a dict or a CheckRequest, not {type(request).__name__}")


def _encoded(head: bytes, records: Iterable[Any]) -> Iterator[bytes]:
    buffer = bytearray(head)
    buffer += b"\n"
    for record in records:
        _encoder.encode_into(record, buffer, -1)
        buffer += b"\n"
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _copied(head: bytes, file: IO[bytes] | IO[str]) -> Iterator[bytes]:
    """The file's bytes as they are, after the request line, 64 KB at a time."""
    yield head + b"\n"
    while block := file.read(CHUNK_BYTES):
        yield block.encode() if isinstance(block, str) else block


def _records_body(head: bytes, records: Records) -> _Stream:
    if isinstance(records, (str, os.PathLike)):
        path = Path(records)
        if not path.is_file():
            raise FileNotFoundError(f"no records file at {path}")

        def from_path() -> Iterator[bytes]:
            with path.open("rb") as file:
                yield from _copied(head, file)

        return _Stream(from_path, replayable=True)
    if isinstance(records, (bytes, bytearray, memoryview)):
        raise TypeError("records are dicts, a path or a file, not bytes")
    if hasattr(records, "read"):
        file: Any = records
        start = _position(file)

        def from_file() -> Iterator[bytes]:
            if start is not None:
                file.seek(start)
            yield from _copied(head, file)

        return _Stream(from_file, replayable=start is not None)
    if not isinstance(records, Iterable):
        raise TypeError(f"records are dicts, a path or a file, not {type(records).__name__}")
    iterable: Iterable[Any] = records
    one_shot = iter(iterable) is iterable
    return _Stream(lambda: _encoded(head, iterable), replayable=not one_shot)


def _position(file: Any) -> int | None:
    """Where a seekable file stands, to send it again from there; None when it cannot be
    told (a pipe, or a text file read with ``next()``: Python refuses its ``tell()``), and
    the file is then sent once, like an iterator."""
    if not _seekable(file):
        return None
    try:
        return int(file.tell())
    except (OSError, ValueError):
        return None


def _seekable(file: Any) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


# --- the client ---------------------------------------------------------------------------


class Client:
    """A connection to the registry at ``url`` with an API ``token``.

    ``timeout`` is in seconds, for connecting and for each read and write; ``retries`` and
    ``backoff`` follow the module's retry policy, and no wait exceeds ``max_wait`` seconds.
    ``transport`` is an httpx transport (for tests, or a custom TLS set-up). Use it as a
    context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = httpx.URL(url)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("the registry URL must start with http:// or https:// and name a host")
        if base.userinfo:
            raise ValueError("put no credentials in the registry URL; the token authenticates")
        if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
            raise ValueError("the token must be a non-empty string without spaces")
        if retries < 0 or backoff < 0 or max_wait < 0:
            raise ValueError("retries, backoff and max_wait must not be negative")
        self.url = str(base).rstrip("/")
        self.retries, self.backoff, self.max_wait = retries, backoff, max_wait
        self._token = token
        self._auth = {"Authorization": f"Bearer {token}"}
        self._sleep: Callable[[float], object] = time.sleep
        self._http = httpx.Client(
            base_url=url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- calls ----------------------------------------------------------------------------

    def check(self, request: CheckInput, *, idempotency_key: str | None = None) -> Decision:
        """Decide a transfer (records, if any, inside the request). Allowed or denied, the
        decision is returned; it has been recorded. The call is idempotent under
        ``idempotency_key`` (a new UUID when not given): sent again with the same key, the
        check gets the decision logged the first time."""
        body = _request_json(request, streamed=False)
        return self._keyed_check("/v1/checks", body, "application/json", idempotency_key)

    def check_records(
        self, request: CheckInput, records: Records, *, idempotency_key: str | None = None
    ) -> Decision:
        """Decide a transfer whose records are streamed as NDJSON in bounded memory:
        ``records`` is an iterable of dicts, or a path or file of NDJSON lines sent as they
        are. ``request`` must not hold records itself.

        Sent under ``idempotency_key`` (a new UUID when not given), so records that can be
        sent again (a path, a seekable file, a list) are retried like a check; an iterator,
        once read, cannot be, and a lost answer then raises OutcomeUnknown with the key."""
        body = _records_body(_request_json(request, streamed=True), records)
        return self._keyed_check(
            "/v1/checks/records", body, "application/x-ndjson", idempotency_key
        )

    def require(
        self,
        request: CheckInput,
        records: Records | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Decision:
        """The allowed decision, or :class:`TransferDenied` with every reason. A decision
        allowed and cancelled since (a check sent again under the key of one that was
        cancelled gets it back) is refused too: it allows no export any more."""
        key = idempotency_key
        if records is None:
            decision = self.check(request, idempotency_key=key)
        else:
            decision = self.check_records(request, records, idempotency_key=key)
        if not decision.allowed or decision.cancelled:
            raise TransferDenied(decision)
        return decision

    def decision(self, decision_id: str) -> Decision:
        """One recorded decision, with every reason and whether it was cancelled."""
        answer = self._call("GET", self._decision_path(decision_id), None, idempotent=True)
        return self._decision(answer)

    def cancel(self, decision_id: str, reason: str) -> Decision:
        """Release an allowed decision whose export did not happen.

        Sent again when its answer is lost (a cancellation happens once: a repeat of one
        that went through answers 409, and the decision, read back, shows it cancelled,
        which is then the answer). A 409 to the first attempt is raised as it is."""
        path = f"{self._decision_path(decision_id)}/cancel"
        body = _encoder.encode({"reason": reason})
        attempt = 0
        while True:
            try:
                answer = self._post(path, body, "application/json", "the cancellation")
                return self._decision(answer)
            except OutcomeUnknown:
                if attempt >= self.retries:
                    raise
            except ConflictError:
                if attempt == 0:
                    raise
                found = self.decision(decision_id)
                if found.cancelled:
                    return found
                raise
            self._wait(attempt, None)
            attempt += 1

    def health(self) -> Health:
        """Whether the service and its database answer (no token needed). A 503 from the
        registry is returned as its report, with ``ok`` false."""
        answer = self._call(
            "GET",
            "/health",
            None,
            idempotent=True,
            retry_on=frozenset({502, 504}),
            accept=frozenset({503}),
            auth=False,
        )
        try:
            return _health.decode(answer.content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            if answer.is_success:
                raise self._unexpected(answer, "a health report") from None
            raise self._error(answer, idempotent=True, outcome="") from None

    # --- machinery ------------------------------------------------------------------------

    @staticmethod
    def _decision_path(decision_id: str) -> str:
        if not decision_id:
            raise ValueError("a decision id is required")
        return f"/v1/decisions/{urllib.parse.quote(decision_id, safe='')}"

    def _keyed_check(
        self, path: str, body: Content, content_type: str, key: str | None
    ) -> Decision:
        """POST a check under an idempotency key (a new UUID when none is given): every
        attempt carries the same key, so retries are safe."""
        if key == "":
            raise ValueError("idempotency_key is empty: give a key, or None for a new one")
        key = key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            path,
            body,
            idempotent=True,
            content_type=content_type,
            outcome="a decision",
            headers={"Idempotency-Key": key},
            key=key,
        )
        return self._decision(answer)

    def _post(self, path: str, body: Content, content_type: str, outcome: str) -> httpx.Response:
        return self._call(
            "POST", path, body, idempotent=False, content_type=content_type, outcome=outcome
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Content,
        *,
        idempotent: bool,
        content_type: str | None = None,
        retry_on: frozenset[int] | None = None,
        accept: frozenset[int] = frozenset(),
        outcome: str = "",
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        """``key``: the call's idempotency key, which makes its retries safe; when the
        retries run out and some attempt may have been recorded (sent, then no answer or
        a 502/504), the failure is OutcomeUnknown carrying the key, never "nothing was
        recorded"."""
        headers = {**(self._auth if auth else {}), **(headers or {})}
        if content_type:
            headers["Content-Type"] = content_type
        if retry_on is None:
            retry_on = _GET_RETRY if idempotent else _POST_RETRY
        attempt = 0
        in_doubt = False  # an attempt may have been recorded
        while True:
            content = body.stream() if isinstance(body, _Stream) else body
            try:
                answer = self._http.request(method, path, content=content, headers=headers)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, _NEVER_SENT)
                in_doubt = in_doubt or not never_sent
                may_retry = (idempotent or never_sent) and not isinstance(exc, _NOT_TRANSIENT)
                if may_retry and _resendable(body) and attempt < self.retries:
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                if key is not None and in_doubt and not isinstance(exc, _NOT_TRANSIENT):
                    raise self._in_doubt(method, path, key, f"{type(exc).__name__}") from exc
                failed = self._failed(exc, method, path, attempt, idempotent or never_sent, outcome)
                raise failed from exc
            in_doubt = in_doubt or answer.status_code in (502, 504)
            if answer.status_code in retry_on and attempt < self.retries and _resendable(body):
                self._wait(attempt, _retry_after(answer))
                attempt += 1
                continue
            if not answer.is_success and answer.status_code not in accept:
                if key is not None and in_doubt and answer.status_code >= 500:
                    raise self._in_doubt(method, path, key, f"HTTP {answer.status_code}")
                raise self._error(answer, idempotent=idempotent, outcome=outcome, body=body)
            return answer

    def _in_doubt(self, method: str, path: str, key: str, last: str) -> OutcomeUnknown:
        return OutcomeUnknown(
            self._safe(
                f"{method} {path}: no decision came back after {self.retries + 1} attempts "
                f"(last: {last}), and one of them may have been recorded; send the same "
                f"check again with idempotency_key={key!r} to get that decision, if any, "
                "or a new one, never both"
            ),
            idempotency_key=key,
        )

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        delay = self.backoff * 2 ** min(attempt, 60)  # max_wait caps it long before
        delay = delay / 2 + random.uniform(0, delay / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self._sleep(min(delay, self.max_wait))

    def _decision(self, answer: httpx.Response) -> Decision:
        try:
            return _decision.decode(answer.content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise self._unexpected(answer, "a decision") from None

    def _unexpected(self, answer: httpx.Response, wanted: str) -> ClientError:
        request = answer.request
        return ClientError(
            self._safe(
                f"{request.method} {request.url.path} answered {answer.status_code} "
                f"but not with {wanted} (is {self.url} the registry?)"
            ),
            status_code=answer.status_code,
        )

    def _failed(
        self,
        exc: httpx.TransportError,
        method: str,
        path: str,
        attempt: int,
        nothing_recorded: bool,
        outcome: str,
    ) -> ClientError:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        tries = f" after {attempt + 1} attempts" if attempt else ""
        if isinstance(exc, _NOT_TRANSIENT):
            return ClientError(self._safe(f"{method} {path} could not be sent ({what})"))
        if isinstance(exc, _NEVER_SENT):
            return ServiceUnavailable(
                self._safe(f"could not reach the registry at {self.url}{tries} ({what})")
            )
        if nothing_recorded:
            return ServiceUnavailable(
                self._safe(f"{method} {path}: no answer from {self.url}{tries} ({what})")
            )
        return OutcomeUnknown(self._safe(_unknown(method, path, what, outcome)))

    def _error(
        self, answer: httpx.Response, *, idempotent: bool, outcome: str, body: Content = None
    ) -> ClientError:
        status = answer.status_code
        parsed = _parse_error(answer)
        detail = self._safe(parsed.detail or answer.reason_phrase or "no detail given")
        request = answer.request
        where = f"{request.method} {request.url.path}"
        message = f"{where}: HTTP {status}: {detail}"
        kw: dict[str, Any] = {
            "status_code": status,
            "detail": detail,
            "field": parsed.field,
            "problems": parsed.problems,
        }
        if status == 413 and request.url.path.endswith("/v1/checks"):
            message += " (stream large record sets with check_records)"
        if status in (400, 413, 415, 422):
            return InvalidRequest(message, **kw)
        if status == 401:
            return AuthenticationFailed(message, **kw)
        if status == 403:
            return Forbidden(message, **kw)
        if status == 404:
            return NotFoundError(message, **kw)
        if status == 409:
            return ConflictError(message, **kw)
        if status == 503:
            if not _resendable(body):
                message += (
                    "; the records iterator was already read and cannot be sent again: "
                    "nothing was recorded, check again with the records from the start"
                )
            return ServiceUnavailable(message, retry_after=_retry_after(answer), **kw)
        if status >= 500 and not idempotent:
            return OutcomeUnknown(
                _unknown(request.method, request.url.path, message, outcome), **kw
            )
        if status in (502, 504):
            return ServiceUnavailable(message, retry_after=_retry_after(answer), **kw)
        return ClientError(message, **kw)

    def _safe(self, text: str) -> str:
        """Never let the token into a message, wherever the text came from."""
        return text.replace(self._token, "[token]")


def _unknown(method: str, path: str, what: str, outcome: str) -> str:
    recorded = outcome or "the change"
    if outcome == "a decision":
        advice = (
            "find it with Client.decision() or in GET /v1/decisions before checking again; "
            "a check made again is decided and recorded again, and if allowed counts again "
            "toward the agreement's limits"
        )
    else:
        advice = "look it up with Client.decision() before trying again"
    return (
        f"{method} {path}: the request was sent but no usable answer came back ({what}); "
        f"the registry may have recorded {recorded}: {advice}"
    )


def _parse_error(answer: httpx.Response) -> _ErrorBody:
    try:
        return _error_body.decode(answer.content)
    except (msgspec.ValidationError, msgspec.DecodeError):
        text = " ".join(answer.text.split())[:300]
        return _ErrorBody(detail=text or None)


def _retry_after(answer: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None."""
    value = answer.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
