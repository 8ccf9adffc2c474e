"""Surveys: create every kind, read, list, change, archive — with clear errors for bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Api, Emulator

pytestmark = pytest.mark.integration

KINDS = {
    "nps": {"name": "NPS", "kind": "nps", "question": "Recommend us?"},
    "csat": {"name": "CSAT", "kind": "csat", "question": "How satisfied are you?"},
    "ces": {"name": "CES", "kind": "ces", "question": "How easy was it?", "follow_up_question": "Why?"},
    "csi": {
        "name": "CSI",
        "kind": "csi",
        "question": "Rate your visit",
        "attributes": [
            {"key": "speed", "label": "Speed", "weight": 2},
            {"key": "staff", "label": "Staff"},
        ],
        "brand": {"name": "Shop", "color": "#112233"},
        "cooldown_days": 30,
    },
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_created_and_read_back(api: Api, emulator: Emulator, tenant: dict, kind: str) -> None:
    key = tenant["api_key"]
    created = api.json("POST", "/v1/surveys", key, KINDS[kind], expect=201)
    assert created["kind"] == kind and created["status"] == "active" and created["id"].startswith("srv_")
    assert set(created) >= {"id", "name", "kind", "question", "follow_up_question", "attributes", "brand"}
    assert api.json("GET", f"/v1/surveys/{created['id']}", key) == created
    if kind == "csi":
        assert created["attributes"] == [
            {"key": "speed", "label": "Speed", "weight": 2.0},
            {"key": "staff", "label": "Staff", "weight": 1.0},
        ]
        assert created["cooldown_days"] == 30 and created["brand"] == {"name": "Shop", "color": "#112233"}


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"name": "x", "kind": "csi", "question": "q"}, None, "needs at least one attribute"),
        (
            {**KINDS["nps"], "attributes": [{"key": "a", "label": "A"}]},
            None,
            "only csi surveys have attributes",
        ),
        ({**KINDS["csi"], "attributes": [{"key": "a", "label": "A"}] * 2}, None, "unique"),
        ({**KINDS["nps"], "kind": "stars"}, "kind", "nps"),
        ({**KINDS["nps"], "question": ""}, "question", "at least 1 character"),
        ({**KINDS["nps"], "brand": {"name": "B", "color": "red"}}, "brand.color", "pattern"),
        ({**KINDS["nps"], "cooldown_days": -1}, "cooldown_days", "greater than or equal to 0"),
        ({**KINDS["nps"], "surprise": 1}, "surprise", "Extra inputs"),
        ({"kind": "nps", "question": "q"}, "name", "Field required"),
    ],
)
def test_invalid_surveys_are_refused_clearly(
    api: Api, emulator: Emulator, tenant: dict, body: dict, field: str | None, says: str
) -> None:
    response = api.call("POST", "/v1/surveys", tenant["api_key"], body)
    assert response.status_code == 422
    error = json.loads(response.body)["error"]
    assert error["code"] == "validation_error" and says in error["message"]
    assert error.get("field") == field


def test_patch_changes_only_what_is_sent(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, KINDS["ces"], expect=201)
    path = f"/v1/surveys/{survey['id']}"
    changed = api.json("PATCH", path, key, {"question": "Was it easy?", "cooldown_days": 7})
    assert changed == {**survey, "question": "Was it easy?", "cooldown_days": 7}
    cleared = api.json("PATCH", path, key, {"follow_up_question": None, "cooldown_days": None})
    assert cleared["follow_up_question"] is None and cleared["cooldown_days"] is None
    assert cleared["question"] == "Was it easy?"
    assert api.json("PATCH", path, key, {}) == cleared
    assert api.json("GET", path, key) == cleared


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        ({"kind": "nps"}, "kind cannot change"),
        ({"attributes": []}, "attributes cannot change"),
        ({"name": None}, "valid string"),
        ({"status": "deleted"}, "'active' or 'archived'"),
        ({"brand": {"color": "#000000"}}, "Field required"),
    ],
)
def test_patch_refuses_what_cannot_change(
    api: Api, emulator: Emulator, tenant: dict, patch: dict, says: str
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, KINDS["nps"], expect=201)
    response = api.call("PATCH", f"/v1/surveys/{survey['id']}", key, patch)
    assert response.status_code == 422 and says in json.loads(response.body)["error"]["message"]
    assert api.json("GET", f"/v1/surveys/{survey['id']}", key) == survey


def test_delete_archives_and_invitations_stop_until_reactivated(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, KINDS["nps"], expect=201)
    path = f"/v1/surveys/{survey['id']}"
    archived = api.json("DELETE", path, key)
    assert archived["status"] == "archived"
    assert api.json("GET", path, key)["status"] == "archived"  # archived, not deleted
    invite = {"recipients": [{"customer_id": "c1"}]}
    refused = api.call("POST", f"{path}/invitations", key, invite)
    assert refused.status_code == 409 and json.loads(refused.body)["error"]["code"] == "survey_archived"
    api.json("PATCH", path, key, {"status": "active"})
    api.json("POST", f"{path}/invitations", key, invite, expect=201)


def test_list_pages_through_every_survey_newest_first(api: Api, emulator: Emulator) -> None:
    from functions.logic.tenants import create_tenant

    key = create_tenant("Lister")["api_key"]
    made = [
        api.json("POST", "/v1/surveys", key, {**KINDS["nps"], "name": f"S{i}"}, expect=201)["id"]
        for i in range(5)
    ]
    seen: list[dict] = []
    cursor = None
    while True:
        page = api.json("GET", "/v1/surveys?limit=2" + (f"&cursor={cursor}" if cursor else ""), key)
        seen += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(s["id"] for s in seen) == sorted(made) and len(seen) == len(made)
    stamps = [s["created_at"] for s in seen]
    assert stamps == sorted(stamps, reverse=True)
    bad = api.call("GET", "/v1/surveys?cursor=bm9wZQ", key)
    assert bad.status_code == 400 and json.loads(bad.body)["error"]["field"] == "cursor"
    assert api.call("GET", "/v1/surveys?limit=0", key).status_code == 400


def test_a_body_that_is_not_json_is_a_415_in_the_one_error_shape_and_changes_nothing(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    """Chalice alone answered other content types with its own `{"Code", "Message"}` 415, not
    the one error shape of docs/api.md; Delighted's curl examples post forms, so it is common."""
    import base64

    from functions.logic.tenants import create_key

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, {"name": "n", "kind": "nps", "question": "Q?"}, expect=201)
    delighted_key = create_key(tenant["tenant_id"], frozenset({"surveys:write"}), survey["id"])["api_key"]
    basic = "Basic " + base64.b64encode(f"{delighted_key}:".encode()).decode()
    cases = [
        ("POST", "/v1/surveys", {"Authorization": f"Bearer {key}"}, "text/plain", '{"name": "x"}'),
        (
            "PATCH",
            "/v1/settings",
            {"Authorization": f"Bearer {key}"},
            "application/x-www-form-urlencoded",
            "reply_to=a@b.com",
        ),
        (
            "POST",
            "/v1/people.json",
            {"Authorization": basic},
            "application/x-www-form-urlencoded",
            "email=a@b.com",
        ),
        (
            "POST",
            f"/v1/surveys/{survey['id']}/invitations",
            {"Authorization": f"Bearer {key}"},
            "multipart/form-data; boundary=x",
            "--x--",
        ),
    ]
    for method, path, auth, content_type, body in cases:
        response = api.call(method, path, body=body, headers={**auth, "Content-Type": content_type})
        assert response.status_code == 415, (path, response.body)
        error = json.loads(response.body)["error"]
        assert error["code"] == "unsupported_media_type" and "application/json" in error["message"]
    # Nothing changed; JSON with a charset still works
    assert [s["id"] for s in api.json("GET", "/v1/surveys", key)["data"]] == [survey["id"]]
    assert api.json("GET", "/v1/settings", key)["reply_to"] is None
    ok = api.call(
        "PATCH",
        "/v1/settings",
        key,
        {"reply_to": "a@b.com"},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200
