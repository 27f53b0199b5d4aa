"""Checkers run in isolation: a crash denies the transfer and the others still report.

One-off checker plugins are written to a plugins folder in ``tmp_path`` and loaded with
``build_plugins(plugins_dir=...)``; checks run through the engine as the service runs them.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from registry.engine.decide import Candidate, Check
from registry.engine.evaluate import Evaluator
from registry.engine.plugins import Plugins, build_plugins
from registry.schemas import Agreement, CheckRequest, Decision, PartiesFile, Reason
from tests.conftest import PARTIES
from tests.engine.test_core_checks import make_agreement, make_request

ON = datetime.date(2025, 6, 1)
CHECKED_AT = datetime.datetime(2025, 6, 1, 9, 0, tzinfo=datetime.UTC)
PARTY_MAP = {p.id: p for p in msgspec.convert(PARTIES, PartiesFile).party}
ADDRESS = {"street": "12 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}

EXPLODING = """\
    from registry import Checker, hookimpl

    class Exploding(Checker):
        name = "exploding"

        def check_transfer(self, transfer, prepared):
            raise RuntimeError("kaput")

    @hookimpl
    def register_checkers():
        return [Exploding()]
    """

LATE_EXPLODING = """\
    from registry import Checker, Finding, hookimpl

    class LateExploding(Checker):
        name = "late_exploding"

        def check_transfer(self, transfer, prepared):
            yield Finding("first", "a first objection")
            raise RuntimeError("went off mid-way")

    @hookimpl
    def register_checkers():
        return [LateExploding()]
    """

SECOND_BATCH = """\
    from registry import Checker, Finding, hookimpl

    class SecondBatch(Checker):
        name = "second_batch"

        def check_records(self, transfer, prepared, records, start):
            if start > 0:
                raise ValueError(f"cannot read batch at {start}")
            return [Finding("seen", "saw the first batch", "taxpayer.name", [start])]

    @hookimpl
    def register_checkers():
        return [SecondBatch()]
    """

UNPREPARED = """\
    from registry import Checker, hookimpl

    class Unprepared(Checker):
        name = "unprepared"

        def prepare(self, agreement, config):
            raise KeyError("compiled table")

    @hookimpl
    def register_checkers():
        return [Unprepared()]
    """

EVERYWHERE = """\
    from registry import Checker, Finding, hookimpl

    class Everywhere(Checker):
        name = "everywhere"
        applies_to_all = True

        def check_transfer(self, transfer, prepared):
            yield Finding("seen", f"saw {transfer.agreement.id}", "agreement")

    @hookimpl
    def register_checkers():
        return [Everywhere()]
    """

SYSTEM_RULES = """\
    from registry import Checker, Finding, hookimpl

    class SystemRules(Checker):
        name = "system_rules"

        def check_transfer(self, transfer, prepared):
            yield Finding("flagged", f"flagged {transfer.request.source_system}", "source_system")

    @hookimpl
    def register_checkers():
        return [SystemRules()]
    """

PER_RECORD = """\
    from registry import Checker, Finding, hookimpl

    class PerRecord(Checker):
        name = "per_record"

        def check_transfer(self, transfer, prepared):
            yield Finding("many", "too many", "fields", list(range(1500)))

        def check_records(self, transfer, prepared, records, start):
            odd = [start + i for i, _ in enumerate(records) if (start + i) % 2]
            tens = [start + i for i, _ in enumerate(records) if (start + i) % 10 == 0]
            if odd:
                yield Finding("odd", f"odd records from {start}", "taxpayer.name", odd)
                yield Finding("odd", f"odd records from {start}", "taxpayer.tin", odd)
            if tens:
                yield Finding("round", f"round records from {start}", "taxpayer.name", tens)

    @hookimpl
    def register_checkers():
        return [PerRecord()]
    """


def plugin_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    for stem, source in files.items():
        (folder / f"{stem}.py").write_text(textwrap.dedent(source))
    return folder


def with_plugins(tmp_path: Path, **files: str) -> Plugins:
    return build_plugins(plugins_dir=plugin_dir(tmp_path, **files))


def record(name: str = "Ana Diaz") -> dict[str, Any]:
    person: dict[str, Any] = {"tin": "900-70-0001", "address": dict(ADDRESS)}
    if name:
        person["name"] = name
    return {"taxpayer": person}


def run(
    plugins: Plugins,
    request: CheckRequest | None = None,
    *,
    agreements: Sequence[Agreement] | None = None,
    evaluator: Evaluator | None = None,
    batches: Sequence[tuple[int, Sequence[Any]]] = (),
    period_used: Mapping[str, int] | None = None,
) -> Decision:
    request = request or make_request()
    candidates = [Candidate(a, 1, "active") for a in agreements or [make_agreement()]]
    check = Check(evaluator or Evaluator(plugins), request, ON, candidates, PARTY_MAP, {})
    for start, batch in batches:
        check.feed(start, batch)
    return check.decide(
        period_used=period_used or {},
        record_count=sum(len(b) for _, b in batches),
        decision_id="d",
        checked_at=CHECKED_AT,
    )


def by_code(decision: Decision, code: str) -> list[Reason]:
    return [r for r in decision.reasons if r.code == code]


def failed(decision: Decision) -> Reason:
    (reason,) = by_code(decision, "checker_failed")
    return reason


# --- a crash denies, the others still report ---------------------------------------------


def test_a_checker_whose_check_transfer_raises_denies_naming_it(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, exploding=EXPLODING)
    decision = run(plugins, agreements=[make_agreement(required_checkers=["exploding"])])
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "exploding"
    assert "'exploding'" in reason.message
    assert "RuntimeError: kaput" in reason.message
    assert "exploding" in decision.checkers


def test_the_other_checkers_still_report_when_one_raises(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, exploding=EXPLODING)
    agreement = make_agreement(required_checkers=["exploding", "irc6103"])
    request = make_request(
        purpose="marketing", request={"signed_by": "Director", "case_number": "C-1"}
    )
    decision = run(plugins, request, agreements=[agreement])
    assert decision.allowed is False
    assert sorted((r.checker, r.code) for r in decision.reasons) == [
        ("core", "purpose_not_permitted"),
        ("exploding", "checker_failed"),
        ("irc6103", "irc6103.statute_not_permitted"),
    ]


def test_a_checker_that_raises_after_yielding_still_denies(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, late=LATE_EXPLODING)
    decision = run(plugins, agreements=[make_agreement(required_checkers=["late_exploding"])])
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "late_exploding"
    assert "went off mid-way" in reason.message


def test_a_checker_whose_check_records_raises_on_the_second_batch_denies(
    tmp_path: Path,
) -> None:
    plugins = with_plugins(tmp_path, second_batch=SECOND_BATCH)
    agreement = make_agreement(required_checkers=["second_batch"])
    batches = [(0, [record(), record("")]), (2, [record(""), record()]), (4, [record()])]
    decision = run(plugins, agreements=[agreement], batches=batches)
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "second_batch"
    assert "ValueError: cannot read batch at 2" in reason.message
    (invalid,) = by_code(decision, "record_invalid")
    assert (invalid.checker, invalid.field, invalid.records, invalid.record_total) == (
        "core",
        "taxpayer.name",
        (1, 2),
        2,
    )


def test_a_checker_whose_prepare_raises_denies_naming_it(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, unprepared=UNPREPARED)
    agreement = make_agreement(required_checkers=["unprepared"])
    decision = run(plugins, agreements=[agreement], batches=[(0, [record()])])
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "unprepared"
    assert "'unprepared'" in reason.message and "compiled table" in reason.message


def test_a_checker_whose_prepare_raises_does_not_affect_agreements_not_using_it(
    tmp_path: Path,
) -> None:
    plugins = with_plugins(tmp_path, unprepared=UNPREPARED)
    decision = run(plugins, batches=[(0, [record()])])
    assert decision.allowed is True, decision.reasons
    assert decision.checkers == ("core", "irc6103")


def test_a_checker_table_that_does_not_decode_denies(plugins: Plugins) -> None:
    table = {"permitted_statutes": ["8 U.S.C. 1253(a)(1)"], "adress_field": "taxpayer.address"}
    agreement = make_agreement(checkers={"irc6103": table})
    decision = run(plugins, agreements=[agreement])
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "irc6103"
    assert "adress_field" in reason.message


# --- which checkers run ------------------------------------------------------------------


def test_a_checker_that_applies_to_all_runs_on_every_agreement(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, everywhere=EVERYWHERE)
    for agreement in (
        make_agreement(),
        make_agreement(id="plain-dua", kind="dua", required_checkers=[], checkers={}),
    ):
        request = make_request(agreement=agreement.id)
        decision = run(plugins, request, agreements=[agreement])
        assert "everywhere" in decision.checkers
        (reason,) = by_code(decision, "everywhere.seen")
        assert reason.checker == "everywhere"
        assert reason.message == f"saw {agreement.id}"


def test_a_checker_the_data_system_requires_runs(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, system_rules=SYSTEM_RULES)
    agreement = make_agreement(source_systems=["irs-itin-address", "sys"])
    evaluator = Evaluator(plugins, system_checkers={"sys": ("system_rules",)})
    decision = run(
        plugins, make_request(source_system="sys"), agreements=[agreement], evaluator=evaluator
    )
    assert decision.checkers == ("core", "irc6103", "system_rules")
    assert decision.allowed is False
    (reason,) = decision.reasons
    assert (reason.code, reason.checker, reason.field) == (
        "system_rules.flagged",
        "system_rules",
        "source_system",
    )


def test_a_checker_another_data_system_requires_does_not_run(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, system_rules=SYSTEM_RULES)
    agreement = make_agreement(source_systems=["irs-itin-address", "sys"])
    evaluator = Evaluator(plugins, system_checkers={"sys": ("system_rules",)})
    decision = run(plugins, agreements=[agreement], evaluator=evaluator)
    assert decision.allowed is True, decision.reasons
    assert decision.checkers == ("core", "irc6103")


def test_a_checker_the_data_system_requires_that_is_not_installed_denies(
    plugins: Plugins,
) -> None:
    evaluator = Evaluator(plugins, system_checkers={"irs-itin-address": ("house_rules",)})
    decision = run(plugins, evaluator=evaluator)
    assert decision.allowed is False
    (reason,) = decision.reasons
    assert (reason.code, reason.checker) == ("checker_missing", "core")
    assert "'house_rules'" in reason.message


# --- plugin reasons ----------------------------------------------------------------------


def test_plugin_reason_codes_are_namespaced_by_the_checker_name(tmp_path: Path) -> None:
    plugins = with_plugins(tmp_path, system_rules=SYSTEM_RULES)
    agreement = make_agreement(required_checkers=["system_rules"])
    decision = run(plugins, agreements=[agreement])
    assert [(r.code, r.checker) for r in decision.reasons] == [
        ("system_rules.flagged", "system_rules")
    ]


def test_a_transfer_finding_keeps_the_first_1000_record_indexes_and_the_total(
    tmp_path: Path,
) -> None:
    plugins = with_plugins(tmp_path, per_record=PER_RECORD)
    decision = run(plugins, agreements=[make_agreement(required_checkers=["per_record"])])
    (reason,) = by_code(decision, "per_record.many")
    assert reason.records == tuple(range(1000))
    assert reason.record_total == 1500


def test_record_findings_from_several_batches_merge_into_one_reason_per_code_and_field(
    tmp_path: Path,
) -> None:
    plugins = with_plugins(tmp_path, per_record=PER_RECORD)
    agreement = make_agreement(required_checkers=["per_record"])
    batches = [
        (0, [record() for _ in range(5)]),
        (5, [record() for _ in range(7)]),
        (12, [record() for _ in range(12)]),
    ]
    decision = run(plugins, agreements=[agreement], batches=batches)
    odd = tuple(range(1, 24, 2))
    found = [
        (r.code, r.field, r.records, r.record_total)
        for r in decision.reasons
        if r.checker == "per_record" and r.code != "per_record.many"
    ]
    assert found == [
        ("per_record.odd", "taxpayer.name", odd, len(odd)),
        ("per_record.odd", "taxpayer.tin", odd, len(odd)),
        ("per_record.round", "taxpayer.name", (0, 10, 20), 3),
    ]


def test_merged_record_findings_keep_the_first_1000_indexes_across_batches(
    tmp_path: Path,
) -> None:
    plugins = with_plugins(tmp_path, per_record=PER_RECORD)
    agreement = make_agreement(required_checkers=["per_record"], limits={})
    batch = [record() for _ in range(900)]
    batches = [(0, batch), (900, batch), (1800, batch)]
    decision = run(plugins, agreements=[agreement], batches=batches)
    (odd,) = [r for r in by_code(decision, "per_record.odd") if r.field == "taxpayer.name"]
    assert odd.records == tuple(range(1, 2000, 2))
    assert odd.record_total == 1350


# --- a plugin that raises what is not an Exception -----------------------------------------

EXITING = """\
    import sys
    from registry import Checker, hookimpl

    class Exiting(Checker):
        name = "exiting"

        def prepare(self, agreement, config):
            if agreement.id.endswith("prepare"):
                sys.exit(3)
            return None

        def check_transfer(self, transfer, prepared):
            if transfer.agreement.id.endswith("interrupt"):
                raise KeyboardInterrupt
            if transfer.agreement.id.endswith("transfer"):
                sys.exit(3)
            return ()

        def check_records(self, transfer, prepared, records, start):
            raise SystemExit("records")

    @hookimpl
    def register_checkers():
        return [Exiting()]
    """


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("prepare", "could not read its table: SystemExit: 3"),
        ("transfer", "SystemExit: 3"),
        ("interrupt", "KeyboardInterrupt"),
        ("records", "SystemExit: records"),
    ],
)
def test_a_checker_raising_systemexit_or_keyboardinterrupt_denies_like_any_failure(
    tmp_path: Path, where: str, message: str
) -> None:
    plugins = with_plugins(tmp_path, exiting=EXITING)
    agreement = make_agreement(id=f"mou-{where}", required_checkers=["exiting"])
    batches = [(0, [record()])] if where == "records" else []
    decision = run(plugins, make_request(agreement=agreement.id), agreements=[agreement],
                   batches=batches)  # fmt: skip
    assert decision.allowed is False
    reason = failed(decision)
    assert reason.checker == "exiting"
    assert message in reason.message
