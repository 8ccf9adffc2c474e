"""Closing the loop in a real browser (Chromium at 375×667, docs/follow-ups.md#dashboard): a 3 on
an NPS survey opens a follow-up through the stream; the operator signs in, finds it in the inbox,
opens it, takes it, replies (through the sending pipeline into the developer outbox) and closes
it, by keyboard where a person would; axe finds nothing serious on the inbox or the response page.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.axe import axe_source, serious_violations
from tests.browser.conftest import LiveApp, Phone
from tests.browser.helpers import sign_in
from tests.browser.test_dashboard_browser import fits_the_phone
from tests.integration.test_sending import receive_all, run_sender

pytestmark = pytest.mark.browser
__all__ = ["axe_source"]  # the fixture

SURVEY = {
    "name": "Support <desk>",
    "kind": "nps",
    "question": "How likely are you to recommend our support?",
    "brand": {"name": "Demo Coffee Co."},
}


def outbox_to(live: LiveApp, address: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{live.base}/dev/outbox", timeout=10) as out:
        return [e for e in json.loads(out.read())["data"] if e["to"] == address]


def test_work_a_detractor_from_the_inbox_to_closed(live: LiveApp, phone: Phone, axe_source: str) -> None:
    from functions.logic.tenants import create_tenant

    # Given a tenant of its own whose NPS survey got a 3 with a comment
    own = LiveApp(live.base, create_tenant("Loop in a browser")["api_key"], live.emulator)
    survey = own.create_survey(**SURVEY)
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    (invitation,) = own.invite(survey["id"], {"customer_id": customer, "touchpoint": "support_call"})
    answer = urlencode({"score": "3", "comment": "Waited <20> minutes on hold"}).encode()
    with urllib.request.urlopen(urllib.request.Request(invitation["url"], data=answer), timeout=10) as done:
        assert done.status == 200
    own.emulator.drain()  # the aggregator opens the follow-up
    status, queue = own.call("GET", f"/v1/follow-ups?survey_id={survey['id']}")
    assert status == 200 and [f["customer_id"] for f in queue["data"]] == [customer]
    rid = queue["data"][0]["id"]

    # When the operator signs in and opens the inbox from the survey list
    page = phone.page
    sign_in(page, live.base, own.key)
    with page.expect_navigation(url=re.compile(r"/dashboard/follow-ups$")):
        page.get_by_role("link", name="Follow-ups").tap()

    # Then the detractor's follow-up is listed, with its survey, score and comment
    assert page.get_by_role("heading", name="Follow-ups", level=1).is_visible()
    row = page.locator("#inbox li", has_text=customer)
    assert row.count() == 1
    assert "Detractor · 3" in row.inner_text() and "Support <desk>" in row.inner_text()
    assert "Waited <20> minutes on hold" in row.inner_text() and "owner nobody" in row.inner_text()
    fits_the_phone(phone)
    assert serious_violations(phone, axe_source) == []
    phone.screenshot("1-inbox")

    # When they open it
    with page.expect_navigation(url=re.compile(r"/dashboard/responses/")):
        row.get_by_role("link").tap()
    assert page.locator("#score").inner_text() == "3"
    assert page.locator("#comment").inner_text() == "Waited <20> minutes on hold"
    assert page.locator("#fu-status").inner_text().startswith("Open")
    fits_the_phone(phone)
    assert serious_violations(phone, axe_source) == []
    phone.screenshot("2-response")

    # And take it, with the keyboard: type the owner, Enter submits (post, then redirect)
    page.get_by_label("Owner").fill("ana")
    with page.expect_navigation(url=re.compile(r"\?done=owner$")):
        page.get_by_label("Owner").press("Enter")
    assert page.get_by_role("status").inner_text() == "The owner is saved."
    assert page.locator("#fu-owner").inner_text() == "ana"

    # And reply: the reply goes through the send queue and the sender into the outbox
    receive_all()  # other tests' leftovers
    address = f"{customer}@example.com"
    page.get_by_label("Customer's email").fill(address)
    page.get_by_label("Reply", exact=True).fill("Sorry about the wait.\nWe have added staff.")
    with page.expect_navigation(url=re.compile(r"\?done=reply$")):
        page.get_by_role("button", name="Send reply").tap()
    assert run_sender(receive_all()) == {"batchItemFailures": []}
    (mail,) = outbox_to(live, address)
    assert mail["subject"] == f"Re: {SURVEY['brand']['name']}: {SURVEY['question']}"
    page.reload()
    notes = page.locator("#notes li")
    assert notes.count() == 1 and notes.first.inner_text().startswith("Reply · sent")
    assert "We have added staff." in notes.first.inner_text() and address not in page.content()

    # And close it, focusing the button with the keyboard and pressing Enter
    close = page.get_by_role("button", name="Close follow-up")
    close.focus()
    with page.expect_navigation(url=re.compile(r"\?done=status$")):
        page.keyboard.press("Enter")
    assert page.locator("#fu-status").inner_text().startswith("Closed")
    assert page.get_by_role("button", name="Close follow-up").count() == 0
    assert serious_violations(phone, axe_source) == []
    phone.screenshot("3-closed")

    # Then the API agrees, and the inbox no longer lists it
    status, shown = own.call("GET", f"/v1/responses/{rid}")
    assert status == 200 and shown["follow_up"]["status"] == "closed" and shown["follow_up"]["owner"] == "ana"
    assert [n["kind"] for n in shown["notes"]] == ["reply"]
    with page.expect_navigation(url=re.compile(r"/dashboard/follow-ups$")):
        page.get_by_role("link", name="Follow-ups").tap()
    assert page.locator("#inbox li", has_text=customer).count() == 0
    assert serious_violations(phone, axe_source) == []
    phone.assert_private_and_clean()
