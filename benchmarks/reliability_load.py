"""Checks under database faults and a server crash, at scale, with the figures.

    nice .venv/bin/python benchmarks/reliability_load.py [--seconds 60] [--cuts 8]
        [--clients 8] [--workers 2] [--postgres URL]

``registry serve --workers N`` runs on PostgreSQL (a fresh schema, dropped afterwards)
through a TCP proxy. Client threads check the typical transfer (``examples/check-ice.json``
with three records) near the agreement's period limit, each check with an Idempotency-Key
and sent again under it after a 503 or no answer, as ``registry.client`` does. Meanwhile the
proxy cuts every database connection ``--cuts`` times (0.5 to 1 s each), and half-way the
server and its workers are killed with SIGKILL and started again. Afterwards the log, the
disclosure accounting and the idempotency keys are read straight from the database and
compared with every answer (``tests/load.py`` and ``tests/load_audit.py``, shared with
``tests/api/test_faults_under_load.py``). Exit status 1 when anything was lost, overshot,
answered otherwise than 200 or 503, or recorded for a request answered 503.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("REGISTRY_DATA_DIR", tempfile.mkdtemp(prefix="registry-reliability-"))

import sqlalchemy as sa  # noqa: E402

from tests.faults import Proxy  # noqa: E402
from tests.load import Limits, Load, prepare  # noqa: E402
from tests.load_audit import audit  # noqa: E402
from tests.servers import free_port, start_serve  # noqa: E402

POSTGRES = os.environ.get(
    "REGISTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cuts", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()

    schema = f"reliability_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(args.postgres)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db_url = (
        sa.engine.make_url(args.postgres)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    proxy, through_proxy = Proxy.before(db_url)
    server: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            token = prepare(db_url, Path(folder), Limits())
        port = free_port()
        server.append(start_serve(through_proxy, port, workers=args.workers))
        load = Load(f"http://127.0.0.1:{port}", token, clients=args.clients, max_checks=1_000_000)
        slots = args.cuts + 1  # the crash takes the middle slot
        slot = args.seconds / (slots + 1)
        crash_at = slots // 2

        def faults() -> None:
            started = time.monotonic()
            for n in range(slots):
                time.sleep(max(0.0, started + slot * (n + 1) - time.monotonic()))
                if n == crash_at:
                    with load.fault("server killed and started again"):
                        os.killpg(server[-1].pid, signal.SIGKILL)
                        server[-1].wait(10)
                        server.append(start_serve(through_proxy, port, workers=args.workers))
                else:
                    with load.fault("database connections cut"):
                        proxy.cut()
                        time.sleep(random.uniform(0.5, 1.0))
                        proxy.restore()
            time.sleep(max(0.0, started + args.seconds - time.monotonic()))

        began = time.monotonic()
        load.run(faults, tail=0.0)
        elapsed = time.monotonic() - began
        figures = audit(db_url, load)
    finally:
        for process in server:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        proxy.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    limits = load.limits
    print(
        f"registry serve --workers {args.workers}, PostgreSQL through a TCP proxy, "
        f"{args.clients} clients, {elapsed:.1f} s; {args.cuts} cuts of 0.5-1 s and 1 SIGKILL "
        f"+ restart; limit {limits.max_records_per_period} records per {limits.period_days} "
        f"days, {limits.checks_per_day} checks of 3 records dated each day"
    )
    served = figures.ok + figures.unavailable + figures.other
    print(f"requests served            {served} ({served / elapsed:.0f}/s)")
    print(figures.report())
    broken = (
        figures.lost
        or figures.overshoot
        or figures.other
        or figures.unseen
        or figures.in_doubt_503
        or figures.gave_up
        or figures.missing_disclosures
        or not figures.log_ok
        or figures.survived < figures.faults
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
