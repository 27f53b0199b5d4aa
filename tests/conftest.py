"""Shared fixtures: database URLs for both backends, agreement builders, the plugins.

Storage tests take ``db_url`` and run once on SQLite and once on PostgreSQL. PostgreSQL
comes from ``REGISTRY_TEST_POSTGRES_URL`` (default: the local server, database ``test``);
each test gets a schema of its own, dropped afterwards. An unreachable PostgreSQL fails
those tests; set ``REGISTRY_TEST_POSTGRES=off`` to leave the PostgreSQL runs out (CI
never does).
"""

from __future__ import annotations

import copy
import os
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w

from registry.engine.plugins import Plugins, build_plugins

# Keep the suite's key files and default databases out of the user's home folder.
os.environ.setdefault("REGISTRY_DATA_DIR", tempfile.mkdtemp(prefix="registry-tests-"))
TEST_SUBJECT_KEY = "5e" * 32

ROOT = Path(__file__).resolve().parent.parent
AGREEMENTS = ROOT / "agreements"
POSTGRES_URL = os.environ.get(
    "REGISTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite"] + (
    [] if os.environ.get("REGISTRY_TEST_POSTGRES") == "off" else ["postgresql"]
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from tests.engine.conftest import twins_state

    return [
        f"database backends: {', '.join(BACKENDS)} (PostgreSQL at {POSTGRES_URL})",
        f"compiled twins: {twins_state()}",
    ]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL}: {exc.orig}. Start it, point "
            "REGISTRY_TEST_POSTGRES_URL at one, or set REGISTRY_TEST_POSTGRES=off locally."
        )
    finally:
        engine.dispose()
    return POSTGRES_URL


def _postgres_schema_url(server: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(server)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        yield from _postgres_schema_url(server)


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return build_plugins()


@pytest.fixture
def registry_at(db_url: str, plugins: Plugins) -> Iterator[Any]:
    from registry.service import Registry

    opened = Registry.open(db_url, plugins=plugins)
    try:
        yield opened
    finally:
        opened.close()


# --- agreement files ---------------------------------------------------------------------

PARTIES = {
    "party": [
        {
            "id": "irs",
            "name": "Internal Revenue Service",
            "address": "1111 Constitution Ave NW, Washington, DC 20224",
        },
        {
            "id": "dhs-ice",
            "name": "U.S. Immigration and Customs Enforcement",
            "address": "500 12th St SW, Washington, DC 20536",
            "safeguards": {"status": "compliant"},
        },
        {
            "id": "ssa",
            "name": "Social Security Administration",
            "address": "6401 Security Blvd, Baltimore, MD 21235",
        },
        {
            "id": "state-dhs",
            "name": "State Department of Human Services",
            "address": "1 Capitol Sq, Springfield, ST 10000",
        },
    ]
}

BASE_AGREEMENT: dict[str, Any] = {
    "id": "test-mou",
    "title": "Test memorandum",
    "kind": "mou",
    "status": "active",
    "effective": "2025-01-01",
    "expires": "2026-12-31",
    "review_notice_days": 90,
    "discloser": "irs",
    "recipients": ["dhs-ice"],
    "source_systems": ["irs-itin-address"],
    "legal_authority": ["26 U.S.C. 6103(i)(2)"],
    "required_checkers": ["irc6103"],
    "purposes": [{"code": "nontax-criminal-investigation", "description": "Investigation"}],
    "fields": {
        "permitted": ["taxpayer.name", "taxpayer.address", "taxpayer.tin"],
        "prohibited": ["return.*"],
    },
    "limits": {"max_records_per_request": 100, "max_records_per_period": 1000, "period_days": 30},
    "request": {
        "required": ["signed_by", "case_number"],
        "authorized_signers": ["Director"],
        "approvals": [{"role": "disclosure-officer", "count": 1}],
    },
    "records": {"required_fields": ["taxpayer.name"], "subject_key": "taxpayer.tin"},
    "obligations": {"retention_days": 365, "redisclosure": "prohibited"},
    "checkers": {
        "irc6103": {
            "permitted_statutes": ["8 U.S.C. 1253(a)(1)"],
            "address_field": "taxpayer.address",
        }
    },
}


def replaced(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced (None removes a key)."""
    data = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def agreement_data(**changes: Any) -> dict[str, Any]:
    """The base agreement with top-level keys replaced (None removes a key)."""
    return replaced(BASE_AGREEMENT, changes)


def _dates(value: Any) -> Any:
    import datetime

    if isinstance(value, dict):
        return {k: _dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v) for v in value]
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return value


@pytest.fixture
def write_files(tmp_path: Path) -> Callable[..., Path]:
    """Write a folder of TOML files: ``write_files(parties=..., agreements=[...])``."""

    def write(
        agreements: list[dict[str, Any]] | None = None,
        parties: dict[str, Any] | None = PARTIES,
        folder: str = "agreements",
        raw: dict[str, str] | None = None,
    ) -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        if parties is not None:
            (target / "parties.toml").write_text(tomli_w.dumps(_dates(parties)))
        for data in agreements or []:
            (target / f"{data['id']}.toml").write_text(tomli_w.dumps(_dates(data)))
        for name, text in (raw or {}).items():
            (target / name).write_text(textwrap.dedent(text))
        return target

    return write


@pytest.fixture
def loaded(db_url: str) -> Iterator[Any]:
    """A registry on a fresh database (SQLite, then PostgreSQL) with the shipped agreements
    loaded."""
    from registry.service import Registry

    registry = Registry.open(db_url)
    registry.load([AGREEMENTS])
    try:
        yield registry
    finally:
        registry.close()
