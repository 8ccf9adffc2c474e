"""Closing the loop (docs/follow-ups.md) over HTTP on the emulated stack, with an injected clock:
a 3 on an NPS survey opens a follow-up from the stream; the queue lists it; it is worked, noted,
replied to (through the sending pipeline, into the developer outbox) and closed; the overdue
sweep raises exactly one verified webhook; the summary's figures move; a replay changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.logic import clock
from tests.conftest import Api, Emulator, path_of
from tests.integration.test_scores_stream import replay_whole_stream

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = START
        monkeypatch.setattr(clock, "now", lambda: self.moment)

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def survey_of(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Support",
        "kind": "nps",
        "question": "Recommend us?",
        "brand": {"name": "Acme"},
        **fields,
    }
    return dict(api.json("POST", "/v1/surveys", key, body, expect=201))


def answered(api: Api, key: str, survey_id: str, score: int, customer: str = "cust-1") -> dict[str, Any]:
    body = {"recipients": [{"customer_id": customer, "touchpoint": "support_call"}]}
    invitation = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)[
        "invitations"
    ][0]
    assert api.form(path_of(invitation["url"]), {"score": str(score)}).status_code == 303
    return dict(invitation)


def queue(api: Api, key: str, query: str = "") -> list[dict[str, Any]]:
    return list(api.json("GET", f"/v1/follow-ups{query}", key)["data"])


def figures(api: Api, key: str, survey_id: str, segment: str = "all") -> dict[str, Any]:
    return dict(
        api.json("GET", f"/v1/surveys/{survey_id}/scores?window=30d&segment={segment}", key)["follow_ups"]
    )


def test_a_detractor_opens_one_follow_up_that_is_worked_closed_and_measured(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    key = tenant["api_key"]
    survey = survey_of(api, key)
    assert survey["follow_up_rule"] == {"enabled": True, "sla_hours": 24, "max_score": 6}

    # Given a 3 and a 9 on an NPS survey
    invitation = answered(api, key, survey["id"], 3)
    answered(api, key, survey["id"], 9, customer="happy")
    emulator.drain()

    # Then only the 3 opened a follow-up, due in 24 hours
    (listed,) = [f for f in queue(api, key) if f["survey_id"] == survey["id"]]
    assert listed["score"] == 3 and listed["invitation_id"] == invitation["invitation_id"]
    assert listed["follow_up"]["status"] == "open" and listed["follow_up"]["owner"] is None
    assert listed["follow_up"]["opened_at"] == "2026-12-01T09:00:00.000Z"
    assert listed["follow_up"]["due_at"] == "2026-12-02T09:00:00.000Z"
    assert listed["notes"] == [] and listed["tags"] == []
    assert figures(api, key, survey["id"]) == {
        "opened": 1,
        "closed": 0,
        "closed_within_sla": 0,
        "median_hours_to_close": None,
    }
    rid = listed["id"]

    # When a support lead takes it, notes it and tags it
    taken = api.json(
        "PATCH", f"/v1/responses/{rid}", key, {"status": "in_progress", "owner": "ana", "tags": ["billing"]}
    )
    assert taken["follow_up"]["status"] == "in_progress" and taken["follow_up"]["owner"] == "ana"
    assert taken["tags"] == ["billing"]
    note = api.json("POST", f"/v1/responses/{rid}/notes", key, {"text": "Called, no answer"}, expect=201)
    assert note["kind"] == "note" and note["author"].startswith("key_")
    assert [f["id"] for f in queue(api, key, f"?owner=ana&survey_id={survey['id']}")] == [rid]
    assert queue(api, key, f"?status=open&survey_id={survey['id']}") == []

    # When it is closed two hours after opening
    now.advance(hours=2)
    closed = api.json("PATCH", f"/v1/responses/{rid}", key, {"status": "closed"})
    assert closed["follow_up"]["closed_at"] == "2026-12-01T11:00:00.000Z"
    assert [n["text"] for n in closed["notes"]] == ["Called, no answer"]
    emulator.drain()

    # Then closing is final, and the figures moved (in every segment the answer counts in)
    again = api.call("PATCH", f"/v1/responses/{rid}", key, {"status": "in_progress"})
    assert again.status_code == 409 and json.loads(again.body)["error"]["code"] == "illegal_transition"
    want = {"opened": 1, "closed": 1, "closed_within_sla": 1, "median_hours_to_close": 1.5}
    assert figures(api, key, survey["id"]) == want
    assert figures(api, key, survey["id"], "touchpoint:support_call") == want
    assert queue(api, key, f"?survey_id={survey['id']}") == []
    assert [f["id"] for f in queue(api, key, f"?status=closed&survey_id={survey['id']}")] == [rid]

    # When the whole stream is replayed, nothing changes: no second follow-up, same figures
    assert replay_whole_stream(emulator, survey["id"]) > 3
    emulator.drain()
    assert figures(api, key, survey["id"]) == want
    assert [f["id"] for f in queue(api, key, f"?status=closed&survey_id={survey['id']}")] == [rid]


def test_a_changed_answer_opens_one_or_marks_it_no_longer_matching(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    key = tenant["api_key"]
    survey = survey_of(api, key, follow_up_rule={"max_score": 4, "sla_hours": 4})
    assert survey["follow_up_rule"] == {"enabled": True, "sla_hours": 4, "max_score": 4}
    invitation = answered(api, key, survey["id"], 8)
    emulator.drain()
    assert queue(api, key, f"?survey_id={survey['id']}") == []

    # When the customer changes 8 to 2, a follow-up opens; when back to 9, it stays open, marked
    assert api.form(path_of(invitation["url"]), {"score": "2"}).status_code == 303
    emulator.drain()
    (opened,) = queue(api, key, f"?survey_id={survey['id']}")
    assert opened["follow_up"]["due_at"] == "2026-12-01T13:00:00.000Z"
    assert opened["follow_up"]["no_longer_matching"] is False
    assert api.form(path_of(invitation["url"]), {"score": "9"}).status_code == 303
    emulator.drain()
    (still,) = queue(api, key, f"?survey_id={survey['id']}")
    assert still["id"] == opened["id"] and still["follow_up"]["status"] == "open"
    assert still["follow_up"]["no_longer_matching"] is True
    assert figures(api, key, survey["id"])["opened"] == 1


def test_bad_follow_up_requests_get_one_error_shape_and_need_their_scopes(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    from functions.logic.tenants import create_key

    key = tenant["api_key"]
    bad_rule = api.call(
        "POST",
        "/v1/surveys",
        key,
        {"name": "X", "kind": "nps", "question": "Q?", "follow_up_rule": {"below_index": 40}},
    )
    assert bad_rule.status_code in (400, 422)
    assert "below_index" in json.loads(bad_rule.body)["error"]["message"]
    survey = survey_of(api, key)
    happy = answered(api, key, survey["id"], 10)
    assert happy
    emulator.drain()
    assert api.call("GET", "/v1/follow-ups?overdue=maybe", key).status_code == 400
    assert api.call("GET", "/v1/follow-ups?cursor=k2.AAAAAAAAAAAAAAAAAAAAAAAA", key).status_code == 400
    missing = api.call("PATCH", "/v1/responses/nope", key, {"status": "closed"})
    assert missing.status_code == 404 and json.loads(missing.body)["error"]["code"] == "not_found"

    reader = create_key(tenant["tenant_id"], frozenset({"responses:read"}))["api_key"]
    assert api.call("GET", "/v1/follow-ups", reader).status_code == 200
    forbidden = api.call("PATCH", "/v1/responses/nope", reader, {"status": "closed"})
    assert forbidden.status_code == 403
    scores_only = create_key(tenant["tenant_id"], frozenset({"scores:read"}))["api_key"]
    assert api.call("GET", "/v1/follow-ups", scores_only).status_code == 403


@pytest.fixture
def receiver() -> Iterator[Any]:
    from tests.webhook_receiver import start_receiver

    receiver = start_receiver()
    yield receiver
    receiver.stop()
