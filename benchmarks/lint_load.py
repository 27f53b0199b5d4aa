"""Lint and load 1,000 agreement files; print the time each step takes.

    .venv/bin/python benchmarks/lint_load.py [--files 1000] [--postgres URL]

Writes the files to a temporary folder (the shipped parties plus N variants of the
IRS-ICE memorandum), then times: reading and linting them; loading them into a new
SQLite file; loading them again (nothing changes); and the same two loads on PostgreSQL
in a schema of its own. Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

import sqlalchemy as sa
import tomli_w

from registry.documents import collect, read
from registry.engine.lint import lint
from registry.engine.plugins import build_plugins
from registry.service import Registry

ROOT = Path(__file__).resolve().parent.parent


def write_files(folder: Path, count: int) -> None:
    shutil.copy(ROOT / "agreements" / "parties.toml", folder / "parties.toml")
    template = tomllib.loads((ROOT / "agreements" / "irs-ice-2025-mou.toml").read_text())
    for i in range(count):
        data = dict(template)
        data["id"] = f"bench-{i:05d}"
        data["title"] = f"Benchmark agreement {i}"
        data["limits"] = dict(template["limits"], max_records_per_request=1000 + i)
        (folder / f"bench-{i:05d}.toml").write_text(tomli_w.dumps(data))


def timed(label: str, action, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(f"{label:<48} median {median:7.3f} s   best {best:7.3f} s   ({repeat} runs)")
    return median


def load_twice(label: str, url_factory, folder: Path, plugins) -> None:  # type: ignore[no-untyped-def]
    def fresh_load() -> None:
        with Registry.open(url_factory(), plugins=plugins) as registry:
            outcomes, _ = registry.load([folder])
            assert sum(o.action == "created" for o in outcomes) == len(outcomes)

    timed(f"load into a new {label} database", fresh_load)
    url = url_factory()
    with Registry.open(url, plugins=plugins) as registry:
        registry.load([folder])

        def reload() -> None:
            outcomes, _ = registry.load([folder])
            assert all(o.action == "unchanged" for o in outcomes)

        timed(f"load again into {label} (nothing changes)", reload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    plugins = build_plugins()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "agreements"
        folder.mkdir()
        write_files(folder, args.files)
        print(f"{args.files} agreement files + parties.toml in {folder}")

        def lint_all() -> None:
            files, _ = collect([folder])
            problems = lint([read(f) for f in files], plugins)
            assert not problems, problems[:3]

        timed("read and lint", lint_all)
        counter = iter(range(1000))
        load_twice("SQLite", lambda: f"sqlite:///{tmp}/db-{next(counter)}.sqlite", folder, plugins)
        if not args.no_postgres:
            engine = sa.create_engine(args.postgres)
            schemas = []

            def pg_url() -> str:
                schema = f"bench_{uuid.uuid4().hex[:12]}"
                with engine.begin() as conn:
                    conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                schemas.append(schema)
                url = sa.engine.make_url(args.postgres)
                url = url.update_query_dict({"options": f"-csearch_path={schema}"})
                return url.render_as_string(hide_password=False)

            try:
                load_twice("PostgreSQL", pg_url, folder, plugins)
            finally:
                with engine.begin() as conn:
                    for schema in schemas:
                        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()


if __name__ == "__main__":
    main()
