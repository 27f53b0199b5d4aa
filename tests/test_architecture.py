"""The shape of the code: layers point one way, the public API is complete, hooks are documented."""

from __future__ import annotations

import ast
import inspect
import re
import types
from pathlib import Path

import registry
from registry.engine import hookspecs
from tests.conftest import ROOT

PACKAGE = ROOT / "registry"


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = (
        module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    )
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def _modules(*parts: str) -> list[Path]:
    target = PACKAGE.joinpath(*parts)
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def _offenders(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for path in paths:
        bad = sorted(i for i in _imports(path) if i.startswith(forbidden))
        if bad:
            out[str(path.relative_to(ROOT))] = bad
    return out


def test_schemas_import_nothing_from_the_project() -> None:
    assert (
        _offenders(
            _modules("schemas"),
            (
                "registry.engine",
                "registry.store",
                "registry.cli",
                "registry.service",
                "registry.documents",
            ),
        )
        == {}
    )


def test_engine_and_documents_never_touch_storage_or_interfaces() -> None:
    paths = _modules("engine") + _modules("documents.py") + _modules("locate.py")
    forbidden = (
        "registry.store",
        "registry.cli",
        "registry.service",
        "registry.app",
        "sqlmodel",
        "sqlalchemy",
        "litestar",
    )
    assert _offenders(paths, forbidden) == {}


def test_only_store_imports_sqlmodel() -> None:
    outside = [p for p in _modules("") if "store" not in p.relative_to(PACKAGE).parts]
    assert _offenders(outside, ("sqlmodel", "sqlalchemy")) == {}


def test_store_never_imports_interfaces() -> None:
    assert (
        _offenders(
            _modules("store"), ("registry.cli", "registry.service", "registry.app", "litestar")
        )
        == {}
    )


def test_public_api_is_sorted_and_complete() -> None:
    assert registry.__all__ == sorted(registry.__all__)
    public = {
        name
        for name, value in vars(registry).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert public - set(registry.__all__) == set()
    for name in registry.__all__:
        assert hasattr(registry, name), name


def _hookspecs() -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(func).parameters)
        for name, func in vars(hookspecs).items()
        if callable(func) and hasattr(func, "registry_spec")
    }


def test_every_hook_is_documented_with_its_signature() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text()
    documented = {
        m.group(1): [a.strip() for a in m.group(2).split(",") if a.strip()]
        for m in re.finditer(r"^### `(\w+)\(([^)]*)\)`", text, re.MULTILINE)
    }
    specs = _hookspecs()
    assert specs, "no hookspecs found"
    assert {name: documented.get(name) for name in specs} == specs
    assert set(documented) - set(specs) == set(), "docs describe hooks that do not exist"


def test_every_package_is_listed_for_installation() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([name, *parts]))
    assert found == listed
