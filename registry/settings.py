"""Settings from the environment. Nothing is read at import time."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def default_data_dir() -> Path:
    """``$REGISTRY_DATA_DIR``, else ``$XDG_DATA_HOME/registry``, else
    ``~/.local/share/registry``."""
    if os.environ.get("REGISTRY_DATA_DIR"):
        return Path(os.environ["REGISTRY_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "registry"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where the data lives and which plugins load.

    ``REGISTRY_DATABASE_URL``: SQLAlchemy URL; default an SQLite file in the data folder.
    ``REGISTRY_PLUGINS_DIR``: a folder of one-off plugin files (``*.py``).
    """

    database_url: str
    plugins_dir: str | None = None

    @classmethod
    def from_env(cls, database_url: str | None = None, plugins_dir: str | None = None) -> Settings:
        url = database_url or os.environ.get("REGISTRY_DATABASE_URL")
        if not url:
            url = f"sqlite:///{default_data_dir() / 'registry.db'}"
        return cls(
            database_url=url,
            plugins_dir=plugins_dir or os.environ.get("REGISTRY_PLUGINS_DIR") or None,
        )
