"""Faults for the tests and the reliability benchmark: a TCP proxy in front of PostgreSQL
that takes the database away and gives it back (or lets a COMMIT through and then cuts,
leaving the commit in doubt), and the API in this process over a database reached through
it. The load that runs meanwhile is :mod:`tests.load`, its audit :mod:`tests.load_audit`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import sqlalchemy as sa
from litestar.testing import TestClient

from registry.app import create_app
from registry.service import Registry
from tests.api.conftest import Api, issue_tokens
from tests.conftest import AGREEMENTS

_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # the simple-query message psycopg commits with


class Proxy:
    """A TCP proxy in front of PostgreSQL that the test can cut, as a network or a server
    that goes away would: open connections are closed, new ones are closed at once."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.cut_on_commit = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def before(cls, db_url: str) -> tuple[Proxy, str]:
        """A proxy in front of the database of ``db_url``, and the URL through it."""
        server = sa.engine.make_url(db_url)
        proxy = cls(server.host or "127.0.0.1", server.port or 5432)
        through = server.set(host="127.0.0.1", port=proxy.port)
        return proxy, through.render_as_string(hide_password=False)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, target, outward in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, outward), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket, outward: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not self.up:
                    break  # cut: not even what was already on its way goes through
                commit = outward and self.cut_on_commit.is_set() and _COMMIT in data
                if commit:
                    self.cut_on_commit.clear()
                    self.up = False  # before the server can answer: its answer is dropped
                target.sendall(data)
                if commit:
                    self.cut()  # the server commits; the client never learns it did
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            cut, self.sockets = self.sockets, []
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut_after_next_commit(self) -> None:
        """Let the next COMMIT through to the server, then cut: the transaction is
        committed but its client never learns it (a commit in doubt)."""
        self.cut_on_commit.set()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@contextlib.contextmanager
def api_on(url: str) -> Iterator[Api]:
    """The API in this process over the database at ``url`` (through a proxy, say), with
    the shipped agreements and a token for every role (looked up on every request)."""
    registry = Registry.open(url)
    try:
        registry.load([AGREEMENTS])
        tokens = issue_tokens(registry)
        with TestClient(create_app(registry, token_cache_seconds=0)) as client:
            yield Api(client, registry, tokens)
    finally:
        registry.close()
