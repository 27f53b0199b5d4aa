from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``REGISTRY_PURE_PYTHON=1`` runs the suite without the compiled twins and leaves
    their own tests out (deselected and counted as such, never skipped)."""
    if not os.environ.get("REGISTRY_PURE_PYTHON"):
        return
    left_out = [item for item in items if item.path.name == "test_compiled.py"]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
