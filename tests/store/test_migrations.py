"""Schema management: empty databases are created, mismatched ones refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.errors import SchemaError
from registry.store import migrations_api, open_database
from registry.store.database import create_engine


def test_empty_database_is_upgraded_on_first_use(db_url: str) -> None:
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            assert migrations_api.current_revision(conn) == migrations_api.head_revision()
            tables = set(sa.inspect(conn).get_table_names())
        assert tables >= migrations_api.REGISTRY_TABLES
    finally:
        db.dispose()


def test_empty_database_can_be_left_alone(db_url: str) -> None:
    with pytest.raises(SchemaError, match="registry db upgrade"):
        open_database(db_url, upgrade_empty=False)


def test_older_schema_is_refused_until_upgraded(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrations_api.upgrade(engine, "0001")
        head = migrations_api.head_revision()
        assert head != "0001"
        with pytest.raises(
            SchemaError, match=rf"at revision 0001; this program needs {head}.*registry db upgrade"
        ):
            open_database(db_url)
        assert migrations_api.upgrade(engine) == ("0001", head)
    finally:
        engine.dispose()
    open_database(db_url).dispose()


def test_newer_schema_is_refused(db_url: str) -> None:
    open_database(db_url).dispose()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newer version of the registry"):
        open_database(db_url)


def test_foreign_tables_without_migration_record_are_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE agreement (id VARCHAR(10) PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="not created by this program"):
        open_database(db_url)


def test_upgrade_reports_before_and_after(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert migrations_api.upgrade(engine) == (None, migrations_api.head_revision())
        head = migrations_api.head_revision()
        assert migrations_api.upgrade(engine) == (head, head)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()
