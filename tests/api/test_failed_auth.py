"""Wrong tokens are rate-limited per client address; valid tokens already known pass."""

from __future__ import annotations

from litestar.testing import TestClient

from registry.app import create_app
from registry.app.auth import FailedAttempts
from tests.api.conftest import Api


def test_too_many_wrong_tokens_get_429_with_retry_after(api: Api) -> None:
    with TestClient(create_app(api.registry, failed_auth_limit=5)) as client:
        wrong = {"Authorization": "Bearer rgt_000000000000_" + "A" * 43}
        assert [client.get("/v1/plugins", headers=wrong).status_code for _ in range(5)] == [401] * 5
        blocked = client.get("/v1/plugins", headers=wrong)
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        # A guess is not even looked at now, right or wrong: no oracle for guessing.
        fresh = {"Authorization": f"Bearer {api.tokens['auditor']}"}
        assert client.get("/v1/plugins", headers=fresh).status_code == 429
        assert client.get("/health").status_code == 200  # no token: not limited


def test_a_token_validated_before_the_block_still_works(api: Api) -> None:
    app = create_app(api.registry, failed_auth_limit=3, token_cache_seconds=60)
    with TestClient(app) as client:
        known = {"Authorization": f"Bearer {api.tokens['auditor']}"}
        assert client.get("/v1/plugins", headers=known).status_code == 200
        wrong = {"Authorization": "Bearer nope"}
        for _ in range(3):
            client.get("/v1/plugins", headers=wrong)
        assert client.get("/v1/plugins", headers=wrong).status_code == 429
        assert client.get("/v1/plugins", headers=known).status_code == 200


def test_failures_are_counted_per_address() -> None:
    failures = FailedAttempts(limit=2, window=60)
    failures.record("10.0.0.1")
    assert failures.blocked_for("10.0.0.1") == 0
    failures.record("10.0.0.1")
    assert failures.blocked_for("10.0.0.1") > 0
    assert failures.blocked_for("10.0.0.2") == 0  # per address


def test_failures_leave_the_window() -> None:
    failures = FailedAttempts(limit=1, window=0.05)
    failures.record("10.0.0.1")
    assert failures.blocked_for("10.0.0.1") > 0
    import time

    time.sleep(0.06)
    assert failures.blocked_for("10.0.0.1") == 0
