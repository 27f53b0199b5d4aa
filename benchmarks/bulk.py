"""Decide a 1,000,000-record NDJSON file; compare with msgspec merely decoding it.

    .venv/bin/python benchmarks/bulk.py [--records 1000000] [--postgres URL] [--no-postgres]

Each scenario runs in a fresh subprocess so its peak RSS is its own:
- decode: msgspec decodes every line, nothing else (the yardstick);
- deny: every record checked (core + irc6103), the last one bad, so the transfer is
  denied and nobody is accounted for;
- allow-sqlite / allow-postgresql: every record checked, allowed, and one disclosure entry
  per person written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def write_file(path: Path, count: int, bad_last: bool) -> None:
    from typical import record

    with path.open("w") as out:
        for i in range(count):
            value = record(i)
            if bad_last and i == count - 1:
                value["taxpayer"]["address"] = {"zip": "62701"}
            out.write(json.dumps(value, separators=(",", ":")) + "\n")


def scenario(name: str, path: str, url: str | None) -> dict[str, float | str]:
    import msgspec

    start = time.perf_counter()
    if name == "decode":
        decoder = msgspec.json.Decoder()
        count = 0
        with open(path, "rb") as lines:
            for line in lines:
                decoder.decode(line)
                count += 1
        outcome = f"{count} lines"
    else:
        from typical import REQUEST

        from registry import ndjson
        from registry.service import Registry

        request = {k: v for k, v in REQUEST.items() if k != "records"}
        request["fields"] = ["taxpayer.name", "taxpayer.address", "taxpayer.tin", "taxable_periods"]
        request["record_count"] = None
        registry = Registry.open(url)
        registry.load([Path(path).parent / "agreements"])
        request["agreement"] = "bench-mou"
        start = time.perf_counter()
        with open(path, "rb") as lines:
            decision = registry.check_stream(request, ndjson.records(lines, path))
        outcome = "allowed" if decision.allowed else ",".join(r.code for r in decision.reasons)
        registry.close()
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scenario": name,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(rss_mb, 1),
        "outcome": outcome,
    }


def run(name: str, path: Path, url: str | None) -> dict[str, float | str]:
    env = dict(os.environ, REGISTRY_SUBJECT_KEY="ab" * 32)
    done = subprocess.run(
        [sys.executable, __file__, "--one", name, "--file", str(path), "--url", url or ""],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--one")
    parser.add_argument("--file")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(scenario(args.one, args.file, args.url or None)))
        return
    from typical import bench_agreements

    with tempfile.TemporaryDirectory() as tmp:
        good, bad = Path(tmp) / "good.ndjson", Path(tmp) / "bad.ndjson"
        bench_agreements(Path(tmp) / "agreements")
        write_file(good, args.records, bad_last=False)
        write_file(bad, args.records, bad_last=True)
        print(f"{args.records:,} records, {good.stat().st_size / 1e6:.0f} MB of NDJSON")
        results = [run("decode", good, None)]
        results.append(run("deny", bad, f"sqlite:///{tmp}/deny.db"))
        results.append(run("allow-sqlite", good, f"sqlite:///{tmp}/allow.db"))
        if not args.no_postgres:
            import sqlalchemy as sa

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            engine = sa.create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = (
                sa.engine.make_url(args.postgres)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
            try:
                results.append(run("allow-postgresql", good, url))
            finally:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()
        base = float(results[0]["seconds"])
        for r in results:
            ratio = float(r["seconds"]) / base
            print(
                f"{r['scenario']:<18} {r['seconds']:>7} s  {ratio:5.1f}x decode  "
                f"peak RSS {r['peak_rss_mb']:>6} MB  {r['outcome']}"
            )


if __name__ == "__main__":
    main()
