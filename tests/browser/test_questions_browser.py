"""Additional questions in a real browser (docs/questions.md): a phone with JavaScript turned
off answers a select_many and a scale question on the thank-you page in one POST, and the
option counts appear in the summary."""

from __future__ import annotations

import contextlib
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PHONE, SCREENSHOTS, LiveApp, Phone
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

SURVEY = {
    "name": "Coffee NPS",
    "kind": "nps",
    "question": "How likely are you to recommend Demo Coffee Co. to a friend?",
    "brand": {"name": "Demo Coffee Co.", "color": "#6b3e26"},
    "questions": [
        {
            "key": "liked",
            "type": "select_many",
            "text": "What did you like?",
            "options": ["Speed", "Price", "Friendly staff"],
        },
        {"key": "ease", "type": "scale", "text": "How easy was ordering?", "scale": "1-5"},
        {"key": "visit", "type": "select_one", "text": "How did you order?", "options": ["App", "Counter"]},
        {"key": "idea", "type": "free_response", "text": "One thing we could do better?"},
    ],
    "translations": {
        "fr": {
            "question": "Recommanderiez-vous Demo Coffee Co. à un ami ?",
            "questions": {
                "liked": {
                    "text": "Qu’avez-vous aimé ?",
                    "options": ["Rapidité", "Prix", "Personnel aimable"],
                },
                "ease": {"text": "Commander était-il facile ?"},
                "visit": {"text": "Comment avez-vous commandé ?", "options": ["Appli", "Comptoir"]},
                "idea": {"text": "Une chose à améliorer ?"},
            },
        }
    },
}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def no_script_phone(chromium: Any, live: LiveApp) -> Iterator[tuple[Any, list[Any]]]:
    """A phone-sized tab with JavaScript off that may reach only the app, recording its POSTs."""
    context = chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, java_script_enabled=False
    )
    page = context.new_page()
    posts: list[Any] = []
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    yield page, posts
    context.close()
    assert outside == []


def stored(invitation: dict[str, Any]) -> Any:
    from functions.logic import answers
    from functions.store import responses

    return responses.get_invitation(answers.code_from_token(str(invitation["url"]).rsplit("/", 1)[1]))


def test_a_phone_without_script_answers_the_extra_questions_in_one_post(
    live: LiveApp, no_script_phone: tuple[Any, list[Any]]
) -> None:
    page, posts = no_script_phone
    survey = live.create_survey(**SURVEY)
    (invitation,) = live.invite(survey["id"], {"customer_id": "ada", "email": "ada@example.com"})

    # Given Ada opened her email's "9" link on a phone with JavaScript off and pressed Send
    page.goto(invitation["score_urls"]["9"])
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.get_by_role("button", name="Send").tap()
    assert len(posts) == 1 and stored(invitation).score == 9

    # When, on the thank-you page, she ticks two options, chooses 4 and sends the form once
    assert page.get_by_role("heading", name="Thank you!").is_visible()
    page.get_by_role("checkbox", name="Speed").check()
    page.get_by_role("checkbox", name="Friendly staff").check()
    page.locator('label:has(input[name="q.ease"][value="4"])').tap()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "questions-no-script-filled.png"), full_page=True)
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.get_by_role("button", name="Send").tap()

    # Then one POST carried both answers, and they are stored with her response
    assert len(posts) == 2
    sent = posts[1].post_data or ""
    assert "q.liked=Speed" in sent and "q.liked=Friendly+staff" in sent and "q.ease=4" in sent
    assert stored(invitation).answers == {"liked": ["Speed", "Friendly staff"], "ease": ["4"]}
    # and the page shows them chosen, to change
    assert page.get_by_role("checkbox", name="Friendly staff").is_checked()
    assert page.get_by_role("checkbox", name="Price").is_checked() is False
    assert page.get_by_role("radio", name="No answer").is_checked()  # the select_one left alone

    # And the option counts appear in the summary
    summary = live.scores(survey["id"])
    assert summary["additional"]["liked"] == {"Speed": 1, "Price": 0, "Friendly staff": 1}
    assert summary["additional"]["ease"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert summary["additional"]["visit"] == {"App": 0, "Counter": 0}


def test_the_questions_speak_the_page_language_and_count_the_source_option(
    live: LiveApp, no_script_phone: tuple[Any, list[Any]]
) -> None:
    page, _ = no_script_phone
    survey = live.create_survey(**SURVEY)
    (invitation,) = live.invite(
        survey["id"], {"customer_id": "bea", "email": "bea@example.com", "locale": "fr"}
    )
    page.goto(invitation["score_urls"]["7"])
    with page.expect_navigation(url=re.compile(r"/thanks")):
        page.locator("button[type=submit]").tap()
    # Fixed labels from the catalog, the survey's own texts from its French translation
    assert page.get_by_text("Encore quelques questions. Chacune est facultative.").is_visible()
    assert page.get_by_role("group", name="Comment avez-vous commandé ?").is_visible()
    page.get_by_role("radio", name="Comptoir").check()
    page.get_by_role("checkbox", name="Prix").check()
    with page.expect_navigation(url=re.compile(r"/thanks")):
        page.locator("button[type=submit]").tap()
    assert stored(invitation).answers == {"visit": ["Counter"], "liked": ["Price"]}
    summary = live.scores(survey["id"])
    assert summary["additional"]["visit"]["Counter"] >= 1


def test_the_thank_you_page_with_questions_has_no_serious_accessibility_violations(
    live: LiveApp, chromium: Any
) -> None:
    axe = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        survey = live.create_survey(**SURVEY)
        (invitation,) = live.invite(survey["id"], {"customer_id": "cy", "email": "cy@example.com"})
        page.goto(invitation["url"])
        page.locator('label:has(input[name="score"][value="9"])').tap()
        with page.expect_navigation(url=re.compile(r"/thanks$")):
            page.get_by_role("button", name="Send").tap()
        page.evaluate(axe)
        results = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations'],"
            " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        serious = [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
        assert len(results["passes"]) > 10
    finally:
        context.close()


def test_the_dashboard_shows_the_option_counts_on_a_phone(live: LiveApp, phone: Phone) -> None:
    # Given two customers answered the questions on their thank-you pages
    survey = live.create_survey(**{**SURVEY, "name": "Questions on the dashboard"})
    invitations = live.invite(survey["id"], {"customer_id": "dee"}, {"customer_id": "eve"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for invitation, body in zip(
        invitations,
        [b"q=1&q.liked=Speed&q.liked=Price&q.ease=5", b"q=1&q.liked=Price&q.visit=App"],
        strict=True,
    ):
        for data in (b"score=9", body):
            request = urllib.request.Request(invitation["url"], data=data, method="POST", headers=form)
            with contextlib.suppress(urllib.error.HTTPError):  # the 303 to the thank-you page
                urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    live.emulator.drain()

    # When the operator signs in and opens the survey
    page = phone.page
    sign_in(page, live.base, live.key)
    with page.expect_navigation(url=re.compile(rf"/dashboard/surveys/{survey['id']}$")):
        page.get_by_role("link", name="Questions on the dashboard").tap()

    # Then each select and scale question has its table of answers per option
    assert page.get_by_role("heading", name="Additional questions").is_visible()
    liked = page.get_by_role("table", name="What did you like?")
    rows = [r.split("\t")[:2] for r in liked.locator("tbody tr").all_inner_texts()]
    assert rows == [["Speed", "1"], ["Price", "2"], ["Friendly staff", "0"]]
    assert page.get_by_role("table", name="How easy was ordering?").is_visible()
    assert page.get_by_role("table", name="One thing we could do better?").count() == 0
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.locator("#questions-h").scroll_into_view_if_needed()
    phone.screenshot("questions")
    axe = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    page.evaluate(axe)
    results = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    assert [v["id"] for v in results["violations"] if v["impact"] in ("serious", "critical")] == []
    phone.assert_private_and_clean()
