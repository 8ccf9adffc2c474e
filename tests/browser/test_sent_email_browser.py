"""The email Hark sends, in a real browser (docs/sending.md): a person created through the
official `delighted` client with `delay=2`, sent by the scheduler's tick and the sender on an
injected clock, opened from the developer outbox exactly as sent, and answered by its "9".

No sleeps: the page's auto-submit runs on Playwright's fake clock, and the score is polled
with back-off (tests/live.py).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import delighted
import pytest

from functions.api.pages import AUTO_SUBMIT_DELAY_MS
from functions.logic.sending import enqueue_due
from tests.browser.conftest import LiveApp, Phone
from tests.integration.test_delighted_client import NPS, SCOPES, use_key
from tests.integration.test_sending import Clock, code_of, receive_all, run_sender
from tests.live import eventually

pytestmark = pytest.mark.browser

ADDRESS = "browser-nine@example.com"


@pytest.fixture
def person_key(live: LiveApp) -> Iterator[dict[str, str]]:
    """A tenant of its own, its NPS survey, and a Delighted-style key defaulting to it."""
    from functions.logic.tenants import create_key, create_tenant

    tenant = create_tenant("Sent email in a browser")
    own = LiveApp(live.base, tenant["api_key"], live.emulator)
    survey = own.create_survey(**NPS)
    key = create_key(tenant["tenant_id"], SCOPES, survey["id"])["api_key"]
    use_key(live.base, key)
    try:
        yield {"survey_id": survey["id"], "admin_key": tenant["api_key"]}
    finally:
        delighted.shared_client = None


def outbox_entries(live: LiveApp, address: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{live.base}/dev/outbox", timeout=10) as out:
        return [e for e in json.loads(out.read())["data"] if e["to"] == address]


def test_the_sent_email_opened_from_the_outbox_records_a_click_on_nine(
    live: LiveApp, phone: Phone, person_key: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch)
    receive_all()  # other tests' leftovers
    before = outbox_entries(live, ADDRESS)
    # Given a person created as Delighted's scripts do, sent 2 s later
    person = delighted.Person.create(email=ADDRESS, delay=2)
    assert person["delivery"]["status"] == "scheduled"
    code = code_of(person)

    def mine() -> list[dict[str, Any]]:
        return [m for m in receive_all() if json.loads(m["Body"])["code"] == code]

    # When the scheduler ticks after the delay and the sender runs
    enqueue_due()
    assert mine() == []
    now.advance(2)
    enqueue_due()
    messages = mine()
    assert len(messages) == 1
    assert run_sender(messages) == {"batchItemFailures": []}

    # Then exactly one email is in the outbox for the address
    sent = [e for e in outbox_entries(live, ADDRESS) if e not in before]
    assert len(sent) == 1
    assert sent[0]["url"] == f"{live.base}/dev/outbox/{sent[0]['id']}"

    # When the person opens it as sent and clicks 9
    page = phone.page
    page.clock.install()
    page.goto(sent[0]["url"])
    assert page.get_by_text("Unsubscribe").is_visible()
    phone.screenshot("1-email")
    nine = page.get_by_role("link", name="9", exact=True)
    assert nine.get_attribute("href") == person["score_urls"]["9"]
    with page.expect_navigation():
        nine.click()
    assert page.url == person["score_urls"]["9"]
    assert page.get_by_role("status").inner_text().startswith("You chose 9")

    # Then the answer page records it by itself, once it has been visible for a moment
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.clock.run_for(AUTO_SUBMIT_DELAY_MS + 200)
    assert len(phone.posts) == 1
    phone.screenshot("2-thanks")

    # And the survey's score moves
    own = LiveApp(live.base, person_key["admin_key"], live.emulator)
    summary = eventually(lambda: (s := own.scores(person_key["survey_id"]))["responses"] == 1 and s)
    assert summary, "the answer never reached the survey's score"
    assert (summary["responses"], summary["counts"]["9"], summary["nps"]) == (1, 1, 100.0)
    phone.assert_private_and_clean()
