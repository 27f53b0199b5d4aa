"""``registry serve``'s writer process (:mod:`registry.writer`): started before the
workers, started again when it exits, stopped after them."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType

from .errors import ConfigError
from .writer import SOCKET_ENV

log = logging.getLogger("registry.serve")

START_SECONDS = 60.0  # opening the database and the plugins, at most
RESTART_PAUSE = (0.1, 5.0)  # the first pause before a restart, and the longest


class WriterProcess:
    """The writer process of one ``registry serve``, with its socket in a private folder.

    ``with WriterProcess() as writer:`` starts it and puts the socket's path in the
    environment the workers inherit (``REGISTRY_WRITER_SOCKET``); a watcher thread starts
    it again, after a growing pause, whenever it exits. The writer stops when this
    process is gone, even killed (it watches its parent)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="registry-writer-")
        self.path = os.path.join(self.folder, "writer.sock")
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._began = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="registry-writer-watch")

    def __enter__(self) -> WriterProcess:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        os.environ[SOCKET_ENV] = self.path
        self._watcher.daemon = True
        self._watcher.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the writer: it decides and answers what is queued, then exits. A restart
        under way when this is called finishes first, and its writer is stopped too."""
        self._stopping.set()
        os.environ.pop(SOCKET_ENV, None)
        self._terminate(timeout)
        if self._watcher.is_alive() and self._watcher is not threading.current_thread():
            self._watcher.join(START_SECONDS + timeout)
        self._terminate(timeout)  # one the watcher was starting meanwhile
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)

    def _terminate(self, timeout: float) -> None:
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("the writer did not stop in %.0f s; killing it", timeout)
                proc.kill()
                proc.wait()

    def _start(self) -> None:
        command = [sys.executable, "-m", "registry.writer", "--socket", self.path,
                   "--parent", str(os.getpid())]  # fmt: skip
        proc = subprocess.Popen(command)
        with self._lock:
            self._proc, self._began = proc, time.monotonic()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ConfigError(
                    f"the writer process exited with code {proc.returncode} at start-up "
                    "(its messages are above)"
                )
            if _answers(self.path):
                return
            time.sleep(0.05)
        proc.kill()
        raise ConfigError(f"the writer process did not start in {START_SECONDS:.0f} s")

    def _watch(self) -> None:
        pause = RESTART_PAUSE[0]
        while not self._stopping.is_set():
            with self._lock:
                proc, began = self._proc, self._began
            assert proc is not None
            code = proc.wait()
            if self._stopping.is_set():
                return
            self.restarts += 1
            # A writer that ran a while gets restarted at once; one that keeps failing,
            # less and less often.
            ran = time.monotonic() - began
            pause = RESTART_PAUSE[0] if ran > 60 else min(pause * 2, RESTART_PAUSE[1])
            log.error("the writer process exited with code %s; starting it again", code)
            if self._stopping.wait(pause):
                return
            try:
                self._start()
            except ConfigError as exc:
                log.error("%s", exc)


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        return True
