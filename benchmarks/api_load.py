"""POST /v1/checks under load, next to a bare endpoint served the same way.

    .venv/bin/python benchmarks/api_load.py [--seconds 10] [--connections 64] [--rounds 3]
        [--no-postgres]

Needs wrk (Debian: apt install wrk). Each run starts a server subprocess (granian, as
``registry serve`` does), warms it up, then runs wrk with a POST of the typical transfer
(10 fields, 5 request elements, 3 records, core plus irc6103) under the bench agreement
(the IRS-ICE memorandum without its volume limits, so every check is allowed, logged and
its three people accounted). The bare endpoint decodes the same body with the same strict
decoder and returns a constant. Reported: requests/s, p50 and p99 latency, and the ratio
to the bare endpoint served with the same number of workers. On a shared machine the bare
endpoint's own figure moves by a fifth from one run to the next, so each round runs every
server once, bare next to registry, and the table gives the median of the rounds (the
share of bare is the median of each round's share).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except Exception as exc:
            if getattr(exc, "code", None):  # an HTTP error answer: the server is up
                return
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def wrk(port: int, body: Path, token: str, seconds: int, connections: int) -> dict[str, float]:
    script = body.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = io.open({json.dumps(str(body))}):read('*a')\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("P50 %d\\nP99 %d\\nNON2XX %d\\n", latency:percentile(50),'
        " latency:percentile(99), summary.errors.status))\n"
        "end\n"
    )
    url = f"http://127.0.0.1:{port}/v1/checks"
    # A short warm-up, then the measured run.
    subprocess.run(["wrk", "-t2", "-c8", "-d2s", "-s", str(script), url], capture_output=True)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = int(re.search(r"P50 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"P99 (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    errors = int(re.search(r"NON2XX (\d+)", out).group(1))  # type: ignore[union-attr]
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        print(f"   warning: {errors} non-2xx, {socket_errors.group(1) if socket_errors else ''}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99}


def serve(args: list[str], env: dict[str, str], port: int, ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_ready(port, ready)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def bare(workers: int, body: Path, seconds: int, connections: int) -> dict[str, float]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(HERE))
    proc = serve(
        [str(Path(PYTHON).parent / "granian"), "--interface", "asgi", "--factory",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "bare_app:create"],
        env, port, "/v1/checks",
    )  # fmt: skip
    try:
        return wrk(port, body, "none", seconds, connections)
    finally:
        stop(proc)


def registry(
    url: str, workers: int, body: Path, folder: Path, seconds: int, connections: int
) -> dict[str, float]:
    env = dict(os.environ, REGISTRY_DATABASE_URL=url, REGISTRY_SUBJECT_KEY="ab" * 32)
    env["REGISTRY_DATA_DIR"] = str(folder / "data")
    cli = [PYTHON, "-m", "registry"]
    subprocess.run([*cli, "agreements", "load", str(folder / "agreements")], env=env, check=True,
                   capture_output=True)  # fmt: skip
    token = subprocess.run(
        [*cli, "tokens", "create", "--role", "system", "--system", "irs-itin-address",
         "--name", "bench"], env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    proc = serve(
        [*cli, "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        env, port, "/health",
    )  # fmt: skip
    try:
        return wrk(port, body, token, seconds, connections)
    finally:
        stop(proc)
        verified = subprocess.run([*cli, "decisions", "verify"], env=env, capture_output=True,
                                  text=True)  # fmt: skip
        print(f"   log after the run: {verified.stdout.strip().splitlines()[-1:]}")


def postgres_schema(server: str) -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(server)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = (
        sa.engine.make_url(server)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    return schema, url


def drop_schema(server: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(server)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    from typical import REQUEST, bench_agreements

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_agreements(folder / "agreements")
        body = folder / "check.json"
        body.write_text(json.dumps({**REQUEST, "agreement": "bench-mou"}))
        s, c = args.seconds, args.connections
        rows: dict[str, list[tuple[dict[str, float], dict[str, float]]]] = {}
        print(f"wrk, {c} connections, {s} s per run, {args.rounds} round(s)")
        for round_ in range(1, args.rounds + 1):
            base1 = bare(1, body, s, c)
            print(f"round {round_}: bare endpoint, 1 worker: {base1}")
            sqlite = registry(f"sqlite:///{folder}/registry-{round_}.db", 1, body, folder, s, c)
            print(f"round {round_}: registry on SQLite, 1 worker: {sqlite}")
            rows.setdefault("SQLite, 1 worker", []).append((sqlite, base1))
            if args.no_postgres:
                continue
            base2 = bare(2, body, s, c)
            print(f"round {round_}: bare endpoint, 2 workers: {base2}")
            for workers, base in ((1, base1), (2, base2)):
                schema, url = postgres_schema(args.postgres)
                try:
                    pg = registry(url, workers, body, folder, s, c)
                finally:
                    drop_schema(args.postgres, schema)
                print(f"round {round_}: registry on PostgreSQL, {workers} worker(s): {pg}")
                rows.setdefault(f"PostgreSQL, {workers} worker(s)", []).append((pg, base))
        print(
            "\n| server | requests/s | p50 ms | p99 ms | bare requests/s | share of bare "
            "| shares by round |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, runs in rows.items():
            shares = [got["rps"] / base["rps"] for got, base in runs]
            print(
                f"| {name} | {median(g['rps'] for g, _ in runs):.0f} "
                f"| {median(g['p50_ms'] for g, _ in runs):.1f} "
                f"| {median(g['p99_ms'] for g, _ in runs):.1f} "
                f"| {median(b['rps'] for _, b in runs):.0f} | {median(shares):.0%} "
                f"| {', '.join(f'{x:.0%}' for x in shares)} |"
            )


if __name__ == "__main__":
    main()
