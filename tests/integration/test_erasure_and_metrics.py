"""Erasing a customer takes their answers out of the scores; Delighted-style metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.logic import clock
from tests.conftest import Api, Emulator, path_of
from tests.helpers import ISSUE_METRICS, ISSUE_SCORES

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "Recommend us?"}


def answer_all(api: Api, key: str, survey_id: str, scores: list[int], prefix: str = "c") -> list[dict]:
    rows = [{"customer_id": f"{prefix}{i}"} for i in range(len(scores))]
    out = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, {"recipients": rows}, expect=201)
    for inv, score in zip(out["invitations"], scores, strict=True):
        assert api.form(path_of(inv["url"]), {"score": str(score)}).status_code == 303
    return out["invitations"]


def test_erasing_a_customer_removes_their_answers_from_every_survey_and_the_scores(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    first = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    second = api.json("POST", "/v1/surveys", key, {**NPS, "name": "Support"}, expect=201)
    answer_all(api, key, first["id"], ISSUE_SCORES)
    answer_all(api, key, second["id"], [0, 10])
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{first['id']}/scores?window=all", key)
    assert (summary["nps"], summary["responses"], summary["invited"]) == (20.0, 10, 10)

    # When the business erases c7 (the 0 in the first survey) and c0 (a 10 there, a 0 in the second)
    response = api.call("DELETE", "/v1/customers/c7", key)
    assert response.status_code == 202
    assert json.loads(response.body) == {"customer_id": "c7", "status": "accepted", "erased": 1}
    gone = api.call("DELETE", "/v1/customers/c0", key)
    assert json.loads(gone.body)["erased"] == 2  # one invitation in each survey
    emulator.drain()

    # Then the scores drop those answers: 9 answers left in the first survey minus c0's 10
    summary = api.json("GET", f"/v1/surveys/{first['id']}/scores?window=all", key)
    assert (summary["responses"], summary["invited"]) == (8, 8)
    assert summary["counts"]["0"] == 0 and summary["counts"]["10"] == 1
    assert api.json("GET", f"/v1/surveys/{second['id']}/scores?window=all", key)["responses"] == 1
    listed = api.json("GET", f"/v1/surveys/{first['id']}/responses?limit=100", key)["data"]
    assert {r["customer_id"] for r in listed}.isdisjoint({"c0", "c7"})

    # Erasing again is harmless; a bad id is a clear error
    assert json.loads(api.call("DELETE", "/v1/customers/c7", key).body)["erased"] == 0
    bad = api.call("DELETE", "/v1/customers/not%20valid", key)
    assert bad.status_code == 400 and json.loads(bad.body)["error"]["field"] == "customer_id"


def test_metrics_speak_delighteds_shape(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.logic.tenants import create_key

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    answer_all(api, key, survey["id"], ISSUE_SCORES)
    emulator.drain()
    metrics = api.json("GET", f"/v1/metrics?survey_id={survey['id']}", key)
    assert metrics == ISSUE_METRICS
    # A key with a default survey needs no survey_id, as Delighted's clients send none
    default = create_key(tenant["tenant_id"], frozenset({"scores:read"}), survey["id"])["api_key"]
    assert api.json("GET", "/v1/metrics", default) == metrics
    missing = api.call("GET", "/v1/metrics", key)
    assert missing.status_code == 422 and json.loads(missing.body)["error"]["code"] == "survey_required"
    assert "--default-survey SURVEY_ID" in json.loads(missing.body)["error"]["message"]


def test_metrics_since_and_until_select_whole_utc_days(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    day_one = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: day_one)
    answer_all(api, key, survey["id"], [10, 10], prefix="early")
    later = day_one + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    answer_all(api, key, survey["id"], [0], prefix="late")
    monkeypatch.undo()
    emulator.drain()
    base = f"/v1/metrics?survey_id={survey['id']}"
    assert api.json("GET", base, key)["response_count"] == 3
    since = int((day_one + timedelta(days=1)).timestamp())
    assert api.json("GET", f"{base}&since={since}", key)["nps"] == -100
    until = int((day_one + timedelta(hours=13)).timestamp())  # later the same UTC day
    early = api.json("GET", f"{base}&until={until}", key)
    assert (early["nps"], early["response_count"], early["promoter_percent"]) == (100, 2, 100)
    # Delighted's status for invalid input (docs/delighted.md)
    for bad in ["since=soon", f"since={since}&until={until}"]:
        assert api.call("GET", f"{base}&{bad}", key).status_code == 422


def test_metrics_need_an_nps_survey_of_the_tenant(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    csat = api.json("POST", "/v1/surveys", key, {**NPS, "kind": "csat"}, expect=201)
    response = api.call("GET", f"/v1/metrics?survey_id={csat['id']}", key)
    assert response.status_code == 422 and json.loads(response.body)["error"]["code"] == "not_an_nps_survey"
    assert api.call("GET", "/v1/metrics?survey_id=srv_AAAAAAAAAAAAAAAA", key).status_code == 404
