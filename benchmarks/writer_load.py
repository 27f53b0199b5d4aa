"""The writer process alone: checks per second and its CPU per check, without HTTP.

    .venv/bin/python benchmarks/writer_load.py [--checks 20000] [--in-flight 64]
        [--postgres URL] [--no-postgres]

Starts ``python -m registry.writer`` on a fresh database (an SQLite file; then a fresh
schema of the PostgreSQL server), loads the bench agreement, and sends the typical
transfer (as ``benchmarks/api_load.py`` does) from one client connection, ``--in-flight``
checks at a time, as a worker would. Reported: checks per second, and the CPU time of the
writer process (all its threads) and of the client per check. Each figure is of one run:
run it twice on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api_load import drop_schema, postgres_schema  # noqa: E402
from typical import REQUEST, bench_agreements  # noqa: E402

from registry.writer import WriterClient  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, folder: Path, checks: int, in_flight: int) -> dict[str, float]:
    env = dict(os.environ, REGISTRY_DATABASE_URL=url, REGISTRY_SUBJECT_KEY="ab" * 32)
    env["REGISTRY_DATA_DIR"] = str(folder / "data")
    cli = [sys.executable, "-m", "registry"]
    subprocess.run([*cli, "agreements", "load", str(folder / "agreements")], env=env,
                   check=True, capture_output=True)  # fmt: skip
    socket = str(folder / "writer.sock")
    writer = subprocess.Popen(
        [sys.executable, "-m", "registry.writer", "--socket", socket], env=env,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(socket):
            if time.monotonic() > deadline or writer.poll() is not None:
                raise SystemExit("the writer did not start")
            time.sleep(0.05)
        body = json.dumps({**REQUEST, "agreement": "bench-mou"}).encode()
        return asyncio.run(_load(socket, body, writer.pid, checks, in_flight))
    finally:
        writer.terminate()
        writer.wait(30)


async def _load(
    socket: str, body: bytes, pid: int, checks: int, in_flight: int
) -> dict[str, float]:
    client = WriterClient(socket)
    await client.connect()
    slots = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with slots:
            decision = await client.check(body)
            assert decision.allowed and decision.receipt, decision

    try:
        await asyncio.gather(*[one() for _ in range(min(500, checks))])  # warm-up
        writer0, mine0, start = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.gather(*[one() for _ in range(checks)])
        elapsed = time.perf_counter() - start
        writer_cpu, mine = cpu_seconds(pid) - writer0, time.process_time() - mine0
    finally:
        client.close()
    return {
        "checks_per_s": checks / elapsed,
        "writer_us": 1e6 * writer_cpu / checks,
        "client_us": 1e6 * mine / checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{args.checks} checks, {args.in_flight} in flight, one connection")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_agreements(folder / "agreements")
        rows = [("SQLite", run(f"sqlite:///{folder}/registry.db", folder, args.checks,
                               args.in_flight))]  # fmt: skip
        if not args.no_postgres:
            schema, url = postgres_schema(args.postgres)
            try:
                rows.append(("PostgreSQL", run(url, folder, args.checks, args.in_flight)))
            finally:
                drop_schema(args.postgres, schema)
    print("\n| database | checks/s | writer CPU µs a check | client CPU µs a check |")
    print("| --- | --- | --- | --- |")
    for name, got in rows:
        print(
            f"| {name} | {got['checks_per_s']:.0f} | {got['writer_us']:.0f} "
            f"| {got['client_us']:.0f} |"
        )


if __name__ == "__main__":
    main()
