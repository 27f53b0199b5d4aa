"""The web pages through the test client: signing in, what each role sees and may do,
and bad input on the review form (a clear message or a 4xx, and nothing written)."""

from __future__ import annotations

import datetime

import pytest

from tests.checking.helpers import record, request
from tests.web.conftest import HTML, Site, form_token, outline

ICE = "irs-ice-2025-mou"
EDVA = "irs-usao-edva-6103i2"
NEXT_YEAR = (datetime.date.today() + datetime.timedelta(days=365)).isoformat()


def review(site: Site, agreement: str = EDVA, **changes: str) -> dict[str, str]:
    """A valid review form for ``agreement`` with the page's form token."""
    page = site.get(f"/ui/agreements/{agreement}")
    form = {
        "csrf_token": form_token(page.text),
        "outcome": "renew",
        "note": "Checked with counsel.",
        "next_review": NEXT_YEAR,
    }
    form.update(changes)
    return form


# --- signing in ---------------------------------------------------------------------------


def test_a_browser_without_a_session_is_sent_to_the_sign_in_form(site: Site) -> None:
    answer = site.get("/ui", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")


def test_a_script_without_a_token_gets_the_api_401(site: Site) -> None:
    answer = site.client.get("/ui")
    assert answer.status_code == 401
    assert answer.json()["detail"] == "a bearer token is required"


def test_signing_in_sets_a_strict_http_only_cookie_scoped_to_the_pages(site: Site) -> None:
    form = site.get("/ui/login")
    answer = site.post(
        "/ui/login",
        {"token": site.tokens["reviewer"], "csrf_token": form_token(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("registry_ui="))
    parts = {p.strip().lower() for p in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ui"} <= parts
    assert "secure" not in parts  # plain http in the test; set over https


@pytest.mark.parametrize(
    ("token", "message"),
    [("rgt_nope_nope", "was not accepted"), ("system", "A system token has no web pages")],
)
def test_a_refused_sign_in_says_why(site: Site, token: str, message: str) -> None:
    form = site.get("/ui/login")
    answer = site.post(
        "/ui/login",
        {"token": site.tokens.get(token, token), "csrf_token": form_token(form.text)},
    )
    assert answer.url.path == "/ui/login"
    assert message in answer.text
    assert "registry_ui" not in site.client.cookies


def test_a_sign_in_form_from_elsewhere_is_refused(site: Site) -> None:
    answer = site.post("/ui/login", {"token": site.tokens["admin"], "csrf_token": "forged"})
    assert answer.url.path == "/ui/login" and "form had expired" in answer.text
    assert "registry_ui" not in site.client.cookies


def test_signing_out_forgets_the_session(site: Site) -> None:
    site.sign_in("reviewer")
    signed_out = site.post("/ui/logout", {"csrf_token": form_token(site.get("/ui").text)})
    assert signed_out.url.path == "/ui/login"
    assert site.get("/ui", follow_redirects=False).status_code == 303


# --- reading ------------------------------------------------------------------------------


def test_the_dashboard_lists_what_expires_and_recent_denials(site: Site) -> None:
    denied = site.registry.check(request(records=[record(1)], purpose="curiosity"))
    assert not denied.allowed
    site.sign_in("reviewer")
    page = site.get("/ui?within=36500&as_of=2026-11-28").text
    expiring = page.split('id="expiring"', 1)[1].split("</table>", 1)[0]
    assert f'href="/ui/agreements/{ICE}"' in expiring
    assert f'href="/ui/decisions/{denied.decision_id}"' in page
    assert "purpose_not_permitted" in page


def test_the_agreement_page_shows_terms_versions_history_and_decisions(site: Site) -> None:
    decision = site.registry.check(request(records=[record(1)]))
    site.sign_in("legal")
    page = site.get(f"/ui/agreements/{ICE}").text
    for heading in ("Terms of version 1", "Versions", "History, newest first", "Reviews"):
        assert heading in page
    assert "max records per request" in page  # the terms, in words
    assert f'href="/ui/decisions/{decision.decision_id}"' in page


def test_the_decision_page_shows_every_reason(site: Site) -> None:
    denied = site.registry.check(request(records=[record(1)], purpose="curiosity"))
    site.sign_in("auditor")
    page = site.get(f"/ui/decisions/{denied.decision_id}")
    assert page.status_code == 200
    assert "Decision: denied" in page.text
    for reason in denied.reasons:
        assert reason.code in page.text


def test_an_unknown_decision_or_agreement_is_a_404_page(site: Site) -> None:
    site.sign_in("reviewer")
    for path in ("/ui/decisions/nope", "/ui/agreements/nope"):
        answer = site.get(path)
        assert answer.status_code == 404, path
        assert "<h1>Not found</h1>" in answer.text


def test_an_auditor_finds_disclosures_about_a_person_without_the_id_in_a_url(
    site: Site,
) -> None:
    allowed = site.registry.check(request(records=[record(7)]))
    assert allowed.allowed
    site.sign_in("auditor")
    form = site.get("/ui/disclosures")
    answer = site.post(
        "/ui/disclosures", {"subject": "100000007", "csrf_token": form_token(form.text)}
    )
    assert answer.status_code == 200
    assert "1 disclosure found" in answer.text
    assert f'href="/ui/decisions/{allowed.decision_id}"' in answer.text
    assert "100000007" not in answer.text and "100000007" not in str(answer.url)


def test_only_auditors_and_admins_see_disclosures(site: Site) -> None:
    site.sign_in("reviewer")
    assert 'href="/ui/disclosures"' not in site.get("/ui").text
    answer = site.get("/ui/disclosures")
    assert answer.status_code == 403 and "<h1>Not allowed</h1>" in answer.text


# --- the review form ----------------------------------------------------------------------


def test_a_reviewer_records_a_review_and_sees_it_in_the_history(site: Site) -> None:
    site.sign_in("reviewer")
    answer = site.post(f"/ui/agreements/{EDVA}/reviews", review(site, note="Looks right."))
    assert answer.status_code == 200 and answer.url.path == f"/ui/agreements/{EDVA}"
    assert "The review was recorded" in answer.text
    history = answer.text.split('id="history"', 1)[1]
    assert "Looks right." in history
    [stored] = site.registry.reviews(EDVA)
    assert "test reviewer" in stored.recorded_by


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"next_review": "01/06/2027"}, "give a date as YYYY-MM-DD"),
        ({"next_review": "2027-02-30"}, "give a date as YYYY-MM-DD"),
        ({"next_review": ""}, "give the date to look at the agreement again"),
        ({"reviewed_on": "28.11.2026"}, "give a date as YYYY-MM-DD"),
        ({"next_review": "2001-01-01"}, "must come after"),
        ({"outcome": "ignore"}, "choose renew, amend"),
        ({"note": "  "}, "say in a few words why"),
    ],
)
def test_bad_review_input_shows_the_problem_and_writes_nothing(
    site: Site, changes: dict[str, str], message: str
) -> None:
    site.sign_in("reviewer")
    answer = site.post(f"/ui/agreements/{EDVA}/reviews", review(site, **changes))
    assert answer.status_code == 400
    assert "The review was not recorded" in answer.text and message in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert site.registry.reviews(EDVA) == []


def test_a_review_of_an_unknown_agreement_is_a_404_page(site: Site) -> None:
    site.sign_in("reviewer")
    answer = site.post("/ui/agreements/nope/reviews", review(site))
    assert answer.status_code == 404 and "no agreement" in answer.text


def test_a_review_of_a_terminated_agreement_says_so_and_writes_nothing(site: Site) -> None:
    site.sign_in("legal")
    form = review(site)
    site.registry.terminate(EDVA, datetime.date(2026, 1, 1), "ended")
    answer = site.post(f"/ui/agreements/{EDVA}/reviews", form)
    assert answer.status_code == 409
    assert "is terminated: there is nothing to review" in answer.text
    assert site.registry.reviews(EDVA) == []
    assert 'action="/ui/agreements/' not in site.get(f"/ui/agreements/{EDVA}").text


def test_an_auditor_gets_no_review_form_and_a_post_is_refused(site: Site) -> None:
    site.sign_in("auditor")
    page = site.get(f"/ui/agreements/{EDVA}").text
    assert "Record a review" not in page
    form = {"csrf_token": form_token(page), "outcome": "renew", "note": "x"}
    answer = site.post(f"/ui/agreements/{EDVA}/reviews", {**form, "next_review": NEXT_YEAR})
    assert answer.status_code == 403 and "the auditor role may not do this" in answer.text
    assert site.registry.reviews(EDVA) == []


def test_a_review_posted_without_the_form_token_is_refused(site: Site) -> None:
    site.sign_in("reviewer")
    form = review(site)
    for token in ("", "forged"):
        answer = site.post(f"/ui/agreements/{EDVA}/reviews", {**form, "csrf_token": token})
        assert answer.status_code == 403 and "came from another site" in answer.text
    assert site.registry.reviews(EDVA) == []


# --- accessibility ------------------------------------------------------------------------


def test_every_page_has_one_h1_a_title_a_language_and_labelled_controls(site: Site) -> None:
    decision = site.registry.check(request(records=[record(1)]))
    pages = {"/ui/login": site.get("/ui/login").text}
    site.sign_in("admin")
    for path in (
        "/ui",
        f"/ui/agreements/{ICE}",
        f"/ui/decisions/{decision.decision_id}",
        "/ui/disclosures",
        "/ui/decisions/nope",
    ):
        pages[path] = site.get(path).text
    pages["review errors"] = site.post(
        f"/ui/agreements/{EDVA}/reviews", review(site, next_review="bad")
    ).text
    for path, html in pages.items():
        parsed = outline(html)
        assert parsed.h1 == 1, path
        assert parsed.lang == "en" and parsed.title, path
        unlabelled = [c for c in parsed.controls if c not in parsed.labelled]
        assert unlabelled == [], path


def test_pages_are_not_cached_and_not_framed(site: Site) -> None:
    site.sign_in("reviewer")
    answer = site.client.get("/ui", headers=HTML)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
