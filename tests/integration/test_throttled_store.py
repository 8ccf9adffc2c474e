"""A throttled read or write anywhere is the documented busy answer, never a 500
(docs/architecture.md, "Store boundary"; docs/api.md, errors): 503 with Retry-After in the
Business API and on customer pages, 429 in the Delighted-compatible calls. DynamoDB's own
error response is injected under botocore (tests/faults.py), so the store's one translation
(functions/store/clients.py) is what answers, and nothing is written."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import Api, Emulator, path_of
from tests.faults import TRANSACTION_THROTTLED, throttle

pytestmark = pytest.mark.integration

NPS = {"name": "Busy", "kind": "nps", "question": "Recommend us?"}


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries each throttled call (its budget is what gives out), without
    sleeping between the attempts: the answer is the same, sooner."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def survey_item(body: bytes) -> bool:
    return b'"SURVEY#' in body


def assert_busy(response: Any, status: int = 503) -> None:
    assert response.status_code == status, response.body
    assert int(response.headers["Retry-After"]) > 0
    assert json.loads(response.body)["error"]["code"] == "throttled"


def test_a_throttled_survey_read_is_a_503(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    with throttle("GetItem", times=100, when=survey_item) as seen:
        response = api.call("GET", f"/v1/surveys/{survey}", key)
    assert seen[0] >= 4  # botocore retried it (four attempts), then the store answered Busy
    assert_busy(response)
    assert api.json("GET", f"/v1/surveys/{survey}", key)["id"] == survey  # and a retry answers


def test_a_throttled_write_is_a_503_and_writes_nothing(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    with throttle("PutItem", times=100, when=survey_item):
        assert_busy(api.call("POST", "/v1/surveys", key, NPS))
    assert api.json("GET", "/v1/surveys", key)["data"] == []
    with throttle("DeleteItem", times=100):
        assert_busy(api.call("DELETE", "/v1/webhooks/wh_AAAAAAAAAAAAAAAA", key))


def test_a_transaction_cancelled_by_throttling_is_a_503(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    before = api.json("GET", "/v1/settings", key)
    with throttle("TransactWriteItems", times=100, body=TRANSACTION_THROTTLED) as seen:
        response = api.call("PATCH", "/v1/settings", key, {"reply_to": "help@shop.example"})
    assert seen[0] >= 1
    assert_busy(response)
    assert api.json("GET", "/v1/settings", key) == before


def test_a_throttled_read_is_a_429_in_the_delighted_calls(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_key

    survey = api.json("POST", "/v1/surveys", tenant["api_key"], NPS, expect=201)["id"]
    delighted_key = create_key(tenant["tenant_id"], frozenset({"surveys:write"}), survey)["api_key"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{delighted_key}:".encode()).decode()}
    with throttle("GetItem", times=100, when=survey_item) as seen:
        response = api.call("POST", "/v1/people.json", body={"email": "a@b.example"}, headers=basic)
    assert seen[0] >= 1
    assert_busy(response, 429)


def test_a_throttled_landing_page_read_is_a_503_page(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    body = {"recipients": [{"customer_id": "c1"}]}
    [invitation] = api.json("POST", f"/v1/surveys/{survey}/invitations", key, body, expect=201)["invitations"]
    with throttle("GetItem", times=100) as seen:
        response = api.call("GET", path_of(invitation["url"]))
    assert seen[0] >= 1
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"] and b"try again" in response.body
