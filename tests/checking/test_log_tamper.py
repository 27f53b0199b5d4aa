"""The decision log is tamper-evident: verification names the first bad entry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.cli import main
from registry.service import Registry
from tests.checking.helpers import record, request


def _fill(registry: Registry) -> list[str]:
    ids = [
        registry.check(request(records=[record(i), record(i + 100)])).decision_id for i in range(3)
    ]
    ids.append(registry.check(request(purpose="denied-purpose")).decision_id)
    registry.cancel(ids[0], "export failed")
    return ids


def _sql(registry: Registry, statement: str) -> None:
    with registry.db.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_an_untouched_log_verifies(loaded: Registry) -> None:
    _fill(loaded)
    result = loaded.verify()
    assert (result.ok, result.entries, result.problem) == (True, 5, None)


def test_an_altered_body_is_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "UPDATE decision_log SET body = replace(body, 'dhs-ice', 'dhs-cbp') WHERE seq = 2")
    result = loaded.verify()
    assert not result.ok and result.seq == 2
    assert result.problem == "entry 2 was altered: its content no longer matches its hash"
    assert result.entries == 1


def test_an_altered_column_is_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "UPDATE decision_log SET records_counted = 0 WHERE seq = 3")
    result = loaded.verify()
    assert not result.ok and result.seq == 3
    assert "column records_counted" in (result.problem or "")


def test_a_flipped_denial_is_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "UPDATE decision_log SET allowed = TRUE WHERE seq = 4")
    result = loaded.verify()
    assert not result.ok and result.seq == 4 and "column allowed" in (result.problem or "")


def test_a_removed_entry_is_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "DELETE FROM decision_log WHERE seq = 3")
    result = loaded.verify()
    assert not result.ok
    assert result.problem == "entry 3 is missing (the log jumps from 2 to 4)"


def test_removed_last_entries_are_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "DELETE FROM decision_log WHERE seq >= 4")
    result = loaded.verify()
    assert not result.ok
    assert "the log ends at entry 3 but its head records entry 5" in (result.problem or "")


def test_a_rehashed_entry_breaks_the_next_link(loaded: Registry) -> None:
    from registry.store.decisions import entry_hash

    _fill(loaded)
    with loaded.db.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT body, prev_hash FROM decision_log WHERE seq = 2")).one()
        body = row.body.replace("dhs-ice", "dhs-cbp")
        conn.execute(
            sa.text(
                "UPDATE decision_log SET body = :b, hash = :h, recipient = 'dhs-cbp' WHERE seq = 2"
            ),
            {"b": body, "h": entry_hash(2, row.prev_hash, body)},
        )
    result = loaded.verify()
    assert not result.ok and result.seq == 3
    assert "entry 3 does not follow entry 2" in (result.problem or "")


def test_an_altered_disclosure_is_named(loaded: Registry) -> None:
    _fill(loaded)
    _sql(loaded, "DELETE FROM disclosure WHERE decision_seq = 2 AND ordinal = 1")
    result = loaded.verify()
    assert not result.ok and result.seq == 2
    assert "disclosure entries were altered (1 found, 2 recorded)" in (result.problem or "")


def test_cli_verify_exits_1_naming_the_entry(loaded: Registry, db_url: str) -> None:
    _fill(loaded)
    runner = CliRunner()
    ok = runner.invoke(main, ["--database", db_url, "decisions", "verify"])
    assert ok.exit_code == 0 and "decision log verified: 5 entries" in ok.output
    _sql(loaded, "UPDATE decision_log SET purpose = 'other' WHERE seq = 5")
    bad = runner.invoke(main, ["--database", db_url, "decisions", "verify"])
    assert bad.exit_code == 1
    assert "entry 5" in bad.output


def _insert_cancel(registry: Registry, seq: int, of: str) -> None:
    """A forged cancellation of decision ``of`` at ``seq``, as one SQL insert would add it
    (the head left where it was)."""
    from registry.store.tables import decision_log

    with registry.db.engine.begin() as conn:
        row = dict(
            conn.execute(sa.select(decision_log).where(decision_log.c.decision_id == of))
            .mappings()
            .one()
        )
        row.update(seq=seq, kind="cancel", records_counted=-row["records_counted"], hash="x")
        conn.execute(sa.insert(decision_log), row)


def test_an_entry_numbered_below_1_is_named(loaded: Registry) -> None:
    ids = _fill(loaded)
    _insert_cancel(loaded, 0, ids[1])
    assert loaded.decision(ids[1]).cancelled  # what the forged row does to the accounting
    result = loaded.verify()
    assert not result.ok and result.seq == 0
    assert result.problem == "an entry numbered 0 was inserted: the log starts at 1"
    assert not loaded.report().log.ok


def test_an_entry_past_the_head_is_named(loaded: Registry) -> None:
    ids = _fill(loaded)
    _insert_cancel(loaded, 6, ids[1])
    result = loaded.verify()
    assert not result.ok and result.seq == 6
    assert result.problem == (
        "entry 6 lies past the log's head (entry 5): it was inserted without moving the head"
    )


def test_entries_appended_while_the_log_is_read_are_verified_too(loaded: Registry) -> None:
    _fill(loaded)
    from registry.store import verify as verifying

    real_head = verifying.head
    calls = 0

    def head_then_append(session: object) -> tuple[int, str]:
        nonlocal calls
        calls += 1
        found = real_head(session)  # type: ignore[arg-type]
        if calls == 1:  # another process checks once the head was read
            loaded.check(request(records=[record(7)]))
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verifying, "head", head_then_append)
        result = loaded.verify()
    if loaded.db.dialect == "sqlite":  # a read transaction sees one snapshot
        assert (result.ok, result.entries, calls) == (True, 5, 1)
    else:  # each statement sees what was committed before it: the head is read again
        assert (result.ok, result.entries, calls) == (True, 6, 2)


def test_a_report_on_an_altered_log_says_so_instead_of_failing(loaded: Registry) -> None:
    ids = _fill(loaded)
    _sql(loaded, "UPDATE decision_log SET body = substr(body, 1, 40) WHERE seq = 4")  # the denial
    report = loaded.report()
    assert not report.log.ok and report.log.seq == 4
    assert [d.agreement for d in report.disclosures] == ["irs-ice-2025-mou"]
    assert report.denials == ()  # the one denial cannot be read any more
    assert len(ids) == 4
