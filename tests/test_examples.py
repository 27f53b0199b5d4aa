"""The README tour's example requests decide as the README says."""

from __future__ import annotations

import json

from registry import ndjson
from registry.service import Registry
from tests.conftest import AGREEMENTS, ROOT

EXAMPLES = ROOT / "examples"


def test_the_tour_examples_decide_as_documented(tmp_path) -> None:
    with Registry.open(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        registry.load([AGREEMENTS])
        allowed = registry.check((EXAMPLES / "check-ice.json").read_bytes())
        assert allowed.allowed, allowed.reasons
        denied = registry.check((EXAMPLES / "check-ice-zip-only.json").read_bytes())
        assert [(r.code, r.records) for r in denied.reasons] == [
            ("irc6103.address_incomplete", (0,))
        ]
        with (EXAMPLES / "records.ndjson").open("rb") as lines:
            streamed = registry.check_stream(
                (EXAMPLES / "check-ice-stream.json").read_bytes(), ndjson.records(lines)
            )
        assert streamed.allowed and streamed.record_count == 200
        person = json.loads((EXAMPLES / "check-ice.json").read_text())["records"][0]
        found = registry.disclosures(subject=person["taxpayer"]["tin"])
        assert [e.decision_id for e in found] == [allowed.decision_id]
