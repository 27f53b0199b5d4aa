from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry.service import Registry
from tests.conftest import AGREEMENTS


@pytest.fixture
def loaded(db_url: str) -> Iterator[Registry]:
    """A registry on a fresh database with the shipped agreements loaded."""
    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    try:
        yield registry
    finally:
        registry.close()
