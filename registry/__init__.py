"""Data-sharing agreement registry with checker plugins.

Data systems ask before every export whether a transfer fits an active agreement::

    import registry
    reg = registry.connect()            # or registry.connect("postgresql+psycopg://...")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine.checker import Checker, LintContext
from .engine.plugins import hookimpl
from .schemas import Agreement, Party, Problem

if TYPE_CHECKING:
    from .service import Registry

__version__ = "0.1.0"


def connect(url: str | None = None, **options: Any) -> Registry:
    """Open the registry at ``url`` (default: settings, else the embedded SQLite file)."""
    from .service import Registry

    return Registry.open(url, **options)


__all__ = [
    "Agreement",
    "Checker",
    "LintContext",
    "Party",
    "Problem",
    "__version__",
    "connect",
    "hookimpl",
]
