"""The API against its own OpenAPI description, with schemathesis: generated requests
(valid and invalid) for every operation, with an admin token and with a system token, and
every answer must be no server error, a documented status code, of a documented media type,
with a body that fits the documented schema. A bounded run: a few examples per operation.

Bodies sent as TOML or NDJSON are generated as text: they exercise the refusals (400), not
the happy paths, which the other tests in tests/api cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.app import create_app
from registry.service import Registry
from tests.api.conftest import issue_tokens
from tests.conftest import AGREEMENTS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12

schemathesis.serializer.alias(["application/toml", "application/x-ndjson"], "text/plain")
SCHEMA = schemathesis.openapi.from_dict(create_app().openapi_schema.to_schema())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """One SQLite registry with the shipped agreements, for every generated request."""
    registry = Registry.open(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'registry.db'}")
    try:
        registry.load([AGREEMENTS])
        tokens = issue_tokens(registry)
        with TestClient(create_app(registry, token_cache_seconds=60)) as client:
            yield client, tokens
    finally:
        registry.close()


@pytest.mark.parametrize("role", ["admin", "system"])
@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_to_its_schema(case: Any, role: str, served: Any) -> None:
    _send(case, role, served)


@pytest.mark.parametrize("role", ["legal", "reviewer", "auditor"])
@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES // 3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_to_its_schema_for_every_role(case: Any, role: str, served: Any) -> None:
    """Fewer examples: for these roles most operations end in 403 before the body is read."""
    _send(case, role, served)


def _send(case: Any, role: str, served: Any) -> None:
    client, tokens = served
    sent = case.as_transport_kwargs(headers={"Authorization": f"Bearer {tokens[role]}"})
    sent.pop("base_url", None)
    client.cookies.clear()
    cookies = sent.pop("cookies", None) or {}
    for name, value in cookies.items():
        client.cookies.set(name, value)
    if isinstance(sent.get("data"), (bytes, str)):
        sent["content"] = sent.pop("data")  # httpx's name for a raw body
    response = client.request(**sent)
    case.validate_response(response, checks=CHECKS)
