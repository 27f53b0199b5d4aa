"""Amendment impact: recent decisions replayed under the amended file, the ones that would
change listed with why; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from registry.errors import InvalidInput, NotFound
from registry.service import Registry
from tests.checking.helpers import AGREEMENT, record, request
from tests.conftest import AGREEMENTS

SOURCE = AGREEMENTS / "irs-ice-2025-mou.toml"


def _amended(tmp_path: Path, old: str, new: str) -> Path:
    text = SOURCE.read_text()
    assert old in text
    path = tmp_path / "irs-ice-2025-mou.toml"
    path.write_text(text.replace(old, new))
    return path


SIGNERS = (
    'authorized_signers = ["Secretary of Homeland Security", '
    '"Director, U.S. Immigration and Customs Enforcement"]'
)
ONLY_SECRETARY = 'authorized_signers = ["Secretary of Homeland Security"]'


def _signed_by_secretary() -> dict[str, object]:
    given = request(records=[record(1)])
    given["request"] = {**given["request"], "signed_by": "Secretary of Homeland Security"}
    return given


def test_an_amendment_that_drops_a_signer_lists_the_decisions_it_would_deny(
    loaded: Registry, tmp_path: Path
) -> None:
    kept = loaded.check(_signed_by_secretary())
    hit = loaded.check(request(records=[record(2)]))  # signed by the ICE Director
    denied = loaded.check(request(purpose="curiosity"))
    assert kept.allowed and hit.allowed and not denied.allowed
    amended = _amended(tmp_path, SIGNERS, ONLY_SECRETARY)
    found = loaded.impact(amended, days=1)
    assert found.replayed == 3
    assert [(r.decision_id, r.allowed_before, r.allowed_after) for r in found.changed] == [
        (hit.decision_id, True, False)
    ]
    assert found.changed[0].reasons_after == ("signer_not_authorized",)
    assert loaded.verify().entries == 3  # nothing logged by the replay
    assert loaded.versions(AGREEMENT)[-1].version == 1  # nothing loaded


def test_a_tighter_period_limit_counts_the_replayed_decisions(
    loaded: Registry, tmp_path: Path
) -> None:
    first = loaded.check(request(record_count=2000, on="2025-06-10"))
    second = loaded.check(request(record_count=2000, on="2025-06-11"))
    assert first.allowed and second.allowed
    amended = _amended(tmp_path, "max_records_per_period = 10000", "max_records_per_period = 3000")
    found = loaded.impact(amended, days=1)
    assert [r.decision_id for r in found.changed] == [second.decision_id]
    assert found.changed[0].reasons_after == ("period_record_limit_exceeded",)


def test_record_findings_are_kept_since_records_are_not(loaded: Registry, tmp_path: Path) -> None:
    bad = loaded.check(
        request(records=[record(1, taxpayer={"name": "A", "tin": "1", "address": {"zip": "1"}})])
    )
    assert not bad.allowed
    amended = _amended(tmp_path, "max_records_per_request = 2500", "max_records_per_request = 2000")
    found = loaded.impact(amended, days=1)
    assert found.replayed == 1 and found.changed == ()


def test_an_amendment_that_widens_the_agreement_lists_what_it_would_allow(
    loaded: Registry, tmp_path: Path
) -> None:
    given = request(records=[record(1)])
    given["request"] = {**given["request"], "signed_by": "Deputy Director, ICE"}
    denied = loaded.check(given)
    assert [r.code for r in denied.reasons] == ["signer_not_authorized"]
    widened = SIGNERS.replace('"]', '", "Deputy Director, ICE"]')
    found = loaded.impact(_amended(tmp_path, SIGNERS, widened), days=1)
    assert [(r.decision_id, r.allowed_after) for r in found.changed] == [(denied.decision_id, True)]


def test_a_new_agreement_or_a_bad_file_is_refused(loaded: Registry, tmp_path: Path) -> None:
    new = _amended(tmp_path, 'id = "irs-ice-2025-mou"', 'id = "irs-ice-2027-mou"')
    with pytest.raises(NotFound):
        loaded.impact(new, days=1)
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "x"\nkind = "mou2"\n')
    with pytest.raises(InvalidInput):
        loaded.impact(broken, days=1)


def test_the_cli_prints_the_changes(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--database", db_url]
    assert runner.invoke(main, [*base, "agreements", "load", str(AGREEMENTS)]).exit_code == 0
    check = tmp_path / "check.json"
    check.write_text(json.dumps(request(records=[record(1)])))
    assert runner.invoke(main, [*base, "check", str(check)]).exit_code == 0
    amended = _amended(tmp_path, SIGNERS, ONLY_SECRETARY)
    shown = runner.invoke(main, [*base, "agreements", "impact", str(amended), "--days", "1"])
    assert shown.exit_code == 0, shown.output
    assert "1 would change" in shown.stdout and "signer_not_authorized" in shown.stdout
    as_json = runner.invoke(main, [*base, "agreements", "impact", str(amended), "--format", "json"])
    assert json.loads(as_json.stdout)["changed"][0]["allowed_after"] is False
