"""Engines for SQLite (the embedded default) and PostgreSQL, and transactions on them.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives a crash),
foreign keys on and a busy timeout. pysqlite's own transaction handling is turned off so
that write transactions can start with ``BEGIN IMMEDIATE``: writers queue for the lock at
the start instead of failing half-way. PostgreSQL writers lock the rows they change.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from ..errors import CommitInDoubt, DatabaseUnavailable, SchemaError
from .migrations_api import check_schema

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """An engine and the sessions the registry opens on it."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or not at all.

        On PostgreSQL a connection can break after COMMIT was sent: the server may have
        committed without the answer coming back. The commit's outcome is then asked of
        the server on a new connection (see :func:`_commit`), so that a database error
        raised here means that nothing was written, and CommitInDoubt that it may have
        been."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.commit()
                return
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
                _commit(self.engine, session)

    def ping(self) -> None:
        """Raise when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


# For interfaces that map database failures to answers (the API), without importing
# SQLAlchemy themselves: the base class of the driver's errors, and which of them mean
# that the database could not be reached or dropped the connection.
DatabaseError = sa.exc.DBAPIError


BAD_DATA = "the database cannot store a value in this request (a NUL character, say)"


def is_bad_data(exc: BaseException) -> bool:
    """True when the database refused a value (PostgreSQL takes no NUL character in text,
    say): bad input, nothing written."""
    return isinstance(exc, sa.exc.DataError)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or bool(
        getattr(exc, "connection_invalidated", False)
    )


# How long to keep asking PostgreSQL whether a commit whose answer was lost went through.
COMMIT_OUTCOME_SECONDS = 10.0
# The key of ``Session.info`` where a writer that took the transaction's id already (the
# log's lock does) leaves it, so that the commit need not ask for it.
TRANSACTION_ID = "registry.xid"
_XID = sa.text("SELECT txid_current_if_assigned()")
_XID_STATUS = sa.text("SELECT txid_status(:xid)")


def _commit(engine: sa.Engine, session: Session) -> None:
    """Commit on PostgreSQL. If the connection breaks during COMMIT, ask a new connection
    whether the transaction committed (``txid_status``): if it did, return as if the
    answer had come; if it did not, raise the connection's error (nothing was written);
    if the server cannot tell within ``COMMIT_OUTCOME_SECONDS``, raise CommitInDoubt."""
    xid = session.info.get(TRANSACTION_ID)
    if xid is None:
        xid = session.connection().execute(_XID).scalar()  # None when nothing was written
    try:
        session.commit()
    except sa.exc.DBAPIError as exc:
        if xid is None or not is_unavailable(exc):
            raise
        if _committed(engine, int(xid)):
            return
        raise


def _committed(engine: sa.Engine, xid: int) -> bool:
    deadline = time.monotonic() + COMMIT_OUTCOME_SECONDS
    while True:
        try:
            with engine.connect() as conn:
                status = conn.execute(_XID_STATUS, {"xid": xid}).scalar()
        except sa.exc.DBAPIError:
            status = "in progress"  # the server is still away
        if status == "committed":
            return True
        if status == "aborted":
            return False
        if status is None or time.monotonic() > deadline:
            raise CommitInDoubt(
                "the connection to the database broke while committing and the database "
                f"could not say within {COMMIT_OUTCOME_SECONDS:g} s whether the commit went "
                "through: the change may have been recorded; look it up before repeating it"
            )
        time.sleep(0.1)


# libpq connection settings: give up connecting after 10 s; probe an idle connection after
# 30 s, every 10 s, 3 times; drop a connection whose sent data goes unacknowledged for 30 s.
POSTGRES_NETWORK = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


def create_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url``; for SQLite, the folder of the file is created."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("hide_parameters", True)  # no personal data in error texts
        engine = sa.create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **options
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # A database that stops answering, rather than refusing, must not hold requests for
        # the operating system's minutes-long TCP timeouts: these are libpq's settings, and
        # the same names in the URL's query win.
        parsed = parsed.update_query_dict(
            {k: v for k, v in POSTGRES_NETWORK.items() if k not in parsed.query}
        )
        options.setdefault("hide_parameters", True)  # no personal data in error texts
        engine = sa.create_engine(parsed, **options)
        if not options.get("pool_pre_ping"):
            _ping_after_idle(engine)
        return engine
    raise SchemaError(f"unsupported database {backend!r}: use an sqlite:/// or postgresql:// URL")


# A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "registry.idle_since"


def _ping_after_idle(engine: sa.Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat in the pool
    for ``PING_AFTER_IDLE_SECONDS``: a server restarted or a connection dropped while
    idle is found before it fails a request, and a busy writer, whose connection goes
    back and out again at once, saves a round trip a transaction. A connection that
    breaks in that second fails its request with 503 and the pool is then renewed."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:
            # The pool discards this connection and hands out a new one.
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _enable_wal(cursor: Any) -> None:
    """Switch a new database file to WAL. The switch needs an exclusive lock and SQLite
    does not wait for it through the busy handler, so several processes opening a new
    file at once retry here until the first one has switched it."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    """An engine for maintenance commands, its connection failures as registry errors."""
    engine = create_engine(url)
    try:
        yield engine
    except sa.exc.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot reach the database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()


def open_database(url: str, *, upgrade_empty: bool = True, check: bool = True) -> Database:
    """Open the database at ``url``, checking (or creating) its schema."""
    engine = create_engine(url)
    try:
        if check:
            check_schema(engine, upgrade_empty=upgrade_empty)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot reach the database: {_first_line(exc)}") from exc
    except Exception:
        engine.dispose()
        raise
    return Database(engine)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
