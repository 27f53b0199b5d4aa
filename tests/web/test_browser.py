"""The pages in a real headless browser: Debian's chromium driven by Playwright (no browser
download). Sign in with a reviewer token, read the expiring list, open an agreement, record
a review with the keyboard and see it in the history; an auditor gets no review form.

Without chromium these tests fail, like the PostgreSQL runs without PostgreSQL; set
``REGISTRY_TEST_BROWSER=off`` to leave them out on a machine without one (CI never does)."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Served

CHROMIUM = Path(os.environ.get("REGISTRY_TEST_CHROMIUM", "/usr/bin/chromium"))


def _unavailable(reason: str) -> None:
    pytest.fail(
        f"{reason}. Install it, or set REGISTRY_TEST_BROWSER=off to leave the browser tests "
        "out on this machine (.ci/run installs chromium)"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: Any, served: Served, role: str) -> Any:
    """A new browser page, signed in with ``role``'s token by typing into the form."""
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(5000)
    page.goto(f"{served.url}/ui")
    assert page.url.endswith("/ui/login?failed=session")  # sent to sign in first
    page.get_by_label("API token").fill(served.tokens[role])
    page.get_by_label("API token").press("Enter")
    page.wait_for_url(f"{served.url}/ui")
    return page


def test_a_reviewer_reads_the_expiring_list_and_records_a_review(
    browser: Any, served: Served
) -> None:
    page = signed_in(browser, served, "reviewer")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"

    page.get_by_label("Days ahead").fill("36500")
    page.get_by_label("as of").fill("2026-11-28")  # fixed: the shipped agreements expire
    page.get_by_role("button", name="Show").click()
    expiring = page.locator("#expiring")
    assert "irs-state-revenue-6103d" in expiring.inner_text()

    expiring.get_by_role("link", name="irs-ice-2025-mou").click()
    page.wait_for_url("**/ui/agreements/irs-ice-2025-mou")
    page.get_by_role("heading", name="Record a review").wait_for(state="visible")

    next_review = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    page.get_by_label("Outcome").select_option("amend")
    page.get_by_label("Note").fill("Recorded in the browser.")
    page.get_by_label("Next review").fill(next_review)
    page.get_by_role("button", name="Record review").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/agreements/irs-ice-2025-mou?reviewed=1")

    assert "The review was recorded" in page.get_by_role("status").inner_text()
    newest = page.locator("#history tbody tr").first.inner_text()
    assert "review" in newest and "amend" in newest and "Recorded in the browser." in newest
    assert [r.note for r in served.registry.reviews("irs-ice-2025-mou")] == [
        "Recorded in the browser."
    ]


def test_the_first_tab_reaches_the_skip_link(browser: Any, served: Served) -> None:
    page = signed_in(browser, served, "reviewer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_an_auditor_sees_no_review_form_but_the_disclosure_search(
    browser: Any, served: Served
) -> None:
    page = signed_in(browser, served, "auditor")
    page.goto(f"{served.url}/ui/agreements/irs-usao-edva-6103i2")
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("heading", name="Record a review").count() == 0
    page.get_by_role("link", name="Disclosures").click()
    page.get_by_label("The person's identifier").fill("100000001")
    page.get_by_role("button", name="Search").click()
    # is_visible() would answer at once, before the answer page may have loaded.
    page.get_by_role("heading", name="0 disclosures found").wait_for(state="visible")
    assert "100000001" not in page.url
