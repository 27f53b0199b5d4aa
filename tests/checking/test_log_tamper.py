"""The decision log is tamper-evident: verification names the first bad entry."""

from __future__ import annotations

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
