"""Hostile input at the public and business endpoints: clear errors, no 5xx, nothing stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
