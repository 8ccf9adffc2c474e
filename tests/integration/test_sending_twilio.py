"""Survey texts through Twilio's Messages API when the tenant's sms.provider is "twilio"
(docs/sending.md), against a local fake Twilio on 127.0.0.1 that checks each request the
way Twilio would (path, Basic auth, form fields) and records it."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from functions.settings import reset_settings
from infra.local.twilio_standin import basic_auth, reply_json
from tests.conftest import TWILIO_AUTH_TOKEN, Api, Emulator
from tests.integration.test_sending import NPS, Clock, code_of_sms, invite, run_sender, stored, texts_to

pytestmark = pytest.mark.integration

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@dataclass
class FakeTwilio:
    """Twilio's Messages endpoint for one account; `refusals` are answered first, in order."""

    base: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    refusals: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def handle(self, path: str, auth: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        expected = basic_auth(ACCOUNT_SID, TWILIO_AUTH_TOKEN)
        if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            self.problems.append(f"path {path}")
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        if auth != expected:
            self.problems.append("auth")
            return 401, {"code": 20003, "message": "Authenticate"}
        if not content_type.startswith("application/x-www-form-urlencoded"):
            self.problems.append(f"content type {content_type}")
        form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
        if not form.get("To") or not form.get("Body") or ("From" in form) == ("MessagingServiceSid" in form):
            self.problems.append(f"form {sorted(form)}")
            return 400, {
                "code": 21604,
                "message": "A 'To', a 'Body' and one of 'From' or 'MessagingServiceSid' are required",
            }
        if self.refusals:
            return self.refusals.pop(0)
        sid = "SM" + secrets.token_hex(16)
        self.messages.append({**form, "sid": sid, "date_created": formatdate(usegmt=True)})
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}

    def listing(self, path: str, auth: str) -> tuple[int, dict[str, Any]]:
        """Twilio's Messages list (GET), newest first, in Twilio's shape."""
        expected = basic_auth(ACCOUNT_SID, TWILIO_AUTH_TOKEN)
        if path.split("?")[0] != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json" or auth != expected:
            self.problems.append(f"list {path}")
            return 401, {"code": 20003, "message": "Authenticate"}
        rows = [
            {
                "sid": m["sid"],
                "to": m["To"],
                "from": m.get("From"),
                "body": m["Body"],
                "date_created": m["date_created"],
                "messaging_service_sid": m.get("MessagingServiceSid"),
            }
            for m in reversed(self.messages)
        ]
        return 200, {"messages": rows, "next_page_uri": None}

    def to(self, phone: str) -> list[dict[str, str]]:
        return [m for m in self.messages if m["To"] == phone]


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, doc = fake.handle(
                self.path, self.headers.get("Authorization", ""), self.headers.get("Content-Type", ""), body
            )
            reply_json(self, status, doc)

        def do_GET(self) -> None:
            status, doc = fake.listing(self.path, self.headers.get("Authorization", ""))
            reply_json(self, status, doc)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HARK_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        env.setenv("HARK_TWILIO_API_BASE", fake.base)
        env.setenv("HARK_TWILIO_AUTH_TOKEN", TWILIO_AUTH_TOKEN)
        reset_settings()
        try:
            yield fake
        finally:
            server.shutdown()
            server.server_close()
    reset_settings()
    assert fake.problems == [], f"requests Twilio would refuse: {fake.problems}"


def a_phone() -> str:
    return f"+1555{secrets.randbelow(10**7):07d}"


def twilio_survey(api: Api, key: str) -> dict[str, Any]:
    """The tenant texts through Twilio from a number of its own; a new NPS survey of its."""
    api.json("PATCH", "/v1/settings", key, {"sms": {"provider": "twilio", "number": a_phone()}})
    survey: dict[str, Any] = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    return survey


def text_invitation(api: Api, key: str, survey_id: str, phone: str) -> tuple[dict[str, Any], str]:
    [inv] = invite(
        api,
        key,
        survey_id,
        {"send": True, "recipients": [{"customer_id": f"c{phone[-4:]}", "channel": "sms", "phone": phone}]},
    )["invitations"]
    return inv, code_of_sms(inv)


def test_a_twilio_tenants_text_goes_through_the_messages_api_once_from_its_number(
    api: Api, emulator: Emulator, tenant: dict, now: Clock, twilio: FakeTwilio
) -> None:
    key = tenant["api_key"]
    number = a_phone()
    api.json("PATCH", "/v1/settings", key, {"sms": {"provider": "twilio", "number": number}})
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    phone = a_phone()
    inv, code = text_invitation(api, key, survey["id"], phone)
    message = [{"MessageId": "tw-1", "Body": json.dumps({"code": code})}]
    # When the send message is delivered, and then once more (a duplicate, another id)
    assert run_sender(message) == {"batchItemFailures": []}
    assert run_sender([{"MessageId": "tw-1-dup", "Body": message[0]["Body"]}]) == {"batchItemFailures": []}
    # Then Twilio got exactly one message, from the tenant's number, and SNS none
    [sent] = twilio.to(phone)
    assert sent["From"] == number and "MessagingServiceSid" not in sent
    assert inv["short_url"] in sent["Body"] and "Reply STOP to opt out." in sent["Body"]
    assert texts_to(phone) == []
    done = stored(inv["invitation_id"], code)
    assert done["send_status"] == "sent" and done["send_provider_id"] == sent["sid"]
    assert "send_to" not in done


def test_a_messaging_service_sends_in_place_of_a_number(
    api: Api, emulator: Emulator, tenant: dict, now: Clock, twilio: FakeTwilio
) -> None:
    key = tenant["api_key"]
    service = "MG" + secrets.token_hex(16)
    api.json(
        "PATCH",
        "/v1/settings",
        key,
        {"sms": {"provider": "twilio", "number": a_phone(), "messaging_service_sid": service}},
    )
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    phone = a_phone()
    _, code = text_invitation(api, key, survey["id"], phone)
    assert run_sender([{"MessageId": "tw-2", "Body": json.dumps({"code": code})}]) == {
        "batchItemFailures": []
    }
    [sent] = twilio.to(phone)
    assert sent["MessagingServiceSid"] == service and "From" not in sent


def test_twilio_throttling_returns_the_message_and_a_permanent_refusal_fails_with_twilios_error(
    api: Api, emulator: Emulator, tenant: dict, now: Clock, twilio: FakeTwilio
) -> None:
    key = tenant["api_key"]
    survey = twilio_survey(api, key)
    slow = a_phone()
    inv, code = text_invitation(api, key, survey["id"], slow)
    # Given Twilio answers 429 once
    twilio.refusals.append((429, {"code": 20429, "message": "Too Many Requests"}))
    message = [{"MessageId": "tw-3", "Body": json.dumps({"code": code})}]
    # Then the message goes back to the queue, nothing is sent, and its retry sends once
    assert run_sender(message) == {"batchItemFailures": [{"itemIdentifier": "tw-3"}]}
    held = stored(inv["invitation_id"], code)
    assert held["send_status"] == "scheduled" and twilio.to(slow) == []
    assert run_sender(message) == {"batchItemFailures": []}
    assert len(twilio.to(slow)) == 1 and stored(inv["invitation_id"], code)["send_status"] == "sent"

    # Given Twilio refuses a number for good
    bad = a_phone()
    inv, code = text_invitation(api, key, survey["id"], bad)
    twilio.refusals.append(
        (400, {"code": 21211, "message": f"The 'To' number {bad} is not a valid phone number."})
    )
    assert run_sender([{"MessageId": "tw-4", "Body": json.dumps({"code": code})}]) == {
        "batchItemFailures": []
    }
    failed = stored(inv["invitation_id"], code)
    assert failed["send_status"] == "failed"
    assert failed["send_error"].startswith("Twilio 21211: The 'To' number")
    assert twilio.to(bad) == []


def test_the_developer_outbox_lists_the_texts_sent_through_sns_and_twilio_with_masked_phones(
    api: Api,
    emulator: Emulator,
    tenant: dict,
    now: Clock,
    twilio: FakeTwilio,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from functions.cli import main
    from functions.logic.tenants import create_tenant

    # Given one tenant texting through Twilio and another through SNS
    key = tenant["api_key"]
    survey = twilio_survey(api, key)
    by_twilio = a_phone()
    tw_inv, tw_code = text_invitation(api, key, survey["id"], by_twilio)
    run_sender([{"MessageId": "tw-outbox", "Body": json.dumps({"code": tw_code})}])
    other = create_tenant("Texts through SNS")
    sns_survey = api.json("POST", "/v1/surveys", other["api_key"], NPS, expect=201)
    by_sns = a_phone()
    sns_inv, sns_code = text_invitation(api, other["api_key"], sns_survey["id"], by_sns)
    now.advance(60)
    run_sender([{"MessageId": "sns-outbox", "Body": json.dumps({"code": sns_code})}])

    # When a developer opens the outbox
    listed = api.json("GET", "/dev/outbox")["data"]
    texts = {m["id"]: m for m in listed if m["channel"] == "sms"}
    tw_id = stored(tw_inv["invitation_id"], tw_code)["send_provider_id"]
    sns_id = stored(sns_inv["invitation_id"], sns_code)["send_provider_id"]

    # Then both texts are there, as sent, with the provider, the time and a masked phone
    tw, sns = texts[tw_id], texts[sns_id]
    assert (tw["provider"], sns["provider"]) == ("twilio", "sns")
    assert tw["body"] == twilio.to(by_twilio)[0]["Body"] and tw_inv["short_url"] in tw["body"]
    assert sns["body"] == texts_to(by_sns)[0]["message"] and sns_inv["short_url"] in sns["body"]
    assert sns["sent_at"] == "2026-12-01T09:01:00.000Z" and tw["sent_at"]
    assert tw["to"] == by_twilio[:2] + "•" * (len(by_twilio) - 4) + by_twilio[-2:]
    assert sns["to"].endswith(by_sns[-2:]) and "•" in sns["to"]
    everything = json.dumps(listed)
    assert by_twilio not in everything and by_sns not in everything
    assert by_twilio[1:] not in everything and by_sns[-7:] not in everything
    # And `hark outbox` shows them too, masked
    assert main(["outbox", "--json"]) == 0
    printed = capsys.readouterr().out
    assert tw_id in printed and sns_id in printed and by_sns not in printed
    assert main(["outbox"]) == 0
    table = capsys.readouterr().out
    assert "sms" in table and sns["to"] in table and by_twilio not in table
