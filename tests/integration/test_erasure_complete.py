"""Erasure leaves nothing of the person (docs/security.md, "Erasure"): after
DELETE /v1/customers/{id} or Delighted's Person.delete, a scan of every table and a read of
every queue finds no name, email, phone (in clear or as its keyed hash) or customer id, and the
unsubscribe still holds (as a keyed hash)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.domain.phones import phone_key
from functions.logic.ses_events import apply_event
from functions.logic.tenants import create_key
from functions.settings import get_settings
from functions.store import people
from functions.store.clients import client
from tests.conftest import PHONE_HASH_KEY, Api, Emulator, path_of
from tests.helpers import put_legacy_suppression
from tests.integration.test_sending import code_of, run_sender, stored
from tests.integration.test_suppression_hashes import ses_event

pytestmark = pytest.mark.integration

NPS = {"name": "Erasure", "kind": "nps", "question": "Recommend us?"}
# One person per door: the tables are shared by every test of the session.
PEOPLE = {
    door: {
        "name": f"Ada Erasure-{door.title()}",
        "email": f"ada.erasure.{door}@example.com",
        "phone": phone,
        "sms_customer": f"ada-erasure-sms-{door}",
        # the address a survey email to the SMS customer id bounced from (an SES event)
        "bounced_email": f"ada.bounced.{door}@example.com",
    }
    for door, phone in (("v1", "+15550199123"), ("delighted", "+15550199456"))
}


def needles(who: dict[str, str]) -> list[str]:
    phone = who["phone"]
    return [
        who["name"],
        who["email"],
        phone,
        phone[1:],
        who["sms_customer"],
        who["bounced_email"],
        phone_key(PHONE_HASH_KEY, phone),
    ]


def everything_stored(emulator: Emulator) -> list[tuple[str, str]]:
    """(where, text) of every item of every table and every message waiting in every queue."""
    settings = get_settings()
    found: list[tuple[str, str]] = []
    for table in (settings.core_table, settings.responses_table, settings.scores_table):
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            out = client("dynamodb").scan(**kwargs)
            found += [(table, json.dumps(item)) for item in out.get("Items", [])]
            if "LastEvaluatedKey" not in out:
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    queues = [emulator.queue_url, settings.webhook_queue_url, settings.webhook_dead_letter_queue_url]
    for url in queues:
        assert url
        # A zero visibility timeout leaves each message where it was for its real consumer.
        out = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        found += [(url, m["Body"]) for m in out.get("Messages", [])]
    return found


def traces(emulator: Emulator, who: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (where, needle)
        for where, text in everything_stored(emulator)
        for needle in needles(who)
        if needle in text
    ]


def know(api: Api, emulator: Emulator, tenant: dict[str, str], who: dict[str, str]) -> dict[str, Any]:
    """One person known every way Hark can know someone: a Delighted person with name, email and
    phone, an email answer with a comment, an SMS answer, an unsubscribe, and a survey email
    that bounced (the bounce list then holds the address, for a customer id that is not it)."""
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    writer = create_key(tenant["tenant_id"], frozenset({"surveys:write"}), survey)["api_key"]
    created = api.json(
        "POST",
        "/v1/people",
        writer,
        {"email": who["email"], "name": who["name"], "phone_number": who["phone"]},
        expect=201,
    )
    assert (
        api.form(path_of(created["url"]), {"score": "3", "comment": f"{who['name']} was here"}).status_code
        == 303
    )
    sms = {
        "customer_id": who["sms_customer"],
        "channel": "sms",
        "phone": who["phone"],
        "properties": {"plan": "gold"},
    }
    out = api.json("POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": [sms]}, expect=201)
    assert api.form(path_of(out["invitations"][0]["short_url"]), {"score": "9"}).status_code == 303
    api.json("POST", "/v1/unsubscribes", writer, {"person_email": who["email"]})
    mailed = {"customer_id": who["sms_customer"], "email": who["bounced_email"], "send": True}
    [inv] = api.json("POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": [mailed]}, expect=201)[
        "invitations"
    ]
    run_sender([{"MessageId": f"m-erase-{who['sms_customer']}", "Body": json.dumps({"code": code_of(inv)})}])
    item = stored(inv["invitation_id"], code_of(inv))
    assert apply_event(ses_event("bounce", item, tenant["tenant_id"], who["bounced_email"])) == "bounced"
    emulator.drain()
    assert traces(emulator, who), "the setup should have stored the person"
    return {"survey_id": survey, "writer": writer, "key": key}


@pytest.mark.parametrize("door", ["v1", "delighted"])
def test_erasure_leaves_nothing_of_the_person(
    api: Api, emulator: Emulator, tenant: dict[str, str], door: str
) -> None:
    who = PEOPLE[door]
    email = who["email"]
    person = know(api, emulator, tenant, who)
    key = person["key"]
    if door == "v1":
        api.json("DELETE", f"/v1/customers/{email}", key, expect=202)
    else:
        api.json("DELETE", f"/v1/people/email:{email}", key, expect=202)
    api.json("DELETE", f"/v1/customers/{who['sms_customer']}", key, expect=202)
    emulator.drain()
    emulator.deliver()

    assert traces(emulator, who) == []
    # the answers left the scores
    summary = api.json("GET", f"/v1/surveys/{person['survey_id']}/scores?window=all", key)
    assert summary["responses"] == 0
    # the unsubscribe outlived the person, as a keyed hash: no new invitation for the address
    again = api.json("POST", "/v1/people", person["writer"], {"email": email}, expect=201)
    assert again["survey_scheduled"] is False and again["skipped"]["reason"] == "unsubscribed"
    # and the list no longer shows the address
    assert email not in json.dumps(api.json("GET", "/v1/unsubscribes", key))
    # the bounce outlived the customer too, as a keyed hash: the address is still not mailed
    assert people.is_bounced(tenant["tenant_id"], who["bounced_email"])
    assert who["bounced_email"] not in json.dumps(api.json("GET", "/v1/bounces", key))
    api.json("DELETE", f"/v1/customers/{email}", key, expect=202)  # the person record just made


def test_an_unsubscribe_kept_under_the_address_is_moved_under_its_hash(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    # Given an unsubscribe written before the list was hashed: keyed by the address in clear
    email = "legacy.erasure@example.com"
    tenant_id, key = tenant["tenant_id"], tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    writer = create_key(tenant_id, frozenset({"surveys:write"}), survey)["api_key"]
    put_legacy_suppression(
        tenant_id, "UNSUB", email, "2026-01-01T00:00:00.000Z", f"TENANT#{tenant_id}#UNSUBSCRIBES"
    )
    skipped = api.json("POST", "/v1/people", writer, {"email": email}, expect=201)
    assert skipped["skipped"]["reason"] == "unsubscribed"
    # When the person is erased
    api.json("DELETE", f"/v1/customers/{email}", key, expect=202)
    # Then the address is gone and the unsubscribe holds
    assert [where for where, text in everything_stored(emulator) if email in text] == []
    again = api.json("POST", "/v1/people", writer, {"email": email}, expect=201)
    assert again["skipped"]["reason"] == "unsubscribed"
    api.json("DELETE", f"/v1/customers/{email}", key, expect=202)
