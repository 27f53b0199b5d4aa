"""Run and inspect Alembic migrations on a connection the registry holds.

An empty database is upgraded on first use; a database on an older schema is refused
until ``registry db upgrade`` runs. Upgrades take a lock (an exclusive transaction on
SQLite, an advisory lock on PostgreSQL) so two processes starting at once do not race.
"""

from __future__ import annotations

from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import SchemaError

_LOCK_KEY = 7_406_181_103  # advisory lock id for schema upgrades on PostgreSQL
REGISTRY_TABLES = {
    "agreement",
    "agreement_version",
    "party",
    "party_version",
    "status_event",
    "catalog",
    "meta",
    "chain_head",
    "decision_log",
    "disclosure",
    "api_token",
    "signing_key",
    "agreement_review",
    "check_key",
    "subject_key",
}


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("registry.store") / "migrations"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: sa.Engine) -> tuple[str | None, bool]:
    """(current revision, whether registry tables exist without a revision)."""
    with engine.connect() as conn:
        current = current_revision(conn)
        stray = False
        if current is None:
            stray = bool(REGISTRY_TABLES & set(sa.inspect(conn).get_table_names()))
    return current, stray


def check_schema(engine: sa.Engine, *, upgrade_empty: bool = True) -> None:
    """Make sure the schema is the one this program needs, upgrading an empty database."""
    current, stray = schema_state(engine)
    head = head_revision()
    if current == head:
        return
    if current is None and not stray:
        if upgrade_empty:
            upgrade(engine)
            return
        raise SchemaError("the database is empty: run `registry db upgrade` to create the schema")
    if current is None:
        raise SchemaError(
            "the database has registry tables but no migration record; "
            "it was not created by this program"
        )
    if current not in known_revisions():
        raise SchemaError(_newer(current))
    raise SchemaError(
        f"the database schema is at revision {current}; this program needs {head}. "
        "Back it up, then run `registry db upgrade`."
    )


def _newer(revision: str) -> str:
    return (
        f"the database schema is at revision {revision}, which this program does not know: "
        "it was upgraded by a newer version of the registry; upgrade the program"
    )


def describe(engine: sa.Engine) -> str:
    """One line on the schema: its revision, the program's, and what to do."""
    current, stray = schema_state(engine)
    head = head_revision()
    if current == head:
        return f"database: {current}; program: {head} (up to date)"
    if current is None:
        what = "registry tables without a migration record" if stray else "empty"
        advice = "not created by this program" if stray else "run `registry db upgrade`"
        return f"database: {what}; program: {head} ({advice})"
    if current not in known_revisions():
        return f"database: {current}; program: {head} ({_newer(current)})"
    return f"database: {current}; program: {head} (run `registry db upgrade` after a backup)"


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade under a lock; returns (revision before, revision after)."""
    config = alembic_config()
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if postgres:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            conn.commit()
        else:
            conn.execution_options(sqlite_begin="EXCLUSIVE")
        try:
            with conn.begin():
                before = current_revision(conn)
                if before is not None and before not in known_revisions():
                    raise SchemaError(_newer(before))
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                after = current_revision(conn)
        finally:
            if postgres:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                conn.commit()
    return before, after or ""
