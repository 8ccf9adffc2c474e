"""The tenant's sender (docs/sending.md, "The sender address"): `email_from` and `reply_to` from
`GET/PATCH /v1/settings` are the `From` and `Reply-To` of its emails, on the in-process stack."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from functions.logic import sending
from functions.settings import get_settings
from functions.store.clients import client
from tests.conftest import Api, Emulator
from tests.integration.test_sending import NPS, Clock, code_of, invite, run_sender, sent_to, stored

pytestmark = pytest.mark.integration


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def send_one(
    api: Api, key: str, survey_id: str, customer: str, address: str, requests: list[str] | None = None
) -> dict[str, Any]:
    """Invite `address` with a send and run the sender on it; `requests` collects the
    DynamoDB and SES calls the sender made."""
    [inv] = invite(
        api, key, survey_id, {"send": True, "recipients": [{"customer_id": customer, "email": address}]}
    )["invitations"]

    def count(model: Any, **_: Any) -> None:
        if requests is not None:
            requests.append(model.name)

    for service in ("dynamodb", "sesv2"):
        client(service).meta.events.register(f"before-parameter-build.{service}.*", count)
    try:
        run_sender([{"MessageId": f"m-{customer}", "Body": json.dumps({"code": code_of(inv)})}])
    finally:
        for service in ("dynamodb", "sesv2"):
            client(service).meta.events.unregister(f"before-parameter-build.{service}.*", count)
    return dict(inv)


def test_emails_come_from_the_tenants_sender_and_reply_to_its_reply_to(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key = tenant["api_key"]
    # The local stack verifies hark.localhost in the emulator's SES; any address on it may send
    settings = {"email_from": "team@hark.localhost", "reply_to": "help@shop.example"}
    assert api.json("PATCH", "/v1/settings", key, settings) | settings == api.json("GET", "/v1/settings", key)
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)

    requests: list[str] = []
    inv = send_one(api, key, survey["id"], "tenant-sender", "tenant-sender@example.com", requests)
    # The settings come in the send's one BatchGetItem: still 3 DynamoDB requests and 1 SES call
    assert sorted(requests) == ["BatchGetItem", "SendEmail", "UpdateItem", "UpdateItem"]
    [message] = sent_to(emulator, "tenant-sender@example.com")
    assert message["From"] == "team@hark.localhost" and message["Reply-To"] == "help@shop.example"
    assert message["Message-ID"].endswith("@hark.localhost>")
    assert stored(inv["invitation_id"], code_of(inv))["send_status"] == "sent"
    listed = [e for e in api.json("GET", "/dev/outbox")["data"] if e["to"] == "tenant-sender@example.com"]
    assert [e["from"] for e in listed][-1:] == ["team@hark.localhost"]

    # A survey's own email_from is more specific: it sends that survey, Reply-To stays the tenant's
    branded = api.json("POST", "/v1/surveys", key, {**NPS, "email_from": "brand@hark.localhost"}, expect=201)
    send_one(api, key, branded["id"], "survey-sender", "survey-sender@example.com")
    [own] = sent_to(emulator, "survey-sender@example.com")
    assert own["From"] == "brand@hark.localhost" and own["Reply-To"] == "help@shop.example"

    # Cleared settings fall back to the deployment's HARK_EMAIL_FROM, with no Reply-To
    api.json("PATCH", "/v1/settings", key, {"email_from": None, "reply_to": None})
    send_one(api, key, survey["id"], "default-sender", "default-sender@example.com")
    [default] = sent_to(emulator, "default-sender@example.com")
    assert default["From"] == get_settings().email_from == "surveys@hark.localhost"
    assert default["Reply-To"] is None


def test_the_resolver_is_one_read_and_the_same_rule_for_every_email_of_the_tenant(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    from functions.domain.sender import DEPLOYMENT, SURVEY, TENANT
    from functions.logic.surveys import get_survey

    key, tenant_id = tenant["api_key"], tenant["tenant_id"]
    identity = sending.sender_identity(tenant_id)
    assert identity is not None and (identity.email_from, identity.reply_to, identity.source) == (
        "surveys@hark.localhost",
        None,
        DEPLOYMENT,
    )
    api.json(
        "PATCH", "/v1/settings", key, {"email_from": "loop@hark.localhost", "reply_to": "cs@shop.example"}
    )
    requests: list[str] = []

    def count(model: Any, **_: Any) -> None:
        requests.append(model.name)

    client("dynamodb").meta.events.register("before-parameter-build.dynamodb.*", count)
    try:
        identity = sending.sender_identity(tenant_id)
    finally:
        client("dynamodb").meta.events.unregister("before-parameter-build.dynamodb.*", count)
    assert requests == ["GetItem"]
    assert identity is not None
    assert (identity.email_from, identity.reply_to, identity.source) == (
        "loop@hark.localhost",
        "cs@shop.example",
        TENANT,
    )
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "email_from": "own@hark.localhost"}, expect=201)
    identity = sending.sender_identity(tenant_id, get_survey(tenant_id, survey["id"]))
    assert identity is not None and (identity.email_from, identity.source) == ("own@hark.localhost", SURVEY)


def test_an_email_with_no_sender_anywhere_fails_saying_where_to_set_one(
    api: Api, emulator: Emulator, tenant: dict, now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    monkeypatch.setattr(sending, "get_settings", lambda: replace(get_settings(), email_from=None))
    inv = send_one(api, key, survey["id"], "nobody", "no-sender@example.com")
    item = stored(inv["invitation_id"], code_of(inv))
    assert item["send_status"] == "failed" and "PATCH /v1/settings" in item["send_error"]
    assert sent_to(emulator, "no-sender@example.com") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email_from": "Acme <surveys@acme.example>"}, "email_from"),
        ({"email_from": "surveys@acme.example\r\nBcc: x@evil.example"}, "email_from"),
        ({"email_from": "two..dots@acme.example"}, "email_from"),
        ({"email_from": "surveys@-acme.example"}, "email_from"),
        ({"email_from": "surveys@acme.123"}, "email_from"),
        ({"email_from": "a" * 65 + "@acme.example"}, "email_from"),
        ({"reply_to": "help@acme_example.com"}, "reply_to"),
        ({"reply_to": '"quoted"@acme.example'}, "reply_to"),
    ],
)
def test_sender_settings_that_are_not_plain_addresses_are_a_422_and_change_nothing(
    api: Api, emulator: Emulator, tenant: dict, body: dict, field: str
) -> None:
    before = api.json("GET", "/v1/settings", tenant["api_key"])
    response = api.call("PATCH", "/v1/settings", tenant["api_key"], body)
    assert response.status_code == 422, response.body
    assert json.loads(response.body)["error"]["field"] == field
    assert api.json("GET", "/v1/settings", tenant["api_key"]) == before


def test_on_a_deployment_with_an_ses_identity_every_sender_must_be_on_it(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.logic import tenant_settings

    key = tenant["api_key"]
    on_identity = replace(get_settings(), ses_identity="hark.localhost")
    monkeypatch.setattr(tenant_settings, "get_settings", lambda: on_identity)
    refused = api.call("PATCH", "/v1/settings", key, {"email_from": "surveys@elsewhere.example"})
    assert refused.status_code == 422
    error = json.loads(refused.body)["error"]
    assert (error["field"], error["code"]) == ("email_from", "invalid_sender")
    assert "hark.localhost" in error["message"]
    assert api.json("GET", "/v1/settings", key)["email_from"] is None
    # The domain and its subdomains pass (a verified domain covers them); reply_to may be anywhere
    changed = {"email_from": "surveys@mail.hark.localhost", "reply_to": "help@elsewhere.example"}
    assert api.json("PATCH", "/v1/settings", key, changed)["email_from"] == "surveys@mail.hark.localhost"
    # A survey's own sender is held to the same identity
    survey = api.call("POST", "/v1/surveys", key, {**NPS, "email_from": "news@elsewhere.example"})
    assert survey.status_code == 422 and json.loads(survey.body)["error"]["field"] == "email_from"
    ok = api.json("POST", "/v1/surveys", key, {**NPS, "email_from": "news@hark.localhost"}, expect=201)
    patched = api.call("PATCH", f"/v1/surveys/{ok['id']}", key, {"email_from": "x@elsewhere.example"})
    assert patched.status_code == 422
    assert api.json("GET", f"/v1/surveys/{ok['id']}", key)["email_from"] == "news@hark.localhost"
    # An identity that is one address allows that address only
    one = replace(get_settings(), ses_identity="surveys@hark.localhost")
    monkeypatch.setattr(tenant_settings, "get_settings", lambda: one)
    assert api.call("PATCH", "/v1/settings", key, {"email_from": "other@hark.localhost"}).status_code == 422
    assert api.call("PATCH", "/v1/settings", key, {"email_from": "Surveys@hark.localhost"}).status_code == 200
