"""Two-way SMS on the local stack: customers answer by replying to the text (issue 7).

Requests are shaped exactly as Twilio and Amazon SNS send them and signed as they sign them
(Twilio's own RequestValidator; an SNS-named certificate from a test CA). The network is
never touched: the SNS gateway is replaced by a fake that serves the certificate.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import BASE_URL, SNS_TOPIC_ARN, TWILIO_AUTH_TOKEN, Api, Emulator
from tests.sns_signing import FakeGateway, SnsSigner, make_signer

pytestmark = pytest.mark.integration

TWILIO_PATH = "/webhooks/sms/twilio"
SNS_PATH = "/webhooks/sms/sns"
OUR_NUMBER = "+15005550006"
NPS = {
    "name": "Delivery",
    "kind": "nps",
    "question": "How likely are you to recommend us?",
    "follow_up_question": "What is the main reason for your score?",
}


def new_phone() -> str:
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


class _Number:
    """The number this test's tenant registered (PATCH /v1/settings sms.number)."""

    now = OUR_NUMBER


NUMBER = _Number()


def new_number() -> str:
    return "+1500" + "".join(secrets.choice("0123456789") for _ in range(7))


def register_number(api: Api, key: str, number: str) -> Any:
    return api.call("PATCH", "/v1/settings", key, {"sms": {"provider": "twilio", "number": number}})


@pytest.fixture(autouse=True)
def our_number(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test texts a number of its own; its tenant (if it has one) registers it, since a
    reply reaches a tenant only through that tenant's number."""
    NUMBER.now = new_number()
    if "tenant" in request.fixturenames:
        api, tenant = request.getfixturevalue("api"), request.getfixturevalue("tenant")
        response = register_number(api, tenant["api_key"], NUMBER.now)
        assert response.status_code == 200, response.body
    yield NUMBER.now
    NUMBER.now = OUR_NUMBER


def twilio_form(phone: str, body: str, to: str | None = None, **extra: str) -> dict[str, str]:
    """What Twilio posts for an incoming SMS."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": to or NUMBER.now,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post_twilio(
    api: Api, form: dict[str, str], *, signed: bool = True, token: str = TWILIO_AUTH_TOKEN
) -> Any:
    from twilio.request_validator import RequestValidator

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            BASE_URL + TWILIO_PATH, form
        )
    return api.call("POST", TWILIO_PATH, body=urlencode(form), headers=headers)


def twiml_message(response: Any) -> str:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/xml")
    body = response.body.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    if "<Message>" not in body:
        return ""
    return body.split("<Message>", 1)[1].split("</Message>", 1)[0]


def create_survey(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    return api.json("POST", "/v1/surveys", key, {**NPS, **fields}, expect=201)


def invite_sms(api: Api, key: str, survey_id: str, phone: str, customer: str = "cust-1") -> dict[str, Any]:
    body = {"recipients": [{"customer_id": customer, "channel": "sms", "phone": phone}]}
    return api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)


def code_of(invitation: dict[str, Any]) -> str:
    return str(invitation["short_url"].rsplit("/", 1)[1])


def invited_by_text(api: Api, key: str) -> tuple[str, str]:
    """A new phone invited by text to a new survey: the phone and the invitation's code."""
    phone = new_phone()
    survey = create_survey(api, key)
    return phone, code_of(invite_sms(api, key, survey["id"], phone)["invitations"][0])


def stored(code: str) -> Any:
    from functions.store.responses import get_invitation

    return get_invitation(code)


def scores(api: Api, key: str, survey_id: str) -> dict[str, Any]:
    return api.json("GET", f"/v1/surveys/{survey_id}/scores?window=all", key)


# ---- done when --------------------------------------------------------------------------------


def test_a_signed_twilio_reply_records_on_the_right_invitation_and_the_scores_move(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    phone, neighbour = new_phone(), new_phone()
    older_survey = create_survey(api, key, name="Older")
    survey = create_survey(api, key)
    older = invite_sms(api, key, older_survey["id"], phone)["invitations"][0]
    latest = invite_sms(api, key, survey["id"], phone)["invitations"][0]
    other = invite_sms(api, key, survey["id"], neighbour, customer="cust-2")["invitations"][0]
    emulator.drain()

    # When the customer replies "9 great" to our text, exactly as Twilio delivers it
    response = post_twilio(api, twilio_form(phone, "9 great"))

    # Then they are thanked, and their latest open SMS invitation holds 9 and "great"
    assert twiml_message(response) == "Thank you! We recorded your 9 and your comment."
    answered = stored(code_of(latest))
    assert (answered.score, answered.comment) == (9, "great")
    assert stored(code_of(older)).score is None and stored(code_of(other)).score is None

    # And the scores move: one promoter, counted under channel:sms
    emulator.drain()
    summary = scores(api, key, survey["id"])
    assert (summary["responses"], summary["nps"], summary["invited"]) == (1, 100.0, 2)
    sms_only = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all&segment=channel:sms", key)
    assert sms_only["responses"] == 1
    assert scores(api, key, older_survey["id"])["responses"] == 0


def test_an_unsigned_or_forged_twilio_post_is_refused_and_records_nothing(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key)
    invitation = invite_sms(api, key, survey["id"], phone)["invitations"][0]

    unsigned = post_twilio(api, twilio_form(phone, "9 great"), signed=False)
    forged = post_twilio(api, twilio_form(phone, "9 great"), token="x" * 32)
    signed_form = twilio_form(phone, "9")
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(BASE_URL + TWILIO_PATH, signed_form)
    tampered = api.call(
        "POST",
        TWILIO_PATH,
        body=urlencode({**signed_form, "Body": "0"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )

    for response in (unsigned, forged, tampered):
        assert response.status_code == 403, response.body
        assert b"signature" in response.body
    emulator.drain()
    assert stored(code_of(invitation)).score is None
    assert scores(api, key, survey["id"])["responses"] == 0


# ---- what customers may reply -----------------------------------------------------------------


def test_a_comment_after_the_score_joins_the_answer(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)

    # Text before any score: asked for the number first, nothing recorded
    first = twiml_message(post_twilio(api, twilio_form(phone, "the driver was lovely")))
    assert "number from 0 to 10 first" in first and stored(code).score is None

    # "nine" → the follow-up question; then the comment alone
    assert "What is the main reason for your score?" in twiml_message(
        post_twilio(api, twilio_form(phone, "NINE!"))
    )
    assert twiml_message(post_twilio(api, twilio_form(phone, "the driver was lovely"))) == (
        "Thank you, we have added your comment to your answer."
    )
    answer = stored(code)
    assert (answer.score, answer.comment) == (9, "the driver was lovely")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("9 or 10", "Sorry, we need just one number. Please reply with a whole number from 0 to 10."),
        ("7-8", "Sorry, we need just one number. Please reply with a whole number from 0 to 10."),
        ("11", "Sorry, we did not catch that. Please reply with a whole number from 0 to 10."),
        ("4/5", "Sorry, we did not catch that. Please reply with a whole number from 0 to 10."),
        ("", "Sorry, we did not catch that. Please reply with a whole number from 0 to 10."),
    ],
)
def test_unclear_replies_are_asked_again_and_record_nothing(
    api: Api, emulator: Emulator, tenant: dict, body: str, expected: str
) -> None:
    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)
    assert twiml_message(post_twilio(api, twilio_form(phone, body))) == expected
    assert stored(code).score is None


def test_a_score_outside_the_surveys_scale_is_asked_again(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key, kind="csat", question="How satisfied were you?")
    code = code_of(invite_sms(api, key, survey["id"], phone)["invitations"][0])
    assert "from 1 to 5" in twiml_message(post_twilio(api, twilio_form(phone, "9")))
    assert stored(code).score is None
    assert twiml_message(post_twilio(api, twilio_form(phone, "4/5"))).startswith(
        "Thank you! We recorded your 4"
    )
    assert stored(code).score == 4


def test_a_reply_escapes_what_it_repeats(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key, follow_up_question="Was it <good> & quick?")
    invite_sms(api, key, survey["id"], phone)
    message = twiml_message(post_twilio(api, twilio_form(phone, "10")))
    assert "Was it &lt;good&gt; &amp; quick?" in message


def test_no_open_invitation_gets_a_polite_answer_and_records_nothing(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from functions.logic import clock

    key = tenant["api_key"]
    phone = new_phone()
    assert "no open survey" in twiml_message(post_twilio(api, twilio_form(new_phone(), "9")))

    survey = create_survey(api, key)
    body = {"recipients": [{"customer_id": "c", "channel": "sms", "phone": phone, "expires_in_days": 1}]}
    code = code_of(
        api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)["invitations"][0]
    )
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "no open survey" in twiml_message(post_twilio(api, twilio_form(phone, "9")))
    assert stored(code).score is None


def test_an_email_invitation_is_never_answered_by_text(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key)
    body = {
        "recipients": [{"customer_id": "c", "channel": "email", "email": "a@example.com", "phone": phone}]
    }
    api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)
    assert "no open survey" in twiml_message(post_twilio(api, twilio_form(phone, "9")))


def test_phone_numbers_are_not_stored_in_clear(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.store.clients import client
    from functions.store.responses import scan_all

    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key)
    invite_sms(api, key, survey["id"], phone)
    post_twilio(api, twilio_form(phone, "STOP"))
    post_twilio(api, twilio_form(phone, "START"))
    post_twilio(api, twilio_form(phone, "STOP"))
    core = client("dynamodb").scan(TableName=os.environ["HARK_CORE_TABLE"])["Items"]
    everything = json.dumps(scan_all(), default=str) + json.dumps(core)
    assert phone[1:] not in everything
    assert any(item.get("phone_key") for item in scan_all() if item.get("survey_id") == survey["id"])


# ---- opting out -------------------------------------------------------------------------------


def test_stop_skips_later_invitations_and_start_allows_them_again(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    phone, other = new_phone(), new_phone()
    survey = create_survey(api, key)
    invite_sms(api, key, survey["id"], phone)

    # Twilio answers STOP itself (carrier rules: one confirmation), so we reply with nothing
    assert twiml_message(post_twilio(api, twilio_form(phone, "STOP"))) == ""
    out = api.json(
        "POST",
        f"/v1/surveys/{survey['id']}/invitations",
        key,
        {
            "recipients": [
                {"customer_id": "stopped", "channel": "sms", "phone": phone},
                {"customer_id": "fine", "channel": "sms", "phone": other},
                {"customer_id": "by-email", "channel": "email", "email": "x@example.com", "phone": phone},
            ]
        },
        expect=201,
    )
    assert out["skipped"] == [{"index": 0, "customer_id": "stopped", "reason": "opted_out"}]
    assert [i["customer_id"] for i in out["invitations"]] == ["fine", "by-email"]

    assert twiml_message(post_twilio(api, twilio_form(phone, "start"))) == ""
    again = invite_sms(api, key, survey["id"], phone, customer="stopped")
    assert again["skipped"] == [] and len(again["invitations"]) == 1


def test_keyword_replies_when_the_provider_does_not_send_them(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.local import stack

    monkeypatch.setenv("HARK_SMS_KEYWORD_REPLIES", "true")
    stack.apply_settings({})
    try:
        phone = new_phone()
        assert "Reply START to resubscribe" in twiml_message(
            post_twilio(api, twilio_form(phone, "unsubscribe"))
        )
        assert "Reply STOP to unsubscribe" in twiml_message(post_twilio(api, twilio_form(phone, "START")))
        assert "Reply STOP" in twiml_message(post_twilio(api, twilio_form(phone, "HELP")))
        # Twilio's Advanced Opt-Out reports a custom keyword it matched
        custom = twilio_form(phone, "BASTA", OptOutType="STOP")
        assert "unsubscribed" in twiml_message(post_twilio(api, custom))
    finally:
        monkeypatch.delenv("HARK_SMS_KEYWORD_REPLIES")
        stack.apply_settings({})


# ---- tenants ----------------------------------------------------------------------------------


def test_a_reply_reaches_only_the_tenant_that_registered_the_receiving_number(
    api: Api, emulator: Emulator, tenant: dict, caplog: pytest.LogCaptureFixture
) -> None:
    from functions.logic.tenants import create_tenant

    # Given my shop (number registered) and another shop that invites the same customer later,
    # so its invitation is the newest open one for that phone
    mine, theirs = tenant, create_tenant("Other shop")
    phone = new_phone()
    my_survey, their_survey = create_survey(api, mine["api_key"]), create_survey(api, theirs["api_key"])
    my_code = code_of(invite_sms(api, mine["api_key"], my_survey["id"], phone)["invitations"][0])
    their_code = code_of(invite_sms(api, theirs["api_key"], their_survey["id"], phone)["invitations"][0])

    # When the customer replies to my number, my invitation is answered, not the newer one
    post_twilio(api, twilio_form(phone, "8"))
    assert (stored(my_code).score, stored(their_code).score) == (8, None)

    # And a reply to a number nobody registered answers nothing, records nothing, and says so in the log
    stray = new_number()
    with caplog.at_level("WARNING", logger="hark.sms"):
        assert twiml_message(post_twilio(api, twilio_form(phone, "2", to=stray))) == ""
        assert twiml_message(post_twilio(api, twilio_form(phone, "STOP", to=stray))) == ""
    assert (stored(my_code).score, stored(their_code).score) == (8, None)
    assert any("no tenant has registered" in r.getMessage() for r in caplog.records)
    # The STOP to the stray number opted nobody out: my shop can still invite the customer
    assert invite_sms(api, mine["api_key"], my_survey["id"], phone, customer="again")["skipped"] == []


def test_a_number_belongs_to_one_tenant(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_tenant

    theirs = create_tenant("Number thief")
    mine_number = NUMBER.now

    # Another tenant cannot take my number
    taken = register_number(api, theirs["api_key"], mine_number)
    assert taken.status_code == 409, taken.body
    assert json.loads(taken.body)["error"] == {
        "code": "number_taken",
        "message": "another tenant has registered this number; a number routes replies to one tenant only",
        "field": "sms.number",
    }

    # Registering it again myself is fine; the settings read back
    assert register_number(api, tenant["api_key"], mine_number).status_code == 200
    settings = api.json("GET", "/v1/settings", tenant["api_key"])
    assert settings["sms"] == {"provider": "twilio", "number": mine_number, "messaging_service_sid": None}

    # When I move to a new number, the old one is released and the other tenant may claim it
    moved = new_number()
    assert register_number(api, tenant["api_key"], moved).status_code == 200
    assert register_number(api, theirs["api_key"], mine_number).status_code == 200
    assert register_number(api, theirs["api_key"], moved).status_code == 409

    # And a reply now reaches each tenant through its own number
    phone = new_phone()
    their_survey = create_survey(api, theirs["api_key"])
    their_code = code_of(invite_sms(api, theirs["api_key"], their_survey["id"], phone)["invitations"][0])
    my_survey = create_survey(api, tenant["api_key"])
    my_code = code_of(invite_sms(api, tenant["api_key"], my_survey["id"], phone)["invitations"][0])
    post_twilio(api, twilio_form(phone, "4", to=mine_number))
    post_twilio(api, twilio_form(phone, "10", to=moved))
    assert (stored(their_code).score, stored(my_code).score) == (4, 10)

    # Clearing the SMS settings releases the number
    assert api.json("PATCH", "/v1/settings", tenant["api_key"], {"sms": None})["sms"]["number"] is None
    assert register_number(api, theirs["api_key"], moved).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sms": {"number": "5550001111"}}, "sms.number"),
        ({"sms": {"number": "+1 555 000 1111"}}, "sms.number"),
        ({"sms": {"provider": "carrier-pigeon"}}, "sms.provider"),
        ({"sms": {"provider": "sns", "messaging_service_sid": "MG" + "a" * 32}}, "sms.messaging_service_sid"),
        ({"sms": {"messaging_service_sid": "MG123"}}, "sms.messaging_service_sid"),
        ({"email_from": "not an address"}, "email_from"),
        ({"reply_to": "a@b"}, "reply_to"),
        ({"default_locale": "english please"}, "default_locale"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_settings_are_a_422_naming_the_field(
    api: Api, emulator: Emulator, tenant: dict, body: dict, field: str
) -> None:
    response = api.call("PATCH", "/v1/settings", tenant["api_key"], body)
    assert response.status_code == 422, response.body
    assert json.loads(response.body)["error"]["field"] == field


def test_settings_need_the_admin_scope(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_key

    reader = create_key(tenant["tenant_id"], frozenset({"scores:read", "responses:read"}))["api_key"]
    assert api.call("GET", "/v1/settings", reader).status_code == 403
    assert register_number(api, reader, new_number()).status_code == 403
    full = {"email_from": "surveys@shop.example", "reply_to": "help@shop.example", "default_locale": "pt-BR"}
    assert api.json("PATCH", "/v1/settings", tenant["api_key"], full) == {
        **full,
        "sms": {"provider": "twilio", "number": NUMBER.now, "messaging_service_sid": None},
    }


def test_the_deploy_time_seed_routes_its_numbers_and_keeps_them(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.logic.tenants import create_tenant
    from infra.local import stack

    theirs = create_tenant("Seeded shop")
    seeded = new_number()
    phone = new_phone()
    survey = create_survey(api, theirs["api_key"])
    code = code_of(invite_sms(api, theirs["api_key"], survey["id"], phone)["invitations"][0])
    monkeypatch.setenv("HARK_SMS_NUMBERS", f"{seeded}={theirs['tenant_id']}")
    stack.apply_settings({})
    try:
        post_twilio(api, twilio_form(phone, "7", to=seeded))
        assert stored(code).score == 7
        assert register_number(api, tenant["api_key"], seeded).status_code == 409
    finally:
        monkeypatch.delenv("HARK_SMS_NUMBERS")
        stack.apply_settings({})


def test_opt_outs_are_per_tenant(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_tenant

    theirs = create_tenant("Neighbour shop")
    assert register_number(api, theirs["api_key"], new_number()).status_code == 200
    phone = new_phone()
    my_survey, their_survey = create_survey(api, tenant["api_key"]), create_survey(api, theirs["api_key"])

    # When the customer texts STOP to my number
    post_twilio(api, twilio_form(phone, "STOP"))

    # Then my shop may not text them again, and the other shop still may
    mine = invite_sms(api, tenant["api_key"], my_survey["id"], phone)
    assert [row["reason"] for row in mine["skipped"]] == ["opted_out"]
    assert invite_sms(api, theirs["api_key"], their_survey["id"], phone)["skipped"] == []


# ---- replays and stale callbacks ----------------------------------------------------------------


def test_a_replayed_twilio_callback_is_refused(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)
    nine = twilio_form(phone, "9")
    assert twiml_message(post_twilio(api, nine)).startswith("Thank you! We recorded your 9")
    post_twilio(api, twilio_form(phone, "3"))

    # When someone who captured the first request sends it again, signature and all
    replay = post_twilio(api, nine)

    # Then it is refused and the customer's later answer stands
    assert replay.status_code == 409 and b"delivered before" in replay.body
    assert stored(code).score == 3


def test_a_provider_retry_after_a_failure_is_not_taken_for_a_replay(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.domain.errors import Throttled
    from functions.store import responses

    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)
    real = responses.record_answer

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise Throttled("the service is busy; try again in a moment")

    form = twilio_form(phone, "9")
    monkeypatch.setattr(responses, "record_answer", busy)
    assert post_twilio(api, form).status_code == 503
    monkeypatch.setattr(responses, "record_answer", real)
    assert twiml_message(post_twilio(api, form)).startswith("Thank you! We recorded your 9")
    assert stored(code).score == 9


def test_stale_or_replayed_sns_callbacks_are_refused(
    api: Api, emulator: Emulator, tenant: dict, sns: tuple[SnsSigner, FakeGateway]
) -> None:
    from datetime import UTC, datetime, timedelta

    signer, _gateway = sns
    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)

    def signed_at(moment: datetime, body: str) -> dict[str, str]:
        fresh = signer.notification(sms_payload(phone, body))
        unsigned = {
            k: v for k, v in fresh.items() if k not in {"Signature", "SignatureVersion", "SigningCertURL"}
        }
        return signer.sign({**unsigned, "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")})

    now = datetime.now(UTC)
    for moment in (now - timedelta(minutes=6), now + timedelta(minutes=6)):
        stale = post_sns(api, signed_at(moment, "2"))
        assert stale.status_code == 403 and b"5 minutes" in stale.body
    assert stored(code).score is None

    first = signer.notification(sms_payload(phone, "9"))
    assert post_sns(api, first).status_code == 200
    post_sns(api, signer.notification(sms_payload(phone, "6")))
    replay = post_sns(api, first)
    assert replay.status_code == 409
    assert stored(code).score == 6
    # A message of four minutes ago is still accepted
    assert post_sns(api, signed_at(now - timedelta(minutes=4), "8")).status_code == 200
    assert stored(code).score == 8


def test_the_twilio_webhook_without_a_token_says_it_is_not_set_up(
    api: Api, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.local import stack

    monkeypatch.setenv("HARK_TWILIO_AUTH_TOKEN", "")
    stack.apply_settings({})
    try:
        response = post_twilio(api, twilio_form(new_phone(), "9"))
        assert response.status_code == 503 and b"HARK_TWILIO_AUTH_TOKEN" in response.body
    finally:
        monkeypatch.setenv("HARK_TWILIO_AUTH_TOKEN", TWILIO_AUTH_TOKEN)
        stack.apply_settings({})


# ---- Amazon SNS (AWS End User Messaging two-way SMS) ------------------------------------------


@pytest.fixture
def sns(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SnsSigner, FakeGateway]]:
    from functions.logic import sms_providers

    signer = make_signer()
    signer.topic_arn = SNS_TOPIC_ARN
    gateway = FakeGateway({signer.cert_url: signer.cert_pem})
    monkeypatch.setattr(sms_providers, "gateway", gateway)
    monkeypatch.setattr(sms_providers, "_certificates", {})
    yield signer, gateway


def post_sns(api: Api, message: dict[str, str]) -> Any:
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": message["Type"],
        "x-amz-sns-message-id": message["MessageId"],
        "x-amz-sns-topic-arn": message["TopicArn"],
    }
    return api.call("POST", SNS_PATH, body=json.dumps(message), headers=headers)


def sms_payload(phone: str, body: str) -> dict[str, str]:
    return {
        "originationNumber": phone,
        "destinationNumber": NUMBER.now,
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": body,
        "inboundMessageId": secrets.token_hex(16),
        "previousPublishedMessageId": secrets.token_hex(16),
    }


def test_sns_subscription_is_confirmed_only_after_the_signature_checks_out(
    api: Api, emulator: Emulator, sns: tuple[SnsSigner, FakeGateway]
) -> None:
    signer, gateway = sns
    confirmation = signer.subscription_confirmation()
    forged = {**confirmation, "SubscribeURL": confirmation["SubscribeURL"] + "&x=1"}
    assert post_sns(api, forged).status_code == 403
    assert gateway.confirmed == []

    response = post_sns(api, confirmation)
    assert response.status_code == 200 and json.loads(response.body)["status"] == "subscribed"
    assert gateway.confirmed == [confirmation["SubscribeURL"]]

    elsewhere = signer.subscription_confirmation(
        subscribe_url="https://evil.example.com/?Action=ConfirmSubscription"
    )
    assert post_sns(api, elsewhere).status_code == 403
    assert gateway.confirmed == [confirmation["SubscribeURL"]]


def test_an_sns_notification_answers_the_invitation(
    api: Api, emulator: Emulator, tenant: dict, sns: tuple[SnsSigner, FakeGateway]
) -> None:
    signer, gateway = sns
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key)
    code = code_of(invite_sms(api, key, survey["id"], phone)["invitations"][0])

    response = post_sns(api, signer.notification(sms_payload(phone, "10 quick and friendly")))
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {
        "status": "answered",
        "reply": "Thank you! We recorded your 10 and your comment.",
    }
    assert (stored(code).score, stored(code).comment) == (10, "quick and friendly")
    assert gateway.fetched == [signer.cert_url]
    assert gateway.sent == []  # Hark sends no SMS unless HARK_SNS_SEND_REPLIES is on

    # The certificate is cached: the next message does not fetch it again
    post_sns(api, signer.notification(sms_payload(phone, "9")))
    assert gateway.fetched == [signer.cert_url] and stored(code).score == 9
    emulator.drain()
    assert scores(api, key, survey["id"])["promoter_count"] == 1


def test_sns_replies_are_sent_when_enabled(
    api: Api,
    emulator: Emulator,
    tenant: dict,
    sns: tuple[SnsSigner, FakeGateway],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra.local import stack

    signer, gateway = sns
    phone = new_phone()
    survey = create_survey(api, tenant["api_key"])
    invite_sms(api, tenant["api_key"], survey["id"], phone)
    monkeypatch.setenv("HARK_SNS_SEND_REPLIES", "true")
    stack.apply_settings({})
    try:
        assert post_sns(api, signer.notification(sms_payload(phone, "7 or 8"))).status_code == 200
    finally:
        monkeypatch.delenv("HARK_SNS_SEND_REPLIES")
        stack.apply_settings({})
    assert gateway.sent == [
        (NUMBER.now, phone, "Sorry, we need just one number. Please reply with a whole number from 0 to 10.")
    ]


def test_sns_messages_that_fail_a_check_are_refused_and_record_nothing(
    api: Api, emulator: Emulator, tenant: dict, sns: tuple[SnsSigner, FakeGateway]
) -> None:
    signer, gateway = sns
    key = tenant["api_key"]
    phone, code = invited_by_text(api, key)
    good = signer.notification(sms_payload(phone, "9"))

    other_topic = signer.notification(
        sms_payload(phone, "9"), topic_arn="arn:aws:sns:us-east-1:999999999999:other"
    )
    tampered = {**good, "Message": json.dumps(sms_payload(phone, "0"))}
    foreign_cert = {**good, "SigningCertURL": "https://evil.example.com/SimpleNotificationService-x.pem"}
    v1 = signer.sign(
        {k: v for k, v in good.items() if k not in {"Signature", "SignatureVersion"}}, version="1"
    )
    from cryptography.hazmat.primitives.asymmetric import rsa

    impostor = SnsSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), signer.cert_pem)
    wrong_key = impostor.sign({k: v for k, v in good.items() if k not in {"Signature", "SignatureVersion"}})

    for message in (other_topic, tampered, foreign_cert, v1, wrong_key):
        assert post_sns(api, message).status_code == 403, message
    assert all(url == signer.cert_url for url in gateway.fetched)  # the foreign URL was never fetched
    assert post_sns(api, {**good, "Type": "Gossip"}).status_code == 400
    assert (
        api.call("POST", SNS_PATH, body="not json", headers={"Content-Type": "text/plain"}).status_code == 400
    )
    assert stored(code).score is None


def test_an_unreachable_certificate_asks_sns_to_retry(
    api: Api, emulator: Emulator, sns: tuple[SnsSigner, FakeGateway]
) -> None:
    signer, gateway = sns
    gateway.certificates.clear()
    response = post_sns(api, signer.notification(sms_payload(new_phone(), "9")))
    assert response.status_code == 503


def test_an_answer_by_text_is_counted_like_any_other(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every channel records through one use case (functions/logic/answers.py, record_answer),
    so a texted answer counts in AnswersRecorded as a click does (docs/operations.md)."""
    from functions import telemetry

    counted: list[str] = []
    monkeypatch.setattr(telemetry, "count", lambda name, value=1: counted.append(name))
    key = tenant["api_key"]
    phone = new_phone()
    survey = create_survey(api, key)
    invite_sms(api, key, survey["id"], phone)
    assert twiml_message(post_twilio(api, twilio_form(phone, "8"))).startswith("Thank you")
    assert counted == [telemetry.ANSWERS_RECORDED]
