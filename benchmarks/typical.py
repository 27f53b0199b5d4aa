"""The typical transfer used by the benchmarks: 10 fields, 5 request elements, 3 records,
checked by core and irc6103 under the shipped IRS-ICE memorandum."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import msgspec

from registry.documents import read
from registry.engine.decide import Candidate, Check
from registry.engine.evaluate import Evaluator
from registry.engine.plugins import Plugins, build_plugins
from registry.schemas import Agreement, CheckRequest, Decision, PartiesFile, Party

ROOT = Path(__file__).resolve().parent.parent
FIELDS = [
    "taxpayer.name",
    "taxpayer.name.first",
    "taxpayer.name.last",
    "taxpayer.address",
    "taxpayer.address.street",
    "taxpayer.address.city",
    "taxpayer.address.state",
    "taxpayer.address.zip",
    "taxpayer.tin",
    "taxable_periods",
]


def record(i: int) -> dict[str, Any]:
    return {
        "taxpayer": {
            "name": f"Person {i}",
            "tin": f"{100_000_000 + i}",
            "address": {
                "street": f"{i + 12} Main St",
                "city": "Springfield",
                "state": "IL",
                "zip": "62701",
            },
        },
        "taxable_periods": [2023],
    }


REQUEST: dict[str, Any] = {
    "agreement": "irs-ice-2025-mou",
    "source_system": "irs-itin-address",
    "recipient": "dhs-ice",
    "purpose": "nontax-criminal-investigation",
    "fields": FIELDS,
    "on": "2025-06-01",
    "request": {
        "signed_by": "Director, U.S. Immigration and Customs Enforcement",
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
        "case_number": "ICE-2025-000123",
        "relevance_statement": "Named subject of an investigation under 8 U.S.C. 1253(a)(1).",
        "certification": True,
    },
    "approvals": [{"role": "disclosure-officer", "by": "a.jones"}],
    "records": [record(i) for i in range(3)],
}


def agreement() -> Agreement:
    value = read(ROOT / "agreements" / "irs-ice-2025-mou.toml").value
    assert isinstance(value, Agreement)
    return value


def parties() -> dict[str, Party]:
    value = read(ROOT / "agreements" / "parties.toml").value
    assert isinstance(value, PartiesFile)
    return {p.id: p for p in value.party}


class Decider:
    """Everything prepared once; ``decide()`` evaluates the transfer, nothing stored."""

    def __init__(self, plugins: Plugins | None = None) -> None:
        self.evaluator = Evaluator(plugins or build_plugins())
        self.candidates = [Candidate(agreement(), 1, "active")]
        self.parties = parties()
        self.request = msgspec.convert(REQUEST, CheckRequest)
        self.on = datetime.date(2025, 6, 1)
        self.records = self.request.records or ()
        self.at = datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC)
        self.usage = {"irs-ice-2025-mou": 0}

    def decide(self) -> Decision:
        check = Check(self.evaluator, self.request, self.on, self.candidates, self.parties, {})
        check.feed(0, self.records)
        return check.decide(self.usage, 3, "bench", self.at)


def bench_agreements(folder: Path) -> None:
    """The shipped parties and the IRS-ICE memorandum without its volume limits (it caps a
    request at 2,500 records and a month at 10,000), as ``bench-mou``, in ``folder``."""
    import shutil
    import tomllib

    import tomli_w

    folder.mkdir(parents=True)
    shutil.copy(ROOT / "agreements" / "parties.toml", folder / "parties.toml")
    data = tomllib.loads((ROOT / "agreements" / "irs-ice-2025-mou.toml").read_text())
    data["id"] = "bench-mou"
    data.pop("limits")
    (folder / "bench-mou.toml").write_text(tomli_w.dumps(data))
