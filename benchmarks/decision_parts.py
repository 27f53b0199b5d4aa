"""Where the time of one typical decision goes, part by part (µs per call, timeit).

.venv/bin/python benchmarks/decision_parts.py
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_plugins.irc6103.address import is_complete
from typical import Decider

from registry.engine import core_checks
from registry.engine.decide import Check

N = 20_000


def per_call(action) -> float:  # type: ignore[no-untyped-def]
    return min(timeit.repeat(action, number=N, repeat=3)) / N * 1e6


def main() -> None:
    d = Decider()
    check = Check(d.evaluator, d.request, d.on, d.candidates, d.parties, {})
    policy = d.evaluator.policy(d.candidates[0].agreement, 1)
    core = policy.prepared["core"]
    irc = d.evaluator.plugins.checkers["irc6103"]
    irc_prepared = policy.prepared["irc6103"]
    transfer = check.transfer(check.trials[0], 3, 0)
    address = d.records[0]["taxpayer"]["address"]

    def feed() -> None:
        Check(d.evaluator, d.request, d.on, d.candidates, d.parties, {}).feed(0, d.records)

    parts = {
        "whole decision (Check, feed, decide)": d.decide,
        "Check() set-up": lambda: Check(d.evaluator, d.request, d.on, d.candidates, d.parties, {}),
        "Check() + feed 3 records": feed,
        "core transfer rules": lambda: core_checks.check_transfer(transfer, core),
        "core record rules, 3 records": lambda: list(core_checks.check_records(core, d.records, 0)),
        "irc6103 transfer rules": lambda: list(irc.check_transfer(transfer, irc_prepared)),
        "irc6103 record rules, 3 records": lambda: list(
            irc.check_records(transfer, irc_prepared, d.records, 0)
        ),
        "one address check": lambda: is_complete(address),
    }
    for label, action in parts.items():
        print(f"{label:<40} {per_call(action):8.2f} µs")


if __name__ == "__main__":
    main()
