"""Recorded checks in-process: the typical transfer decided and durably logged (with its
three disclosure entries) before the call returns. Prints median and p99 per backend.

    .venv/bin/python benchmarks/recorded.py [--checks 2000] [--postgres URL] [--no-postgres]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("REGISTRY_SUBJECT_KEY", "cd" * 32)


def measure(label: str, url: str, checks: int) -> None:
    from typical import REQUEST, bench_agreements

    from registry.service import Registry

    registry = Registry.open(url)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "agreements"
        bench_agreements(folder)
        registry.load([folder])
    request = copy.deepcopy(REQUEST)
    request["agreement"] = "bench-mou"
    for _ in range(50):  # warm up: plugins prepared, catalog cached, connections pooled
        registry.check(request)
    samples = []
    for i in range(checks):
        for n, rec in enumerate(request["records"]):
            rec["taxpayer"]["tin"] = f"{200_000_000 + i * 3 + n}"
        start = time.perf_counter_ns()
        decision = registry.check(request)
        samples.append((time.perf_counter_ns() - start) / 1e6)
        assert decision.allowed, decision.reasons
    registry.close()
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(
        f"{label:<11} {checks} checks: median {statistics.median(samples):6.2f} ms   "
        f"p99 {p99:6.2f} ms   ({checks / (sum(samples) / 1000):,.0f} checks/s sequential)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{tmp}/recorded.db", args.checks)
    if args.no_postgres:
        return
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(args.postgres)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.engine.make_url(args.postgres).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        measure("PostgreSQL", url.render_as_string(hide_password=False), args.checks)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
