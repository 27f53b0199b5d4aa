"""Who may do what: the role matrix in docs/api.md is read here, must list every route of
the application, must match the routes' guards, and is walked with every role's token.

The walk runs on SQLite only (one registry for the module); the system-binding tests in
test_checks_api.py run on both databases.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient

from registry.access import Tokens
from registry.app import create_app
from registry.app.auth import PUBLIC_PATHS
from registry.schemas.access import ROLES
from registry.service import Registry
from tests.api.conftest import Api, issue_tokens
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS, ROOT

DOC = ROOT / "docs" / "api.md"
NO_TOKEN = "no token"
COLUMNS = (NO_TOKEN, *ROLES)


def documented_matrix() -> dict[str, dict[str, bool]]:
    """``{"GET /v1/agreements": {"no token": False, "legal": True, ...}}`` from the table
    under "## Who may do what" in docs/api.md."""
    text = DOC.read_text(encoding="utf-8")
    assert "\n## Who may do what\n" in text, "docs/api.md has no '## Who may do what' section"
    section = text.split("\n## Who may do what\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    header, rule, body = cells[0], cells[1], cells[2:]
    assert header == ["route", *COLUMNS], header
    assert all(set(c) <= set(":-") for c in rule), rule
    matrix: dict[str, dict[str, bool]] = {}
    for row in body:
        route, marks = row[0].strip("`"), row[1:]
        assert len(marks) == len(COLUMNS), row
        assert set(marks) <= {"✓", "✗"}, row
        assert route not in matrix, f"{route} has two rows"
        matrix[route] = {column: mark == "✓" for column, mark in zip(COLUMNS, marks, strict=True)}
    return matrix


def app_routes(app: Litestar) -> dict[str, HTTPRouteHandler]:
    """``"METHOD /path/{param}"`` → handler, for every route of the application (OPTIONS,
    answered by litestar for any path, aside)."""
    found: dict[str, HTTPRouteHandler] = {}
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                found[f"{method} {path}"] = handler
    return found


def guarded_roles(handler: HTTPRouteHandler) -> set[str]:
    """The roles the handler's guards let through (every role when it has none)."""
    allowed = set(ROLES)
    for guard in handler.resolve_guards():
        roles = getattr(getattr(guard, "func", guard), "roles", None)
        assert roles is not None, f"{handler} has a guard that is not registry.app.auth.allow"
        allowed &= set(roles)
    return allowed


MATRIX = documented_matrix()


def test_every_route_of_the_app_has_a_row_and_every_row_is_a_route() -> None:
    routes = set(app_routes(create_app()))
    documented = set(MATRIX)
    assert sorted(routes - documented) == [], "routes missing from the table in docs/api.md"
    assert sorted(documented - routes) == [], "rows in docs/api.md that are no route"


def test_the_table_says_what_the_guards_do() -> None:
    for route, handler in app_routes(create_app()).items():
        documented = {role for role in ROLES if MATRIX[route][role]}
        assert documented == guarded_roles(handler), route
        public = route.split(" ", 1)[1] in PUBLIC_PATHS
        assert MATRIX[route][NO_TOKEN] is public, route


def test_every_route_documents_its_refusals_in_the_openapi_description() -> None:
    described = create_app().openapi_schema.to_schema()["paths"]
    for route, marks in MATRIX.items():
        method, path = route.split(" ", 1)
        if path == "/schema" or path.startswith("/schema/"):
            continue  # the description itself is not described
        statuses = set(described[path][method.lower()]["responses"])
        if not marks[NO_TOKEN]:
            assert {"401", "503"} <= statuses, route
        if not all(marks[role] for role in ROLES):
            assert "403" in statuses, route


# --- the walk ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str]]]:
    """One SQLite registry for the module, with a decision of the system token's system."""
    registry = Registry.open(f"sqlite:///{tmp_path_factory.mktemp('roles') / 'registry.db'}")
    try:
        registry.load([AGREEMENTS])
        tokens = issue_tokens(registry)
        decision = registry.check(request(records=[record(1)]))
        assert decision.allowed
        # Every route is walked with dead tokens from one address: no failure limit here
        # (tests/api/test_failed_auth.py tests the limit).
        app = create_app(registry, token_cache_seconds=0, failed_auth_limit=1_000_000)
        with TestClient(app) as client:
            yield Api(client, registry, tokens), {"decision_id": decision.decision_id}
    finally:
        registry.close()


NDJSON = json.dumps(request()).encode() + b"\n" + json.dumps(record(2)).encode() + b"\n"
TOML = {"Content-Type": "application/toml"}
STATUS_CHANGE = {"json": {"on": "2099-01-01", "reason": "role matrix"}}

# A request each role can make sense of (a valid one where it changes nothing much); the
# answer is never 401 or 403 for a role with ✓, and always 403 for a role with ✗.
SAMPLES: dict[str, dict[str, Any]] = {
    "PUT /v1/agreements/{agreement_id}": {
        "content": (AGREEMENTS / "irs-ice-2025-mou.toml").read_bytes(),
        "headers": {**TOML, "If-Match": '"1"'},
    },
    "POST /v1/agreements/{agreement_id}/suspend": STATUS_CHANGE,
    "POST /v1/agreements/{agreement_id}/reinstate": STATUS_CHANGE,
    "POST /v1/agreements/{agreement_id}/terminate": STATUS_CHANGE,
    "POST /v1/agreements/{agreement_id}/reviews": {
        "json": {"outcome": "renew", "note": "role matrix", "next_review": "2099-01-01"}
    },
    "POST /v1/parties": {"content": (AGREEMENTS / "parties.toml").read_bytes(), "headers": TOML},
    "POST /v1/checks": {"json": request(records=[record(3)])},
    "POST /v1/checks/records": {
        "content": NDJSON,
        "headers": {"Content-Type": "application/x-ndjson"},
    },
    "POST /v1/decisions/{decision_id}/cancel": {"json": {"reason": "role matrix"}},
    "POST /v1/disclosures/search": {"json": {"subject": "100000001"}},
    "POST /v1/receipts/verify": {"json": {"receipt": "not-a-receipt"}},
    # The web pages (docs/web.md) take forms; a request with an Authorization header needs
    # no form token, and a refused sign-in shows the sign-in form again.
    "POST /ui/login": {"data": {"token": "not-a-token", "csrf_token": "x"}},
    "POST /ui/logout": {"data": {}},
    "POST /ui/agreements/{agreement_id}/reviews": {
        "data": {"outcome": "renew", "note": "role matrix", "next_review": "2099-01-01"}
    },
    "POST /ui/disclosures": {"data": {"subject": "100000001"}},
}
PATH_VALUES = {"agreement_id": "irs-usao-edva-6103i2", "path": "no-such-page"}


def send(api: Api, route: str, values: dict[str, str], token: str | None) -> Any:
    method, template = route.split(" ", 1)
    path = template.format(**{**PATH_VALUES, **values})
    sample = dict(SAMPLES.get(route, {}))
    if method not in ("GET", "HEAD"):
        assert route in SAMPLES, f"add a sample request for {route} to SAMPLES"
    headers = dict(sample.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.request(method, path, headers=headers, **sample)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_every_role_gets_what_the_table_says(walk: tuple[Api, dict[str, str]], route: str) -> None:
    api, values = walk
    for column in COLUMNS:
        token = None if column == NO_TOKEN else api.tokens[column]
        answer = send(api, route, values, token)
        where = f"{route} as {column}: {answer.status_code} {answer.text[:200]}"
        assert answer.status_code < 500, where
        if MATRIX[route][column]:
            assert answer.status_code not in (401, 403), where
        elif column == NO_TOKEN:
            assert answer.status_code == 401, where
            assert answer.headers["www-authenticate"].startswith("Bearer"), where
            assert answer.json()["detail"] == "a bearer token is required", where
        else:
            assert answer.status_code == 403, where
            assert answer.json() == {
                "status_code": 403,
                "detail": f"the {column} role may not do this",
            }, where


@pytest.fixture(scope="module")
def dead_tokens(walk: tuple[Api, dict[str, str]]) -> dict[str, str]:
    """Admin tokens that no longer work: one revoked, one expired, and a few malformed."""
    api, _ = walk
    tokens = Tokens(api.registry.db)
    revoked = tokens.create("admin", name="revoked admin", by="tests")
    tokens.revoke(revoked.info.token_id, by="tests")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    expired = Tokens(api.registry.db, clock=lambda: past).create(
        "admin", name="expired admin", by="tests", expires_in=datetime.timedelta(hours=1)
    )
    valid = api.tokens["admin"]
    return {
        "revoked": revoked.token,
        "expired": expired.token,
        "unknown": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "malformed": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["revoked", "expired", "unknown", "malformed"])
def test_a_dead_token_is_401_on_every_route_but_health(
    walk: tuple[Api, dict[str, str]], dead_tokens: dict[str, str], kind: str
) -> None:
    api, values = walk
    for route, allowed in sorted(MATRIX.items()):
        answer = send(api, route, values, dead_tokens[kind])
        if allowed[NO_TOKEN]:
            assert answer.status_code == 200, route
            continue
        assert answer.status_code == 401, f"{route}: {answer.status_code} {answer.text[:200]}"
        assert answer.json()["detail"] == "the token is unknown, expired or revoked"
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_only_bearer_tokens_are_taken(walk: tuple[Api, dict[str, str]]) -> None:
    api, _ = walk
    token = api.tokens["admin"]
    for header in (f"Basic {token}", token, "Bearer", "Bearer   "):
        answer = api.client.get("/v1/plugins", headers={"Authorization": header})
        assert answer.status_code == 401, header
    assert api.client.get("/v1/plugins", headers={"Authorization": f"bearer {token}"}).is_success


def test_a_token_revoked_elsewhere_stops_working_within_the_cache_time(
    walk: tuple[Api, dict[str, str]],
) -> None:
    api, _ = walk
    issued = Tokens(api.registry.db).create("auditor", name="short-lived", by="tests")
    headers = {"Authorization": f"Bearer {issued.token}"}
    with TestClient(create_app(api.registry, token_cache_seconds=0.3)) as client:
        assert client.get("/v1/plugins", headers=headers).status_code == 200
        Tokens(api.registry.db).revoke(issued.info.token_id, by="another process")
        time.sleep(0.35)
        assert client.get("/v1/plugins", headers=headers).status_code == 401


def test_a_token_revoked_by_the_server_itself_stops_working_at_once(
    walk: tuple[Api, dict[str, str]],
) -> None:
    api, _ = walk
    issued = Tokens(api.registry.db).create("auditor", name="revoked here", by="tests")
    headers = {"Authorization": f"Bearer {issued.token}"}
    with TestClient(create_app(api.registry, token_cache_seconds=60)) as client:
        assert client.get("/v1/plugins", headers=headers).status_code == 200
        client.app.state.tokens.revoke(issued.info.token_id, by="tests")
        assert client.get("/v1/plugins", headers=headers).status_code == 401
