"""Checkers that hang or raise, and a process with the wrong subject key: nothing allowed."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest

from registry.checking import decode_request
from registry.engine.plugins import build_plugins
from registry.errors import SchemaError
from registry.service import Registry
from registry.settings import Settings
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS

SLOW = """
import time
from registry import Checker, hookimpl

class Slow(Checker):
    name = "slow"
    applies_to_all = True

    def check_transfer(self, transfer, prepared):
        time.sleep(3)
        return ()

@hookimpl
def register_checkers():
    return [Slow()]
"""


def test_a_hanging_checker_denies_after_the_deadline(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "slow.py").write_text(textwrap.dedent(SLOW))
    settings = Settings.from_env(db_url, str(folder))
    registry = Registry.open(db_url, plugins=build_plugins(folder))
    registry.checking.timeout = 0.3
    try:
        registry.load([AGREEMENTS])
        decision = registry.check(request(records=[record(1)]))
        assert not decision.allowed
        assert [r.code for r in decision.reasons] == ["checker_failed"]
        assert "took over 0.3 s" in decision.reasons[0].message
        assert registry.decision(decision.decision_id).allowed is False
        assert registry.disclosure_summary() == []
    finally:
        registry.close()
    assert settings.plugins_dir == str(folder)


def test_a_process_with_another_subject_key_is_refused(db_url: str, monkeypatch) -> None:
    with Registry.open(db_url) as first:
        first.load([AGREEMENTS])
        first.check(request(records=[record(1)]))
    monkeypatch.setenv("REGISTRY_SUBJECT_KEY", "ab" * 32)
    with Registry.open(db_url) as other:
        assert other.verify().ok  # reading the log needs no key
        with pytest.raises(SchemaError, match="hashed with subject key"):
            other.check(request(records=[record(2)]))
        with pytest.raises(SchemaError, match="hashed with subject key"):
            other.disclosures(subject="100000001")
        assert len(other.decisions()) == 1


def test_a_malformed_subject_key_is_a_configuration_error(db_url: str, monkeypatch) -> None:
    from registry.errors import ConfigError

    monkeypatch.setenv("REGISTRY_SUBJECT_KEY", "not-hex")
    with Registry.open(db_url) as registry, pytest.raises(ConfigError, match="hexadecimal"):
        registry.check(request())


def test_invalid_requests_are_refused_before_any_decision(db_url: str) -> None:
    from registry.errors import InvalidInput

    with Registry.open(db_url) as registry:
        registry.load([AGREEMENTS])
        for bad, field in (
            (request(record_count="3"), "record_count"),
            (request(fields=["taxpayer..name"]), "fields[0]"),
            (request(surprise=True), None),
            (request(on="2025-02-30"), "on"),
            (request(source_system=None), None),
        ):
            with pytest.raises(InvalidInput) as caught:
                registry.check(bad)
            if field:
                assert caught.value.problems[0].field == field
        with pytest.raises(InvalidInput):
            registry.check(b'{"source_system": ')
        assert registry.decisions() == []


def test_hung_checkers_never_take_every_worker(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "slow.py").write_text(textwrap.dedent(SLOW))
    registry = Registry.open(db_url, plugins=build_plugins(folder))
    registry.checking.timeout = 0.05
    try:
        registry.load([AGREEMENTS])
        for _ in range(10):  # more than the 8 workers of one pool, each left hanging
            decision = registry.check(request(record_count=1))
            assert [r.code for r in decision.reasons] == ["checker_failed"]
        # the hung threads sleep on for about 3 s: a check queued behind them would miss
        # a 1 s deadline
        registry.checking.timeout = 1.0
        registry.checking.evaluator.plugins.checkers.pop("slow")
        registry.checking.evaluator._cache.clear()
        assert registry.check(request(record_count=1)).allowed
    finally:
        registry.close()


def test_checks_queued_behind_hung_checkers_run_when_their_pool_is_retired(
    db_url: str,
) -> None:
    # Eight hung checkers fill a pool; a ninth check waits in its queue. When the first
    # hung one misses its deadline the pool is retired and its queue cancelled: the
    # waiting check must then run in the new pool, not fail with CancelledError.
    registry = Registry.open(db_url)
    registry.checking.timeout = 0.3
    release = threading.Event()
    outcomes: list[object] = []

    def hung() -> None:
        try:
            registry.checking._run(lambda: release.wait(10))
        except TimeoutError:
            outcomes.append("timed out")

    try:
        threads = [threading.Thread(target=hung) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)  # the eight hold every worker of the pool
        registry.checking.timeout = 5.0  # the ninth's own deadline: well after theirs
        assert registry.checking._run(lambda: "decided") == "decided"
        for thread in threads:
            thread.join()
        assert outcomes == ["timed out"] * 8
    finally:
        release.set()
        registry.close()


SLOW_PREPARE = """
import time
from registry import Checker, hookimpl

class SlowPrepare(Checker):
    name = "slow_prepare"
    applies_to_all = True

    def prepare(self, agreement, config):
        time.sleep(1.5)
        return "ready"

    def check_transfer(self, transfer, prepared):
        assert prepared == "ready"
        return ()

@hookimpl
def register_checkers():
    return [SlowPrepare()]
"""


@pytest.mark.parametrize("batched", [False, True], ids=["one", "batch"])
def test_a_hanging_prepare_denies_after_the_deadline_then_serves_once_done(
    db_url: str, tmp_path: Path, batched: bool
) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "slow_prepare.py").write_text(textwrap.dedent(SLOW_PREPARE))
    registry = Registry.open(db_url, plugins=build_plugins(folder))
    registry.checking.timeout = 0.3
    body = request(records=[record(1)])
    try:
        registry.load([AGREEMENTS])
        started = time.monotonic()
        if batched:
            both = [decode_request(body), decode_request(body)]
            decision, *_ = registry.checking.check_batch(both)
        else:
            decision = registry.check(body)
        assert time.monotonic() - started < 1.4  # not held until the prepare returned
        assert not decision.allowed
        assert {r.code for r in decision.reasons} == {"checker_failed"}
        assert any("preparing it took over 0.3 s" in r.message for r in decision.reasons)
        time.sleep(1.5)  # the abandoned preparation finishes, and is kept
        assert registry.check(body).allowed
    finally:
        registry.close()
