"""A real HTTP server for tests: the app under uvicorn in a thread, on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the test server did not start")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(db_url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``registry serve`` as users run it, in a process group of its own (so that a test
    can kill the server and its workers at once); returns when ``/health`` answers."""
    # Not a pipe (a full pipe would stall the server); open for as long as the server runs.
    output = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=dict(os.environ, REGISTRY_DATABASE_URL=db_url),
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            output.seek(0)
            pytest.fail(f"registry serve did not start: {output.read().decode(errors='replace')}")
        time.sleep(0.1)


def worker_of(server: subprocess.Popen[bytes], answer: httpx.Response) -> int:
    """The process id of the worker of ``server`` (``start_serve``) that holds the
    connection ``answer`` came on: the one whose file descriptors include the socket of
    that connection (Linux, from /proc)."""
    stream = answer.extensions["network_stream"]
    client_port = stream.get_extra_info("client_addr")[1]
    server_port = stream.get_extra_info("server_addr")[1]
    inode = _socket_inode(server_port, client_port)
    workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return int(pid)
    raise AssertionError(f"no worker of {server.pid} holds the connection from {client_port}")


def _socket_inode(local_port: int, remote_port: int) -> str:
    """The inode of the IPv4 TCP socket from ``local_port`` to ``remote_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (
            int(local.split(":")[1], 16) == local_port
            and int(remote.split(":")[1], 16) == remote_port
        ):
            return fields[9]
    raise AssertionError(f"no connection from port {local_port} to port {remote_port}")


def stop_serve(server: subprocess.Popen[bytes]) -> None:
    """Stop a server from start_serve: SIGTERM, then SIGKILL to its group after 20 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
