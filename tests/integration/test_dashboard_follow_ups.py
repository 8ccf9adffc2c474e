"""The dashboard's follow-up inbox and response page over the real tables (docs/pages.md).

Requests go through the Chalice app in-process with an injected clock; answers reach the
aggregator through the emulated stream, which opens the follow-ups. The browser-level story
(sign in, work one end to end, axe) is in tests/browser/test_follow_ups_browser.py.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.conftest import BASE_URL, Api, Emulator, path_of
from tests.integration.test_dashboard import FORM, headers, page, session_cookie, sign_in
from tests.integration.test_follow_ups import Clock, answered, now, queue, survey_of

pytestmark = pytest.mark.integration
__all__ = ["now"]  # the injected clock fixture


def post(
    api: Api, path: str, fields: dict[str, str], cookie: str, extra: dict[str, str] | None = None
) -> Any:
    return api.call("POST", path, body=urlencode(fields), headers={**FORM, "Cookie": cookie, **(extra or {})})


def response_path(rid: str) -> str:
    return f"/dashboard/responses/{quote(rid, safe='')}"


def inbox_ids(body: str) -> list[str]:
    from urllib.parse import unquote

    return [unquote(m) for m in re.findall(r'<a href="responses/([^"]+)">', body)]


@pytest.fixture
def loop(api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock) -> dict[str, Any]:
    """Two NPS surveys: an early 2 and a later 4 on one (due first and second), a 9 from the
    first customer on the other (no follow-up, but one of their other answers)."""
    key = tenant["api_key"]
    support = survey_of(api, key, name="Support <b>desk</b>", follow_up_rule={"sla_hours": 2})
    billing = survey_of(api, key, name="Billing")
    first = answered(api, key, support["id"], 2, customer="cust-early")
    assert api.form(path_of(first["url"]), {"score": "2", "comment": "Nobody <i>called</i> back"})
    emulator.drain()  # opened now, due in two hours
    now.advance(hours=1)
    answered(api, key, billing["id"], 4, customer="cust-billing")
    answered(api, key, billing["id"], 9, customer="cust-early")
    emulator.drain()
    ids = {
        f["customer_id"]: f["id"] for f in queue(api, key) if f["survey_id"] in (support["id"], billing["id"])
    }
    return {"support": support, "billing": billing, "ids": ids, "key": key}


@pytest.fixture
def early(api: Api, tenant: dict[str, str], loop: dict[str, Any]) -> tuple[str, str]:
    """The tenant's key signed in to the dashboard (its session cookie), and the response id of
    the early 2 on the support survey."""
    return session_cookie(sign_in(api, tenant["api_key"])), loop["ids"]["cust-early"]


def test_the_inbox_lists_open_follow_ups_oldest_due_first_marks_overdue_and_filters(
    api: Api, tenant: dict[str, str], loop: dict[str, Any], now: Clock
) -> None:
    # Two hours and a half on: the support one (2 h deadline) is overdue, the billing one is not
    now.advance(hours=1, minutes=30)
    cookie = session_cookie(sign_in(api, tenant["api_key"]))
    ids = loop["ids"]
    # The survey list links the inbox for a key that reads responses
    assert 'href="dashboard/follow-ups"' in page(api, "/dashboard", cookie).body.decode()
    response = page(api, "/dashboard/follow-ups", cookie)
    assert response.status_code == 200
    body = response.body.decode()
    mine = [i for i in inbox_ids(body) if i in ids.values()]
    assert mine == [ids["cust-early"], ids["cust-billing"]]  # oldest due first
    rows = re.findall(r'<li class="fu( overdue)?">(.*?)</li>', body, re.S)
    overdue = {bool(flag) for flag, row in rows if "cust-early" in row}
    assert overdue == {True} and 'class="badge overdue">Overdue</span>' in body
    assert "Support &lt;b&gt;desk&lt;/b&gt;" in body and "Nobody &lt;i&gt;called&lt;/i&gt; back" in body
    assert "<b>desk</b>" not in body and "<script" not in body
    assert "cust-billing" in body and "9 ·" not in body  # the 9 opened nothing

    # Filter by survey, and by owner
    by_survey = page(api, f"/dashboard/follow-ups?survey_id={loop['billing']['id']}", cookie).body.decode()
    assert inbox_ids(by_survey) == [ids["cust-billing"]]
    assert f'<option value="{loop["billing"]["id"]}" selected>' in by_survey
    api.json("PATCH", f"/v1/responses/{ids['cust-billing']}", loop["key"], {"owner": "ana"})
    by_owner = page(api, "/dashboard/follow-ups?owner=ana", cookie).body.decode()
    assert inbox_ids(by_owner) == [ids["cust-billing"]] and 'value="ana"' in by_owner
    assert inbox_ids(page(api, "/dashboard/follow-ups?owner=nobody-here", cookie).body.decode()) == []


def test_the_response_page_shows_the_answer_and_is_worked_with_forms_that_redirect(
    api: Api, tenant: dict[str, str], loop: dict[str, Any], early: tuple[str, str], emulator: Emulator
) -> None:
    cookie, rid = early
    path = response_path(rid)

    body = page(api, path, cookie).body.decode()
    assert '<span class="score" id="score">2</span>' in body and "Detractor · 2" in body
    assert "Nobody &lt;i&gt;called&lt;/i&gt; back" in body
    # their other answer, on the other survey, links to its own page
    others = re.search(r'<ol class="comments" id="others">(.*?)</ol>', body, re.S).group(1)
    assert "Billing" in others and "Promoter · 9" in others and others.count("<li>") == 1
    assert 'id="read-only"' not in body and f'action="../responses/{quote(rid, safe="")}/owner"' in body

    # Assign: 303 back to the page (post/redirect/get), which says so and shows the owner
    done = post(api, f"{path}/owner", {"owner": "ana <lead>"}, cookie)
    assert done.status_code == 303
    assert headers(done)["location"] == f"../{quote(rid, safe='')}?done=owner"
    shown = page(api, f"{path}?done=owner", cookie).body.decode()
    assert 'role="status" id="done">The owner is saved.' in shown
    assert '<span id="fu-owner">ana &lt;lead&gt;</span>' in shown
    # Start, tag, note: the API sees the same follow-up
    assert post(api, f"{path}/status", {"status": "in_progress"}, cookie).status_code == 303
    assert post(api, f"{path}/tags", {"tags": "billing, late ,billing"}, cookie).status_code == 303
    assert post(api, f"{path}/note", {"text": "Called, voicemail"}, cookie).status_code == 303
    state = api.json("GET", f"/v1/responses/{rid}", loop["key"])
    assert state["follow_up"]["status"] == "in_progress" and state["follow_up"]["owner"] == "ana <lead>"
    assert state["tags"] == ["billing", "late"]
    assert [(n["text"], n["author"]) for n in state["notes"]] == [
        ("Called, voicemail", state["notes"][0]["author"])
    ]
    assert state["notes"][0]["author"].startswith("key_")
    shown = page(api, path, cookie).body.decode()
    assert "<li>billing</li><li>late</li>" in shown and "Called, voicemail" in shown
    assert "In progress" in shown and "Hand back (open)" in shown

    # A note of 2,000 characters in a non-Latin script (18 KB form-encoded) is taken whole
    long_note = "返" * 2000
    assert post(api, f"{path}/note", {"text": long_note}, cookie).status_code == 303
    assert api.json("GET", f"/v1/responses/{rid}", loop["key"])["notes"][-1]["text"] == long_note

    # Close: it leaves the inbox, and the page has no more status forms
    assert post(api, f"{path}/status", {"status": "closed"}, cookie).status_code == 303
    emulator.drain()
    assert rid not in inbox_ids(page(api, "/dashboard/follow-ups", cookie).body.decode())
    closed = page(api, path, cookie).body.decode()
    assert "<strong>Closed</strong>" in closed and "Close follow-up" not in closed


def test_forms_from_another_site_are_refused_and_change_nothing(
    api: Api, tenant: dict[str, str], loop: dict[str, Any], early: tuple[str, str]
) -> None:
    cookie, rid = early
    for extra in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": BASE_URL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        for form, fields in (("owner", {"owner": "mallory"}), ("status", {"status": "closed"})):
            refused = post(api, f"{response_path(rid)}/{form}", fields, cookie, extra)
            assert refused.status_code == 403 and "another site" in refused.body.decode()
    state = api.json("GET", f"/v1/responses/{rid}", loop["key"])
    assert state["follow_up"]["owner"] is None and state["follow_up"]["status"] == "open"
    # our own page posts with a null origin and same-origin, and is let in
    ours = post(
        api,
        f"{response_path(rid)}/owner",
        {"owner": "ana"},
        cookie,
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert ours.status_code == 303


def test_the_session_keys_scopes_decide_what_is_shown_and_done(
    api: Api, tenant: dict[str, str], loop: dict[str, Any]
) -> None:
    from functions.logic.tenants import create_key

    rid = loop["ids"]["cust-early"]
    scores_only = create_key(tenant["tenant_id"], frozenset({"scores:read"}))["api_key"]
    reader = create_key(tenant["tenant_id"], frozenset({"scores:read", "responses:read"}))["api_key"]

    # scores:read alone: no inbox link, and the inbox and response pages are refused (403 pages)
    cookie = session_cookie(sign_in(api, scores_only))
    assert "dashboard/follow-ups" not in page(api, "/dashboard", cookie).body.decode()
    for path in ("/dashboard/follow-ups", response_path(rid)):
        refused = page(api, path, cookie)
        body = refused.body.decode()
        assert refused.status_code == 403 and "responses:read" in body and "cust-early" not in body

    # responses:read: reads, sees no forms, and a posted form is refused with nothing changed
    cookie = session_cookie(sign_in(api, reader))
    assert rid in inbox_ids(page(api, "/dashboard/follow-ups", cookie).body.decode())
    body = page(api, response_path(rid), cookie).body.decode()
    assert (
        'id="read-only"' in body
        and "follow_ups:write" in body
        and '/owner"' not in body
        and "<textarea" not in body
    )
    for form, fields in (("owner", {"owner": "x"}), ("note", {"text": "x"}), ("reply", {"text": "x"})):
        refused = post(api, f"{response_path(rid)}/{form}", fields, cookie)
        assert refused.status_code == 403 and "follow_ups:write" in refused.body.decode()
    state = api.json("GET", f"/v1/responses/{rid}", loop["key"])
    assert state["follow_up"]["owner"] is None and state["notes"] == []

    # no session at all: the pages lead to sign-in, forms too
    assert headers(page(api, "/dashboard/follow-ups", None))["location"] == "../dashboard"
    assert headers(page(api, response_path(rid), None))["location"] == "../../dashboard"
    assert (
        headers(post(api, f"{response_path(rid)}/owner", {"owner": "x"}, ""))["location"]
        == "../../../dashboard"
    )


@pytest.mark.parametrize(
    ("form", "fields", "status", "text"),
    [
        ("owner", {"owner": "x" * 121}, 400, "An owner must be one line of at most 120 characters."),
        ("status", {"status": "done"}, 400, "Status must be open, in_progress or closed."),
        ("status", {}, 400, "Status must be open, in_progress or closed."),
        ("tags", {"tags": ",".join(f"t{n}" for n in range(21))}, 400, "At most 20 tags."),
        ("tags", {"tags": "x" * 51}, 400, "Each tag must be one line of at most 50 characters."),
        ("note", {"text": "   "}, 400, "Write the note first."),
        ("note", {"text": "x" * 2001}, 400, "The note may be at most 2,000 characters."),
        ("reply", {"text": "Hello"}, 400, "Hark keeps no address for this customer: send `email`."),
        ("reply", {"text": "Hello", "email": "not-an-address"}, 400, "That is not an email address."),
        ("reply", {"text": "", "email": "a@example.com"}, 400, "Write the reply first."),
    ],
)
def test_bad_input_is_shown_on_the_page_and_changes_nothing(
    api: Api,
    tenant: dict[str, str],
    loop: dict[str, Any],
    early: tuple[str, str],
    form: str,
    fields: dict[str, str],
    status: int,
    text: str,
) -> None:
    cookie, rid = early
    response = post(api, f"{response_path(rid)}/{form}", fields, cookie)
    body = response.body.decode()
    assert response.status_code == status and headers(response)["content-type"].startswith("text/html")
    assert f'<p class="error" role="alert" id="{form}-problem">{escape(text)}</p>' in body
    # the page is rendered at the form's address: its links and forms still lead to the right place
    assert (
        f'action="../../responses/{quote(rid, safe="")}/note"' in body and 'href="../../follow-ups"' in body
    )
    if form == "reply" and fields.get("text"):
        assert 'value="not-an-address"' in body or "Hello" in body  # what was typed is kept
    state = api.json("GET", f"/v1/responses/{rid}", loop["key"])
    assert state["follow_up"]["owner"] is None and state["notes"] == [] and state["tags"] == []


def test_conflicts_unknown_things_and_odd_requests_are_pages_never_errors(
    api: Api, tenant: dict[str, str], loop: dict[str, Any], early: tuple[str, str], emulator: Emulator
) -> None:
    from functions.logic.tenants import create_tenant

    cookie, rid = early
    path = response_path(rid)
    assert post(api, f"{path}/status", {"status": "closed"}, cookie).status_code == 303
    # closing is final: 409 shown next to the status buttons
    again = post(api, f"{path}/status", {"status": "in_progress"}, cookie)
    assert again.status_code == 409 and 'id="status-problem"' in again.body.decode()
    assert "closing is final" in again.body.decode()
    # an answer that opened no follow-up (the 9) takes notes and tags, and no owner (409 shown)
    (nine,) = [
        r
        for r in api.json("GET", f"/v1/surveys/{loop['billing']['id']}/responses", loop["key"])["data"]
        if r["score"] == 9
    ]
    nine_path = next(
        response_path(o)
        for o in re.findall(r'href="\.\./responses/([^"]+)">Open', page(api, path, cookie).body.decode())
    )
    shown = page(api, nine_path, cookie).body.decode()
    assert 'id="no-follow-up"' in shown and "Promoter · 9" in shown and nine["customer_id"] == "cust-early"
    assert post(api, f"{nine_path}/tags", {"tags": "praise"}, cookie).status_code == 303
    no_owner = post(api, f"{nine_path}/owner", {"owner": "ana"}, cookie)
    assert no_owner.status_code == 409 and 'id="owner-problem"' in no_owner.body.decode()
    assert "<li>praise</li>" in page(api, nine_path, cookie).body.decode()
    # unknown response, form, survey filter and cursor; another tenant's response; a JSON body
    stranger = session_cookie(sign_in(api, create_tenant("Stranger")["api_key"]))
    for response in (
        page(api, response_path("k2.nope"), cookie),
        page(api, path, stranger),
        post(api, f"{path}/owner", {"owner": "x"}, stranger),
        post(api, f"{path}/delete", {}, cookie),
        page(api, "/dashboard/follow-ups?survey_id=srv_doesnotexist00", cookie),
    ):
        assert response.status_code == 404, response.body
        assert "cust-early" not in response.body.decode()
    bad_cursor = page(api, "/dashboard/follow-ups?cursor=k2.AAAAAAAAAAAAAAAAAAAAAAAA", cookie)
    assert bad_cursor.status_code == 400 and "Cursor is not one this API returned" in bad_cursor.body.decode()
    too_long = page(api, "/dashboard/follow-ups?owner=" + "x" * 121, cookie)
    assert too_long.status_code == 400
    as_json = api.call(
        "POST",
        f"{path}/owner",
        body=json.dumps({"owner": "x"}),
        headers={"Content-Type": "application/json", "Cookie": cookie},
    )
    assert as_json.status_code == 400 and headers(as_json)["content-type"].startswith("text/html")
    assert api.json("GET", f"/v1/responses/{rid}", loop["key"])["follow_up"]["owner"] is None


def test_a_reply_from_the_page_goes_through_the_sending_pipeline_to_the_outbox(
    api: Api, tenant: dict[str, str], loop: dict[str, Any], early: tuple[str, str]
) -> None:
    import uuid

    from tests.integration.test_sending import receive_all, run_sender

    cookie, rid = early
    address = f"dash-{uuid.uuid4().hex[:8]}@example.com"
    receive_all()  # other tests' leftovers
    sent = post(
        api, f"{response_path(rid)}/reply", {"text": "Sorry!\nWe fixed it.", "email": address}, cookie
    )
    assert sent.status_code == 303 and headers(sent)["location"].endswith("?done=reply")
    run_sender(receive_all())
    (mail,) = [e for e in api.json("GET", "/dev/outbox")["data"] if e["to"] == address]
    assert mail["subject"].startswith("Re: ")
    body = page(api, response_path(rid), cookie).body.decode()
    assert "Reply · sent" in body and "We fixed it." in body and address not in body


def test_the_additional_questions_answers_are_shown_with_their_questions(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    # Given a survey with an additional question, answered with the score in one POST
    key = tenant["api_key"]
    question = {
        "key": "reason",
        "type": "select_many",
        "text": "What went <wrong>?",
        "options": ["Slow", "Rude"],
    }
    survey = survey_of(api, key, questions=[question])
    body = {"recipients": [{"customer_id": "cust-questions"}]}
    invitation = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)
    form = urlencode([("score", "1"), ("q.reason", "Slow"), ("q.reason", "Rude")])
    posted = api.call(
        "POST",
        path_of(invitation["invitations"][0]["url"]),
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 303
    emulator.drain()
    (listed,) = queue(api, key, f"?survey_id={survey['id']}")

    # Then its response page shows the question's text and the answers, escaped
    page_body = page(api, response_path(listed["id"]), session_cookie(sign_in(api, key))).body.decode()
    table = re.search(r'<table id="answers">(.*?)</table>', page_body, re.S).group(1)
    assert '<th scope="row">What went &lt;wrong&gt;?</th><td>Slow, Rude</td>' in table
