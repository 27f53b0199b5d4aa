"""The web pages over a fresh SQLite registry with the shipped agreements and a token for
every role: through the test client (``site``), or a real server for the browser
(``served``). One backend is enough here: the pages call the same Registry as the API."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from registry.app import create_app
from registry.service import Registry
from tests.api.conftest import issue_tokens
from tests.conftest import AGREEMENTS
from tests.faults import api_on
from tests.servers import serving

HTML = {"Accept": "text/html,application/xhtml+xml"}
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Site:
    client: TestClient[Any]
    registry: Registry
    tokens: dict[str, str] = field(default_factory=dict)

    def sign_in(self, role: str) -> None:
        """Sign in through the form, as a browser does; the client keeps the cookie."""
        form = self.client.get("/ui/login", headers=HTML)
        answer = self.client.post(
            "/ui/login",
            headers=HTML,
            data={"token": self.tokens[role], "csrf_token": form_token(form.text)},
        )
        assert answer.status_code == 200 and answer.url.path == "/ui", answer.text[:300]

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=HTML, **kw)

    def post(self, path: str, data: dict[str, str], **kw: Any) -> Any:
        return self.client.post(path, headers=HTML, data=data, **kw)


def form_token(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no form token on the page"
    return found[1]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with api_on(f"sqlite:///{tmp_path / 'registry.db'}") as api:
        yield Site(api.client, api.registry, api.tokens)


@dataclass
class Served:
    url: str
    registry: Registry
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real server (uvicorn in a thread) for the browser."""
    registry = Registry.open(f"sqlite:///{tmp_path_factory.mktemp('web') / 'registry.db'}")
    try:
        registry.load([AGREEMENTS])
        tokens = issue_tokens(registry)
        with serving(create_app(registry, token_cache_seconds=0)) as url:
            yield Served(url, registry, tokens)
    finally:
        registry.close()


class Outline(HTMLParser):
    """What the accessibility checks need from a page: its headings, its form controls
    and their labels, its language and title."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.controls: list[str] = []
        self.labelled: set[str] = set()
        self.lang = ""
        self.title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "title":
            self.title = True
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label" and a.get("for"):
            self.labelled.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("type") in ("hidden", "submit", "button"):
                return
            if a.get("aria-label"):
                return
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')} without id>")


def outline(html: str) -> Outline:
    parsed = Outline()
    parsed.feed(html)
    return parsed


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``REGISTRY_TEST_BROWSER=off`` leaves the browser tests out (deselected and counted
    as such, never skipped), as ``REGISTRY_TEST_POSTGRES=off`` does the PostgreSQL runs."""
    if os.environ.get("REGISTRY_TEST_BROWSER") != "off":
        return
    left_out = [item for item in items if item.path.name == "test_browser.py"]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
