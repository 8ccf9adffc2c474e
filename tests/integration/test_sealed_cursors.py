"""Attacks on cursors and response ids (docs/security.md, "Cursors and response ids").

A `responses:read` key lists responses. Before sealing, its cursor was base64 of the storage
key (``{"a": "<time>#<code>"}``) and a Delighted response's id was the invitation's code: the
key could decode either and answer, or overwrite, an open SMS invitation at POST /s/{code}.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.logic.tenants import create_key, create_tenant
from tests.conftest import Api, Emulator, path_of
from tests.helpers import decodings

pytestmark = pytest.mark.integration

NPS = {"name": "Sealed", "kind": "nps", "question": "Recommend us?"}


def sms_answers(api: Api, key: str, survey_id: str, n: int) -> list[str]:
    """n SMS customers invited and answered with 9; their short codes."""
    rows = [{"customer_id": f"sms-{i}", "channel": "sms", "phone": f"+1555010{i:04d}"} for i in range(n)]
    out = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, {"recipients": rows}, expect=201)
    codes = []
    for inv in out["invitations"]:
        path = path_of(inv["short_url"])
        assert api.form(path, {"score": "9"}).status_code == 303
        codes.append(path.rsplit("/", 1)[1])
    return codes


@pytest.fixture
def victim(api: Api, emulator: Emulator) -> dict[str, Any]:
    """A tenant with three answered SMS invitations and a key that may only read responses."""
    tenant = create_tenant("Victim")
    survey = api.json("POST", "/v1/surveys", tenant["api_key"], NPS, expect=201)
    codes = sms_answers(api, tenant["api_key"], survey["id"], 3)
    reader = create_key(tenant["tenant_id"], frozenset({"responses:read"}), survey["id"])["api_key"]
    return {**tenant, "survey_id": survey["id"], "codes": codes, "reader": reader}


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    error = json.loads(response.body)["error"]
    assert error["code"] == code and set(error) >= {"code", "message", "field"}


def test_a_responses_cursor_reveals_no_answer_code(api: Api, victim: dict[str, Any]) -> None:
    page = api.json("GET", f"/v1/surveys/{victim['survey_id']}/responses?limit=1", victim["reader"])
    cursor = page["next_cursor"]
    assert cursor
    for raw in decodings(cursor):
        assert not any(code.encode() in raw for code in victim["codes"])
    # the cursor still works for the caller it was given to
    rest = api.json(
        "GET", f"/v1/surveys/{victim['survey_id']}/responses?limit=5&cursor={cursor}", victim["reader"]
    )
    assert len(page["data"]) + len(rest["data"]) == 3


def test_a_tampered_or_forged_cursor_is_400(api: Api, victim: dict[str, Any]) -> None:
    path = f"/v1/surveys/{victim['survey_id']}/responses?limit=1"
    cursor = api.json("GET", path, victim["reader"])["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    old_style = base64.urlsafe_b64encode(
        json.dumps({"a": f"2030-01-01T00:00:00.000Z#{victim['codes'][0]}"}).encode()
    ).decode()
    for forged in (flipped, old_style, "k2." + "A" * 40):
        assert_error(api.call("GET", f"{path}&cursor={forged}", victim["reader"]), 400, "invalid_cursor")


def test_a_cursor_works_only_for_its_tenant_and_route(api: Api, victim: dict[str, Any]) -> None:
    cursor = api.json("GET", f"/v1/surveys/{victim['survey_id']}/responses?limit=1", victim["reader"])[
        "next_cursor"
    ]
    # the same tenant's other survey, and the survey list, refuse it
    key = victim["api_key"]
    other = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    sms_answers(api, key, other, 2)
    assert_error(
        api.call("GET", f"/v1/surveys/{other}/responses?cursor={cursor}", key), 400, "invalid_cursor"
    )
    assert_error(api.call("GET", f"/v1/surveys?cursor={cursor}", key), 400, "invalid_cursor")
    # another tenant, on its own survey, refuses it
    intruder = create_tenant("Intruder")["api_key"]
    theirs = api.json("POST", "/v1/surveys", intruder, NPS, expect=201)["id"]
    sms_answers(api, intruder, theirs, 2)
    assert_error(
        api.call("GET", f"/v1/surveys/{theirs}/responses?cursor={cursor}", intruder), 400, "invalid_cursor"
    )
    # a survey-list cursor of tenant A is refused by tenant B's survey list
    for _ in range(2):
        api.json("POST", "/v1/surveys", key, NPS, expect=201)
    surveys_cursor = api.json("GET", "/v1/surveys?limit=1", key)["next_cursor"]
    assert surveys_cursor
    assert_error(api.call("GET", f"/v1/surveys?cursor={surveys_cursor}", intruder), 400, "invalid_cursor")


def test_a_delighted_response_id_cannot_answer_the_invitation(api: Api, victim: dict[str, Any]) -> None:
    listed = api.call("GET", "/v1/survey_responses", victim["reader"])
    assert listed.status_code == 200
    responses = json.loads(listed.body)
    assert len(responses) == 3
    for code in victim["codes"]:
        assert code not in listed.body.decode()
    for response in responses:
        # the id is stable and reads the response back
        again = api.json("GET", f"/v1/survey_responses/{response['id']}", victim["reader"])
        assert again["id"] == response["id"] and response["permalink"].endswith(response["id"])
        # the attack: use the id, or anything in the permalink, as the SMS link's code
        for guess in {response["id"], *response["id"].split("."), response["permalink"].rsplit("/", 1)[1]}:
            answered = api.form(f"/s/{guess}", {"score": "0"})
            assert answered.status_code in (400, 404), answered.body
    scores = api.json("GET", f"/v1/surveys/{victim['survey_id']}/responses", victim["api_key"])["data"]
    assert [r["score"] for r in scores] == [9, 9, 9]


def test_an_answer_code_is_no_longer_a_response_id(api: Api, victim: dict[str, Any]) -> None:
    # the code is a secret: it does not work as an id, so a stored copy of one is no use
    found = api.call("GET", f"/v1/survey_responses/{victim['codes'][0]}", victim["reader"])
    assert found.status_code == 404


def test_a_delighted_id_of_one_tenant_is_unknown_to_another(api: Api, victim: dict[str, Any]) -> None:
    response_id = json.loads(api.call("GET", "/v1/survey_responses", victim["reader"]).body)[0]["id"]
    intruder = create_tenant("Intruder")
    survey = api.json("POST", "/v1/surveys", intruder["api_key"], NPS, expect=201)["id"]
    reader = create_key(intruder["tenant_id"], frozenset({"responses:read"}), survey)["api_key"]
    assert api.call("GET", f"/v1/survey_responses/{response_id}", reader).status_code == 404


def test_a_people_page_info_is_sealed(api: Api, victim: dict[str, Any]) -> None:
    key = victim["api_key"]
    writer = create_key(victim["tenant_id"], frozenset({"surveys:write"}), victim["survey_id"])["api_key"]
    for n in range(3):
        api.json("POST", "/v1/people", writer, {"email": f"p{n}@example.com"}, expect=201)
    first = api.call("GET", "/v1/people?per_page=1", key)
    link = {k.lower(): v for k, v in first.headers.items()}["link"]
    page_info = link.split("page_info=")[1].split(">")[0].split("&")[0]
    for raw in decodings(page_info):
        assert b"PERSON#" not in raw and b"example.com" not in raw
    tampered = page_info[:-1] + ("A" if page_info[-1] != "A" else "B")
    refused = api.call("GET", f"/v1/people?per_page=1&page_info={tampered}", key)
    assert refused.status_code in (400, 422) and json.loads(refused.body)["error"]["code"] == "invalid_cursor"
