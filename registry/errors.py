"""Errors the registry raises to its callers (CLI, API, Python). No project imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RegistryError(Exception):
    """Base of the registry's errors; ``str()`` is a message for people."""


class InvalidInput(RegistryError):
    """Input that cannot be accepted; nothing was written. ``problems`` says why."""

    def __init__(self, message: str, problems: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class NotFound(RegistryError):
    """No agreement, version or party with that id."""


class Conflict(RegistryError):
    """The change conflicts with the stored state (a concurrent change, a termination)."""


class SchemaError(RegistryError):
    """The database schema does not match this program; nothing was read or written."""


class DatabaseUnavailable(RegistryError):
    """The database cannot be reached."""


class CommitInDoubt(DatabaseUnavailable):
    """The connection broke while a change was being committed and the database could not
    say whether it went through: it may have been recorded. Look before repeating it."""


class Overloaded(RegistryError):
    """More checks are waiting than the registry takes at once; nothing was recorded."""


class ConfigError(RegistryError):
    """A setting is missing or malformed (an environment variable, a key file)."""
