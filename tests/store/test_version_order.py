"""Two loads amending one agreement at once: the one that waited for the other's lock
records its version after it, in number and in time (history reads in that order)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import registry.store.agreements as store
from tests.conftest import agreement_data


def test_versions_are_stamped_in_the_order_they_are_recorded(
    registry_at: Any, write_files: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry_at.load([write_files(agreements=[agreement_data()], folder="first")])
    slow = write_files(agreements=[agreement_data(title="A")], folder="a")
    quick = write_files(agreements=[agreement_data(title="B")], folder="b")
    real_now = store.now

    def late_now() -> Any:  # load A reads the clock, then is slow to take the lock
        stamp = real_now()
        if threading.current_thread().name == "A":
            time.sleep(0.6)
        return stamp

    monkeypatch.setattr(store, "now", late_now)
    a = threading.Thread(target=registry_at.load, args=([slow],), name="A")
    b = threading.Thread(target=lambda: (time.sleep(0.2), registry_at.load([quick])), name="B")
    a.start()
    b.start()
    a.join()
    b.join()
    versions = registry_at.versions("test-mou")
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.recorded_at for v in versions] == sorted(v.recorded_at for v in versions)
