"""The skeleton end to end on moto: survey → invitation → click → stream → aggregator → score."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "How likely are you to recommend us?"}


def invite(api: Api, key: str, survey_id: str, **recipient: object) -> dict:
    body = {"recipients": [{"customer_id": "cust-1", "email": "ada@example.com", **recipient}]}
    return api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)["invitations"][0]


def scores(api: Api, key: str, survey_id: str, window: str = "all", segment: str = "all") -> dict:
    return api.json("GET", f"/v1/surveys/{survey_id}/scores?window={window}&segment={segment}", key)


def test_a_click_becomes_a_score_and_a_change_replaces_it(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    invitation = invite(api, key, survey["id"])
    assert set(invitation["score_urls"]) == {str(n) for n in range(11)}

    # When the customer posts 9 from the email page
    response = api.form(path_of(invitation["url"]), {"score": "9"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/thanks")
    emulator.drain()

    # Then the score shows one promoter
    summary = scores(api, key, survey["id"])
    assert (summary["responses"], summary["nps"], summary["invited"]) == (1, 100.0, 1)
    assert scores(api, key, survey["id"], "30d")["nps"] == 100.0

    # When they change their answer to 3, it replaces the first: still one response
    api.form(path_of(invitation["url"]), {"score": "3"})
    emulator.drain()
    summary = scores(api, key, survey["id"])
    assert (summary["responses"], summary["nps"]) == (1, -100.0)
    assert summary["counts"]["3"] == 1 and summary["counts"]["9"] == 0
    assert scores(api, key, survey["id"], segment="channel:email")["nps"] == -100.0


def test_a_get_of_every_score_link_records_nothing(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    invitation = invite(api, key, survey["id"])
    for url in invitation["score_urls"].values():
        page = api.call("GET", path_of(url))
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    emulator.drain()
    assert scores(api, key, survey["id"])["responses"] == 0


def test_customer_link_errors_are_friendly_pages(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    url = path_of(invite(api, key, survey["id"])["url"])
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")
    for path, status in [
        (tampered, 400),
        ("/r/k1.AAAAAAAAAA.zzzzzz.AAAAAAAAAAAAAAAAAAAAAA", 400),
        ("/s/ZZZZZZZZZZ", 404),
        ("/r/not-a-token", 400),
    ]:
        page = api.call("GET", path)
        assert page.status_code == status, path
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Traceback" not in page.body.decode() and "{" not in page.body.decode().split("</style>")[1]
    bad = api.form(url, {"score": "11"})
    assert bad.status_code == 400 and b"from 0 to 10" in bad.body
    emulator.drain()
    assert scores(api, key, survey["id"])["responses"] == 0


def test_expired_invitation_shows_410(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from functions.logic import clock

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    url = path_of(invite(api, key, survey["id"], expires_in_days=1)["url"])
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert api.call("GET", url).status_code == 410
    assert api.form(url, {"score": "9"}).status_code == 410


def test_api_errors_use_one_shape(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    missing = api.call("GET", "/v1/surveys")
    assert missing.status_code == 401
    assert json.loads(missing.body)["error"]["code"] == "unauthenticated"
    bad_json = api.call("POST", "/v1/surveys", key, b"{not json")
    assert bad_json.status_code == 400 and json.loads(bad_json.body)["error"]["code"] == "invalid_json"
    invalid = api.call("POST", "/v1/surveys", key, {**NPS, "kind": "nope"})
    assert invalid.status_code == 422
    assert json.loads(invalid.body)["error"]["field"] == "kind"
    window = api.call("GET", "/v1/surveys/srv_AAAAAAAAAAAAAAAA/scores?window=2d", key)
    assert window.status_code == 400 and json.loads(window.body)["error"]["field"] == "window"


def test_another_tenants_survey_is_not_found(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_tenant

    other = create_tenant("Other")
    survey = api.json("POST", "/v1/surveys", tenant["api_key"], NPS, expect=201)
    for method, path in [
        ("GET", f"/v1/surveys/{survey['id']}"),
        ("GET", f"/v1/surveys/{survey['id']}/scores?window=all"),
    ]:
        response = api.call(method, path, other["api_key"])
        assert response.status_code == 404, path
    response = api.call(
        "POST",
        f"/v1/surveys/{survey['id']}/invitations",
        other["api_key"],
        {"recipients": [{"customer_id": "x"}]},
    )
    assert response.status_code == 404


def test_a_key_without_the_scope_is_forbidden(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.domain.apikeys import parse_scopes
    from functions.logic.tenants import create_key

    reader = create_key(tenant["tenant_id"], parse_scopes("scores:read"))
    response = api.call("POST", "/v1/surveys", reader["api_key"], NPS)
    assert response.status_code == 403 and json.loads(response.body)["error"]["code"] == "forbidden"


def test_bad_recipients_are_reported_per_row(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    body = {"recipients": [{"customer_id": "ok"}, {"customer_id": "sms", "channel": "sms"}]}
    out = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)
    assert [i["customer_id"] for i in out["invitations"]] == ["ok"]
    assert out["errors"][0]["index"] == 1 and "phone" in out["errors"][0]["error"]["message"]
