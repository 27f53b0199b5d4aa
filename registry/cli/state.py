"""What the commands share: settings from the options, and the registry opened on demand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..engine.plugins import Plugins, build_plugins
from ..service import Registry
from ..settings import Settings


@dataclasses.dataclass
class State:
    database: str | None
    plugins_dir: str | None
    _registry: Registry | None = None
    _plugins: Plugins | None = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.database, self.plugins_dir)

    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = build_plugins(self.settings.plugins_dir)
        return self._plugins

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.open(
                self.database, plugins_dir=self.plugins_dir, plugins=self.plugins()
            )
        return self._registry

    def database_exists(self) -> bool:
        """False only for the default SQLite file that was never created."""
        url = self.settings.database_url
        if not url.startswith("sqlite:///"):
            return True
        return Path(url.removeprefix("sqlite:///")).exists()

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
