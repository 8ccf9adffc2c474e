"""Invitations at scale: 1,000 a call with links, a cool-down that says why, per-row errors."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from tests.conftest import Api, Emulator
from tests.helpers import invited

pytestmark = pytest.mark.integration

NPS = {"name": "Delivery", "kind": "nps", "question": "Recommend us?"}


def test_a_thousand_recipients_in_one_call_each_with_links(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    recipients = [
        {"customer_id": f"c{i}", "channel": "sms", "phone": f"+1555{i:07d}"}
        if i % 2
        else {"customer_id": f"c{i}", "email": f"c{i}@example.com", "touchpoint": "delivery"}
        for i in range(1000)
    ]
    started = time.monotonic()
    out = api.json(
        "POST", f"/v1/surveys/{survey['id']}/invitations", key, {"recipients": recipients}, expect=201
    )
    elapsed = time.monotonic() - started
    invitations = out["invitations"]
    assert len(invitations) == 1000 and out["skipped"] == [] and out["errors"] == []
    assert [inv["index"] for inv in invitations] == list(range(1000))
    assert len({inv["invitation_id"] for inv in invitations}) == 1000
    assert len({inv["url"] for inv in invitations}) == 1000
    email, sms = invitations[0], invitations[1]
    assert len(email["score_urls"]) == 11 and email["short_url"] is None
    assert sms["score_urls"] == {} and sms["short_url"].startswith("http://localhost:8000/s/")
    assert email["expires_at"].endswith("Z")
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert summary["invited"] == 1000
    print(f"1,000 invitations in {elapsed:.1f}s on moto")


def test_more_than_a_thousand_is_refused_and_nothing_is_written(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    body = {"recipients": [{"customer_id": f"c{i}"} for i in range(1001)]}
    response = api.call("POST", f"/v1/surveys/{survey['id']}/invitations", key, body)
    assert response.status_code == 413
    error = json.loads(response.body)["error"]
    assert error["code"] == "too_many_recipients" and "at most 1,000" in error["message"]
    emulator.drain()
    assert api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)["invited"] == 0


def test_bad_rows_are_reported_by_index_and_good_rows_created(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    rows = [
        {"customer_id": "ok-1"},
        {"customer_id": "no-phone", "channel": "sms"},
        {"customer_id": "bad id with spaces"},
        "not an object",
        {"customer_id": "ok-2", "properties": {"plan": "pro"}, "expires_in_days": 3},
        {"customer_id": "bad-phone", "channel": "sms", "phone": "555-1234"},
        {"customer_id": "too-many-props", "properties": {f"k{i}": "v" for i in range(11)}},
    ]
    out = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, {"recipients": rows}, expect=201)
    assert [(i["index"], i["customer_id"]) for i in out["invitations"]] == [(0, "ok-1"), (4, "ok-2")]
    errors = {e["index"]: e["error"] for e in out["errors"]}
    assert sorted(errors) == [1, 2, 3, 5, 6]
    assert "phone" in errors[1]["message"] and errors[2]["field"] == "customer_id"
    assert errors[5]["field"] == "phone" and errors[6]["field"] == "properties"


def test_the_cooldown_skips_recently_invited_customers_and_says_why(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.logic import clock

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, {**NPS, "cooldown_days": 30}, expect=201)
    other = api.json("POST", "/v1/surveys", key, {**NPS, "cooldown_days": 30}, expect=201)
    path = f"/v1/surveys/{survey['id']}/invitations"
    first = api.json("POST", path, key, {"recipients": [{"customer_id": "seen"}]}, expect=201)
    invited_at = first["invitations"][0]

    # Given "seen" was invited today, when the business invites seen, fresh and fresh again
    rows = [{"customer_id": "seen"}, {"customer_id": "fresh"}, {"customer_id": "fresh", "channel": "link"}]
    out = api.json("POST", path, key, {"recipients": rows}, expect=201)
    assert [i["customer_id"] for i in out["invitations"]] == ["fresh"]
    skipped = {s["index"]: s for s in out["skipped"]}
    assert sorted(skipped) == [0, 2]
    assert skipped[0]["customer_id"] == "seen" and skipped[0]["reason"] == "cooldown"
    assert "30-day cool-down" in skipped[0]["message"] and skipped[0]["last_invited_at"]
    assert "earlier in this request" in skipped[2]["message"]
    assert invited_at["invitation_id"]

    # The cool-down is per survey: the other survey invites "seen"
    out = invited(api, key, other["id"], [{"customer_id": "seen"}])
    assert len(out["invitations"]) == 1

    # Thirty-one days later "seen" may be invited again
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    out = api.json("POST", path, key, {"recipients": [{"customer_id": "seen"}]}, expect=201)
    assert [i["customer_id"] for i in out["invitations"]] == ["seen"] and out["skipped"] == []


def test_a_survey_without_cooldown_invites_again(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    path = f"/v1/surveys/{survey['id']}/invitations"
    rows = {"recipients": [{"customer_id": "twice"}, {"customer_id": "twice", "channel": "link"}]}
    assert len(api.json("POST", path, key, rows, expect=201)["invitations"]) == 2
