"""Rotating the subject key: people stay findable under every key the database has used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.cli import main
from registry.engine.plugins import Plugins
from registry.engine.subjects import key_id
from registry.errors import ConfigError, Conflict, SchemaError
from registry.service import Registry
from registry.settings import Settings
from registry.store import migrations_api
from registry.store.database import create_engine
from tests.checking.helpers import record, request
from tests.conftest import AGREEMENTS

A, B, C = "a1" * 32, "b2" * 32, "c3" * 32
A_ID, B_ID, C_ID = (key_id(bytes.fromhex(k)) for k in (A, B, C))
TIN = "100000001"  # record(1)'s


def _no_key_in(message: str) -> str:
    for key in (A, B, C):
        assert key[:16] not in message.lower(), message
    return message


@pytest.fixture
def keys(db_url: str, plugins: Plugins, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Opens the registry with the given keys (current first); the first one checks once."""

    @contextmanager
    def opened(*given: str) -> Iterator[Registry]:
        monkeypatch.setenv("REGISTRY_SUBJECT_KEY", ",".join(given))
        registry = Registry.open(db_url, plugins=plugins)
        try:
            yield registry
        finally:
            registry.close()

    with opened(A) as first:
        first.load([AGREEMENTS])
        assert first.check(request(records=[record(1)])).allowed
    return opened


def _rotate_to_b(keys) -> None:  # type: ignore[no-untyped-def]
    with keys(B, A) as registry:
        rotated = registry.rotate_subject_key("test")
    assert (rotated.epoch, rotated.key_id) == (2, B_ID)


def test_a_person_is_found_under_the_old_and_the_new_key(keys, db_url: str) -> None:
    with keys(A) as registry:
        before = [e.decision_id for e in registry.disclosures(subject=TIN)]
    _rotate_to_b(keys)
    with keys(B, A) as registry:
        after = registry.check(request(records=[record(1)])).decision_id
        found = [e.decision_id for e in registry.disclosures(subject="100-00-0001")]
        assert [k.key_id for k in registry.subject_keys()] == [A_ID, B_ID]
    assert len(before) == 1
    assert found == [*before, after]
    result = CliRunner().invoke(
        main,
        ["--database", db_url, "disclosures", "--subject", TIN, "--format", "json"],
        env={"REGISTRY_SUBJECT_KEY": f"{B},{A}"},
    )
    assert result.exit_code == 0, result.output
    assert [e["decision_id"] for e in json.loads(result.stdout)] == found
    result = CliRunner().invoke(main, ["--database", db_url, "decisions", "verify"])
    assert result.exit_code == 0, result.output
    assert "decision log verified: 2 entries" in result.output


def test_a_lookup_without_a_retired_key_fails_naming_it(keys) -> None:
    _rotate_to_b(keys)
    with keys(B) as registry:
        assert registry.check(request(records=[record(2)])).allowed  # checks need no old key
        with pytest.raises(ConfigError, match=f"lacks key {A_ID} \\(retired ") as caught:
            registry.disclosures(subject=TIN)
    _no_key_in(str(caught.value))


def test_rotation_is_refused_when_the_new_key_is_already_current(keys) -> None:
    with keys(A, C) as registry:
        with pytest.raises(Conflict, match=f"{A_ID} is already this database's current") as c:
            registry.rotate_subject_key()
        assert [k.key_id for k in registry.subject_keys()] == [A_ID]
    _no_key_in(str(c.value))


def test_rotation_is_refused_without_the_old_key(keys) -> None:
    with keys(B) as registry:
        with pytest.raises(ConfigError, match=f"it lacks {A_ID}: keep them") as caught:
            registry.rotate_subject_key()
        assert [k.key_id for k in registry.subject_keys()] == [A_ID]
    _no_key_in(str(caught.value))


def test_rotation_needs_every_key_used_before(keys) -> None:
    _rotate_to_b(keys)
    with keys(C, B) as registry, pytest.raises(ConfigError, match=f"it lacks {A_ID}: keep them"):
        registry.rotate_subject_key()
    with keys(C, B, A) as registry:
        assert registry.rotate_subject_key().key_id == C_ID
        assert [k.key_id for k in registry.subject_keys()] == [A_ID, B_ID, C_ID]
        assert len(registry.disclosures(subject=TIN)) == 1


def test_a_process_with_only_the_old_key_refuses_after_rotation(keys, db_url: str) -> None:
    _rotate_to_b(keys)
    with keys(A) as registry:
        with pytest.raises(SchemaError, match=f"subject key {A_ID} was retired") as caught:
            registry.check(request(records=[record(2)]))
        assert len(registry.decisions()) == 1
    assert f"its current key is {B_ID}" in _no_key_in(str(caught.value))
    result = CliRunner().invoke(
        main,
        ["--database", db_url, "disclosures", "--subject", TIN],
        env={"REGISTRY_SUBJECT_KEY": A},
    )
    assert result.exit_code == 3
    assert f"subject key {A_ID} was retired" in _no_key_in(result.output)


def test_a_retired_key_does_not_become_current_again(keys) -> None:
    _rotate_to_b(keys)
    with keys(A, B) as registry, pytest.raises(Conflict, match=f"{A_ID} was retired"):
        registry.rotate_subject_key()


def test_a_new_key_is_refused_until_the_rotation(keys) -> None:
    with keys(B, A) as registry:
        with pytest.raises(SchemaError, match="run `registry subject-key rotate`") as caught:
            registry.check(request(records=[record(2)]))
        assert len(registry.decisions()) == 1
    _no_key_in(str(caught.value))


def test_a_process_running_during_the_rotation_refuses_to_check(keys) -> None:
    with keys(A) as running:
        assert running.check(request(records=[record(2)])).allowed
        _rotate_to_b(keys)
        with pytest.raises(SchemaError, match=f"subject key {A_ID} was retired"):
            running.check(request(records=[record(3)]))
        assert len(running.decisions()) == 2


def test_the_cli_rotates_and_lists_the_keys(keys, db_url: str) -> None:
    def run(*args: str, key: str):  # type: ignore[no-untyped-def]
        env = {"REGISTRY_SUBJECT_KEY": key}
        return CliRunner().invoke(main, ["--database", db_url, "subject-key", *args], env=env)

    refused = run("rotate", key=A)
    assert refused.exit_code == 2
    assert "is already this database's current key" in _no_key_in(refused.output)
    refused = run("rotate", key=B)
    assert refused.exit_code == 3
    assert f"it lacks {A_ID}: keep them" in _no_key_in(refused.output)
    done = run("rotate", "--by", "ops", key=f"{B},{A}")
    assert done.exit_code == 0, done.output
    assert f"subject key {B_ID} is current from" in done.output
    assert done.output.rstrip().endswith(f"(epoch 2); retired: {A_ID}")
    listed = run("list", "--format", "json", key=f"{C},{B}")
    assert listed.exit_code == 0, listed.output
    found = json.loads(_no_key_in(listed.stdout))
    assert [(k["epoch"], k["key_id"], k["recorded_by"]) for k in found["database"]] == [
        (1, A_ID, found["database"][0]["recorded_by"]),
        (2, B_ID, "ops"),
    ]
    assert found["database"][0]["retired_at"] == found["database"][1]["recorded_at"]
    assert found["process"] == [C_ID, B_ID]


def _search_by_person(registry: Registry) -> Any:
    from litestar.testing import TestClient

    from registry.app import create_app
    from tests.api.conftest import issue_tokens

    token = issue_tokens(registry)["auditor"]
    with TestClient(create_app(registry, token_cache_seconds=0)) as client:
        return client.post(
            "/v1/disclosures/search",
            headers={"Authorization": f"Bearer {token}"},
            json={"subject": TIN},
        )


def test_the_api_finds_a_person_under_every_key(keys) -> None:
    _rotate_to_b(keys)
    with keys(B, A) as registry:
        after = registry.check(request(records=[record(1)])).decision_id
        answer = _search_by_person(registry)
    assert answer.status_code == 200, answer.text
    assert [e["decision_id"] for e in answer.json()][1:] == [after]
    assert len(answer.json()) == 2


def test_the_api_says_which_retired_key_a_search_needs(keys) -> None:
    _rotate_to_b(keys)
    with keys(B) as registry:
        answer = _search_by_person(registry)
    assert answer.status_code == 503
    assert f"lacks key {A_ID} (retired" in _no_key_in(answer.json()["detail"])


def test_a_database_that_never_hashed_anyone_has_nothing_to_rotate(
    db_url: str, plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_SUBJECT_KEY", f"{B},{A}")
    with Registry.open(db_url, plugins=plugins) as registry:
        with pytest.raises(Conflict, match="there is nothing to rotate"):
            registry.rotate_subject_key()
        assert registry.subject_keys() == []


def test_an_older_database_keeps_its_key_as_the_first(
    db_url: str, plugins: Plugins, monkeypatch
) -> None:
    engine = create_engine(db_url)
    try:
        migrations_api.upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO meta (key, value) VALUES ('subject_key_id', :v)"), {"v": A_ID}
            )
        migrations_api.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM meta")).scalar() == 0
    finally:
        engine.dispose()
    monkeypatch.setenv("REGISTRY_SUBJECT_KEY", B)
    with Registry.open(db_url, plugins=plugins) as registry:
        assert [(k.epoch, k.key_id) for k in registry.subject_keys()] == [(1, A_ID)]
        with pytest.raises(SchemaError, match=f"hashed with subject key {A_ID}"):
            registry.disclosures(subject=TIN)


# --- where the keys come from --------------------------------------------------------------


def _file_keys(tmp_path: Path, text: str) -> tuple[bytes, ...]:
    path = tmp_path / "subject.key"
    path.write_text(text)
    return Settings(database_url="sqlite://", subject_key_file=str(path)).subject_keys()


def test_a_key_file_holds_the_current_key_then_retired_ones(tmp_path: Path) -> None:
    text = f"# current from 2026-12-01\n{B}\n\n{A}  # retired 2026-12-01\n"
    assert _file_keys(tmp_path, text) == (bytes.fromhex(B), bytes.fromhex(A))
    assert _file_keys(tmp_path, f"{A}\n") == (bytes.fromhex(A),)


def test_several_keys_in_the_environment_are_separated_by_commas() -> None:
    settings = Settings(database_url="sqlite://", subject_key=f"{B}, {A}")
    assert settings.subject_keys() == (bytes.fromhex(B), bytes.fromhex(A))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{B}\n{A[:-2]}zz\n", ", line 2, must be hexadecimal"),
        (f"{B}\n# old\n{A[:20]}\n", ", line 3, must be 32 to 128 hex digits"),
        (f"{B}\n{A}\n{B}\n", ", line 3, repeats line 1: give each key once"),
        ("# nothing yet\n", "holds no key"),
    ],
)
def test_a_bad_key_file_names_the_line_never_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _file_keys(tmp_path, text)
    assert str(caught.value).startswith(f"the subject key file {tmp_path / 'subject.key'}")
    _no_key_in(str(caught.value))


def test_a_bad_key_in_the_environment_is_named_by_its_place() -> None:
    settings = Settings(database_url="sqlite://", subject_key=f"{B},{A[:-2]}zz")
    with pytest.raises(ConfigError, match="REGISTRY_SUBJECT_KEY, key 2, must be hexadecimal") as c:
        settings.subject_keys()
    _no_key_in(str(c.value))
