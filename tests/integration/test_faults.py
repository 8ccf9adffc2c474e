"""Faults on the answer path and in the aggregator: nothing lost, nothing counted twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.settings import get_settings
from functions.store.clients import client
from tests.conftest import Api, Emulator, path_of
from tests.faults import throttle

pytestmark = pytest.mark.integration

NPS = {"name": "Faults", "kind": "nps", "question": "Recommend us?"}


def setup_survey(api: Api, key: str, customers: int) -> tuple[str, list[str]]:
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    body = {"recipients": [{"customer_id": f"c{i}"} for i in range(customers)]}
    out = api.json("POST", f"/v1/surveys/{survey}/invitations", key, body, expect=201)
    return survey, [path_of(i["url"]) for i in out["invitations"]]


def summary(api: Api, key: str, survey: str) -> dict[str, Any]:
    return api.json("GET", f"/v1/surveys/{survey}/scores?window=all", key)


def drift_for(survey: str) -> list[dict[str, Any]]:
    from functions.logic.rebuild import verify

    return list(verify(survey)["drift"])


def test_a_throttled_answer_is_retried_and_recorded_once(api: Api, emulator: Emulator, tenant: dict) -> None:
    survey, [url] = setup_survey(api, tenant["api_key"], 1)
    with throttle("UpdateItem", times=1) as seen:
        response = api.form(url, {"score": "9"})
    assert seen[0] == 1 and response.status_code == 303
    emulator.drain()
    assert summary(api, tenant["api_key"], survey)["responses"] == 1


def test_persistent_throttling_gives_a_retryable_page_and_records_nothing(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    survey, [url] = setup_survey(api, tenant["api_key"], 1)
    with throttle("UpdateItem", times=100):
        response = api.form(url, {"score": "9"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] and b"try again" in response.body
    emulator.drain()
    assert summary(api, tenant["api_key"], survey)["responses"] == 0
    assert api.form(url, {"score": "9"}).status_code == 303  # and the customer can retry


def test_aggregator_killed_mid_batch_counts_each_answer_once(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey, urls = setup_survey(api, key, 5)
    emulator.drain()
    for url, score in zip(urls, [10, 9, 6, 8, 7], strict=True):
        assert api.form(url, {"score": str(score)}).status_code == 303
    # The first attempt dies right after its transaction (ledger and tallies) commits, before
    # it can report the batch done: Lambda delivers the batch again
    crashes = [0]

    def killed_after_commit(**_: Any) -> None:
        if not crashes[0]:
            crashes[0] += 1
            raise RuntimeError("aggregator killed mid-batch")

    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb.TransactWriteItems", killed_after_commit)
    try:
        emulator.drain()
    finally:
        events.unregister("after-call.dynamodb.TransactWriteItems", killed_after_commit)
    assert crashes[0] == 1
    result = summary(api, key, survey)
    assert (result["responses"], result["nps"]) == (5, 20.0)
    assert drift_for(survey) == []


def test_a_poison_record_goes_to_the_failure_queue_and_the_rest_proceed(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey, urls = setup_survey(api, key, 2)
    emulator.drain()
    api.form(urls[0], {"score": "10"})
    # A malformed item (no tenant, no survey) lands in the stream between two good answers
    client("dynamodb").put_item(
        TableName=get_settings().responses_table, Item={"pk": {"S": "POISON0001"}, "channel": {"S": "email"}}
    )
    api.form(urls[1], {"score": "0"})
    emulator.drain()
    result = summary(api, key, survey)
    assert (result["responses"], result["nps"]) == (2, 0.0)
    messages = client("sqs").receive_message(QueueUrl=emulator.queue_url, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    poisoned = [b for b in bodies if b["records"][0]["dynamodb"]["Keys"]["pk"]["S"] == "POISON0001"]
    assert poisoned, bodies
    for message in messages.get("Messages", []):
        client("sqs").delete_message(QueueUrl=emulator.queue_url, ReceiptHandle=message["ReceiptHandle"])
    client("dynamodb").delete_item(TableName=get_settings().responses_table, Key={"pk": {"S": "POISON0001"}})
    emulator.drain()


def test_replaying_the_whole_stream_changes_nothing(api: Api, emulator: Emulator, tenant: dict) -> None:
    from infra.local.stack import make_poller

    key = tenant["api_key"]
    survey, urls = setup_survey(api, key, 4)
    for url, score in zip(urls, [10, 7, 2, 9], strict=True):
        api.form(url, {"score": str(score)})
    api.form(urls[2], {"score": "8"})  # a change
    emulator.drain()
    before = summary(api, key, survey)
    replay = make_poller(emulator.stream_arn, emulator.queue_url)  # from the trim horizon
    while replay.poll_once():
        pass
    after = summary(api, key, survey)
    assert {k: v for k, v in after.items() if k != "as_of"} == {
        k: v for k, v in before.items() if k != "as_of"
    }
    assert (after["responses"], after["nps"]) == (4, 50.0)
    assert drift_for(survey) == []
