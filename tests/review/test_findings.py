"""Review findings: each test fails against the current code because of a real bug.

Engine tests run without a database; the others use the shipped agreements on SQLite and
PostgreSQL (``loaded``), like tests/checking.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
from typing import Any

import msgspec
import pytest
from registry_plugins.irc6103.address import is_complete

from registry import ndjson
from registry.checking import decode_request
from registry.engine import core_checks
from registry.errors import InvalidInput
from registry.schemas import Agreement
from registry.service import Registry
from tests.checking.helpers import AGREEMENT, record, request
from tests.conftest import PARTIES, agreement_data
from tests.engine.test_core_checks import make_agreement, make_request, run

# --- the core checker's field walk ---------------------------------------------------------

SPOUSE = msgspec.convert(
    agreement_data(
        fields={
            "permitted": ["taxpayer.name", "taxpayer.tin", "taxpayer.address", "spouse.name"],
            "prohibited": ["return.*"],
        },
    ),
    Agreement,
)


def _person() -> dict[str, Any]:
    return {
        "taxpayer": {
            "name": "Ana Diaz",
            "tin": "900700001",
            "address": {
                "street": "12 Main St",
                "city": "Springfield",
                "state": "IL",
                "zip": "62701",
            },
        }
    }


def _findings(agreement: Agreement, record: dict[str, Any], *, fast: bool) -> list[Any]:
    prepared = core_checks.prepare(agreement)
    if not fast:
        prepared = dataclasses.replace(prepared, clean=lambda _: False)
    return list(core_checks.check_records(prepared, [record], 0))


def test_a_scalar_after_a_table_in_a_list_is_checked_too() -> None:
    # "spouse" itself is not permitted (only "spouse.name" is); the text rides along in a
    # list whose first item is a table, and fieldtree.walk skips every non-table item.
    carrying = {**_person(), "spouse": [{"name": "Bo Diaz"}, "SSN 123-45-6789, wages 88000"]}
    findings = _findings(SPOUSE, carrying, fast=False)
    assert [(f.code, f.field) for f in findings] == [("field_not_permitted", "spouse")]


def test_the_fast_path_never_calls_clean_what_the_exact_walk_refuses() -> None:
    # recordcheck's generated code skips a None value under a partly permitted table (and
    # accepts an empty table there); the exact walk reports "spouse" as not permitted.
    for value in (None, {}):
        record = {**_person(), "spouse": value}
        exact = _findings(SPOUSE, record, fast=False)
        assert [(f.code, f.field) for f in exact] == [("field_not_permitted", "spouse")]
        assert _findings(SPOUSE, record, fast=True) == exact, f"spouse = {value!r}"


def test_the_field_verdict_cache_is_bounded() -> None:
    # Record keys are the caller's; every distinct path is memoised forever per agreement
    # version (request field lists are capped at 1,024, these are not).
    prepared = core_checks.prepare(make_agreement())
    records = [{**_person(), f"x{i}": 1} for i in range(5_000)]
    list(core_checks.check_records(prepared, records, 0))
    assert len(prepared.verdicts) <= 4_096


# --- approvals ------------------------------------------------------------------------------

TWO_APPROVALS = make_agreement(
    request={
        "required": ["signed_by", "case_number"],
        "authorized_signers": ["Director"],
        "approvals": [{"role": "disclosure-officer", "count": 2}],
    }
)


def test_one_approver_in_two_letter_cases_is_one_person(plugins: Any) -> None:
    approvals = [
        {"role": "disclosure-officer", "by": "a.jones"},
        {"role": "disclosure-officer", "by": "A.Jones"},
    ]
    decision = run(plugins, make_request(approvals=approvals), agreement=TWO_APPROVALS)
    assert not decision.allowed
    assert [r.code for r in decision.reasons] == ["approval_missing"]


# --- irc6103 addresses ------------------------------------------------------------------------

ADDRESS = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}


@pytest.mark.parametrize(
    "street",
    ["12 Unknown-Address", "12 Not-Provided", "12 (Unknown)", "12 Don\u2019t Care"],
)
def test_a_placeholder_street_name_is_not_an_address(street: str) -> None:
    # is_placeholder's first-word shortcut splits on spaces only and strips few marks, so
    # PLACEHOLDER (which matches each of these) never runs.
    assert not is_complete({**ADDRESS, "street": street})


# --- odd input ----------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_a_deeply_nested_request_is_invalid_input_not_a_crash() -> None:
    body = json.dumps(request()).encode()
    body = body[:-1] + b', "records": [{"x": ' + _nested(5_000) + b"}]}"
    with pytest.raises(InvalidInput):
        decode_request(body)


def test_a_deeply_nested_ndjson_record_is_invalid_input_not_a_crash() -> None:
    with pytest.raises(InvalidInput):
        list(ndjson.records([b'{"x": ' + _nested(5_000) + b"}\n"]))


# --- the people disclosed -------------------------------------------------------------------------


def _with_tin(i: int, tin: Any) -> dict[str, Any]:
    value = record(i)
    value["taxpayer"]["tin"] = tin
    return value


@pytest.mark.parametrize(
    "tins",
    [[["100000001"], ["100000002"]], [{"ssn": "100000001"}, {"ssn": "100000002"}]],
    ids=["lists", "tables"],
)
def test_every_record_of_an_allowed_transfer_is_accounted(loaded: Registry, tins: list) -> None:
    # A subject key holding a list or a table is not "missing", so the records pass, but
    # normalise() turns it into no identifier at all: nobody is entered in the accounting.
    records = [_with_tin(i, tin) for i, tin in enumerate(tins)]
    decision = loaded.check(request(records=records))
    if decision.allowed:
        (summary,) = loaded.disclosure_summary(AGREEMENT)
        assert summary.people == len(records)


def test_an_identifier_of_dashes_is_no_identifier(loaded: Registry) -> None:
    # "-" and "- -" normalise to "" and are hashed: two people become one empty identity.
    records = [_with_tin(1, "-"), _with_tin(2, "- -")]
    decision = loaded.check(request(records=records))
    assert not decision.allowed
    assert ("record_invalid", "taxpayer.tin") in {(r.code, r.field) for r in decision.reasons}


def test_a_nested_mapping_from_python_is_accounted(loaded: Registry) -> None:
    # The checks accept any dict (isinstance); SubjectSpool reads only exact dicts
    # (type(value) is dict), so the person in an OrderedDict is disclosed unaccounted.
    value = record(1)
    value["taxpayer"] = collections.OrderedDict(value["taxpayer"])
    decision = loaded.check(request(records=[value]))
    assert decision.allowed, decision.reasons
    assert [e.decision_id for e in loaded.disclosures(subject="100000001")] == [
        decision.decision_id
    ]


def test_an_identifier_in_other_digits_is_the_same_person(loaded: Registry) -> None:
    # normalise() treats Arabic-Indic digits as digits (\d) but does not map them to ASCII.
    arabic = "".join(chr(0x0660 + int(d)) for d in "100000001")
    decision = loaded.check(request(records=[_with_tin(1, arabic)]))
    assert decision.allowed, decision.reasons
    assert [e.decision_id for e in loaded.disclosures(subject="100000001")] == [
        decision.decision_id
    ]


@pytest.mark.parametrize(
    "written",
    [
        "100\u201100\u20110001",  # non-breaking hyphens
        "100\u201300\u20130001",  # en dashes
        "100\u221200\u22120001",  # minus signs
        "\uff11\uff10\uff10\uff0d\uff10\uff10\uff0d\uff10\uff10\uff10\uff11",  # full width
        "\ufeff100-00-0001",  # a byte order mark pasted in front
        "100\u200b000001",  # a zero-width space
        "100\u00ad000001",  # a soft hyphen
    ],
    ids=["nb-hyphen", "en-dash", "minus", "full-width", "bom", "zwsp", "soft-hyphen"],
)
def test_an_identifier_written_with_other_dashes_or_invisible_characters_is_one_person(
    loaded: Registry, written: str
) -> None:
    decision = loaded.check(request(records=[_with_tin(1, written), _with_tin(2, "100000001")]))
    assert decision.allowed, decision.reasons
    (summary,) = loaded.disclosure_summary(AGREEMENT)
    assert summary.people == 1
    assert [e.decision_id for e in loaded.disclosures(subject=written)] == [decision.decision_id]


def test_an_identifier_that_is_not_text_is_refused_not_a_crash(loaded: Registry) -> None:
    # A byte that is not UTF-8 on a command line arrives as a lone surrogate.
    decision = loaded.check(request(records=[_with_tin(1, "12\udcff34")]))
    assert not decision.allowed
    assert ("record_invalid", "taxpayer.tin") in {(r.code, r.field) for r in decision.reasons}
    with pytest.raises(InvalidInput):
        loaded.disclosures(subject="12\udcff34")


# --- status --------------------------------------------------------------------------------------


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def test_termination_is_final_whatever_order_the_events_were_recorded_in(
    loaded: Registry,
) -> None:
    loaded.suspend(AGREEMENT, _day("2026-02-01"), "court order", recorded_by="legal")
    loaded.reinstate(AGREEMENT, _day("2026-03-01"), "order lifted", recorded_by="legal")
    loaded.terminate(AGREEMENT, _day("2026-01-01"), "ended by the parties", recorded_by="legal")
    decision = loaded.check(request(on="2026-04-01", record_count=1))
    assert not decision.allowed
    assert "agreement_not_active" in [r.code for r in decision.reasons]


# --- streams ----------------------------------------------------------------------------------


def test_a_party_change_while_a_stream_is_read_is_seen(
    loaded: Registry,
    write_files: Any,
) -> None:
    # check_stream redecides only when the candidates' (id, version, status) changed; the
    # Check keeps the parties (safeguard reviews) of the catalog read before the stream.
    parties = json.loads(json.dumps(PARTIES))
    for party in parties["party"]:
        if party["id"] == "dhs-ice":
            party["safeguards"] = {"status": "open_findings"}
    folder = write_files(parties=parties, folder="revoked")

    def records():  # type: ignore[no-untyped-def]
        yield record(1)
        loaded.load([folder / "parties.toml"])
        yield record(2)

    decision = loaded.checking.check_stream(request(), records(), batch_size=1)
    fresh = loaded.check(request(records=[record(3)]))
    assert "irc6103.safeguards_not_met" in [r.code for r in fresh.reasons]
    assert not decision.allowed, "the stream was decided with the revoked safeguards"


# --- the log ------------------------------------------------------------------------------------


def test_verify_while_checks_are_appended_does_not_report_tampering(
    loaded: Registry,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On SQLite the read runs in one snapshot and this holds trivially; the PostgreSQL run
    # is the one that can fail.
    from registry.store import verify as verify_module

    loaded.check(request(record_count=1))
    real_head = verify_module.head
    other = Registry.open(db_url)

    def head_after_a_concurrent_check(session):  # type: ignore[no-untyped-def]
        other.check(request(record_count=1))  # another process appends, and commits
        return real_head(session)

    monkeypatch.setattr(verify_module, "head", head_after_a_concurrent_check)
    try:
        result = loaded.verify()
    finally:
        other.close()
    assert result.ok, result.problem


# --- what checkers hand back ------------------------------------------------------------------

RECORD_IDS = """
from registry import Checker, Finding, hookimpl

class RecordIds(Checker):
    name = "record_ids"
    applies_to_all = True

    def check_records(self, transfer, prepared, records, start):
        # a plugin bug: record ids where 0-based indexes are expected
        ids = [r["taxpayer"]["tin"] for r in records]
        return [Finding("flagged", "flagged", "taxpayer.tin", ids)]

@hookimpl
def register_checkers():
    return [RecordIds()]
"""


def test_a_malformed_finding_does_not_poison_the_log(db_url: str, tmp_path: Any) -> None:
    # The Finding is not validated: its strings land in Reason.records (tuple[int, ...]),
    # the entry is encoded and hashed, but can never be decoded again.
    import textwrap

    from registry.engine.plugins import build_plugins
    from tests.conftest import AGREEMENTS

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "record_ids.py").write_text(textwrap.dedent(RECORD_IDS))
    registry = Registry.open(db_url, plugins=build_plugins(folder))
    try:
        registry.load([AGREEMENTS])
        decision = registry.check(request(records=[record(1)]))
        assert not decision.allowed
        assert registry.verify().ok, registry.verify().problem
        assert registry.decision(decision.decision_id).allowed is False
    finally:
        registry.close()


# --- threads -------------------------------------------------------------------------------------


def test_concurrent_checks_after_a_catalog_change_do_not_starve_the_pool(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checking.check holds a write connection (queued on the log's lock) and, once it has
    # the lock, opens *another* connection to reload a stale catalog. When as many checks
    # run at once as the pool has connections (5 + 10 overflow by default), every
    # connection is held by a check queued on the lock, and the lock holder waits for one
    # more: a deadlock until the pool timeout (30 s by default; 1 s here to keep the test
    # short), after which checks raise instead of deciding.
    import threading
    import time

    from registry.store.database import create_engine
    from tests.conftest import AGREEMENTS

    registry = Registry.open(db_url)
    registry.db.engine.dispose()
    registry.db.engine = create_engine(db_url, pool_timeout=1)  # the default pool size
    registry.load([AGREEMENTS])
    assert registry.check(request(record_count=1)).allowed  # key and catalog now in use
    registry.suspend("irs-usao-edva-6103i2", _day("2027-01-01"), "review", recorded_by="legal")
    from registry.store import decisions

    lock_head = decisions.lock_head
    first = threading.Event()

    def lock_head_then_pause(session):  # type: ignore[no-untyped-def]
        locked = lock_head(session)
        if not first.is_set():  # the first holder is slow to go on: the others queue
            first.set()
            deadline = time.monotonic() + 5
            while registry.db.engine.pool.checkedout() < 15 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)
        return locked

    monkeypatch.setattr(decisions, "lock_head", lock_head_then_pause)
    threads_count = 15  # exactly the pool: each check needs one connection, or so it seems
    barrier = threading.Barrier(threads_count)
    errors: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            registry.check(request(record_count=1))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")

    workers = [threading.Thread(target=one) for _ in range(threads_count)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        registry.close()
    assert errors == []


def test_two_processes_using_the_subject_key_first_both_decide(
    loaded: Registry, db_url: str
) -> None:
    # The key's id is recorded lazily on first use (service._subject_hasher): read the
    # subject_key rows, insert the first when there is none. Two processes doing so at once
    # on PostgreSQL both read nothing and both insert; the second check fails with a unique
    # violation instead of deciding (seen in tests/checking/test_limit_race.py when it runs
    # after other tests). SQLite's BEGIN IMMEDIATE serialises the read and the insert;
    # PostgreSQL is the case.
    import contextlib
    import threading

    import sqlalchemy as sa

    other = Registry.open(db_url)
    both_read = threading.Barrier(2)

    def after_execute(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "subject_key" in statement:
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait(timeout=5)  # each process has read "no key yet"

    errors: list[str] = []

    def one(registry: Registry) -> None:
        try:
            registry.check(request(record_count=1))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    for registry in (loaded, other):
        sa.event.listen(registry.db.engine, "after_cursor_execute", after_execute)
    workers = [threading.Thread(target=one, args=(r,)) for r in (loaded, other)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        other.close()
    assert errors == []


# --- bytes that are not UTF-8 -----------------------------------------------------------------


def test_a_request_with_a_string_that_is_not_utf8_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8"):
        decode_request(b'{"agreement": "\xff"}')


def test_a_record_line_that_is_not_utf8_names_its_line() -> None:
    lines = [b'{"a": 1}\n', b'{"a": "\xfe"}\n']
    with pytest.raises(InvalidInput, match=r"records:2: not UTF-8"):
        list(ndjson.records(lines, "records"))


def test_the_cli_refuses_a_request_file_that_is_not_utf8_with_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from registry.cli import main

    bad = tmp_path / "check.json"
    bad.write_bytes(b'{"agreement": "\xff", "source_system": "s"}')
    result = CliRunner().invoke(
        main, ["--database", f"sqlite:///{tmp_path / 'r.db'}", "check", str(bad)]
    )
    assert result.exit_code == 2, result.output
    assert "not UTF-8" in result.stderr
