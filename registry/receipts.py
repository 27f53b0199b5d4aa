"""Signed receipts for allowed decisions, and verifying them offline.

An allowed decision carries a receipt: a compact string the exporting system attaches to
the export, and that the recipient or an auditor verifies later with nothing but the
registry's public key. A transfer that arrives without a valid receipt stands out.

The format (version 1) is two base64url parts (RFC 4648 section 5, no ``=`` padding)
joined by a dot::

    base64url(payload) "." base64url(signature)

- ``payload`` is the JSON of :class:`ReceiptPayload`, UTF-8, keys sorted, no spaces:
  ``v`` (1), ``kid``, ``decision_id``, ``agreement``, ``agreement_version``,
  ``source_system``, ``recipient``, ``purpose``, ``fields`` (as the request named them),
  ``record_count``, ``on`` (``YYYY-MM-DD``) and ``checked_at`` (RFC 3339, UTC).
- ``signature`` is the 64-byte Ed25519 signature (RFC 8032) of exactly those payload bytes.
- ``kid`` names the signing key: the first 16 hex digits of the SHA-256 of the raw 32-byte
  public key. The registry lists its keys (``registry receipts keys``, ``GET /v1/keys``).

Ed25519 is deterministic, so the same decision signed with the same key always gives the
same receipt: the log need not store it. Verifying accepts only the canonical encoding (no
padding, no stray bits), so one payload has exactly one valid receipt per key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import ConfigError, InvalidInput
from .schemas.check import CheckRequest, Decision
from .schemas.receipt import PublicKey, ReceiptPayload

VERSION = 1
ALGORITHM = "Ed25519"
_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class InvalidReceipt(InvalidInput):
    """A receipt that does not verify. ``code`` says why, for programs: ``malformed``,
    ``unsupported_version``, ``unknown_key``, ``bad_signature`` or ``undecodable``; checked
    against a registry's log (not offline), also ``unknown_decision``, ``cancelled`` or
    ``mismatch`` (validly signed, but not what the log holds: the key is in other hands).

    A subclass of :class:`InvalidInput`: a receipt is input the caller hands over, and one
    that fails is refused without anything being written (the HTTP API answers 4xx).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"invalid receipt: {message}")
        self.code = code


class _Head(msgspec.Struct):
    """The two payload keys read before the signature is checked (which key, which format)."""

    kid: str | None = None  # read after the version: another format may name keys otherwise
    v: int = VERSION


_head = msgspec.json.Decoder(_Head)
_payload = msgspec.json.Decoder(ReceiptPayload)


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def payload_for(kid: str, decision: Decision, request: CheckRequest) -> ReceiptPayload:
    """What the receipt of an allowed decision says."""
    if not decision.allowed or decision.agreement is None or decision.agreement_version is None:
        raise ValueError(f"decision {decision.decision_id} was not allowed: it has no receipt")
    return ReceiptPayload(
        v=VERSION,
        kid=kid,
        decision_id=decision.decision_id,
        agreement=decision.agreement,
        agreement_version=decision.agreement_version,
        source_system=request.source_system,
        recipient=request.recipient,
        purpose=request.purpose,
        fields=tuple(request.fields),
        record_count=decision.record_count,
        on=decision.on or decision.checked_at.date(),
        checked_at=decision.checked_at,
    )


class Signer:
    """Signs receipts with one Ed25519 private key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        public = private.public_key()
        self.key_id = key_id(public)
        self.public_key_hex = public.public_bytes(*_RAW).hex()

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """The key in ``path`` (PEM, PKCS #8, unencrypted), created on first use readable by
        its owner only. Processes starting at once end with one key: the file appears
        complete or not at all, and whoever loses the race reads the winner's."""
        if not path.exists():
            _create(path)
        return cls(_read(path))

    def sign(self, decision: Decision, request: CheckRequest) -> str:
        """The receipt of an allowed decision (``request`` as logged: its fields count)."""
        body = msgspec.json.encode(payload_for(self.key_id, decision, request), order="sorted")
        return f"{_b64(body)}.{_b64(self._private.sign(body))}"

    def public(self, created_at: datetime.datetime) -> PublicKey:
        return PublicKey(key_id=self.key_id, public_key=self.public_key_hex, created_at=created_at)


def verify(receipt: str, keys: Mapping[str, str]) -> ReceiptPayload:
    """The payload of a valid receipt; :class:`InvalidReceipt` says why one is not.

    ``keys`` maps key ids to raw public keys in hex (``registry receipts keys``).
    """
    if not isinstance(receipt, str):
        raise InvalidReceipt("malformed", "a receipt is text")
    parts = receipt.strip().split(".")
    if len(parts) != 2 or not all(_PART.match(part) for part in parts):
        raise InvalidReceipt(
            "malformed", "expected two base64url parts joined by a dot (payload.signature)"
        )
    body, signature = _unb64(parts[0], "payload"), _unb64(parts[1], "signature")
    if len(signature) != 64:
        raise InvalidReceipt("malformed", "the signature is not 64 bytes long")
    try:
        head = _head.decode(body)
    except (ValueError, RecursionError) as exc:  # msgspec's errors, bad UTF-8
        raise InvalidReceipt("malformed", "the payload is not a receipt's JSON") from exc
    if head.v != VERSION:
        raise InvalidReceipt(
            "unsupported_version", f"version {head.v} is not supported (only {VERSION})"
        )
    if head.kid is None:
        raise InvalidReceipt("malformed", "the payload names no key (kid)")
    public_hex = keys.get(head.kid)
    if public_hex is None:
        raise InvalidReceipt(
            "unknown_key", f"key id {head.kid[:40]!r} is not one of the registry's keys"
        )
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    except (ValueError, TypeError) as exc:
        raise InvalidReceipt(
            "unknown_key", f"the public key given for key id {head.kid} is not an Ed25519 key"
        ) from exc
    if key_id(public) != head.kid:
        raise InvalidReceipt(
            "unknown_key", f"the public key given for key id {head.kid} has another id"
        )
    try:
        public.verify(signature, body)
    except InvalidSignature as exc:
        raise InvalidReceipt(
            "bad_signature",
            f"the signature does not match the payload under key {head.kid}: "
            "the receipt was altered or signed with another key",
        ) from exc
    try:
        return _payload.decode(body)
    except (ValueError, RecursionError) as exc:  # msgspec's errors, bad UTF-8
        raise InvalidReceipt(
            "undecodable", f"the signed payload does not decode: {exc}".replace("`", "'")
        ) from exc


_KID = re.compile(r"[0-9a-f]{16}")
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def keys_from_json(data: bytes | str) -> dict[str, str]:
    """Key ids to public keys, from JSON as ``registry receipts keys`` and ``GET /v1/keys``
    print it (a list of keys), or a plain object of key id to public key hex."""
    try:
        value: Any = msgspec.json.decode(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"the keys are not JSON: {exc}") from exc
    if isinstance(value, dict) and isinstance(value.get("keys"), list):
        value = value["keys"]
    if isinstance(value, dict) and "key_id" in value:
        value = [value]  # one key, as an element of the list
    if isinstance(value, dict) and all(
        isinstance(k, str) and _KID.fullmatch(k) and isinstance(v, str) and _HEX_KEY.fullmatch(v)
        for k, v in value.items()
    ):
        return dict(value)
    if isinstance(value, list) and all(
        isinstance(item, dict)
        and isinstance(item.get("key_id"), str)
        and isinstance(item.get("public_key"), str)
        for item in value
    ):
        return {item["key_id"]: item["public_key"] for item in value}
    raise InvalidInput(
        "the keys must be a list of objects with key_id and public_key "
        "(as 'registry receipts keys' prints them), or an object of key id to public key hex"
    )


# --- encoding -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str, what: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidReceipt("malformed", f"the {what} is not base64url") from exc
    if _b64(data) != part:
        raise InvalidReceipt("malformed", f"the {what} is not canonical base64url")
    return data


# --- the key file -----------------------------------------------------------------------------


def _create(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: ``link`` fails
    when the name exists, so exactly one process's key wins, and it is whole when seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        except OSError:  # a file system without hard links: exclusive create instead
            _create_exclusive(path, pem)
    except OSError as exc:
        raise ConfigError(f"cannot create the signing key file {path}: {exc.strerror}") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _create_exclusive(path: Path, pem: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _read(path: Path) -> Ed25519PrivateKey:
    # A key written by exclusive create may be seen half-written for a moment: read again.
    for attempt in range(20):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the signing key file {path}: {exc.strerror}") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            if attempt < 19 and b"-----END PRIVATE KEY-----" not in data:
                time.sleep(0.05)
                continue
            raise ConfigError(
                f"the signing key file {path} is not an unencrypted PEM (PKCS #8) private key"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"the signing key file {path} does not hold an Ed25519 key")
        return key
    raise AssertionError("unreachable")


__all__ = [
    "InvalidReceipt",
    "PublicKey",
    "ReceiptPayload",
    "Signer",
    "key_id",
    "keys_from_json",
    "payload_for",
    "verify",
]
