"""Customers in a real browser (Chromium at a phone's 375×667): docs/pages.md as they live it.

Time inside the page is Playwright's fake clock where the story is about the automatic POST's
delay, so the tests never sleep; the browser's own waits are for navigation.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from functions.api.pages import AUTO_SUBMIT_DELAY_MS
from tests.browser.conftest import LiveApp, Phone
from tests.helpers import STORE_CSI

pytestmark = pytest.mark.browser

NPS = {
    "name": "Coffee NPS",
    "kind": "nps",
    "question": "How likely are you to recommend Demo Coffee Co. to a friend?",
    "follow_up_question": "What is the main reason for your score?",
    "brand": {"name": "Demo Coffee Co.", "color": "#6b3e26"},
}
CSI = {**STORE_CSI, "brand": {"name": "Corner Store", "color": "#ffd400"}}
EMAIL = {"customer_id": "ada", "email": "ada@example.com"}
SMS = {"customer_id": "bob", "channel": "sms", "phone": "+15555550100"}


def stored(code: str) -> Any:
    from functions.store import responses

    return responses.get_invitation(code)


def email_code(invitation: dict[str, Any]) -> str:
    return str(invitation["url"]).rsplit("/", 1)[1].split(".")[1]


def focused(phone: Phone) -> dict[str, Any]:
    """What has keyboard focus: tag, name, value, id, text, and whether a focus ring shows."""
    return dict(
        phone.page.evaluate(
            """() => { const e = document.activeElement;
                const ring = e.type === 'radio' ? e.nextElementSibling : e;
                return {tag: e.tagName.toLowerCase(), name: e.name || '', value: e.value || '',
                        id: e.id || '', text: (e.textContent || '').trim(), checked: !!e.checked,
                        ring: getComputedStyle(ring).outlineStyle !== 'none'}; }"""
        )
    )


def checked_score(phone: Phone) -> str | None:
    value = phone.page.evaluate(
        "() => { const e = document.querySelector('input[name=score]:checked'); return e && e.value; }"
    )
    return None if value is None else str(value)


def test_a_click_in_the_email_is_recorded_once_then_a_comment_is_added(live: LiveApp, phone: Phone) -> None:
    survey = live.create_survey(**NPS)
    (invitation,) = live.invite(survey["id"], EMAIL)
    code = email_code(invitation)
    page = phone.page
    page.clock.install()

    # When Ada clicks "9" in her email, the page opens with 9 chosen; nothing is recorded yet
    page.goto(invitation["score_urls"]["9"])
    assert checked_score(phone) == "9"
    assert page.get_by_role("status").inner_text().startswith("You chose 9")
    assert page.title() == f"Demo Coffee Co.: {NPS['question']}"
    phone.screenshot("1-chosen")
    page.clock.run_for(AUTO_SUBMIT_DELAY_MS - 200)
    assert phone.posts == [] and stored(code).score is None

    # Then, once the page has been visible for a moment, it records the answer by itself, once
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.clock.run_for(400)
    assert len(phone.posts) == 1 and stored(code).score == 9
    assert page.get_by_role("heading", name="Thank you!").is_visible()
    phone.screenshot("2-thanks")

    # When she adds a comment
    page.get_by_label(NPS["follow_up_question"]).fill("Great coffee, friendly staff <3")
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.get_by_role("button", name="Send comment").tap()
    assert page.get_by_role("status").inner_text().startswith("We have your comment")
    phone.screenshot("3-comment")

    # Then the score API shows her answer and the response holds her comment
    summary = live.scores(survey["id"])
    assert (summary["responses"], summary["nps"], summary["counts"]["9"]) == (1, 100.0, 1)
    item = stored(code)
    assert (item.score, item.comment, item.suspect_automation) == (
        9,
        "Great coffee, friendly staff <3",
        False,
    )
    assert len(phone.posts) == 2
    phone.assert_private_and_clean()


def test_a_hidden_page_never_posts_until_someone_looks_at_it(live: LiveApp, phone: Phone) -> None:
    survey = live.create_survey(**NPS)
    (invitation,) = live.invite(survey["id"], EMAIL)
    page = phone.page
    # Given a page that opens hidden (a prefetch, a background tab, a scanner's offscreen tab)
    page.add_init_script(
        "Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
    )
    page.clock.install()
    page.goto(invitation["score_urls"]["3"])
    page.clock.run_for(60_000)
    assert phone.posts == [] and stored(email_code(invitation)).score is None

    # When it becomes visible, the delay starts, and then it records
    page.evaluate(
        """() => {
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.clock.run_for(AUTO_SUBMIT_DELAY_MS + 100)
    assert len(phone.posts) == 1 and stored(email_code(invitation)).score == 3
    phone.assert_private_and_clean()


def test_keyboard_only_from_the_landing_page(live: LiveApp, phone: Phone) -> None:
    survey = live.create_survey(**NPS)
    (invitation,) = live.invite(survey["id"], EMAIL)
    page, keys = phone.page, phone.page.keyboard

    # Given the landing page (no score in the link)
    page.goto(invitation["url"])
    assert checked_score(phone) is None

    # When the customer tabs to the scale, picks 8 with Space and the arrow keys
    keys.press("Tab")
    now = focused(phone)
    assert (now["name"], now["value"], now["ring"]) == ("score", "0", True)
    keys.press("Space")
    for _ in range(8):
        keys.press("ArrowRight")
    assert checked_score(phone) == "8"
    phone.screenshot("1-scale")

    # and tabs to Send and presses Enter
    keys.press("Tab")
    now = focused(phone)
    assert (now["tag"], now["text"], now["ring"]) == ("button", "Send", True)
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        keys.press("Enter")

    # Then the thank-you page: Tab reaches the comment box, then its button, then "change"
    keys.press("Tab")
    assert focused(phone)["id"] == "comment"
    keys.type("Quick and easy")
    keys.press("Tab")
    assert focused(phone)["text"] == "Send comment"
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        keys.press("Space")
    phone.screenshot("2-comment")
    keys.press("Tab")  # the comment box again, now holding the comment
    assert focused(phone)["id"] == "comment"
    keys.press("Tab")
    keys.press("Tab")
    assert focused(phone)["text"] == "Change your answer"

    # And the answer and comment are recorded, one response
    item = stored(email_code(invitation))
    assert (item.score, item.comment) == (8, "Quick and easy")
    summary = live.scores(survey["id"])
    assert (summary["responses"], summary["counts"]["8"]) == (1, 1)

    # When they follow "Change your answer" and pick 10 instead: still one response
    with page.expect_navigation():
        keys.press("Enter")
    assert checked_score(phone) == "8"
    keys.press("Tab")
    assert focused(phone)["value"] == "8"  # focus lands on the current choice
    keys.press("ArrowRight")
    keys.press("ArrowRight")
    keys.press("Tab")
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        keys.press("Enter")
    summary = live.scores(survey["id"])
    assert (summary["responses"], summary["counts"]["10"], summary["counts"]["8"]) == (1, 1, 0)
    assert stored(email_code(invitation)).comment == "Quick and easy"
    phone.assert_private_and_clean()


def test_an_sms_short_link_on_a_phone(live: LiveApp, phone: Phone) -> None:
    survey = live.create_survey(**CSI)
    (invitation,) = live.invite(survey["id"], SMS)
    short_url = invitation["short_url"]
    code = short_url.rsplit("/", 1)[1]
    assert len(short_url) <= 40 and invitation["sms_body"].endswith(short_url)
    page = phone.page

    # When Bob opens the short link from his SMS, he sees the question and the details
    page.goto(short_url)
    assert page.locator("header").inner_text() == "Corner Store"
    phone.screenshot("1-landing")

    # and taps 7, rates the speed 9, and sends
    page.locator('label:has(input[name="score"][value="7"])').tap()
    page.locator('label:has(input[name="attr.speed"][value="9"])').tap()
    with page.expect_navigation(url=re.compile(r"/s/\w+/thanks$")):
        page.get_by_role("button", name="Send").tap()
    assert stored(code).score == 7

    # Then on the thank-you page he rates the staff and leaves a comment
    page.locator('label:has(input[name="attr.staff"][value="10"])').tap()
    page.get_by_label("Anything you would like to add?").fill("Lovely people")
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.get_by_role("button", name="Send").tap()
    phone.screenshot("2-thanks")

    item = stored(code)
    assert (item.score, item.attrs, item.comment) == (7, {"speed": 9, "staff": 10}, "Lovely people")
    summary = live.scores(survey["id"], "channel:sms")
    assert summary["responses"] == 1 and summary["counts"]["7"] == 1
    assert {a["key"]: a["mean"] for a in summary["attributes"]} == {"speed": 9.0, "staff": 10.0}
    phone.assert_private_and_clean()


def test_a_scanner_that_runs_scripts_on_every_link_is_flagged(live: LiveApp, phone_factory: Any) -> None:
    survey = live.create_survey(**NPS)
    (invitation,) = live.invite(survey["id"], EMAIL)
    code = email_code(invitation)

    # When a scanner opens all eleven score links, one after another, and lets each page run
    scanner = phone_factory("-scanner")
    for score, url in invitation["score_urls"].items():
        scanner.page.clock.install()
        scanner.page.goto(url)
        with scanner.page.expect_navigation(url=re.compile(r"/thanks$")):
            scanner.page.clock.run_for(AUTO_SUBMIT_DELAY_MS + 100)
        assert stored(code).score == int(score)

    # Then the answers are kept (last one wins) but flagged as automated
    item = stored(code)
    assert (item.score, item.suspect_automation) == (10, True)
    assert live.scores(survey["id"])["responses"] == 1
    scanner.assert_private_and_clean()


AXE_PAGES = ["landing", "chosen", "thanks", "csi-landing", "csi-thanks", "damaged", "closed", "not-found"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    # axe-core as shipped inside the axe-playwright-python package (never fetched at test time)
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("which", AXE_PAGES)
def test_pages_have_no_serious_accessibility_violations(
    live: LiveApp, phone: Phone, axe_source: str, which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from functions.logic import clock

    survey = live.create_survey(**(CSI if which.startswith("csi") else NPS))
    (invitation,) = live.invite(survey["id"], EMAIL)
    url = invitation["url"]
    page = phone.page
    page.clock.install()  # the chosen page must not post while axe looks at it
    if which.endswith("thanks"):
        # Answer over the page's own form, comment included, to reach the fullest thank-you page
        page.goto(url)
        page.locator('label:has(input[name="score"][value="9"])').tap()
        with page.expect_navigation(url=re.compile(r"/thanks$")):
            page.get_by_role("button", name="Send").tap()
        page.get_by_role("textbox").fill("Fine")
        with page.expect_navigation(url=re.compile(r"/thanks$")):
            page.locator("button[type=submit]").tap()
    else:
        if which == "closed":
            later = clock.now() + timedelta(days=40)
            monkeypatch.setattr(clock, "now", lambda: later)
        target = {
            "landing": url,
            "csi-landing": url,
            "chosen": invitation["score_urls"]["9"],
            "damaged": url[:-3] + "xyz",
            "not-found": live.base + "/s/AAAAAAAAAA",
            "closed": url,
        }[which]
        response = page.goto(target)
        expected = {"damaged": 400, "not-found": 404, "closed": 410}.get(which, 200)
        assert response is not None and response.status == expected

    page.evaluate(axe_source)
    results = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    phone.screenshot("page")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    # the rule set really ran (an empty result from a broken injection would pass otherwise)
    assert results["testEngine"]["name"] == "axe-core" and len(results["passes"]) > 10
    phone.assert_private_and_clean()
