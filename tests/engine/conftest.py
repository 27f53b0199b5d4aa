from __future__ import annotations

import importlib.util
import os

import pytest

TWINS = ("registry.engine._records", "registry_plugins.irc6103._address")


def _twins_built() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in TWINS)


def twins_state() -> str:
    """For the suite's header (tests/conftest.py)."""
    built = "built" if _twins_built() else "not built (no C compiler?)"
    used = "off (REGISTRY_PURE_PYTHON)" if os.environ.get("REGISTRY_PURE_PYTHON") else "on"
    return f"{built}, {used}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The compiled twins' own tests are left out (deselected and counted as such, never
    skipped) with ``REGISTRY_PURE_PYTHON=1``, and where the twins were not built (a machine
    without a C compiler) except under CI, which requires them."""
    if os.environ.get("CI") and not os.environ.get("REGISTRY_PURE_PYTHON"):
        return
    if not os.environ.get("REGISTRY_PURE_PYTHON") and _twins_built():
        return
    left_out = [item for item in items if item.path.name == "test_compiled.py"]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
