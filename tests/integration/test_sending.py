"""Hark sends the survey (docs/sending.md), on the in-process stack with an injected clock:
scheduled → queued by the scheduler's tick → sent once by the sender → answered by its link."""

from __future__ import annotations

import email
import email.policy
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from functions.logic import clock
from functions.logic.sending import enqueue_due
from functions.sending.sender import handle_send_event
from functions.settings import get_settings
from functions.store import people
from functions.store.clients import client
from functions.store.items import from_item
from infra.local import stack as local_stack
from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Delivery", "kind": "nps", "question": "Recommend us?", "brand": {"name": "Acme"}}
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    """The injected clock; making one also marks the emails already sent (the emulator's SES
    keeps them for the whole process), so `sent_to` sees this test's own only."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = START
        monkeypatch.setattr(clock, "now", lambda: self.moment)
        _EARLIER.clear()
        _EARLIER.update(m["id"] for m in _raw_messages())

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


_EARLIER: set[str] = set()


def _raw_messages() -> list[dict[str, Any]]:
    endpoint = client("sesv2").meta.endpoint_url
    url = f"{endpoint}/moto-api/data.json?service=ses&model=RawMessage"
    with urllib.request.urlopen(url, timeout=10) as out:
        return list(json.loads(out.read()).get("ses", {}).get("RawMessage", []))


def sent_to(emulator: Emulator, address: str) -> list[email.message.EmailMessage]:
    """The raw messages the emulator's SES accepted for `address` during this test."""
    found = []
    for raw in _raw_messages():
        if raw["id"] in _EARLIER:
            continue
        message = email.message_from_string(raw["raw_data"], policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def run_sender(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Receive from the send queue and call the sender as Lambda would; its answer."""
    event = {
        "Records": [
            {"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in messages
        ]
    }
    return handle_send_event(event)


def receive_all() -> list[dict[str, Any]]:
    url = get_settings().required("send_queue_url")
    found: list[dict[str, Any]] = []
    while True:
        out = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        messages = out.get("Messages", [])
        if not messages:
            return found
        found += messages
        client("sqs").delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def stored(invitation_id: str, code: str) -> dict[str, Any]:
    item = from_item(
        client("dynamodb")
        .get_item(TableName=get_settings().responses_table, Key={"pk": {"S": code}})
        .get("Item")
    )
    assert item is not None and item["invitation_id"] == invitation_id
    return item


def code_of(invitation: dict[str, Any]) -> str:
    from functions.domain import tokens
    from functions.logic.links import signing_keys

    token = invitation["url"].rsplit("/", 1)[1]
    return tokens.verify(token, signing_keys(), 0)


def invite(api: Api, key: str, survey_id: str, body: dict[str, Any]) -> dict[str, Any]:
    out = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)
    return out


def invite_to_send(api: Api, key: str, survey_id: str, *rows: dict[str, Any]) -> dict[str, Any]:
    """Invitations for `rows`, each sent by the pipeline (`send: true`): the API's answer."""
    return invite(api, key, survey_id, {"send": True, "recipients": list(rows)})


def email_invitations(api: Api, key: str, survey_id: str, addresses: dict[str, str]) -> list[dict[str, Any]]:
    """An invitation for each customer id → address, their emails to be sent (`send: true`)."""
    rows = [{"customer_id": customer_id, "email": address} for customer_id, address in addresses.items()]
    return list(invite_to_send(api, key, survey_id, *rows)["invitations"])


def email_invitation(api: Api, key: str, survey_id: str, customer_id: str, address: str) -> dict[str, Any]:
    """One invitation of `address`, its email to be sent (`send: true`)."""
    return email_invitations(api, key, survey_id, {customer_id: address})[0]


def send_one(code: str, message_id: str) -> dict[str, Any]:
    """The sender's answer to one send-queue message for invitation `code`."""
    return run_sender([{"MessageId": message_id, "Body": json.dumps({"code": code})}])


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def test_links_only_by_default_and_a_scheduled_send_holds_the_address_sealed(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    out = invite(
        api,
        key,
        survey["id"],
        {
            "recipients": [
                {"customer_id": "plain", "email": "plain@example.com"},
                {"customer_id": "later", "email": "later@example.com", "send": True, "delay": 3600},
                {"customer_id": "text", "channel": "sms", "phone": "+15555550123", "send": True},
                {
                    "customer_id": "both",
                    "email": "b@example.com",
                    "send": True,
                    "delay": 5,
                    "send_at": "2026-12-02T00:00:00Z",
                },
                {"customer_id": "far", "email": "far@example.com", "send": True, "delay": 31 * 86400},
            ]
        },
    )
    plain, later, text = out["invitations"]
    assert text["delivery"]["status"] == "scheduled" and text["channel"] == "sms"
    assert plain["delivery"] == {
        "status": "links_only",
        "send_at": None,
        "sent_at": None,
        "provider_message_id": None,
        "error": None,
        "reminder": None,
    }
    assert later["delivery"]["status"] == "scheduled"
    assert later["delivery"]["send_at"] == "2026-12-01T10:00:00.000Z"
    errors = {e["index"]: e["error"] for e in out["errors"]}
    assert "either delay or send_at" in errors[3]["message"]
    assert errors[4]["field"] == "delay"
    assert set(errors) == {3, 4}
    item = stored(later["invitation_id"], code_of(later))
    assert item["send_status"] == "scheduled" and item["send_to"].startswith("k2.")
    assert "later@example.com" not in json.dumps(item)
    assert "send_to" not in stored(plain["invitation_id"], code_of(plain))
    # The whole call's choice, and a bad call-level time
    call = invite(
        api,
        key,
        survey["id"],
        {
            "send": True,
            "send_at": "2026-12-01T12:00:00+01:00",
            "recipients": [{"customer_id": "c1", "email": "c1@example.com"}],
        },
    )
    assert call["invitations"][0]["delivery"]["send_at"] == "2026-12-01T11:00:00.000Z"
    bad = api.call(
        "POST",
        f"/v1/surveys/{survey['id']}/invitations",
        key,
        {"send": True, "delay": -1, "recipients": [{"customer_id": "c2"}]},
    )
    assert bad.status_code in (400, 422) and json.loads(bad.body)["error"]["field"] == "delay"


def test_a_delayed_send_goes_out_once_after_the_tick_and_its_link_records_the_answer(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    address = "e2e-once@example.com"
    out = invite(
        api,
        key,
        survey["id"],
        {"send": True, "delay": 2, "recipients": [{"customer_id": "e2e", "email": address}]},
    )
    invitation = out["invitations"][0]
    code = code_of(invitation)
    receive_all()  # other tests' leftovers

    # Given the send is 2 s away, a tick now queues nothing of it
    enqueue_due()
    assert all(json.loads(m["Body"])["code"] != code for m in receive_all())
    # When the clock passes send_at, the tick queues it and the sender sends it
    now.advance(3)
    enqueue_due()
    messages = [m for m in receive_all() if json.loads(m["Body"])["code"] == code]
    assert len(messages) == 1
    requests: list[str] = []

    def count(model: Any, **_: Any) -> None:
        requests.append(model.name)

    for service in ("dynamodb", "sesv2"):
        client(service).meta.events.register(f"before-parameter-build.{service}.*", count)
    try:
        assert run_sender(messages) == {"batchItemFailures": []}
    finally:
        for service in ("dynamodb", "sesv2"):
            client(service).meta.events.unregister(f"before-parameter-build.{service}.*", count)
    # One send costs 3 DynamoDB requests and 1 provider call (docs/sending.md)
    assert sorted(requests) == ["BatchGetItem", "SendEmail", "UpdateItem", "UpdateItem"]

    # Then exactly one email reached the address, and the invitation says so
    [message] = sent_to(emulator, address)
    item = stored(invitation["invitation_id"], code)
    assert item["send_status"] == "sent" and item["sent_at"] == "2026-12-01T09:00:03.000Z"
    assert item["send_provider_id"] and "send_to" not in item and "due_at" not in item
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A duplicated message (another id) and a late tick send nothing more
    duplicate = [{"MessageId": "dup-1", "Body": json.dumps({"code": code})}]
    assert run_sender(duplicate) == {"batchItemFailures": []}
    now.advance(3600)
    enqueue_due()
    assert all(json.loads(m["Body"])["code"] != code for m in receive_all())
    assert len(sent_to(emulator, address)) == 1

    # The email's buttons are the invitation's score links; the 9 records a 9
    html = message.get_body(("html",))
    assert html is not None
    links = Links()
    links.feed(html.get_content())
    assert links.hrefs[:11] == list(invitation["score_urls"].values())
    nine = links.hrefs[9]
    assert api.call("GET", path_of(nine)).status_code == 200
    answered = api.form(path_of(nine).split("?")[0], {"score": "9"})
    assert answered.status_code == 303
    assert stored(invitation["invitation_id"], code)["score"] == 9


def test_throttling_returns_the_message_and_its_retry_sends_once(
    api: Api, emulator: Emulator, tenant: dict, now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    address = "throttled@example.com"
    invitation = email_invitation(api, key, survey["id"], "t", address)
    code = code_of(invitation)
    ses = client("sesv2")
    real = ses.send_email
    calls = {"n": 0}

    def throttled_once(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail"
            )
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", throttled_once)
    message = [{"MessageId": "m-throttled", "Body": json.dumps({"code": code})}]
    assert run_sender(message) == {"batchItemFailures": [{"itemIdentifier": "m-throttled"}]}
    held = stored(invitation["invitation_id"], code)
    assert held["send_status"] == "scheduled" and held["send_claim"] == "m-throttled"
    assert sent_to(emulator, address) == []
    # Another message cannot take the claim while it holds; the retry (same id) sends
    assert run_sender([{"MessageId": "other", "Body": message[0]["Body"]}]) == {"batchItemFailures": []}
    assert run_sender(message) == {"batchItemFailures": []}
    assert stored(invitation["invitation_id"], code)["send_status"] == "sent"
    assert len(sent_to(emulator, address)) == 1 and calls["n"] == 2


def test_a_permanent_refusal_marks_the_send_failed_with_the_reason(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    survey = api.json(
        "POST", "/v1/surveys", key, {**NPS, "email_from": "news@unverified.example"}, expect=201
    )
    assert survey["email_from"] == "news@unverified.example"
    invitation = email_invitation(api, key, survey["id"], "f", "f@example.com")
    code = code_of(invitation)
    assert send_one(code, "m-f") == {"batchItemFailures": []}
    item = stored(invitation["invitation_id"], code)
    assert (
        item["send_status"] == "failed" and "MessageRejected" in item["send_error"] and "send_to" not in item
    )


def test_sends_are_checked_when_they_go_out(api: Api, emulator: Emulator, tenant: dict, now: Clock) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    rows = [{"customer_id": c, "email": f"{c}@example.com"} for c in ("gone", "answered", "unsub")]
    out = invite(api, key, survey["id"], {"send": True, "delay": 60, "recipients": rows})
    gone, answered, unsub = out["invitations"]
    people.add_unsubscribe(tenant["tenant_id"], "unsub@example.com", "unsub", "2026-12-01T09:00:00.000Z")
    api.form(path_of(answered["score_urls"]["7"]).split("?")[0], {"score": "7"})
    api.json("DELETE", "/v1/customers/gone", key, expect=202)
    now.advance(61)
    for inv in (gone, answered, unsub):
        send_one(code_of(inv), f"m-{inv['customer_id']}")
    assert stored(answered["invitation_id"], code_of(answered))["send_status"] == "cancelled"
    item = stored(unsub["invitation_id"], code_of(unsub))
    assert item["send_status"] == "suppressed" and "unsubscribed" in item["send_error"]
    assert "send_to" not in item
    for address in ("gone@example.com", "answered@example.com", "unsub@example.com"):
        assert sent_to(emulator, address) == []
    # An archived survey's pending sends are cancelled
    inv = email_invitation(api, key, survey["id"], "arch", "arch@example.com")
    api.json("DELETE", f"/v1/surveys/{survey['id']}", key)
    send_one(code_of(inv), "m-arch")
    assert stored(inv["invitation_id"], code_of(inv))["send_status"] == "cancelled"


def test_the_unsubscribe_link_and_the_one_click_post_stop_further_sends(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    address = "leaving@example.com"
    send_one(code_of(email_invitation(api, key, survey["id"], "l", address)), "m-l1")
    [message] = sent_to(emulator, address)
    url = message["List-Unsubscribe"].strip("<>")
    html = message.get_body(("html",))
    assert html is not None and url in html.get_content()
    # A GET shows the button and records nothing; the one-click POST unsubscribes
    page = api.call("GET", path_of(url))
    assert page.status_code == 200 and "Unsubscribe" in page.body.decode()
    assert not people.is_unsubscribed(tenant["tenant_id"], address)
    done = api.call(
        "POST",
        path_of(url),
        body=urlencode({"List-Unsubscribe": "One-Click"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "You are unsubscribed" in done.body.decode()
    assert people.is_unsubscribed(tenant["tenant_id"], address)
    inv = email_invitation(api, key, survey["id"], "l2", address)
    send_one(code_of(inv), "m-l2")
    assert stored(inv["invitation_id"], code_of(inv))["send_status"] == "suppressed"
    assert len(sent_to(emulator, address)) == 1
    # A damaged token is a friendly 400 page
    assert api.call("GET", path_of(url[:-3] + "xyz")).status_code == 400


def test_a_french_recipients_email_and_unsubscribe_pages_are_french_throughout(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    # docs/languages.md: the email and its unsubscribe pages speak the invitation's language.
    key = tenant["api_key"]
    french = {"question": "Nous recommanderiez-vous ?"}
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "translations": {"fr": french}}, expect=201)
    address = "amelie@example.com"
    recipient = {"customer_id": "fr", "email": address, "locale": "fr-CA"}
    sent = invite(api, key, survey["id"], {"send": True, "recipients": [recipient]})
    send_one(code_of(sent["invitations"][0]), "m-fr")
    [message] = sent_to(emulator, address)
    assert message["Subject"] == "Acme: Nous recommanderiez-vous ?"
    html, plain = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and plain is not None
    assert '<html lang="fr" dir="ltr">' in html.get_content() and "Se désabonner" in html.get_content()
    assert "Se désabonner : http" in plain.get_content() and "Unsubscribe" not in plain.get_content()
    # The link carries the email's language, whatever the browser asks for
    path = path_of(message["List-Unsubscribe"].strip("<>"))
    page = api.call("GET", path, headers={"Accept-Language": "de"}).body.decode()
    assert '<html lang="fr"' in page and "Se désabonner de ces enquêtes ?" in page
    done = api.call(
        "POST",
        path,
        body=urlencode({"List-Unsubscribe": "One-Click"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "de"},
    )
    assert done.status_code == 200 and "Vous êtes désabonné" in done.body.decode()
    assert people.is_unsubscribed(tenant["tenant_id"], address)


def test_the_developer_outbox_lists_each_email_and_shows_it_as_sent(
    api: Api,
    emulator: Emulator,
    tenant: dict,
    now: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dataclasses import replace

    from functions.api import outbox as outbox_routes
    from functions.cli import main

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    address = "outbox@example.com"
    inv = email_invitation(api, key, survey["id"], "o", address)
    send_one(code_of(inv), "m-o")
    provider_id = stored(inv["invitation_id"], code_of(inv))["send_provider_id"]

    listed = [
        e for e in api.json("GET", "/dev/outbox")["data"] if e["to"] == address and e["id"] not in _EARLIER
    ]
    assert [e["id"] for e in listed] == [provider_id]
    assert listed[0]["subject"] == "Acme: Recommend us?" and listed[0]["from"] == "surveys@hark.localhost"
    shown = api.call("GET", path_of(listed[0]["url"]))
    [message] = sent_to(emulator, address)
    html = message.get_body(("html",))
    assert html is not None
    assert shown.status_code == 200 and shown.body.decode() == html.get_content()
    assert api.call("GET", "/dev/outbox/nope").status_code == 404

    assert main(["outbox", "--json"]) == 0
    assert provider_id in [e["id"] for e in json.loads(capsys.readouterr().out)]
    assert main(["outbox"]) == 0
    assert address in capsys.readouterr().out

    # Any other stage: the outbox does not exist
    prod = replace(get_settings(), stage="prod")
    monkeypatch.setattr(outbox_routes, "get_settings", lambda: prod)
    assert api.call("GET", "/dev/outbox").status_code == 404
    assert api.call("GET", path_of(listed[0]["url"])).status_code == 404


def test_the_mailbox_simulators_bounce_and_complaint_mark_the_invitation_and_suppress_the_address(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    import base64

    simulator = local_stack.make_mailbox_simulator()
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    bounce, complaint = "bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com"
    first = email_invitations(api, key, survey["id"], {"b": bounce, "c": complaint})
    first_bounce, first_complaint = first
    for inv in first:
        send_one(code_of(inv), f"m-sim-{inv['customer_id']}")
    # SES answers a moment later, through the configuration set's events
    assert simulator.poll_once() == 2
    item = stored(first_bounce["invitation_id"], code_of(first_bounce))
    assert item["send_status"] == "bounced" and "user unknown" in item["send_error"]
    assert stored(first_complaint["invitation_id"], code_of(first_complaint))["send_status"] == "complained"
    # Delighted's Bounce.all() lists the bounce; the complaint unsubscribed its address
    basic = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    listed = api.call("GET", "/v1/bounces.json", headers={"Authorization": basic})
    assert listed.status_code == 200, listed.body
    assert [b["email"] for b in json.loads(listed.body)] == [bounce]
    assert people.is_unsubscribed(tenant["tenant_id"], complaint)
    # And neither address is mailed again by this tenant
    again = email_invitations(api, key, survey["id"], {"b2": bounce, "c2": complaint})
    for inv in again:
        send_one(code_of(inv), f"m-sim2-{inv['customer_id']}")
    statuses = [stored(i["invitation_id"], code_of(i)) for i in again]
    assert [s["send_status"] for s in statuses] == ["suppressed", "suppressed"]
    assert "bounced" in statuses[0]["send_error"] and "unsubscribed" in statuses[1]["send_error"]
    assert simulator.poll_once() == 0


def test_quiet_hours_move_a_send_to_their_end_in_the_recipients_time_zone(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    quiet = {"start": "21:00", "end": "08:00"}
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "quiet_hours": quiet}, expect=201)
    assert survey["quiet_hours"] == quiet
    # 09:00 UTC is 04:00 in New York (quiet until 08:00 there, 13:00 UTC) and 18:00 in Tokyo
    out = invite_to_send(
        api,
        key,
        survey["id"],
        {"customer_id": "ny", "email": "ny@example.com", "time_zone": "America/New_York"},
        {"customer_id": "tokyo", "email": "tokyo@example.com", "time_zone": "Asia/Tokyo"},
        {"customer_id": "mars", "email": "mars@example.com", "time_zone": "Mars/Olympus_Mons"},
    )
    sends = {i["customer_id"]: i["delivery"]["send_at"] for i in out["invitations"]}
    assert sends == {"ny": "2026-12-01T13:00:00.000Z", "tokyo": "2026-12-01T09:00:00.000Z"}
    [error] = out["errors"]
    assert error["index"] == 2 and error["error"]["field"] == "time_zone"
    bad = api.call(
        "PATCH", f"/v1/surveys/{survey['id']}", key, {"quiet_hours": {"start": "25:00", "end": "08:00"}}
    )
    assert bad.status_code in (400, 422)
    cleared = api.json("PATCH", f"/v1/surveys/{survey['id']}", key, {"quiet_hours": None})
    assert cleared["quiet_hours"] is None


def test_one_reminder_goes_to_a_non_responder_and_none_to_a_responder_or_an_unsubscriber(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "reminder_after_days": 2}, expect=201)
    assert survey["reminder_after_days"] == 2
    rows = [{"customer_id": c, "email": f"remind-{c}@example.com"} for c in ("silent", "answers", "leaves")]
    out = invite(api, key, survey["id"], {"send": True, "recipients": rows})
    codes = {i["customer_id"]: code_of(i) for i in out["invitations"]}
    ids = {i["customer_id"]: i["invitation_id"] for i in out["invitations"]}
    receive_all()
    enqueue_due()
    mine = [m for m in receive_all() if json.loads(m["Body"])["code"] in codes.values()]
    assert len(mine) == 3 and run_sender(mine) == {"batchItemFailures": []}
    silent = stored(ids["silent"], codes["silent"])
    assert silent["send_status"] == "sent" and silent["remind_status"] == "scheduled"
    assert silent["remind_at"] == "2026-12-03T09:00:00.000Z" and silent["send_to"].startswith("k2.")

    # One customer answers, one unsubscribes; then two days pass
    [answers_email] = sent_to(emulator, "remind-answers@example.com")
    links = Links()
    html = answers_email.get_body(("html",))
    assert html is not None
    links.feed(html.get_content())
    api.form(path_of(links.hrefs[8]).split("?")[0], {"score": "8"})
    [leaves_email] = sent_to(emulator, "remind-leaves@example.com")
    api.form(path_of(leaves_email["List-Unsubscribe"].strip("<>")), {"List-Unsubscribe": "One-Click"})
    now.advance(2 * 86400)
    enqueue_due()
    due = [m for m in receive_all() if json.loads(m["Body"])["code"] in codes.values()]
    assert len(due) == 3 and run_sender(due) == {"batchItemFailures": []}

    # Then only the silent customer is reminded, once, and no address is held any longer
    reminded = sent_to(emulator, "remind-silent@example.com")
    assert [m["Subject"] for m in reminded] == ["Acme: Recommend us?", "Reminder: Acme: Recommend us?"]
    assert len(sent_to(emulator, "remind-answers@example.com")) == 1
    assert len(sent_to(emulator, "remind-leaves@example.com")) == 1
    status = {c: stored(ids[c], codes[c]) for c in codes}
    assert status["silent"]["remind_status"] == "sent" and status["silent"]["remind_sent_at"]
    assert status["answers"]["remind_status"] == "cancelled"
    assert status["leaves"]["remind_status"] == "suppressed"
    assert all("send_to" not in item and "due_at" not in item for item in status.values())
    # A duplicated reminder message and later ticks send nothing more: never a second reminder
    send_one(codes["silent"], "dup-remind")
    now.advance(30 * 86400)
    enqueue_due()
    assert not [m for m in receive_all() if json.loads(m["Body"])["code"] in codes.values()]
    assert len(sent_to(emulator, "remind-silent@example.com")) == 2


def test_delivery_outcomes_reach_webhooks_signed_and_without_the_address(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    from standardwebhooks.webhooks import Webhook

    from tests.webhook_receiver import start_receiver

    now.moment = datetime.now(UTC)  # receivers check the signature's timestamp against theirs
    receiver = start_receiver()
    try:
        simulator = local_stack.make_mailbox_simulator()
        key = tenant["api_key"]
        events = ["invitation.sent", "invitation.failed", "invitation.bounced", "invitation.complained"]
        hook = api.json("POST", "/v1/webhooks", key, {"url": receiver.url, "events": events}, expect=201)
        survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
        rows = [
            {"customer_id": "ok", "email": "hooked@example.com"},
            {"customer_id": "bad", "email": "bounce@simulator.amazonses.com"},
        ]
        out = invite(api, key, survey["id"], {"send": True, "recipients": rows})
        for inv in out["invitations"]:
            run_sender(
                [{"MessageId": f"m-hook-{inv['customer_id']}", "Body": json.dumps({"code": code_of(inv)})}]
            )
        simulator.poll_once()
        emulator.drain()
        emulator.deliver()
        received = [Webhook(hook["secret"]).verify(d.body, d.headers) for d in receiver.deliveries]
    finally:
        receiver.stop()
    by_customer: dict[str, list[str]] = {}
    for event in received:
        by_customer.setdefault(event["data"]["customer_id"], []).append(event["type"])
    assert by_customer == {"ok": ["invitation.sent"], "bad": ["invitation.sent", "invitation.bounced"]}
    sent = next(e for e in received if e["data"]["customer_id"] == "ok")
    assert sent["data"]["delivery"]["status"] == "sent" and sent["data"]["delivery"]["provider_message_id"]
    assert "hooked@example.com" not in json.dumps(received)


def texts_to(phone: str) -> list[dict[str, Any]]:
    """The SMS the emulator's SNS accepted for `phone` (moto's data view)."""
    endpoint = client("sns").meta.endpoint_url
    url = f"{endpoint}/moto-api/data.json?service=sns&model=SMS"
    with urllib.request.urlopen(url, timeout=10) as out:
        sms = json.loads(out.read()).get("sns", {}).get("SMS", [])
    return [m for m in sms if m["phone_number"] == phone]


def test_an_sms_invitation_is_texted_once_with_its_short_link_unless_the_phone_opted_out(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    import secrets

    from functions.logic import sms as sms_logic
    from functions.store import sms as sms_store

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    texted, stopped = (f"+1555{secrets.randbelow(10**7):07d}" for _ in range(2))
    phone_key = sms_logic.phone_key_for(stopped)
    assert phone_key
    sms_store.opt_out(tenant["tenant_id"], phone_key, "2026-12-01T08:00:00.000Z", "test", None)
    out = invite_to_send(api, key, survey["id"], {"customer_id": "t1", "channel": "sms", "phone": texted})
    [inv] = out["invitations"]
    item = stored(inv["invitation_id"], code_of_sms(inv))
    assert item["send_to"].startswith("k2.") and texted not in json.dumps(item)
    message = [{"MessageId": "m-sms", "Body": json.dumps({"code": code_of_sms(inv)})}]
    assert run_sender(message) == {"batchItemFailures": []}
    run_sender([{"MessageId": "m-sms-dup", "Body": message[0]["Body"]}])
    [sms] = texts_to(texted)
    assert inv["short_url"] in sms["message"] and "Reply STOP to opt out." in sms["message"]
    assert len(sms["message"]) <= 160
    done = stored(inv["invitation_id"], code_of_sms(inv))
    assert done["send_status"] == "sent" and done["send_provider_id"] == sms["message_id"]
    assert "send_to" not in done
    # A phone that texted STOP: Hark's cool-down of opt-outs skips it at creation already
    skipped = invite_to_send(
        api, key, survey["id"], {"customer_id": "t2", "channel": "sms", "phone": stopped}
    )
    assert skipped["invitations"] == [] and skipped["skipped"][0]["customer_id"] == "t2"
    assert texts_to(stopped) == []
    # A phone that texts STOP after the invitation was scheduled is not texted either
    later = f"+1555{secrets.randbelow(10**7):07d}"
    [pending] = invite_to_send(
        api, key, survey["id"], {"customer_id": "t3", "channel": "sms", "phone": later}
    )["invitations"]
    later_key = sms_logic.phone_key_for(later)
    assert later_key
    sms_store.opt_out(tenant["tenant_id"], later_key, "2026-12-01T09:00:00.000Z", "test", None)
    send_one(code_of_sms(pending), "m-sms-3")
    held = stored(pending["invitation_id"], code_of_sms(pending))
    assert held["send_status"] == "suppressed" and "STOP" in held["send_error"] and texts_to(later) == []


def code_of_sms(invitation: dict[str, Any]) -> str:
    return str(invitation["short_url"].rsplit("/", 1)[1])


def test_the_outbox_shows_a_long_subject_as_the_mail_client_does_without_its_fold(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    """A subject longer than a header line is folded after `Subject:`; the outbox listed it with
    the fold's leading space."""
    key = tenant["api_key"]
    # `make dev`'s demo survey: a subject that fits a continuation line whole is moved onto one
    question = "How likely are you to recommend Demo Coffee Co. to a friend?"
    brand = {"name": "Demo Coffee Co."}
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "question": question, "brand": brand}, expect=201)
    address = "outbox-long@example.com"
    send_one(code_of(email_invitation(api, key, survey["id"], "ol", address)), "m-ol")
    [listed] = [
        e for e in api.json("GET", "/dev/outbox")["data"] if e["to"] == address and e["id"] not in _EARLIER
    ]
    assert listed["subject"] == f"Demo Coffee Co.: {question}"


def test_an_address_ses_cannot_send_to_is_a_row_error_not_a_scheduled_send(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    """SES sends only to ASCII addresses (no SMTPUTF8; an IDN domain goes as punycode). A
    non-ASCII address was scheduled, then sent with an RFC 2047 word inside its To address."""
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    out = invite_to_send(
        api,
        key,
        survey["id"],
        {"customer_id": "idn", "email": "ana@exämple.com"},
        {"customer_id": "puny", "email": "ana@xn--exmple-cua.com"},
        {"customer_id": "links", "email": "zoë@example.com", "send": False},
    )
    assert [e["index"] for e in out["errors"]] == [0]
    assert out["errors"][0]["error"]["code"] == "email_not_sendable"
    assert out["errors"][0]["error"]["field"] == "email"
    assert [i["customer_id"] for i in out["invitations"]] == ["puny", "links"]
    assert [i["delivery"]["status"] for i in out["invitations"]] == ["scheduled", "links_only"]


def test_a_send_is_never_queued_before_its_send_at_within_the_same_second(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    """`delay` is a promise of at least that long: a send_at with a fraction of a second became
    due at the start of its second (up to a second early: sent_at before send_at)."""
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    now.advance(0.6)  # the request arrives 0.6 s into a second: send_at = START + 2.6 s
    rows = [
        {"customer_id": "frac", "email": "frac@example.com", "delay": 2},
        {"customer_id": "at-once", "email": "at-once@example.com"},
    ]
    later, at_once = invite(api, key, survey["id"], {"send": True, "recipients": rows})["invitations"]
    assert later["delivery"]["send_at"] == "2026-12-01T09:00:02.600Z"
    receive_all()  # other tests' leftovers

    def queued() -> set[str]:
        return {json.loads(m["Body"])["code"] for m in receive_all()}

    # A send without a delay is due at once, as before
    assert code_of(at_once) in (enqueue_due(), queued())[1]
    now.advance(1.5)  # START + 2.1 s: send_at's second, but before it
    enqueue_due()
    assert code_of(later) not in queued()
    now.advance(0.9)  # START + 3.0 s: past send_at
    enqueue_due()
    assert code_of(later) in queued()
