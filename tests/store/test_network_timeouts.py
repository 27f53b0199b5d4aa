"""A PostgreSQL server that stops answering, rather than refusing, is given up on within
the connection timeout, not after the operating system's minutes of TCP retries."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from registry.errors import DatabaseUnavailable
from registry.service import Registry
from registry.store.database import POSTGRES_NETWORK, create_engine
from tests.conftest import BACKENDS

POSTGRESQL = [b for b in BACKENDS if b == "postgresql"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_silent_server_is_unavailable_within_the_connect_timeout(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the default, shortened for the test (no connect_timeout in the URL: libpq's own
    # default is to wait for ever)
    monkeypatch.setitem(POSTGRES_NETWORK, "connect_timeout", "2")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/test"
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database"):
        Registry.open(url)
    assert time.monotonic() - started < 8  # libpq tries each address once, 2 s each


@pytest.mark.parametrize("db_url", POSTGRESQL, indirect=True)
def test_the_network_settings_reach_libpq_and_the_url_wins(db_url: str) -> None:
    engine = create_engine(f"{db_url}&keepalives_idle=7")
    try:
        with engine.connect() as connection:
            given = connection.connection.driver_connection.info.get_parameters()
    finally:
        engine.dispose()
    assert given["keepalives_idle"] == "7"
    for name in ("connect_timeout", "keepalives", "keepalives_interval", "tcp_user_timeout"):
        assert given[name] == POSTGRES_NETWORK[name], name
