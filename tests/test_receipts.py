"""Signed receipts: the format, verifying offline, the key file, and receipts from checks."""

from __future__ import annotations

import base64
import datetime
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import registry
from registry.checking import decode_request as decode
from registry.errors import ConfigError, InvalidInput, NotFound, SchemaError
from registry.receipts import InvalidReceipt, Signer, keys_from_json, verify
from registry.schemas import CheckRequest, Decision
from registry.service import Registry
from registry.store import keys as key_store
from tests.checking.helpers import AGREEMENT, record, request
from tests.conftest import AGREEMENTS

CHECKED_AT = datetime.datetime(2025, 6, 1, 14, 3, 11, 123456, tzinfo=datetime.UTC)
REQUEST = msgspec.convert(request(), CheckRequest)
ALLOWED = Decision(
    decision_id="5b0c1f0e-8f62-4d7e-9d84-0c8a7c1d2e3f",
    allowed=True,
    agreement=AGREEMENT,
    agreement_version=2,
    checkers=("core", "irc6103"),
    reasons=(),
    checked_at=CHECKED_AT,
    on=datetime.date(2025, 6, 1),
    record_count=3,
    source_system="irs-itin-address",
    recipient="dhs-ice",
    purpose="nontax-criminal-investigation",
)
SIGNER = Signer.generate()
KEYS = {SIGNER.key_id: SIGNER.public_key_hex}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _reason(receipt: str, keys: dict[str, str] = KEYS) -> tuple[str, str]:
    with pytest.raises(InvalidReceipt) as caught:
        verify(receipt, keys)
    return caught.value.code, str(caught.value)


# --- the format ------------------------------------------------------------------------------


def test_a_signed_receipt_verifies_and_says_what_was_allowed() -> None:
    payload = verify(SIGNER.sign(ALLOWED, REQUEST), KEYS)
    assert payload.v == 1
    assert payload.kid == SIGNER.key_id
    assert (payload.decision_id, payload.agreement, payload.agreement_version) == (
        ALLOWED.decision_id,
        AGREEMENT,
        2,
    )
    assert (payload.source_system, payload.recipient, payload.purpose) == (
        "irs-itin-address",
        "dhs-ice",
        "nontax-criminal-investigation",
    )
    assert payload.fields == ("taxpayer.name", "taxpayer.address")
    assert (payload.record_count, payload.on, payload.checked_at) == (
        3,
        datetime.date(2025, 6, 1),
        CHECKED_AT,
    )


def test_the_receipt_is_two_base64url_parts_of_sorted_json_and_its_ed25519_signature() -> None:
    receipt = SIGNER.sign(ALLOWED, REQUEST)
    body, signature = receipt.split(".")
    assert "=" not in receipt
    data = json.loads(_unb64(body))
    assert list(data) == sorted(data)
    assert data["checked_at"] == "2025-06-01T14:03:11.123456Z"
    assert data["on"] == "2025-06-01"
    assert len(_unb64(signature)) == 64
    # anyone can check it with the raw public key and a stock Ed25519 implementation
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(SIGNER.public_key_hex))
    public.verify(_unb64(signature), _unb64(body))


def test_the_same_decision_gives_the_same_receipt() -> None:
    assert SIGNER.sign(ALLOWED, REQUEST) == SIGNER.sign(ALLOWED, REQUEST)


def test_a_denied_decision_cannot_be_signed() -> None:
    denied = msgspec.structs.replace(ALLOWED, allowed=False)
    with pytest.raises(ValueError, match="was not allowed"):
        SIGNER.sign(denied, REQUEST)


def test_a_tampered_payload_fails_with_bad_signature() -> None:
    body, signature = SIGNER.sign(ALLOWED, REQUEST).split(".")
    data = json.loads(_unb64(body))
    data["record_count"] = 3000
    forged = _b64(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    code, message = _reason(f"{forged}.{signature}")
    assert code == "bad_signature"
    assert "does not match the payload" in message


def test_a_tampered_signature_fails() -> None:
    body, signature = SIGNER.sign(ALLOWED, REQUEST).split(".")
    raw = bytearray(_unb64(signature))
    raw[0] ^= 1
    assert _reason(f"{body}.{_b64(bytes(raw))}")[0] == "bad_signature"


def test_a_receipt_signed_with_another_key_under_a_known_id_fails() -> None:
    other = Signer.generate()
    body, _ = SIGNER.sign(ALLOWED, REQUEST).split(".")
    _, signature = other.sign(ALLOWED, REQUEST).split(".")
    assert _reason(f"{body}.{signature}")[0] == "bad_signature"


def test_the_wrong_public_key_for_the_id_fails() -> None:
    other = Signer.generate()
    code, message = _reason(SIGNER.sign(ALLOWED, REQUEST), {SIGNER.key_id: other.public_key_hex})
    assert code == "unknown_key"
    assert "has another id" in message


def test_an_unknown_key_id_fails() -> None:
    other = Signer.generate()
    code, message = _reason(other.sign(ALLOWED, REQUEST))
    assert code == "unknown_key"
    assert f"key id '{other.key_id}' is not one of the registry's keys" in message


def test_another_version_is_refused() -> None:
    body = _b64(json.dumps({"kid": SIGNER.key_id, "v": 2}).encode())
    assert _reason(f"{body}.{_b64(bytes(64))}")[0] == "unsupported_version"
    # a later format may name its key otherwise: still another version, not malformed
    body = _b64(json.dumps({"key": SIGNER.key_id, "v": 2}).encode())
    assert _reason(f"{body}.{_b64(bytes(64))}")[0] == "unsupported_version"
    body = _b64(json.dumps({"v": 1}).encode())
    assert _reason(f"{body}.{_b64(bytes(64))}") == (
        "malformed",
        "invalid receipt: the payload names no key (kid)",
    )


def test_a_signed_payload_that_is_not_a_receipt_does_not_decode() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    signer = Signer(private)
    body = json.dumps({"kid": signer.key_id, "v": 1, "decision_id": 7}).encode()
    receipt = f"{_b64(body)}.{_b64(private.sign(body))}"
    code, message = _reason(receipt, {signer.key_id: signer.public_key_hex})
    assert code == "undecodable"
    assert "does not decode" in message


@pytest.mark.parametrize(
    ("receipt", "message"),
    [
        ("", "two base64url parts"),
        ("abc", "two base64url parts"),
        ("a.b.c", "two base64url parts"),
        ("abc.", "two base64url parts"),
        ("ab+c.def", "two base64url parts"),
        ("abcde.AAAA", "payload is not base64url"),
        ("abd.AAAA", "payload is not canonical base64url"),
        ("e30.AAAA", "signature is not 64 bytes"),
        (f"{_b64(b'[1, 2]')}.{_b64(bytes(64))}", "not a receipt's JSON"),
        (f"{_b64(b'not json')}.{_b64(bytes(64))}", "not a receipt's JSON"),
    ],
)
def test_garbage_is_malformed_with_a_clear_message(receipt: str, message: str) -> None:
    code, text = _reason(receipt)
    assert code == "malformed"
    assert text.startswith("invalid receipt: ")
    assert message in text


def test_surrounding_whitespace_is_ignored() -> None:
    assert verify(f"  {SIGNER.sign(ALLOWED, REQUEST)}\n", KEYS).kid == SIGNER.key_id


def test_an_invalid_receipt_is_invalid_input() -> None:
    assert issubclass(InvalidReceipt, InvalidInput)


_B64 = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=120
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.builds(lambda a, b: f"{a}.{b}", _B64, _B64)))
def test_arbitrary_text_only_ever_raises_invalid_receipt(text: str) -> None:
    with pytest.raises(InvalidReceipt):
        verify(text, KEYS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=64, max_size=64))
def test_arbitrary_payload_bytes_only_ever_raise_invalid_receipt(
    body: bytes, signature: bytes
) -> None:
    with pytest.raises(InvalidReceipt):
        verify(f"{_b64(body)}.{_b64(signature)}", KEYS)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_change_to_a_valid_receipt_fails(data: st.DataObject) -> None:
    receipt = SIGNER.sign(ALLOWED, REQUEST)
    index = data.draw(st.integers(0, len(receipt) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != receipt[index]))
    changed = receipt[:index] + replacement + receipt[index + 1 :]
    if changed.strip() == receipt:  # whitespace at either end is trimmed
        return
    with pytest.raises(InvalidReceipt):
        verify(changed, KEYS)


def test_keys_are_read_from_the_listing_or_a_plain_mapping() -> None:
    listing = msgspec.json.encode([SIGNER.public(CHECKED_AT)])
    assert keys_from_json(listing) == KEYS
    assert keys_from_json(json.dumps(KEYS)) == KEYS
    with pytest.raises(InvalidInput, match="key_id and public_key"):
        keys_from_json(b"[1]")
    with pytest.raises(InvalidInput, match="not JSON"):
        keys_from_json(b"{")
    # One key as GET /v1/keys lists it: taken as that key, not as a map of "key_id" to a kid.
    one = msgspec.json.encode(SIGNER.public(CHECKED_AT))
    assert keys_from_json(one) == KEYS
    for not_keys in (b'{"keys": "x"}', b'{"a": "b"}', json.dumps({"kid": "x" * 64}).encode()):
        with pytest.raises(InvalidInput, match="key_id and public_key"):
            keys_from_json(not_keys)


# --- the key file ----------------------------------------------------------------------------


def test_the_key_file_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing-key.pem"
    first = Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    again = Signer.load_or_create(path)
    assert (again.key_id, again.public_key_hex) == (first.key_id, first.public_key_hex)
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]


def test_processes_starting_at_once_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    start = threading.Barrier(12)
    ids: list[str] = []

    def load() -> None:
        start.wait()
        ids.append(Signer.load_or_create(path).key_id)

    threads = [threading.Thread(target=load) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 12
    assert set(ids) == {Signer.load_or_create(path).key_id}
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]


def test_a_key_file_that_is_not_a_key_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        Signer.load_or_create(path)


def test_a_key_of_another_kind_is_a_config_error(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    path = tmp_path / "signing-key.pem"
    path.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="does not hold an Ed25519 key"):
        Signer.load_or_create(path)


# --- receipts from checks ----------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "signing" / "signing-key.pem"
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(path))
    return path


@pytest.fixture
def reg(db_url: str, key_file: Path) -> Iterator[Registry]:
    opened = registry.connect(db_url)
    opened.load([AGREEMENTS])
    try:
        yield opened
    finally:
        opened.close()


def _database_keys(reg: Registry) -> dict[str, str]:
    return {k.key_id: k.public_key for k in reg.public_keys()}


def test_an_allowed_check_carries_a_receipt_verified_with_the_databases_keys(
    reg: Registry, key_file: Path
) -> None:
    assert reg.public_keys() == []  # no key before the first check
    decision = reg.check(request(records=[record(1), record(2)]))
    assert decision.allowed and decision.receipt
    payload = verify(decision.receipt, _database_keys(reg))
    assert payload.decision_id == decision.decision_id
    assert (payload.agreement, payload.agreement_version) == (AGREEMENT, 1)
    assert payload.record_count == 2
    assert payload.checked_at == decision.checked_at
    assert reg.verify_receipt(decision.receipt) == payload
    [key] = reg.public_keys()
    assert key.key_id == Signer.load_or_create(key_file).key_id
    assert key.algorithm == "Ed25519"


def test_a_denied_decision_has_no_receipt(reg: Registry) -> None:
    decision = reg.check(request(purpose="tax-administration"))
    assert not decision.allowed
    assert decision.receipt is None
    assert reg.receipt_for(decision.decision_id) is None


def test_a_streamed_check_carries_a_receipt(reg: Registry) -> None:
    decision = reg.check_stream(request(), iter([record(1), record(2), record(3)]))
    assert decision.allowed
    assert decision.receipt is not None
    assert reg.verify_receipt(decision.receipt).record_count == 3


def test_the_receipt_is_not_logged_and_is_derived_again(reg: Registry, db_url: str) -> None:
    decision = reg.check(request(records=[record(1)]))
    assert reg.decision(decision.decision_id).receipt is None
    assert reg.verify().ok
    with registry.connect(db_url) as other:  # another process with the same key file
        assert other.receipt_for(decision.decision_id) == decision.receipt


def test_a_cancelled_decision_has_no_receipt_any_more(reg: Registry) -> None:
    decision = reg.check(request(records=[record(1)]))
    reg.cancel(decision.decision_id, "export failed", by="ops")
    assert reg.receipt_for(decision.decision_id) is None


def test_receipt_for_an_unknown_decision_is_not_found(reg: Registry) -> None:
    with pytest.raises(NotFound):
        reg.receipt_for("nope")


def test_a_new_key_file_adds_a_key_and_old_receipts_still_verify(
    reg: Registry, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = reg.check(request(records=[record(1)]))
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "rotated.pem"))
    with registry.connect(db_url) as rotated:
        new = rotated.check(request(records=[record(2)]))
        assert new.receipt and old.receipt
        assert rotated.verify_receipt(new.receipt).kid != rotated.verify_receipt(old.receipt).kid
        assert len(rotated.public_keys()) == 2
        # re-derived with the current key: another receipt, valid as well
        again = rotated.receipt_for(old.decision_id)
        assert again and again != old.receipt
        assert rotated.verify_receipt(again).decision_id == old.decision_id


def test_the_key_file_a_first_check_creates_is_read_once(reg: Registry, key_file: Path) -> None:
    assert not key_file.exists()
    made: list[Signer] = []
    make = reg.checking._make_signer

    def counted() -> Signer:
        made.append(make())
        return made[-1]

    reg.checking._make_signer = counted  # type: ignore[method-assign]
    for i in range(3):
        reg.check(request(records=[record(i + 1)]))
    assert key_file.exists() and len(made) == 1


def test_a_key_file_replaced_under_a_running_registry_signs_the_next_check(
    reg: Registry, key_file: Path, tmp_path: Path
) -> None:
    old = reg.check(request(records=[record(1)]))
    assert old.receipt
    old_kid = reg.verify_receipt(old.receipt).kid
    same = reg.check(request(records=[record(2)]))
    assert same.receipt and reg.verify_receipt(same.receipt).kid == old_kid  # read once
    fresh = tmp_path / "fresh.pem"
    Signer.load_or_create(fresh)
    fresh.replace(key_file)  # as an operator rotating the key would
    new = reg.check(request(records=[record(3)]))
    assert new.receipt
    assert reg.verify_receipt(new.receipt).kid == Signer.load_or_create(key_file).key_id
    assert reg.verify_receipt(new.receipt).kid != old_kid
    assert len(reg.public_keys()) == 2
    assert reg.verify_receipt(old.receipt).kid == old_kid  # still verifies


@pytest.mark.parametrize(
    ("change", "differ"),
    [
        ({"recipient": "usao-edva"}, "recipient"),
        ({"fields": ["taxpayer.name", "taxpayer.address", "return.income"]}, "fields"),
        ({"purpose": "other-purpose"}, "purpose"),
    ],
)
def test_a_receipt_signed_with_the_key_but_not_as_logged_is_a_mismatch(
    reg: Registry, key_file: Path, change: dict[str, object], differ: str
) -> None:
    # Whoever holds a copy of the key can sign anything under a real decision's id; the
    # registry, which has the log, tells it apart.
    body = request(records=[record(1)])
    allowed = reg.check(body)
    forged_request = msgspec.convert({**body, **change}, CheckRequest)
    forged = Signer.load_or_create(key_file).sign(allowed, forged_request)
    assert verify(forged, {k.key_id: k.public_key for k in reg.public_keys()})  # offline: fine
    with pytest.raises(InvalidReceipt, match=differ) as raised:
        reg.verify_receipt(forged)
    assert raised.value.code == "mismatch"
    assert reg.verify_receipt(allowed.receipt or "").decision_id == allowed.decision_id


def test_a_receipt_made_for_a_denied_decision_is_a_mismatch(reg: Registry, key_file: Path) -> None:
    denied = reg.check(request(records=[record(1)], fields=["return.income"]))
    assert not denied.allowed
    as_if_allowed = msgspec.structs.replace(denied, allowed=True, agreement_version=1)
    forged = Signer.load_or_create(key_file).sign(as_if_allowed, decode(request()))
    with pytest.raises(InvalidReceipt, match="it was denied") as raised:
        reg.verify_receipt(forged)
    assert raised.value.code == "mismatch"


def test_an_unreadable_key_file_fails_the_check_before_anything_is_logged(
    db_url: str, key_file: Path
) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text("not a key")
    with registry.connect(db_url) as reg:
        reg.load([AGREEMENTS])
        with pytest.raises(ConfigError):
            reg.check(request(records=[record(1)]))
        assert reg.decisions() == []


def test_registering_a_key_twice_keeps_one_row(reg: Registry) -> None:
    signer = Signer.generate()
    for _ in range(2):
        with reg.db.write() as session:
            key_store.register(session, signer.key_id, signer.public_key_hex)
    assert [k.key_id for k in reg.public_keys()] == [signer.key_id]
    with pytest.raises(SchemaError, match="another public key"), reg.db.write() as session:
        key_store.register(session, signer.key_id, Signer.generate().public_key_hex)


def test_registries_registering_one_new_key_at_once_end_with_one_row(
    reg: Registry, db_url: str
) -> None:
    opened = [registry.connect(db_url) for _ in range(4)]
    start = threading.Barrier(len(opened))
    errors: list[BaseException] = []

    def first_check(r: Registry) -> None:
        start.wait()
        try:
            assert r.check(request(records=[record(1)])).receipt
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_check, args=(r,)) for r in opened]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for r in opened:
        r.close()
    assert errors == []
    assert len(reg.public_keys()) == 1
