"""A checker plugin in a package of its own is found without any change to the registry.

``tests/example_plugin`` is a standalone project (its own ``pyproject.toml``, entry point
``example_agency`` in the ``registry.plugins`` group). It is installed once, with pip, into
a temporary folder, never into the project's environment; the registry then sees it only
where that folder is on the path: the real ``registry`` command in a subprocess with
``PYTHONPATH``, and ``registry.connect()`` in this process with the folder on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import registry
from registry.engine.plugins import ENTRY_POINT_GROUP, build_plugins
from registry.schemas import Decision
from registry.service import Registry
from tests.checking.helpers import request as base_request
from tests.conftest import AGREEMENTS, ROOT, TEST_SUBJECT_KEY

EXAMPLE_PROJECT = ROOT / "tests" / "example_plugin"
DISTRIBUTION = "registry-example-plugin"
MODULE = "registry_example_agency"
EMBARGOED = "irs-ice-example-embargoed"
CAPPED = "irs-ice-example-capped"


def _setuptools_builds_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1; before, it needs the `wheel` package."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) >= (70, 1):
        return True
    try:
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the installed example plugin and its dist-info.

    The project is copied first, since setuptools writes ``build/`` and ``*.egg-info``
    next to the sources. pip builds with the environment's setuptools when that can build
    wheels; otherwise (Python 3.11's venv ships setuptools 65.5 without `wheel`) it builds in
    an isolated environment, fetching setuptools from the package index as ``make install``
    does for the registry itself.
    """
    work = tmp_path_factory.mktemp("example-plugin")
    source = shutil.copytree(
        EXAMPLE_PROJECT, work / "src", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    if _setuptools_builds_wheels():
        command.append("--no-build-isolation")
    command += ["--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"pip could not install {EXAMPLE_PROJECT}:\n{done.stdout}\n{done.stderr}")
    assert (target / MODULE / "__init__.py").is_file()
    return target


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped parties and two copies of the IRS-ICE MOU that use the example checker:
    one embargoes its recipient, the other caps transfers at two fields."""
    out = tmp_path_factory.mktemp("agreements")
    shutil.copy(AGREEMENTS / "parties.toml", out / "parties.toml")
    (out / f"{EMBARGOED}.toml").write_text(
        example_agreement(EMBARGOED, 'embargoed_recipients = ["dhs-ice"]')
    )
    (out / f"{CAPPED}.toml").write_text(example_agreement(CAPPED, "max_fields = 2"))
    return out


def example_agreement(agreement_id: str, table: str) -> str:
    text = (AGREEMENTS / "irs-ice-2025-mou.toml").read_text()
    for old, new in [
        ('id = "irs-ice-2025-mou"', f'id = "{agreement_id}"'),
        ('required_checkers = ["irc6103"]', 'required_checkers = ["irc6103", "example_agency"]'),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    return f"{text}\n[checkers.example_agency]\n{table}\n"


# --- the registry command, in a subprocess ------------------------------------------------


def registry_command(
    *args: str, tmp_path: Path, plugin_site: Path | None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``registry`` console script, with the plugin's folder on its path
    or not, and nothing written outside ``tmp_path``."""
    script = Path(sys.executable).parent / "registry"
    found = str(script) if script.exists() else shutil.which("registry")
    assert found, "the registry console script is not installed"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "REGISTRY_PLUGINS_DIR")}
    env |= {
        "REGISTRY_DATA_DIR": str(tmp_path),
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "REGISTRY_SUBJECT_KEY": TEST_SUBJECT_KEY,
    }
    if plugin_site is not None:
        env["PYTHONPATH"] = str(plugin_site)
    return subprocess.run(
        [found, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )


def test_plugins_list_shows_the_packaged_checker_and_its_distribution(
    site: Path, tmp_path: Path
) -> None:
    done = registry_command(
        "plugins", "list", "--format", "json", tmp_path=tmp_path, plugin_site=site
    )

    assert done.returncode == 0, done.stderr
    [row] = [r for r in json.loads(done.stdout) if r["checker"] == "example_agency"]
    assert row == {
        "plugin": "example_agency",
        "source": f"entry point ({DISTRIBUTION} 0.1.0)",
        "checker": "example_agency",
        "table": "[checkers.example_agency]",
        "description": "Example agency house rules: embargoes, field caps, no test records.",
    }


def test_lint_accepts_the_table_and_runs_the_packaged_lint_rules(
    site: Path, folder: Path, tmp_path: Path
) -> None:
    done = registry_command(
        "agreements", "lint", str(folder), "--format", "json", tmp_path=tmp_path, plugin_site=site
    )

    assert done.returncode == 0, done.stdout + done.stderr
    problems = json.loads(done.stdout)
    assert sorted(
        (Path(p["file"]).stem, p["severity"], p["rule"], p["field"]) for p in problems
    ) == [
        (CAPPED, "warning", "example_agency.max_fields", "checkers.example_agency.max_fields"),
        (EMBARGOED, "warning", "example_agency.recipient_embargoed", "recipients[0]"),
    ]


def test_lint_without_the_package_rejects_the_table_and_the_required_checker(
    folder: Path, tmp_path: Path
) -> None:
    done = registry_command(
        "agreements", "lint", str(folder), "--format", "json", tmp_path=tmp_path, plugin_site=None
    )

    assert done.returncode == 2, done.stdout + done.stderr
    problems = json.loads(done.stdout)
    assert sorted((Path(p["file"]).stem, p["rule"], p["field"]) for p in problems) == [
        (CAPPED, "core.checker_missing", "required_checkers[1]"),
        (CAPPED, "unclaimed_table", "checkers.example_agency"),
        (EMBARGOED, "core.checker_missing", "required_checkers[1]"),
        (EMBARGOED, "unclaimed_table", "checkers.example_agency"),
    ]
    assert {p["severity"] for p in problems} == {"error"}


# --- the library, in this process -----------------------------------------------------------


@contextlib.contextmanager
def on_sys_path(folder: Path) -> Iterator[None]:
    """The folder first on ``sys.path`` (where entry points are discovered), then gone."""
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        importlib.invalidate_caches()


@pytest.fixture(scope="module")
def example_registry(
    site: Path, folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """A registry on a fresh SQLite file, with the example plugin and both agreements."""
    assert MODULE not in sys.modules
    with on_sys_path(site):
        plugins = build_plugins()
    database = tmp_path_factory.mktemp("db") / "r.db"
    opened = registry.connect(f"sqlite:///{database}", plugins=plugins)
    try:
        opened.load([folder], recorded_by="test")
        yield opened
    finally:
        opened.close()
        sys.modules.pop(MODULE, None)


def test_the_entry_point_is_found_only_while_the_folder_is_on_the_path(site: Path) -> None:
    def declared() -> list[tuple[str, str | None]]:
        return [
            (e.value, e.dist.name if e.dist else None)
            for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name="example_agency")
        ]

    with on_sys_path(site):
        assert declared() == [(MODULE, DISTRIBUTION)]
    assert declared() == []


def check(reg: Registry, agreement: str, *names: str, **changes: Any) -> Decision:
    records = [
        {
            "taxpayer": {
                "name": name,
                "tin": f"{123456780 + index}",
                "address": {
                    "street": "12 Main St",
                    "city": "Springfield",
                    "state": "IL",
                    "zip": "62701",
                },
            },
            "taxable_periods": [2023],
        }
        for index, name in enumerate(names)
    ]
    request = base_request(agreement=agreement, records=records)
    return reg.check(request | changes)


def test_a_clean_transfer_under_the_packaged_checker_is_allowed(
    example_registry: Registry,
) -> None:
    decision = check(example_registry, CAPPED, "Ana Lopez", "Bo Chen")

    assert decision.reasons == ()
    assert decision.allowed
    assert "example_agency" in decision.checkers


def test_an_embargoed_recipient_and_test_records_deny_the_transfer(
    example_registry: Registry,
) -> None:
    decision = check(example_registry, EMBARGOED, "Ana Lopez", "TEST ONE", "Bo Chen", "TEST TWO")

    assert not decision.allowed
    assert "example_agency" in decision.checkers
    found = {r.code: r for r in decision.reasons}
    assert set(found) == {"example_agency.recipient_embargoed", "example_agency.test_record"}
    embargo = found["example_agency.recipient_embargoed"]
    assert (embargo.checker, embargo.field, embargo.records) == (
        "example_agency",
        "recipient",
        None,
    )
    test_records = found["example_agency.test_record"]
    assert (test_records.checker, test_records.field) == ("example_agency", "taxpayer.name")
    assert (test_records.records, test_records.record_total) == ((1, 3), 2)


def test_a_transfer_over_the_field_cap_is_denied(example_registry: Registry) -> None:
    decision = check(
        example_registry,
        CAPPED,
        "Ana Lopez",
        fields=["taxpayer.name", "taxpayer.address", "taxpayer.tin"],
    )

    assert not decision.allowed
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("example_agency.too_many_fields", "fields")
    ]
