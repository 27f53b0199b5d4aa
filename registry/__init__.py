"""Data-sharing agreement registry with checker plugins.

Data systems ask before every export whether a transfer fits an active agreement::

    import registry
    reg = registry.connect()            # or registry.connect("postgresql+psycopg://...")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine.checker import Checker, Finding, LintContext, Transfer
from .engine.plugins import hookimpl
from .schemas import Agreement, CheckRequest, Decision, Party, Problem, Reason

if TYPE_CHECKING:
    from .service import Registry

__version__ = "0.1.0"


def connect(url: str | None = None, **options: Any) -> Registry:
    """Open the registry at ``url`` (default: settings, else the embedded SQLite file)."""
    from .service import Registry

    return Registry.open(url, **options)


__all__ = [
    "Agreement",
    "CheckRequest",
    "Checker",
    "Decision",
    "Finding",
    "LintContext",
    "Party",
    "Problem",
    "Reason",
    "Transfer",
    "__version__",
    "connect",
    "hookimpl",
]
