"""The command line on a fresh database with the shipped agreements loaded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from registry.cli import main
from tests.conftest import AGREEMENTS

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str) -> Run:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, ["--database", db_url, *args], catch_exceptions=False)

    assert invoke("agreements", "load", str(AGREEMENTS)).exit_code == 0
    return invoke
