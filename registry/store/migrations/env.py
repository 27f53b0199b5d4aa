"""Alembic environment. The registry runs migrations on a connection it already holds
(see ``registry.store.migrations_api``); ``alembic`` on the command line uses
``sqlalchemy.url`` from alembic.ini or ``REGISTRY_DATABASE_URL``."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from registry.store.tables import metadata

config = context.config


def run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = os.environ.get("REGISTRY_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set REGISTRY_DATABASE_URL or sqlalchemy.url in alembic.ini")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        run(conn)
        conn.commit()
