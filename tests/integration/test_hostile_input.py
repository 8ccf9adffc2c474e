"""Hostile input at the public and business endpoints: clear errors, no 5xx, nothing stored."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile
from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Hostile", "kind": "nps", "question": "Recommend us?"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def link(api: Api, tenant: dict) -> tuple[str, str, str]:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    out = api.json(
        "POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": [{"customer_id": "h1"}]}, expect=201
    )
    return key, survey, path_of(out["invitations"][0]["url"])


def responses(api: Api, key: str, survey: str, emulator: Emulator) -> int:
    emulator.drain()
    return int(api.json("GET", f"/v1/surveys/{survey}/scores?window=all", key)["responses"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_random_form_bodies_never_break_the_answer_page(
    api: Api, emulator: Emulator, link: tuple, body: bytes
) -> None:
    _key, _survey, url = link
    response = api.call("POST", url, body=body, headers=FORM)
    assert response.status_code in {303, 400, 413}, response.body[:300]
    assert response.headers["Content-Type"].startswith("text/html") or response.status_code == 303


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Characters a path segment may hold (";" is left out: Chalice's local router splits on it).
    token=st.text(
        alphabet=st.characters(codec="ascii", categories=["L", "N"], include_characters="-_.~!$&'()*+,=:@"),
        min_size=1,
        max_size=80,
    ).filter(lambda t: t.strip(".") != "")
)
def test_random_tokens_get_friendly_pages(api: Api, emulator: Emulator, token: str) -> None:
    response = api.call("GET", f"/r/{token}")
    assert response.status_code in {400, 404, 410}
    assert response.headers["Content-Type"].startswith("text/html")


def test_rejected_requests_store_nothing(api: Api, emulator: Emulator, link: tuple) -> None:
    key, survey, url = link
    bad = [
        b"score=11",
        b"score=-1",
        b"score=abc",
        b"score=9%00",
        b"\xff\xfe=\x00",
        b"attr.x=3&score=9",
        b"score=" + b"9" * 5000,
        b"comment=" + b"x" * 20_000,
    ]
    for body in bad:
        status = api.call("POST", url, body=body, headers=FORM).status_code
        assert status in {400, 413}, (body[:40], status)
    assert responses(api, key, survey, emulator) == 0


def test_oversized_bodies_get_413(api: Api, emulator: Emulator, link: tuple) -> None:
    key, survey, url = link
    assert api.call("POST", url, body=b"comment=" + b"a" * 17_000, headers=FORM).status_code == 413
    huge = json.dumps({"recipients": [{"customer_id": "x" * 100}] * 12_000})
    response = api.call("POST", f"/v1/surveys/{survey}/invitations", key, huge)
    assert response.status_code == 413
    assert json.loads(response.body)["error"]["code"] == "payload_too_large"


def test_script_in_texts_is_rendered_escaped(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    evil = "<script>alert(1)</script>"
    survey = api.json(
        "POST",
        "/v1/surveys",
        key,
        {
            "name": evil,
            "kind": "nps",
            "question": f"Recommend {evil}?",
            "follow_up_question": evil,
            "brand": {"name": evil, "color": "#123456"},
        },
        expect=201,
    )["id"]
    out = api.json(
        "POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": [{"customer_id": "e"}]}, expect=201
    )
    url = path_of(out["invitations"][0]["url"])
    api.call("POST", url, body=f"score=9&comment={evil}", headers=FORM)
    for page in (api.call("GET", url), api.call("GET", url + "/thanks")):
        assert b"<script>alert" not in page.body
        assert b"&lt;script&gt;" in page.body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/surveys/..%2F..%2Fetc%2Fpasswd",
        "/v1/surveys/srv_%00",
        "/v1/surveys/SURVEY%23x/scores",
        "/v1/surveys/' OR 1=1 --",
    ],
)
def test_odd_ids_are_not_found(api: Api, emulator: Emulator, tenant: dict, path: str) -> None:
    response = api.call("GET", path, tenant["api_key"])
    assert response.status_code in {400, 404}
    assert "error" in json.loads(response.body)


def test_invalid_utf8_json_is_a_clear_400(api: Api, emulator: Emulator, tenant: dict) -> None:
    response = api.call("POST", "/v1/surveys", tenant["api_key"], b'{"name": "\xff"}')
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == "invalid_json"


# ---- crafted JSON: never a 5xx (docs/security.md, "Crafted input") ----------------------


def operations_with_bodies() -> list[Any]:
    from functions.api.operations import OPERATIONS

    return [op for op in OPERATIONS if op.body is not None and not op.alias]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "hostile_x", path)


def assert_error_shape(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:300])
    error = json.loads(response.body)["error"]
    assert error["code"] and error["message"]


def test_a_64_character_dns_label_is_a_clear_422(api: Api, emulator: Emulator, tenant: dict) -> None:
    for url in ("https://" + "a" * 64 + ".example.com/hook", "https://a..example.com/hook"):
        body = {"url": url, "events": ["response.created"]}
        response = api.call("POST", "/v1/webhooks", tenant["api_key"], body)
        assert response.status_code == 422, response.body
        assert json.loads(response.body)["error"]["field"] == "url"


@pytest.mark.parametrize("kind", ["[", "{"])
def test_json_nested_40000_deep_is_a_4xx_on_every_operation(
    api: Api, emulator: Emulator, tenant: dict, kind: str
) -> None:
    deep = hostile.nested(hostile.DEEP, kind)
    for op in operations_with_bodies():
        response = api.call(op.method, concrete(op.path), tenant["api_key"], deep)
        assert_error_shape(response)
        assert json.loads(response.body)["error"]["code"] in {"invalid_json", "validation_error"}, op.path


def test_json_nested_40000_deep_is_a_400_at_the_unauthenticated_sns_webhook(
    api: Api, emulator: Emulator
) -> None:
    headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}
    # Under the webhook's 64 KB limit: unclosed (what the parser meets first) and closed.
    for body in ("[" * hostile.DEEP, hostile.nested(30_000), '{"Type":' * 7_000):
        response = api.call("POST", "/webhooks/sms/sns", body=body, headers=headers)
        assert response.status_code == 400, response.body[:300]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_values_in_any_field_of_any_operation_are_4xx_not_5xx(
    api: Api, emulator: Emulator, tenant: dict, data: st.DataObject
) -> None:
    from functions.api.operations import model

    op = data.draw(st.sampled_from(operations_with_bodies()), label="operation")
    body_class = model(op.body)
    fields = sorted(body_class.model_json_schema().get("properties", {})) if body_class else []
    raw = data.draw(hostile.hostile_values, label="value")
    where = data.draw(st.sampled_from([None, *fields]), label="field")
    body = raw if where is None else hostile.object_with(where, raw)
    response = api.call(op.method, concrete(op.path), tenant["api_key"], body)
    assert response.status_code < 500, (op.path, where, raw[:80], response.body[:300])
    if response.status_code >= 400:
        assert_error_shape(response)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=hostile.hostile_values)
def test_hostile_values_at_the_sms_webhooks_are_4xx_not_5xx(api: Api, emulator: Emulator, raw: str) -> None:
    sns = api.call(
        "POST",
        "/webhooks/sms/sns",
        body=hostile.object_with("Message", raw),
        headers={"Content-Type": "text/plain; charset=UTF-8"},
    )
    assert 400 <= sns.status_code < 500, sns.body[:300]
    twilio = api.call("POST", "/webhooks/sms/twilio", body="Body=" + raw, headers=FORM)
    assert 400 <= twilio.status_code < 500, twilio.body[:300]


QUERY_VALUES = [
    "9" * 40,
    "-" + "9" * 5000,
    "1e400",
    "NaN",
    "%ED%A0%80",  # a surrogate, UTF-8-encoded
    "%FF%FE",
    "%00",
    "a" * 5000,
    "%E2%80%AE",
]


def test_hostile_query_and_path_values_on_every_operation_are_4xx_not_5xx(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    from functions.api.operations import OPERATIONS, model

    for op in OPERATIONS:
        if op.scope is None or op.method not in ("GET", "DELETE"):
            continue
        query_class = model(op.query)
        names = sorted(query_class.model_json_schema().get("properties", {})) if query_class else []
        for value in QUERY_VALUES:
            path = re.sub(r"\{[^}]+\}", value, op.path)
            query = "&".join(f"{name}={value}" for name in names)
            response = api.call(op.method, path + ("?" + query if query else ""), tenant["api_key"])
            assert response.status_code < 500, (op.path, value[:20], response.body[:300])
