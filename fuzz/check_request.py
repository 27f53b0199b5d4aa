"""Fuzz the check request decoder that the CLI (``registry check FILE``), the API
(``POST /v1/checks``) and ``Registry.check(bytes)`` share, then decide what it decodes
against the shipped agreements, with no database: an exception, invalid input that names
no field, a checker that raises (``checker_failed``) or a slow input is a crash.

Decoding is msgspec's C code, which libFuzzer cannot see; the decision is Python (the core
checks and the shipped plugins), which gives the fuzzer its coverage to follow."""

from __future__ import annotations

import datetime

import atheris

with atheris.instrument_imports(include=["registry", "registry_plugins"]):
    from registry.documents import read
    from registry.engine.decide import Candidate, Check
    from registry.engine.evaluate import Evaluator
    from registry.engine.plugins import build_plugins
    from registry.schemas import Agreement, CheckRequest, PartiesFile
    from tests.fuzz.outcomes import ROOT, decode_check

    evaluator = Evaluator(build_plugins())

DOCUMENTS = [read(p).value for p in sorted((ROOT / "agreements").glob("*.toml"))]
AGREEMENTS = [d for d in DOCUMENTS if isinstance(d, Agreement)]
PARTIES = {p.id: p for d in DOCUMENTS if isinstance(d, PartiesFile) for p in d.party}
TODAY = datetime.date(2025, 6, 1)  # a fixed day: the same input, the same decision
NOW = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)


def one_input(data: bytes) -> None:
    request = decode_check(data)
    if isinstance(request, CheckRequest):
        decide(request)


def decide(request: CheckRequest) -> None:
    """Decide as registry.checking does, every agreement at version 1 in its first status."""
    candidates = [
        Candidate(agreement=a, version=1, status=a.status)
        for a in AGREEMENTS
        if a.id == request.agreement
        or (
            request.agreement is None
            and request.source_system in a.source_systems
            and request.recipient in a.recipients
        )
    ]
    on = request.on or TODAY
    check = Check(evaluator, request, on, candidates, PARTIES, {})
    records = request.records or ()
    check.feed(0, records)
    count = request.record_count if request.record_count is not None else len(records)
    decision = check.decide({}, count, "fuzz", NOW)
    failed = [r for r in decision.reasons if r.code == "checker_failed"]
    assert not failed, failed


if __name__ == "__main__":
    from fuzz import run

    run("check_request", one_input, [p.read_bytes() for p in (ROOT / "examples").glob("*.json")])
