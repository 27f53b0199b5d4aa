"""Build the plugin manager and collect the installed checkers.

One function builds the manager: add the hookspecs, register the built-in plugins, load
installed plugins from the ``registry.plugins`` entry-point group, then one-off plugin
files from a plugins folder. The manager is built on demand, never at import time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pluggy

from . import hookspecs
from .checker import Checker

ENTRY_POINT_GROUP = "registry.plugins"
BUILTIN_PLUGINS = ("registry.engine.core",)
# A plugin still importing after this long is named in a warning, every as long again.
SLOW_IMPORT_SECONDS = 10.0

log = logging.getLogger("registry.plugins")

CHECKER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

hookimpl = pluggy.HookimplMarker("registry")


class PluginError(Exception):
    """A plugin could not be loaded or declares something invalid."""


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    checkers: tuple[str, ...]


class Plugins:
    """The plugin manager and the checkers it contributes, by name."""

    def __init__(
        self, manager: pluggy.PluginManager, sources: dict[str, str] | None = None
    ) -> None:
        self.manager = manager
        self._sources = sources or {}
        self.hook = manager.hook
        checkers: dict[str, Checker] = {}
        self._owner: dict[str, str] = {}
        for plugin, contributed in _checkers_by_plugin(manager):
            for checker in contributed:
                name = getattr(checker, "name", None)
                if not isinstance(name, str) or not CHECKER_NAME.match(name):
                    raise PluginError(
                        f"plugin {plugin!r} contributed a checker named {name!r}: a checker "
                        "name is lowercase letters, digits and underscores, starting with a "
                        "letter"
                    )
                if name in checkers:
                    raise PluginError(
                        f"two checkers are named {name!r} (plugins {self._owner[name]!r} "
                        f"and {plugin!r})"
                    )
                checkers[name] = checker
                self._owner[name] = plugin
        self.checkers = checkers

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.checkers)

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin with where it came from and its checkers."""
        out = []
        for name, plugin in self.manager.list_name_plugin():
            if name is None or plugin is None:
                continue
            checkers = tuple(sorted(c for c, owner in self._owner.items() if owner == name))
            out.append(
                PluginInfo(
                    name=name, source=self._sources.get(name, "registered"), checkers=checkers
                )
            )
        return out


def _checkers_by_plugin(
    manager: pluggy.PluginManager,
) -> list[tuple[str, Sequence[Checker]]]:
    out = []
    for impl in manager.hook.register_checkers.get_hookimpls():
        try:
            result = impl.function()
        except (Exception, SystemExit) as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed to register checkers: {_why(exc)}"
            ) from exc
        out.append((impl.plugin_name, list(result or ())))  # type: ignore[call-overload]
    return out


def build_plugins(plugins_dir: str | Path | None = None, *, entry_points: bool = True) -> Plugins:
    """Build the plugin manager: specs, built-ins, entry points, then the plugins folder."""
    manager = pluggy.PluginManager("registry")
    manager.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
    sources: dict[str, str] = {name: "built-in" for name in BUILTIN_PLUGINS}
    if entry_points:
        for name, source, module in _entry_point_plugins():
            if name in sources:
                raise PluginError(
                    f"two plugins are named {name!r}: {sources[name]} and {source}; uninstall one"
                )
            manager.register(module, name=name)
            sources[name] = source
    if plugins_dir:
        for module in load_plugins_dir(Path(plugins_dir)):
            name = f"file:{module.__file__}"
            manager.register(module, name=name)
            sources[name] = name
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return Plugins(manager, sources)


def _entry_point_plugins() -> list[tuple[str, str, ModuleType]]:
    """(name, where from, module) of every plugin in the entry-point group."""
    found = []
    for entry_point in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        dist = entry_point.dist
        source = f"entry point ({dist.name} {dist.version})" if dist else "entry point"
        try:
            with _watched(f"installed plugin {entry_point.name!r} ({source})"):
                module = entry_point.load()
        except (Exception, SystemExit) as exc:  # sys.exit() there must not end the registry
            raise PluginError(
                f"installed plugin {entry_point.name!r} ({source}) failed to load: {_why(exc)}"
            ) from exc
        found.append((entry_point.name, source, module))
    return found


def load_plugins_dir(folder: Path) -> list[ModuleType]:
    """Import every ``*.py`` file directly inside ``folder`` as a plugin module.

    Hidden files are passed over, as in agreement folders: editors leave ``.#name.py``
    locks (links to nowhere) and macOS ``._name.py`` copies beside the files. A plugin file
    is code the operator chose to run, in this process: one that never returns from its
    import hangs the start, as any installed module would; none is given a timeout, since
    a thread that runs on cannot be stopped. The start says which one it waits for: a
    warning names a plugin still importing after :data:`SLOW_IMPORT_SECONDS`."""
    if not folder.is_dir():
        raise PluginError(f"plugins folder {folder} does not exist")
    root = folder.resolve()
    modules = []
    for path in sorted(p for p in folder.glob("*.py") if not p.name.startswith(".")):
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # a link to itself: RuntimeError until 3.13
            raise PluginError(f"plugin file {path} is a link that cannot be followed") from exc
        if resolved.parent != root:
            raise PluginError(f"plugin file {path} points outside the plugins folder")
        if not resolved.is_file():
            raise PluginError(f"plugin file {path} is not a file")
        if not path.stem.isidentifier():
            raise PluginError(f"plugin file {path} is not named like a Python module")
        module_name = f"registry_plugins_dir_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, resolved)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot import plugin file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            with _watched(f"plugin file {path}"):
                spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # sys.exit() there must not end the registry
            sys.modules.pop(module_name, None)
            raise PluginError(f"plugin file {path} failed to import: {_why(exc)}") from exc
        modules.append(module)
    return modules


@contextlib.contextmanager
def _watched(what: str) -> Iterator[None]:
    """Warn, every :data:`SLOW_IMPORT_SECONDS`, while ``what`` is still importing."""
    done = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        while not done.wait(SLOW_IMPORT_SECONDS):
            log.warning(
                "%s is still importing after %.0f s; the registry waits for it (a plugin "
                "that never returns from its import hangs the start)",
                what,
                time.monotonic() - started,
            )

    watcher = threading.Thread(target=watch, name="registry-plugin-import", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _why(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    return str(exc)
