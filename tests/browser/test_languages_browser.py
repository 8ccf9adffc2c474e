"""The whole flow in Arabic, Japanese and German in a real browser (docs/languages.md).

At every step no English catalog text is on the page, nothing overflows the 375-pixel phone
width, and the right-to-left pages pass axe-core.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.i18n import translator
from tests.browser.axe import axe_source, serious_violations
from tests.browser.conftest import PHONE, LiveApp, Phone
from tests.unit.test_language_choice import english_catalog_texts

pytestmark = pytest.mark.browser
__all__ = ["axe_source"]  # the fixture

TEXTS = {
    "ar": {
        "question": "ما مدى احتمال أن توصي بمقهى ديمو لصديق؟",
        "follow_up_question": "ما السبب الرئيسي لتقييمك؟",
    },
    "ja": {
        "question": "デモコーヒーを友人にすすめる可能性はどのくらいですか？",
        "follow_up_question": "その点数の一番の理由は何ですか？",
    },
    "de": {
        "question": "Wie wahrscheinlich empfehlen Sie Demo Coffee einem Freund?",
        "follow_up_question": "Was ist der Hauptgrund für Ihre Bewertung?",
    },
}


def survey(live: LiveApp) -> dict[str, Any]:
    return live.create_survey(
        name="Coffee NPS",
        kind="nps",
        question="How likely are you to recommend Demo Coffee Co. to a friend?",
        follow_up_question="What is the main reason for your score?",
        brand={"name": "Demo Coffee Co.", "color": "#6b3e26"},
        translations=TEXTS,
    )


def check_page(phone: Phone, language: str, step: str) -> None:
    page = phone.page
    html = page.content()
    assert re.search(rf'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}"', html)
    assert english_catalog_texts(html) == [], (language, step)
    assert "recommend Demo Coffee" not in html
    # Nothing wider than the phone: no sideways scrolling, every element inside the viewport
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (language, step, width)
    outside = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter(e => {
             const r = e.getBoundingClientRect();
             return r.width > 0 && (r.left < -1 || r.right > window.innerWidth + 1);
           }).map(e => e.tagName + ':' + (e.textContent || '').slice(0, 30))"""
    )
    assert outside == [], (language, step, outside)
    phone.screenshot(f"{language}-{step}")


@pytest.mark.parametrize("language", ["ar", "ja", "de"])
def test_the_whole_flow_speaks_the_customers_language(
    live: LiveApp,
    phone: Phone,
    axe_source: str,
    language: str,
) -> None:
    _ = translator(language)
    (invitation,) = live.invite(
        survey(live)["id"], {"customer_id": f"c-{language}", "email": "c@example.com", "locale": language}
    )
    page = phone.page
    # The landing page: the question and the scale in the customer's language
    page.goto(invitation["url"])
    check_page(phone, language, "landing")
    assert TEXTS[language]["question"] in page.content()
    if language == "ar":
        assert serious_violations(phone, axe_source) == []
        # mirrored: the first point of the scale sits to the right of the last one
        first, last = (
            page.locator(f'label:has(input[name="score"][value="{n}"])').bounding_box() for n in (0, 10)
        )
        assert first and last and first["x"] > last["x"]

    # The score link from the email: 9 chosen (the page's clock is fake, so it waits for Send)
    page.clock.install()
    page.goto(invitation["score_urls"]["9"])
    assert page.evaluate("() => document.querySelector('input[name=score]:checked').value") == "9"
    # Send (the button's own name in that language) → the thank-you page, same language
    with page.expect_navigation(url=re.compile(r"/thanks(\?lang=[\w-]+)?$")):
        page.get_by_role("button", name=_("Send"), exact=True).tap()
    check_page(phone, language, "thanks")
    assert TEXTS[language]["follow_up_question"] in page.content()
    if language == "ar":
        assert serious_violations(phone, axe_source) == []

    # A comment, sent with the button in that language, then "change your answer"
    page.get_by_role("textbox").fill("ok")
    with page.expect_navigation(url=re.compile(r"/thanks(\?lang=[\w-]+)?$")):
        page.get_by_role("button", name=_("Send comment"), exact=True).tap()
    check_page(phone, language, "commented")
    with page.expect_navigation(url=re.compile(r"/r/[^/]+$")):
        page.get_by_role("link", name=_("Change your answer")).tap()
    check_page(phone, language, "change")
    phone.assert_private_and_clean()
