"""Several processes changing the same agreement at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from registry.service import Registry
from tests.conftest import agreement_data

WORKERS = 4


def _load(url: str, folder: str, start, results) -> None:  # type: ignore[no-untyped-def]
    try:
        registry = Registry.open(url)
        start.wait(timeout=30)
        outcomes, _ = registry.load([folder])
        registry.close()
        results.put([(o.id, o.action, o.version) for o in outcomes if o.kind == "agreement"])
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(f"{type(exc).__name__}: {exc}")


def _run_parallel(url: str, folders: list[Path]) -> list:  # type: ignore[type-arg]
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()
    processes = [context.Process(target=_load, args=(url, str(f), start, results)) for f in folders]
    for p in processes:
        p.start()
    start.set()
    collected = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    return collected


@pytest.mark.slow
def test_parallel_amendments_each_get_their_own_version(db_url: str, write_files) -> None:
    base = write_files([agreement_data()], folder="base")
    with Registry.open(db_url) as registry:
        registry.load([base])
    folders = [
        write_files([agreement_data(title=f"Amendment {i}")], folder=f"amend-{i}")
        for i in range(WORKERS)
    ]
    results = _run_parallel(db_url, folders)
    errors = [r for r in results if isinstance(r, str)]
    assert errors == []
    versions = sorted(r[0][2] for r in results)
    assert versions == list(range(2, WORKERS + 2))
    with Registry.open(db_url) as registry:
        stored = registry.stored("test-mou")
        titles = [v.agreement.title for v in stored.versions[1:]]
        assert sorted(titles) == sorted(f"Amendment {i}" for i in range(WORKERS))
        assert stored.current_version == WORKERS + 1
        assert stored.revision == WORKERS + 1


@pytest.mark.slow
def test_parallel_creation_of_one_new_agreement(db_url: str, write_files) -> None:
    folders = [
        write_files([agreement_data(title=f"Draft {i}")], folder=f"new-{i}") for i in range(WORKERS)
    ]
    with Registry.open(db_url):  # schema ready, nothing loaded
        pass
    results = _run_parallel(db_url, folders)
    assert [r for r in results if isinstance(r, str)] == []
    actions = sorted((r[0][1], r[0][2]) for r in results)
    assert actions[0] == ("amended", 2) or actions[0] == ("created", 1)
    assert sorted(v for _, v in actions) == list(range(1, WORKERS + 1))
    assert [a for a, _ in actions].count("created") == 1


def _open_only(url: str, start, results) -> None:  # type: ignore[no-untyped-def]
    try:
        start.wait(timeout=30)
        Registry.open(url).close()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_parallel_first_use_upgrades_the_schema_once(db_url: str) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_open_only, args=(db_url, start, results)) for _ in range(3)
    ]
    for p in processes:
        p.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    assert outcomes == ["ok"] * 3
