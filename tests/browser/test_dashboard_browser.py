"""The dashboard on a phone (Chromium at 375×667): sign in with a key, see the imported history.

The survey's history is a Delighted export imported with the same code `hark import` runs and
passed through the stream to the aggregator, so the page shows what an operator migrating from
Delighted would see.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.axe import axe_source, serious_violations
from tests.browser.conftest import PHONE, LiveApp, Phone
from tests.browser.helpers import sign_in
from tests.delighted_csv import delighted_nps, write_export

pytestmark = pytest.mark.browser
__all__ = ["axe_source"]  # the fixture

NPS = {
    "name": "Checkout NPS <imported>",
    "kind": "nps",
    "question": "How likely are you to recommend Demo Coffee Co. to a friend?",
    "brand": {"name": "Demo Coffee Co.", "color": "#6b3e26"},
}


@pytest.fixture(scope="module")
def history(live: LiveApp, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An NPS survey holding 12 weeks of imported Delighted answers, through the aggregator."""
    from functions.logic.importer import import_delighted

    survey = live.create_survey(**NPS)
    export = write_export(tmp_path_factory.mktemp("history") / "delighted.csv", 150, days=84, seed=5)
    assert import_delighted(export.path, survey["id"])["imported"] == 150
    live.emulator.drain()
    return {"survey": survey, "export": export}


def fits_the_phone(phone: Phone) -> None:
    width = phone.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


def test_sign_in_with_a_key_and_see_the_imported_trend(
    live: LiveApp, history: dict[str, Any], phone: Phone, axe_source: str
) -> None:
    page = phone.page
    survey = history["survey"]

    # Given the dashboard's sign-in page on a phone
    response = page.goto(live.base + "/dashboard")
    assert response is not None and response.status == 200
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert serious_violations(phone, axe_source) == []
    fits_the_phone(phone)
    phone.screenshot("1-sign-in")

    # When the operator signs in with an API key
    page.get_by_label("API key").fill(live.key)
    with page.expect_navigation(url=re.compile(r"/dashboard$")):
        page.get_by_role("button", name="Sign in").tap()

    # Then the key is exchanged for an HttpOnly, SameSite=Strict session and is in no page
    assert live.key not in page.content()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "hark_session"]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert live.key not in cookie["value"]
    assert page.evaluate("() => document.cookie") == ""
    assert page.get_by_role("heading", name="Surveys").is_visible()
    phone.screenshot("2-surveys")

    # When they open the survey
    with page.expect_navigation(url=re.compile(rf"/dashboard/surveys/{survey['id']}$")):
        page.get_by_role("link", name=NPS["name"]).tap()

    # Then they see the score now, with its margin of error, as the API and Delighted compute it
    status, summary = live.call("GET", f"/v1/surveys/{survey['id']}/scores?window=90d")
    assert status == 200 and summary["responses"] == 150
    assert summary["nps"] == delighted_nps(history["export"].counts())
    assert page.locator("#score").inner_text() == f"NPS {summary['nps']:.1f}"
    assert page.locator("#moe").inner_text().startswith(f"± {summary['margin_of_error']:.1f}")
    assert page.title() == f"{NPS['name']} · Hark dashboard"

    # And the trend chart of the imported history, drawn in the page at phone width
    chart = page.get_by_role("img", name="NPS by week, last 90 days")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and 280 <= box["width"] <= PHONE["width"]
    points = page.locator("#trend circle.point")
    assert points.count() >= 12  # one per week of the twelve imported
    weekly = [int(n) for n in page.locator("#trend-table tbody td:nth-child(3)").all_text_contents()]
    assert sum(weekly) == 150
    assert page.get_by_role("img", name="Answers by score, last 90 days").is_visible()
    assert page.locator("#segments").get_by_text("Channel: email").is_visible()
    assert page.locator("#comments li.low").count() >= 1  # detractors are marked
    fits_the_phone(phone)
    assert serious_violations(phone, axe_source) == []
    phone.screenshot("3-survey")

    # When they sign out, the session is gone
    with page.expect_navigation(url=re.compile(r"/dashboard$")):
        page.get_by_role("button", name="Sign out").tap()
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert [c for c in page.context.cookies() if c["name"] == "hark_session"] == []
    phone.assert_private_and_clean()


def test_another_tenants_survey_is_a_not_found_page(live: LiveApp, phone: Phone, axe_source: str) -> None:
    from functions.logic.tenants import create_tenant

    other = LiveApp(live.base, create_tenant("Someone else")["api_key"], live.emulator)
    theirs = other.create_survey(**{**NPS, "name": "Their secret survey"})
    page = phone.page

    sign_in(page, live.base, live.key)

    response = page.goto(live.base + f"/dashboard/surveys/{theirs['id']}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Survey not found").is_visible()
    assert "Their secret survey" not in page.content()
    assert serious_violations(phone, axe_source) == []
    phone.screenshot("not-found")
    phone.assert_private_and_clean()
