"""Webhooks end to end on the local stack: an answer becomes signed deliveries that the
standardwebhooks library verifies, retried with back-off within a bounded budget."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import Api, Emulator, path_of
from tests.webhook_receiver import Receiver, start_receiver

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "Recommend us?"}
ALL_EVENTS = ["response.created", "response.updated", "response.detractor"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def quick_retries(emulator: Emulator) -> Iterator[None]:
    """Retries without waiting (two retries), so a test drives them without sleeping."""
    from functions.settings import reset_settings

    before = os.environ.get("HARK_WEBHOOK_RETRY_DELAYS")
    os.environ["HARK_WEBHOOK_RETRY_DELAYS"] = "0,0"
    reset_settings()
    yield
    if before is None:
        os.environ.pop("HARK_WEBHOOK_RETRY_DELAYS")
    else:
        os.environ["HARK_WEBHOOK_RETRY_DELAYS"] = before
    reset_settings()


def subscribe(api: Api, key: str, url: str, events: list[str] = ALL_EVENTS) -> dict:
    return api.json("POST", "/v1/webhooks", key, {"url": url, "events": events}, expect=201)


def invite(api: Api, key: str, survey_id: str, customer: str = "cust-1") -> dict:
    body = {"recipients": [{"customer_id": customer}]}
    return api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)["invitations"][0]


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """Every delivery, verified as a Standard Webhooks receiver would."""
    return [Webhook(secret).verify(d.body, d.headers) for d in receiver.deliveries]


def test_answers_are_delivered_signed_per_standard_webhooks(
    api: Api, emulator: Emulator, tenant: dict, receiver: Receiver
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    webhook = subscribe(api, key, receiver.url)
    assert webhook["secret"].startswith("whsec_") and webhook["events"] == ALL_EVENTS
    invitation = invite(api, key, survey["id"])

    # When the customer answers 3, then changes it to 9 with a comment
    api.form(path_of(invitation["url"]), {"score": "3"})
    emulator.drain()
    emulator.deliver()
    api.form(path_of(invitation["url"]), {"score": "9", "comment": "sorted out"})
    emulator.drain()
    emulator.deliver()

    # Then the receiver verified three signed events, in order
    events = verified(receiver, webhook["secret"])
    assert [e["type"] for e in events] == ["response.created", "response.detractor", "response.updated"]
    created = events[0]["data"]
    assert created["invitation_id"] == invitation["invitation_id"] and created["score"] == 3
    assert created["customer_id"] == "cust-1" and created["survey_id"] == survey["id"]
    assert events[2]["data"]["score"] == 9 and events[2]["data"]["previous_score"] == 3
    assert events[2]["data"]["comment"] == "sorted out"
    first = receiver.deliveries[0]
    assert first.path == "/hooks/hark" and first.headers["webhook-id"].startswith("msg_")
    assert first.headers["content-type"] == "application/json"
    assert webhook["secret"] not in json.dumps([d.headers for d in receiver.deliveries])


def test_a_webhook_gets_only_its_events(
    api: Api, emulator: Emulator, tenant: dict, receiver: Receiver
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    webhook = subscribe(api, key, receiver.url, ["response.detractor"])
    for customer, score in [("happy", "10"), ("unhappy", "2")]:
        api.form(path_of(invite(api, key, survey["id"], customer)["url"]), {"score": score})
    emulator.drain()
    emulator.deliver()
    events = verified(receiver, webhook["secret"])
    assert [(e["type"], e["data"]["customer_id"]) for e in events] == [("response.detractor", "unhappy")]


def test_a_failed_delivery_is_retried_with_the_same_id(
    api: Api, emulator: Emulator, tenant: dict, receiver: Receiver, quick_retries: None
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    webhook = subscribe(api, key, receiver.url, ["response.created"])
    receiver.fail_next = 1
    api.form(path_of(invite(api, key, survey["id"])["url"]), {"score": "8"})
    emulator.drain()
    emulator.deliver()
    assert len(receiver.deliveries) == 2
    ids = {d.headers["webhook-id"] for d in receiver.deliveries}
    assert len(ids) == 1
    assert verified(receiver, webhook["secret"])[1]["type"] == "response.created"


def test_the_retry_budget_ends_in_the_dead_letter_queue(
    api: Api, emulator: Emulator, tenant: dict, receiver: Receiver, quick_retries: None
) -> None:
    from functions.settings import get_settings
    from functions.store.clients import client

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    subscribe(api, key, receiver.url, ["response.created"])
    receiver.fail_next = 100
    api.form(path_of(invite(api, key, survey["id"])["url"]), {"score": "8"})
    emulator.drain()
    emulator.deliver()
    assert len(receiver.deliveries) == 3  # the first attempt and two retries, then no more
    dead_letters = (
        client("sqs")
        .receive_message(QueueUrl=get_settings().webhook_dead_letter_queue_url, MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    dead = [json.loads(m["Body"]) for m in dead_letters]
    mine = [d for d in dead if d["payload"]["data"]["survey_id"] == survey["id"]]
    assert len(mine) == 1 and mine[0]["attempt"] == 3 and "HTTP 500" in mine[0]["last_error"]
    for message in dead_letters:
        client("sqs").delete_message(
            QueueUrl=get_settings().webhook_dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
        )


def test_webhooks_are_listed_without_secrets_and_deleted(
    api: Api, emulator: Emulator, tenant: dict, receiver: Receiver
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    webhook = subscribe(api, key, receiver.url)
    listed = api.json("GET", "/v1/webhooks", key)
    assert listed == {"data": [{k: v for k, v in webhook.items() if k != "secret"}], "next_cursor": None}
    api.form(path_of(invite(api, key, survey["id"])["url"]), {"score": "9"})
    emulator.drain()
    # Deleted before its queued delivery is attempted: nothing is sent
    assert api.call("DELETE", f"/v1/webhooks/{webhook['id']}", key).status_code == 204
    emulator.deliver()
    assert receiver.deliveries == []
    assert api.json("GET", "/v1/webhooks", key)["data"] == []
    assert api.call("DELETE", f"/v1/webhooks/{webhook['id']}", key).status_code == 404


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://10.0.0.1/hook", "private or reserved"),
        ("https://169.254.169.254/latest/meta-data/", "private or reserved"),
        ("https://[fd00:ec2::254]/", "private or reserved"),
        ("http://203.0.113.9/hook", "must use https"),
        ("https://hooks.invalid/hook", "does not resolve"),
        ("not a url at all", "absolute https URL"),
    ],
)
def test_urls_that_could_reach_private_networks_are_refused(
    api: Api, emulator: Emulator, tenant: dict, url: str, says: str
) -> None:
    response = api.call(
        "POST", "/v1/webhooks", tenant["api_key"], {"url": url, "events": ["response.created"]}
    )
    assert response.status_code == 422
    error = json.loads(response.body)["error"]
    assert error["field"] == "url" and says in error["message"]


def test_unknown_events_are_refused(api: Api, emulator: Emulator, tenant: dict, receiver: Receiver) -> None:
    response = api.call(
        "POST", "/v1/webhooks", tenant["api_key"], {"url": receiver.url, "events": ["response.deleted"]}
    )
    assert response.status_code == 422 and json.loads(response.body)["error"]["field"] == "events.0"
