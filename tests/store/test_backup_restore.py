"""``registry db backup`` and restores on SQLite and PostgreSQL: a backup taken while checks
run is one consistent state, its decision log verifies with the figures the backup printed,
and the restored registry checks again."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

import registry
from registry.cli import main
from registry.service import Registry
from registry.store import migrations_api
from registry.store.backup import pg_dump_command
from registry.store.database import create_engine
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS

VERIFIED = re.compile(r"decision log verified: (\d+) entries, last hash ([0-9a-f]{64})")


def _run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", url, *args], catch_exceptions=False)


def _figures(output: str) -> tuple[int, str]:
    found = VERIFIED.search(output)
    assert found, output
    return int(found.group(1)), found.group(2)


def _backup_name(db_url: str) -> str:
    return "backup.db" if db_url.startswith("sqlite") else "backup.dump"


@contextlib.contextmanager
def restored(backup: Path, db_url: str, folder: Path) -> Iterator[str]:
    """The backup restored as docs/operations.md says: on SQLite the file copied into the
    place of a database; on PostgreSQL pg_restore into a new database, dropped afterwards
    (even when the test fails)."""
    if db_url.startswith("sqlite"):
        target = folder / "restored" / "registry.db"
        target.parent.mkdir()
        shutil.copyfile(backup, target)
        yield f"sqlite:///{target}"
        return
    url = sa.engine.make_url(db_url)
    name = f"restored_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.difference_update_query(["options"]), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        subprocess.run(
            [
                *("pg_restore", "--no-owner", "-h", str(url.host), "-p", str(url.port)),
                *("-U", str(url.username), "-d", name, str(backup)),
            ],
            check=True,
            capture_output=True,
        )
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(statement))]
    finally:
        engine.dispose()


def _checking(url: str, stop: threading.Event, made: list[str]) -> Callable[[], None]:
    """A data system that keeps checking, each transfer disclosing a new person."""

    def run() -> None:
        with registry.connect(url) as other:
            while not stop.is_set():
                i = len(made)
                made.append(
                    other.check(request(records=[record(i), record(i + 10_000)])).decision_id
                )

    return run


def _wait_for(made: list[str], count: int) -> None:
    deadline = time.monotonic() + 20
    while len(made) < count:
        assert time.monotonic() < deadline, f"only {len(made)} checks made"
        time.sleep(0.01)


def test_a_backup_taken_while_checks_run_is_one_consistent_state(
    loaded: Registry, db_url: str, tmp_path: Path
) -> None:
    stop, made = threading.Event(), []
    writer = threading.Thread(target=_checking(db_url, stop, made))
    writer.start()
    try:
        _wait_for(made, 3)
        before = loaded.verify().entries
        dest = tmp_path / _backup_name(db_url)
        result = _run(db_url, "db", "backup", str(dest))
        _wait_for(made, len(made) + 3)
    finally:
        stop.set()
        writer.join(timeout=30)
    after = loaded.verify()
    assert result.exit_code == 0, result.output
    entries, last_hash = _figures(result.output)
    assert before <= entries <= after.entries and before < after.entries
    if db_url.startswith("sqlite"):
        assert "PRAGMA integrity_check: ok" in result.output
        with contextlib.closing(sqlite3.connect(dest)) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with restored(dest, db_url, tmp_path) as copy_url:
        verified = _run(copy_url, "decisions", "verify")
        assert verified.exit_code == 0, verified.output
        assert _figures(verified.output) == (entries, last_hash)
        log = "SELECT seq, hash FROM decision_log ORDER BY seq"
        copied = _rows(copy_url, log)
        assert len(copied) == entries
        assert copied == _rows(db_url, log)[:entries]  # the same decisions, the same hashes
        people = (
            "SELECT decision_seq, ordinal, subject FROM disclosure ORDER BY decision_seq, ordinal"
        )
        in_copy = _rows(copy_url, people)
        assert in_copy == [row for row in _rows(db_url, people) if row[0] <= entries]
        assert len(in_copy) >= 2 * (entries - before)  # the copy holds disclosures being made


def test_a_restored_registry_checks_again_and_still_verifies(
    loaded: Registry, db_url: str, tmp_path: Path
) -> None:
    first = loaded.check(request(records=[record(1), record(2)]))
    loaded.check(request(purpose="not-a-purpose"))
    loaded.cancel(first.decision_id, "export failed")
    loaded.check(request(records=[record(3)]))
    dest = tmp_path / _backup_name(db_url)
    result = _run(db_url, "db", "backup", str(dest))
    assert result.exit_code == 0, result.output
    assert _figures(result.output) == (4, loaded.verify().last_hash)
    with restored(dest, db_url, tmp_path) as copy_url, Registry.open(copy_url) as copy:
        assert copy.verify().last_hash == loaded.verify().last_hash
        assert copy.check(request(records=[record(4)])).allowed
        assert copy.disclosures(subject="100000001") == []  # cancelled before the backup
        assert len(copy.disclosures(subject="100000003")) == 1  # same key, same people
        verified = _run(copy_url, "decisions", "verify")
        assert verified.exit_code == 0, verified.output
        assert _figures(verified.output)[0] == 5


def test_a_restored_database_refuses_another_subject_key(
    loaded: Registry, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded.check(request(records=[record(1)]))
    dest = tmp_path / _backup_name(db_url)
    assert _run(db_url, "db", "backup", str(dest)).exit_code == 0
    check = tmp_path / "check.json"
    check.write_text(json.dumps(request(records=[record(2)])))
    with restored(dest, db_url, tmp_path) as copy_url:
        monkeypatch.setenv("REGISTRY_SUBJECT_KEY", "ab" * 32)
        result = _run(copy_url, "check", str(check))
        assert result.exit_code == 3
        assert "hashed with subject key" in result.output
        monkeypatch.delenv("REGISTRY_SUBJECT_KEY")
        assert _figures(_run(copy_url, "decisions", "verify").output)[0] == 1  # nothing recorded


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A registry in an SQLite file, with the shipped agreements and three decisions."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    with Registry.open(url) as opened:
        opened.load([AGREEMENTS])
        for i in range(3):
            opened.check(request(records=[record(i)]))
    yield url


def test_a_tampered_backup_fails_verification_naming_the_entry(
    sqlite_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "backup.db"
    assert _run(sqlite_url, "db", "backup", str(dest)).exit_code == 0
    with contextlib.closing(sqlite3.connect(dest)) as copy, copy:
        body = copy.execute("SELECT body FROM decision_log WHERE seq = 2").fetchone()[0]
        at = body.index("dhs-ice")
        copy.execute(
            "UPDATE decision_log SET body = ? WHERE seq = 2", (body[:at] + "D" + body[at + 1 :],)
        )
    result = _run(f"sqlite:///{dest}", "decisions", "verify")
    assert result.exit_code == 1
    assert "entry 2 was altered: its content no longer matches its hash" in result.output


def test_a_log_that_fails_verification_is_backed_up_as_evidence_with_exit_1(
    sqlite_url: str, tmp_path: Path
) -> None:
    with contextlib.closing(sqlite3.connect(tmp_path / "registry.db")) as conn, conn:
        conn.execute("UPDATE decision_log SET records_counted = 0 WHERE seq = 2")
    dest = tmp_path / "backup.db"
    result = _run(sqlite_url, "db", "backup", str(dest))
    assert result.exit_code == 1
    assert "decision log FAILED verification: entry 2 was altered: column records_counted" in (
        result.output
    )
    assert "the first 1 entries verify" in result.output
    assert _run(f"sqlite:///{dest}", "decisions", "verify").exit_code == 1


def test_backup_refuses_an_existing_file_unless_forced(sqlite_url: str, tmp_path: Path) -> None:
    dest = tmp_path / "backup.db"
    dest.write_bytes(b"an older backup")
    result = _run(sqlite_url, "db", "backup", str(dest))
    assert result.exit_code == 2
    assert f"{dest} exists: give a new file name, or --force to replace it" in result.output
    assert dest.read_bytes() == b"an older backup"
    forced = _run(sqlite_url, "db", "backup", "--force", str(dest))
    assert forced.exit_code == 0, forced.output
    assert _figures(forced.output)[0] == 3
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == ["backup.db"]


def test_backup_never_replaces_the_database_itself(sqlite_url: str, tmp_path: Path) -> None:
    database = tmp_path / "registry.db"
    result = _run(sqlite_url, "db", "backup", "--force", str(database))
    assert result.exit_code == 2
    assert "is the database itself" in result.output
    with Registry.open(sqlite_url) as untouched:
        assert untouched.verify().entries == 3


def test_backup_of_a_missing_database_creates_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = _run(f"sqlite:///{missing}", "db", "backup", str(tmp_path / "backup.db"))
    assert result.exit_code == 3
    assert f"no database at {missing}: nothing to back up" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_database_gives_no_backup(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    with contextlib.closing(sqlite3.connect(damaged)) as conn, conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("CREATE INDEX ix ON t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(f"value {i:04}",) for i in range(200)])
    with contextlib.closing(sqlite3.connect(damaged)) as conn:
        root, size = conn.execute(
            "SELECT rootpage, (SELECT page_size FROM pragma_page_size) "
            "FROM sqlite_master WHERE name = 'ix'"
        ).fetchone()
    data = bytearray(damaged.read_bytes())
    at = data.rfind(b"value", (root - 1) * size, root * size)  # a key in the index's page
    data[at + 6 : at + 10] = b"9999"
    damaged.write_bytes(bytes(data))
    result = _run(f"sqlite:///{damaged}", "db", "backup", str(tmp_path / "backup.db"))
    assert result.exit_code == 3
    assert "fails PRAGMA integrity_check (row" in result.output
    assert "no backup was written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.db"]


def test_a_database_before_an_upgrade_is_backed_up_without_verifying(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrations_api.upgrade(engine, "0004")
    engine.dispose()
    result = _run(url, "db", "backup", str(tmp_path / "backup.db"))
    assert result.exit_code == 0, result.output
    head = migrations_api.head_revision()
    assert (
        f"decision log not verified: the schema is at revision 0004, this program needs {head}"
        in result.output
    )
    assert (tmp_path / "backup.db").stat().st_size > 0


def test_pg_dump_gets_the_password_in_its_environment_and_dumps_the_schema() -> None:
    url = sa.engine.make_url(
        "postgresql+psycopg://reg:s3cr%40t@db.example.org:5433/registry"
        "?options=-csearch_path%3Dtenant_a&sslmode=require"
    )
    command, env = pg_dump_command(url)
    assert env == {"PGPASSWORD": "s3cr@t"}
    assert not any("s3cr" in arg for arg in command)
    assert command == [
        "pg_dump",
        "--format=custom",
        "--dbname=host='db.example.org' port='5433' user='reg' dbname='registry' "
        "options='-csearch_path=tenant_a' sslmode='require'",
        "--schema=tenant_a",
    ]


def test_without_pg_dump_a_postgresql_backup_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/registry"
    result = _run(url, "db", "backup", str(tmp_path / "backup.dump"))
    assert result.exit_code == 3
    assert "pg_dump is not installed or not on PATH" in result.output
    assert list(tmp_path.iterdir()) == []
