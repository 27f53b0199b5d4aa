"""Fuzz the NDJSON records reader (``registry check --records``, ``POST /v1/checks/records``):
its outcome must equal a reading one line at a time, records or the first bad line named."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["registry"]):
    from tests.fuzz.outcomes import ROOT, read_records


def one_input(data: bytes) -> None:
    read_records(data)


if __name__ == "__main__":
    from fuzz import run

    lines = (ROOT / "examples" / "records.ndjson").read_bytes().splitlines(keepends=True)
    run("records", one_input, [b"".join(lines[:n]) for n in (1, 3, 10)])
