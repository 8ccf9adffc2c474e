"""Closing the loop (docs/follow-ups.md) over HTTP on the emulated stack, with an injected clock:
a 3 on an NPS survey opens a follow-up from the stream; the queue lists it; it is worked, noted,
replied to (through the sending pipeline, into the developer outbox) and closed; the overdue
sweep raises exactly one verified webhook; the summary's figures move; a replay changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.cli import main
from functions.logic import clock
from functions.settings import get_settings
from functions.store.clients import client
from tests.conftest import Api, Emulator, path_of
from tests.integration.test_scores_stream import replay_whole_stream, verify_report

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = START
        monkeypatch.setattr(clock, "now", lambda: self.moment)

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)

    def deliver(self, emulator: Emulator) -> None:
        """Deliver queued webhooks signed at the real time: receivers refuse timestamps more
        than five minutes off (Standard Webhooks), and this clock is a test's."""
        held = self.moment
        self.moment = datetime.now(UTC)
        try:
            emulator.deliver()
        finally:
            self.moment = held


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


def followed_up(
    api: Api, emulator: Emulator, key: str, score: int, customer: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new survey with one low answer through the stream: the survey and the one response
    its queue lists (the follow-up it opened)."""
    survey = survey_of(api, key)
    answered(api, key, survey["id"], score, customer=customer)
    emulator.drain()
    (listed,) = queue(api, key, f"?survey_id={survey['id']}")
    return survey, listed


def figures(api: Api, key: str, survey_id: str, segment: str = "all") -> dict[str, Any]:
    return dict(
        api.json("GET", f"/v1/surveys/{survey_id}/scores?window=30d&segment={segment}", key)["follow_ups"]
    )


def test_a_detractor_opens_one_follow_up_that_is_worked_closed_and_measured(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock, capsys: pytest.CaptureFixture[str]
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
    delighted = api.json("GET", f"/v1/survey_responses?survey_id={survey['id']}", key)
    assert [r["id"] for r in delighted if r["score"] == 3] == [rid]  # one id in both APIs

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

    # And `hark verify` recomputes the figures from the responses and finds no drift
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert report["drift"] == [] and code == 0
    # (a figure that drifts is found, and `hark rebuild` repairs it)
    client("dynamodb").update_item(
        TableName=get_settings().scores_table,
        Key={"pk": {"S": f"T#{survey['id']}"}, "sk": {"S": "all"}},
        UpdateExpression="ADD fc :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert code != 0 and report["drift"]
    assert main(["rebuild", "--survey", survey["id"]]) == 0
    capsys.readouterr()
    assert verify_report(capsys, "--survey", survey["id"])[1]["drift"] == []


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
    happy_id = api.json("GET", f"/v1/survey_responses?survey_id={survey['id']}", key)[0]["id"]
    for n in range(50):  # notes on any answered response, up to 50
        api.json("POST", f"/v1/responses/{happy_id}/notes", key, {"text": f"note {n}"}, expect=201)
    full = api.call("POST", f"/v1/responses/{happy_id}/notes", key, {"text": "one more"})
    assert full.status_code == 409 and json.loads(full.body)["error"]["code"] == "too_many_notes"
    long = api.call("POST", f"/v1/responses/{happy_id}/notes", key, {"text": "x" * 2001})
    assert long.status_code == 422 and json.loads(long.body)["error"]["field"] == "text"
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


def test_overdue_once_from_the_sweep_reply_through_the_outbox_and_closed_as_verified_webhooks(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock, receiver: Any
) -> None:
    from standardwebhooks.webhooks import Webhook

    from functions.logic.follow_ups import sweep_overdue
    from tests.integration.test_sending import receive_all, run_sender

    key = tenant["api_key"]
    events = ["follow_up.opened", "follow_up.overdue", "follow_up.closed"]
    hook = api.json("POST", "/v1/webhooks", key, {"url": receiver.url, "events": events}, expect=201)
    survey = survey_of(api, key)
    answered(api, key, survey["id"], 3, customer="loop-1")
    emulator.drain()
    now.deliver(emulator)

    def verified() -> list[dict[str, Any]]:
        return [Webhook(hook["secret"]).verify(d.body, d.headers) for d in receiver.deliveries]

    (opened,) = verified()
    assert opened["type"] == "follow_up.opened" and opened["data"]["follow_up"]["status"] == "open"
    rid = opened["data"]["id"]

    # When the clock passes the deadline (24 hours) the sweep marks it once, however often it runs
    # (the sweep serves every tenant: other tests' follow-ups may be marked too)
    now.advance(hours=23, minutes=59)
    sweep_overdue()
    assert api.json("GET", f"/v1/responses/{rid}", key)["follow_up"]["overdue_at"] is None
    now.advance(minutes=2)
    assert sweep_overdue() >= 1
    marked = api.json("GET", f"/v1/responses/{rid}", key)["follow_up"]
    assert marked["overdue_at"] == "2026-12-02T09:01:00.000Z" and marked["overdue"] is True
    sweep_overdue()
    emulator.drain()
    now.deliver(emulator)
    assert sweep_overdue() == 0
    overdue = [e for e in verified() if e["type"] == "follow_up.overdue"]
    assert len(overdue) == 1 and overdue[0]["data"]["id"] == rid
    assert overdue[0]["data"]["follow_up"]["overdue"] is True
    assert [f["id"] for f in queue(api, key, f"?overdue=true&survey_id={survey['id']}")] == [rid]

    # When the support lead replies, it goes through the send queue and the sender to SES
    address = f"loop-{uuid.uuid4().hex[:8]}@example.com"  # the emulator's SES keeps every test's mail
    note = api.json(
        "POST",
        f"/v1/responses/{rid}/reply",
        key,
        {"text": "Sorry!\n\nWe refunded you.", "email": address},
        202,
    )
    assert note["kind"] == "reply" and note["reply"]["status"] == "scheduled"
    pending = api.call("POST", f"/v1/responses/{rid}/reply", key, {"text": "Again", "email": address})
    assert pending.status_code == 409 and json.loads(pending.body)["error"]["code"] == "reply_pending"
    messages = receive_all()
    assert messages
    run_sender(messages)
    (sent,) = [e for e in api.json("GET", "/dev/outbox")["data"] if e["to"] == address]
    assert sent["subject"] == "Re: Acme: Recommend us?" and sent["from"] == "surveys@hark.localhost"
    shown = api.json("GET", f"/v1/responses/{rid}", key)
    assert [(n["kind"], n["text"]) for n in shown["notes"]] == [("reply", "Sorry!\n\nWe refunded you.")]
    assert shown["notes"][0]["reply"]["status"] == "sent"
    assert "send_to" not in json.dumps(shown) and address not in json.dumps(shown)

    # When it is closed, follow_up.closed arrives once; replaying the stream moves no figure
    api.json("PATCH", f"/v1/responses/{rid}", key, {"status": "closed"})
    emulator.drain()
    now.deliver(emulator)
    assert [e["type"] for e in verified()] == events
    assert figures(api, key, survey["id"])["closed_within_sla"] == 0  # closed after its deadline
    before = figures(api, key, survey["id"])
    replay_whole_stream(emulator, survey["id"])
    assert figures(api, key, survey["id"]) == before


def test_a_reply_is_refused_to_an_unsubscribed_customer_and_without_a_sender(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from functions.logic import follow_ups
    from functions.settings import get_settings

    key = tenant["api_key"]
    _survey, listed = followed_up(api, emulator, key, 1, "gone")
    rid = listed["id"]
    address = "gone@example.com"
    api.json("POST", "/v1/unsubscribes", key, {"person_email": address})

    refused = api.call("POST", f"/v1/responses/{rid}/reply", key, {"text": "Hello", "email": address})
    assert refused.status_code == 409
    assert json.loads(refused.body)["error"]["code"] == "customer_unsubscribed"
    no_address = api.call("POST", f"/v1/responses/{rid}/reply", key, {"text": "Hello"})
    assert no_address.status_code == 400 and json.loads(no_address.body)["error"]["field"] == "email"

    from functions.logic import sending

    unset = replace(get_settings(), email_from=None)
    monkeypatch.setattr(follow_ups, "get_settings", lambda: unset)
    monkeypatch.setattr(sending, "get_settings", lambda: unset)
    other = api.call("POST", f"/v1/responses/{rid}/reply", key, {"text": "Hi", "email": "ok@example.com"})
    assert other.status_code == 409
    assert json.loads(other.body)["error"]["code"] == "sending_not_configured"
    assert api.json("GET", f"/v1/responses/{rid}", key)["notes"] == []  # refused: nothing kept


def test_hark_follow_ups_prints_a_table_for_a_person_and_json_for_a_script(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tenant["api_key"]
    survey = survey_of(api, key, follow_up_rule={"sla_hours": 2})
    answered(api, key, survey["id"], 0, customer="late-one")
    emulator.drain()
    now.advance(hours=1)
    answered(api, key, survey["id"], 4, customer="fresh-one")
    emulator.drain()
    now.advance(hours=1, minutes=30)  # the first is past its 2 hours, the second is not
    capsys.readouterr()

    assert main(["follow-ups", "--tenant", tenant["tenant_id"], "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [f["customer_id"] for f in listed] == ["late-one", "fresh-one"]  # oldest due first
    assert main(["follow-ups", "--tenant", tenant["tenant_id"], "--overdue"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["DUE", "STATUS", "OWNER", "SCORE", "CUSTOMER", "SURVEY", "COMMENT"]
    assert len(table) == 2 and "late-one" in table[1] and "OVERDUE" in table[1]
    assert main(["follow-ups", "--tenant", tenant["tenant_id"], "--status", "closed"]) == 0
    assert "No follow-ups" in capsys.readouterr().out

    # The API pages the same queue with sealed cursors that open only for their own filter
    first = api.json("GET", f"/v1/follow-ups?survey_id={survey['id']}&limit=1", key)
    assert [f["customer_id"] for f in first["data"]] == ["late-one"] and first["next_cursor"]
    assert survey["id"] not in first["next_cursor"]
    rest = api.json(
        "GET", f"/v1/follow-ups?survey_id={survey['id']}&limit=1&cursor={first['next_cursor']}", key
    )
    assert [f["customer_id"] for f in rest["data"]] == ["fresh-one"]
    foreign = api.call("GET", f"/v1/follow-ups?overdue=true&limit=1&cursor={first['next_cursor']}", key)
    assert foreign.status_code == 400 and json.loads(foreign.body)["error"]["code"] == "invalid_cursor"


def test_opening_costs_one_update_of_the_response_and_one_ledger_entry_in_the_same_transaction(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    from functions.store import scores as score_store

    key = tenant["api_key"]
    survey = survey_of(api, key)
    body = {"recipients": [{"customer_id": "counted"}]}
    invitation = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)
    emulator.drain()  # the invitation's own records first
    calls: list[tuple[str, dict[str, Any]]] = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb.*", note)
    try:
        assert api.form(path_of(invitation["invitations"][0]["url"]), {"score": "2"}).status_code == 303
        emulator.drain()  # the answer's batch, then the opening's own record
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb.*", note)
    responses_table = get_settings().responses_table
    updates = [p for name, p in calls if name == "UpdateItem" and p["TableName"] == responses_table]
    recorded, opened = updates  # the click, and the aggregator's opening
    assert "fu_status" in opened["UpdateExpression"] and "fu_status" not in recorded["UpdateExpression"]
    transactions = [p for name, p in calls if name == "TransactWriteItems"]
    # one answer: a quiet survey's batch moves its tallies itself (docs/scale.md, "Two paths");
    # the opening's own stream record writes nothing to the scores
    assert len(transactions) == 1
    kinds = score_store.items_written("TransactWriteItems", transactions[0])
    assert kinds.count("ledger") == 2  # the answer (R) and its follow-up (F)
    assert figures(api, key, survey["id"])["opened"] == 1


def test_reordered_and_duplicated_batches_and_an_erasure_keep_the_figures_exact(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.test_scores_stream import ReorderingAggregator

    key = tenant["api_key"]
    survey = survey_of(api, key)
    for n, score in enumerate([0, 5, 6, 9]):
        answered(api, key, survey["id"], score, customer=f"r{n}")
    emulator.drain()
    first, second, third = queue(api, key, f"?survey_id={survey['id']}")
    now.advance(hours=30)
    api.json("PATCH", f"/v1/responses/{first['id']}", key, {"status": "closed"})
    emulator.drain()
    want = {"opened": 3, "closed": 1, "closed_within_sla": 0, "median_hours_to_close": 36.0}
    assert figures(api, key, survey["id"]) == want

    # When every batch of this survey's records arrives twice, the second time backwards
    reorder = ReorderingAggregator(set())

    def mine_reordered(event: dict[str, Any], context: Any) -> Any:
        ours = [r for r in event["Records"] if survey["id"] in json.dumps(r["dynamodb"])]
        return reorder({"Records": ours}, context) if ours else {"batchItemFailures": []}

    replay_whole_stream(emulator, handler=mine_reordered, batch_size=3)
    assert figures(api, key, survey["id"]) == want
    assert len(queue(api, key, f"?survey_id={survey['id']}")) == 2

    # When a customer whose follow-up is open is erased, the follow-up leaves queue and figures
    assert api.call("DELETE", f"/v1/customers/{second['customer_id']}", key).status_code == 202
    emulator.drain()
    assert [f["id"] for f in queue(api, key, f"?survey_id={survey['id']}")] == [third["id"]]
    assert figures(api, key, survey["id"])["opened"] == 2
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert report["drift"] == [] and code == 0


def test_a_key_that_works_follow_ups_without_reading_responses_sees_no_answer(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    from functions.logic.tenants import create_key

    key = tenant["api_key"]
    survey, listed = followed_up(api, emulator, key, 2, "private-customer")
    worker = create_key(tenant["tenant_id"], frozenset({"follow_ups:write"}))["api_key"]
    changed = api.json("PATCH", f"/v1/responses/{listed['id']}", worker, {"owner": "bot", "tags": ["vip"]})
    assert set(changed) == {"id", "follow_up", "tags"} and changed["follow_up"]["owner"] == "bot"
    assert "private-customer" not in json.dumps(changed)
    assert api.call("GET", f"/v1/responses/{listed['id']}", worker).status_code == 403

    # And a survey's rule is changed (or reset) with PATCH, checked against the survey's kind
    patched = api.json("PATCH", f"/v1/surveys/{survey['id']}", key, {"follow_up_rule": {"max_score": 3}})
    assert patched["follow_up_rule"]["max_score"] == 3
    bad = api.call("PATCH", f"/v1/surveys/{survey['id']}", key, {"follow_up_rule": {"max_score": 10}})
    assert bad.status_code == 422 and json.loads(bad.body)["error"]["field"] == "follow_up_rule"
    reset = api.json("PATCH", f"/v1/surveys/{survey['id']}", key, {"follow_up_rule": None})
    assert reset["follow_up_rule"]["max_score"] == 6


def test_imported_history_opens_no_follow_ups(
    api: Api, emulator: Emulator, tenant: dict[str, str], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.delighted_csv import write_export

    key = tenant["api_key"]
    survey = survey_of(api, key)
    export = write_export(tmp_path / "export.csv", rows=20, days=10)
    assert main(["import", "delighted", str(export.path), "--survey", survey["id"]]) == 0
    capsys.readouterr()
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert summary["responses"] == 20 and summary["detractor_count"] > 0
    assert queue(api, key, f"?survey_id={survey['id']}") == []
    assert summary["follow_ups"]["opened"] == 0


def test_a_batch_delivered_backwards_still_lets_the_newest_answer_decide(
    api: Api, emulator: Emulator, tenant: dict[str, str], now: Clock
) -> None:
    from functions.api.app import aggregator

    key = tenant["api_key"]
    survey = survey_of(api, key)
    invitation = answered(api, key, survey["id"], 9, customer="backwards")
    assert api.form(path_of(invitation["url"]), {"score": "3"}).status_code == 303
    collected: list[dict[str, Any]] = []

    def collect(event: dict[str, Any], context: Any) -> Any:
        collected.extend(r for r in event["Records"] if survey["id"] in json.dumps(r["dynamodb"]))
        return {"batchItemFailures": []}

    replay_whole_stream(emulator, handler=collect)
    # Given only this survey's records, newest first in one batch (9 → 3 arrives as 3, then 9)
    assert aggregator({"Records": list(reversed(collected))}, None) == {"batchItemFailures": []}
    (opened,) = queue(api, key, f"?survey_id={survey['id']}")
    assert opened["score"] == 3 and opened["follow_up"]["no_longer_matching"] is False
    emulator.drain()  # the in-order delivery changes nothing
    assert len(queue(api, key, f"?survey_id={survey['id']}")) == 1
    assert figures(api, key, survey["id"])["opened"] == 1
