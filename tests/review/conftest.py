"""The ``loaded`` registry of tests/checking, for the review findings."""

from tests.checking.conftest import loaded  # noqa: F401 - re-exported fixture
