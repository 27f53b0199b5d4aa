"""API tokens: issued once, stored as a hash, bound to a role and (for systems) a system,
expiring and revocable; and ``registry tokens``."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry import access
from registry.access import Tokens
from registry.cli import main
from registry.errors import InvalidInput, NotFound
from registry.store import Database, open_database
from registry.store.tables import api_token


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.dispose()


def test_a_token_authenticates_as_its_role_and_system(db: Database) -> None:
    tokens = Tokens(db, cache_seconds=0)
    issued = tokens.create("system", name="ITIN", by="admin", system="irs-itin-address")
    principal = tokens.authenticate(issued.token)
    assert principal is not None
    assert (principal.role, principal.system, principal.name) == (
        "system",
        "irs-itin-address",
        "ITIN",
    )
    assert principal.token_id == issued.info.token_id
    assert issued.info.token_id in principal.actor and "ITIN" in principal.actor


def test_only_the_secrets_hash_is_stored(db: Database) -> None:
    issued = Tokens(db).create("auditor", name="audit", by="admin")
    secret = issued.token.split("_", 2)[2]
    with db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(api_token))]
    assert len(rows) == 1
    assert secret not in repr(rows) and issued.token not in repr(rows)
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.parametrize(
    "bad",
    ["", "rgt_", "Bearer x", "rgt_000000000000_" + "A" * 43, "rgt_zz_" + "A" * 43, "x" * 5000],
)
def test_unknown_or_malformed_tokens_are_refused(db: Database, bad: str) -> None:
    tokens = Tokens(db, cache_seconds=0)
    tokens.create("admin", name="a", by="t")
    assert tokens.authenticate(bad) is None


def test_a_token_with_one_changed_character_is_refused(db: Database) -> None:
    tokens = Tokens(db, cache_seconds=0)
    token = tokens.create("admin", name="a", by="t").token
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.authenticate(flipped) is None
    assert tokens.authenticate(token) is not None


def test_a_revoked_token_stops_working_at_once_in_this_process(db: Database) -> None:
    tokens = Tokens(db, cache_seconds=60)
    issued = tokens.create("legal", name="counsel", by="t")
    assert tokens.authenticate(issued.token) is not None  # now cached
    revoked = tokens.revoke(issued.info.token_id, by="admin")
    assert revoked.revoked_at is not None and revoked.revoked_by == "admin"
    assert tokens.authenticate(issued.token) is None


def test_a_validation_that_raced_a_revocation_is_not_remembered(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = Tokens(db, cache_seconds=60)
    issued = tokens.create("legal", name="counsel", by="t")
    find = access.rows.find

    def read_then_revoked(session: Any, token_id: str) -> Any:
        found = find(session, token_id)  # still active when read
        monkeypatch.setattr(access.rows, "find", find)
        tokens.revoke(token_id, by="admin")  # and revoked before it is remembered
        return found

    monkeypatch.setattr(access.rows, "find", read_then_revoked)
    assert tokens.authenticate(issued.token) is not None  # it raced the revocation
    assert tokens.remembered(issued.token) is None
    assert tokens.authenticate(issued.token) is None


def test_a_revocation_elsewhere_takes_effect_once_the_cache_expires(db: Database) -> None:
    mine, theirs = Tokens(db, cache_seconds=0.2), Tokens(db)
    issued = mine.create("legal", name="counsel", by="t")
    assert mine.authenticate(issued.token) is not None
    theirs.revoke(issued.info.token_id, by="admin")
    import time

    time.sleep(0.25)
    assert mine.authenticate(issued.token) is None


def test_an_expired_token_is_refused(db: Database) -> None:
    now = [datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)]
    tokens = Tokens(db, clock=lambda: now[0], cache_seconds=3600)
    issued = tokens.create("reviewer", name="r", by="t", expires_in=datetime.timedelta(days=1))
    assert tokens.authenticate(issued.token) is not None
    now[0] += datetime.timedelta(days=1)
    assert tokens.authenticate(issued.token) is None  # even though it is cached
    (listed,) = tokens.list()
    assert not listed.active(now[0])


@pytest.mark.parametrize(
    ("role", "system", "message"),
    [
        ("system", None, "needs --system"),
        ("legal", "irs-itin-address", "only a system token"),
        ("root", None, "unknown role"),
        ("system", "Not A Slug", "is not an id"),
    ],
)
def test_tokens_that_make_no_sense_are_refused(
    db: Database, role: str, system: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Tokens(db).create(role, name="x", by="t", system=system)
    assert Tokens(db).list() == []


def test_revoking_an_unknown_token_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        Tokens(db).revoke("000000000000", by="t")


def test_cli_creates_lists_and_revokes_tokens(db_url: str) -> None:
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["--database", db_url, *args], catch_exceptions=False)

    created = run("tokens", "create", "--role", "system", "--system", "irs-itin-address",
                  "--name", "ITIN", "--expires-in-days", "30")  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("rgt_")
    assert "not shown again" in created.stderr
    listed = run("tokens", "list", "--format", "json")
    assert listed.exit_code == 0
    assert token not in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    token_id = token.split("_")[1]
    assert token_id in listed.stdout and '"system": "irs-itin-address"' in listed.stdout
    assert run("tokens", "revoke", token_id).exit_code == 0
    assert "revoked" in run("tokens", "list").stdout
    assert run("tokens", "revoke", "nope").exit_code == 2
    missing = run("tokens", "create", "--role", "system", "--name", "x")
    assert missing.exit_code == 2 and "needs --system" in missing.stderr
