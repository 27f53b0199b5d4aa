"""Online backups: a consistent copy of the database taken while the registry is in use,
with the figures of its decision log to keep beside it.

The copy is written to a temporary file next to the destination and takes the
destination's name only once it is whole, so a failed backup leaves nothing behind and
never a half-written file under the name an operator would restore from.

SQLite: ``sqlite3.Connection.backup`` in one step reads a single snapshot, the ``-wal``
file included, while other processes go on writing. PostgreSQL: ``pg_dump -Fc`` reads a
snapshot this module exports, and the log is verified in that same snapshot, so the
entry count and last hash printed are those of the dump, not of a moment before or after.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ..errors import ConfigError, DatabaseUnavailable, InvalidInput, SchemaError
from ..schemas.views import View
from .database import SQLITE_BUSY_TIMEOUT_MS, engine_for
from .migrations_api import current_revision, head_revision
from .verify import Verification, verify


class Backup(View, frozen=True):
    """A backup written to ``path``. ``log`` is None when the schema is not this program's
    (a backup before ``registry db upgrade``): its log is verified after the upgrade."""

    path: str
    size: int
    checked: str
    revision: str
    log: Verification | None


def backup(url: str, dest: str | Path, *, force: bool = False) -> Backup:
    """Copy the database at ``url`` to ``dest``; refuse an existing ``dest`` unless ``force``."""
    target = Path(dest).expanduser().absolute()
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise SchemaError(
            f"unsupported database {backend!r}: use an sqlite:/// or postgresql:// URL"
        )
    _check_destination(target, force)
    source = _sqlite_path(parsed) if backend == "sqlite" else None
    if source is not None:
        _not_the_database(source, target)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        if source is not None:
            checked, revision, log = _sqlite(source, partial)
        else:
            checked, revision, log = _postgres(parsed, partial)
        size = partial.stat().st_size
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Backup(path=str(target), size=size, checked=checked, revision=revision, log=log)


def _check_destination(target: Path, force: bool) -> None:
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder: give the path of the backup file")
    if not target.parent.is_dir():
        raise InvalidInput(f"{target.parent} does not exist: create the folder first")
    if target.exists() and not force:
        raise InvalidInput(f"{target} exists: give a new file name, or --force to replace it")
    # A journal left beside an older file of that name would be replayed into the new one.
    for suffix in ("-wal", "-journal"):
        journal = target.with_name(target.name + suffix)
        if journal.exists():
            raise InvalidInput(
                f"{journal} exists: a process has {target.name} open, or did not close it; "
                "back up to another file"
            )


def _sqlite_path(url: sa.URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput("only an SQLite database in a file, sqlite:///PATH, can be backed up")
    path = Path(database).expanduser().absolute()
    if not path.is_file():
        raise DatabaseUnavailable(f"no database at {path}: nothing to back up")
    return path


def _not_the_database(source: Path, target: Path) -> None:
    if target.exists() and target.samefile(source):
        raise InvalidInput(f"{target} is the database itself: back up to another file")


def _sqlite(source: Path, partial: Path) -> tuple[str, str, Verification | None]:
    # mode=rw: a database that vanished is an error here, never a new empty file.
    original = sqlite3.connect(
        f"file:{quote(str(source))}?mode=rw", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
    )
    copy = sqlite3.connect(partial)
    try:
        original.backup(copy)  # one step: one snapshot, however many pages
        found = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    finally:
        copy.close()
        original.close()
    if found != ["ok"]:
        raise DatabaseUnavailable(
            f"the copy of {source} fails PRAGMA integrity_check ({found[0]}): "
            "the database may be damaged; no backup was written"
        )
    with engine_for(f"sqlite:///{partial}") as engine, engine.connect() as conn:
        revision, log = _log(conn, str(source))
    return "PRAGMA integrity_check: ok", revision, log


def _postgres(url: sa.URL, partial: Path) -> tuple[str, str, Verification | None]:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise ConfigError(
                f"{tool} is not installed or not on PATH: install the PostgreSQL client "
                "tools of the server's major version (see docs/operations.md, Backup and restore)"
            )
    command, env = pg_dump_command(url)
    with engine_for(url.render_as_string(hide_password=False)) as engine, engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            revision, log = _log(conn, f"the database {url.database} on {url.host or 'localhost'}")
            _run([*command, f"--snapshot={snapshot}", f"--file={partial}"], env)
    listed = _run(["pg_restore", "--list", str(partial)], {})
    entries = sum(1 for line in listed.splitlines() if line and not line.startswith(";"))
    return f"pg_restore --list: {entries} archive entries", revision, log


def _log(conn: sa.Connection, where: str) -> tuple[str, Verification | None]:
    revision = current_revision(conn)
    if revision is None:
        raise SchemaError(f"{where} is not a registry database (it has no schema revision)")
    if revision != head_revision():
        return revision, None
    with Session(bind=conn) as session:
        return revision, verify(session)


def pg_dump_command(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """pg_dump's arguments for the database at ``url``, and what to add to its environment.

    The password goes in ``PGPASSWORD``, never on the command line, where ``ps`` shows it.
    A URL whose ``options`` set ``search_path`` (a registry in a schema of its own) dumps
    only the first schema named there, where the registry's tables are."""
    params = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
        **{
            key: value if isinstance(value, str) else " ".join(value)
            for key, value in url.query.items()
        },
    }
    conninfo = " ".join(
        f"{key}={_conninfo_value(str(v))}" for key, v in params.items() if v is not None
    )
    command = ["pg_dump", "--format=custom", f"--dbname={conninfo}"]
    schema = _schema(str(params.get("options") or ""))
    if schema:
        command.append(f"--schema={schema}")
    return command, {"PGPASSWORD": url.password} if url.password else {}


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _schema(options: str) -> str | None:
    found = re.search(r"search_path\s*=\s*([^\s,]+)", options)
    return found.group(1).strip("\"'") if found else None


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        said = "; ".join(done.stderr.split("\n")).strip("; ") or f"exit status {done.returncode}"
        raise DatabaseUnavailable(f"{command[0]} failed: {said}; no backup was written")
    return done.stdout


__all__ = ["Backup", "backup", "pg_dump_command"]
