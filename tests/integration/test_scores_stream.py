"""Scores through the real stream on moto server: the issue's scenario, replays, erasure,
expiry, segment changes, a poison record, and `hark verify` / `hark rebuild`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.cli import main
from functions.logic import clock
from functions.store import responses
from tests.conftest import Api, Emulator, path_of
from tests.helpers import ISSUE_SCORES, assert_issue_nps

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "How likely are you to recommend us?"}


def create_survey(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    return api.json("POST", "/v1/surveys", key, {**NPS, **fields}, expect=201)


def invite(api: Api, key: str, survey_id: str, recipients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = api.json(
        "POST", f"/v1/surveys/{survey_id}/invitations", key, {"recipients": recipients}, expect=201
    )
    assert out["errors"] == []
    return list(out["invitations"])


def answer(api: Api, invitation: dict[str, Any], score: int) -> None:
    assert api.form(path_of(invitation["url"]), {"score": str(score)}).status_code == 303


def answered(
    api: Api, emulator: Emulator, key: str, survey_id: str, recipients: list[dict[str, Any]], given: list[int]
) -> list[dict[str, Any]]:
    """`recipients` invited, each answering its score of `given`, through the stream: the invitations."""
    invitations = invite(api, key, survey_id, recipients)
    for invitation, score in zip(invitations, given, strict=True):
        answer(api, invitation, score)
    emulator.drain()
    return invitations


def scores(api: Api, key: str, survey_id: str, window: str = "all", segment: str = "all") -> dict[str, Any]:
    return dict(api.json("GET", f"/v1/surveys/{survey_id}/scores?window={window}&segment={segment}", key))


def code_of(invitation: dict[str, Any]) -> str:
    """The invitation's code, the middle of its signed email link (`<kid>.<code>.<expiry>.<mac>`)."""
    return str(invitation["url"].rsplit("/", 1)[1].split(".")[1])


def replay_whole_stream(emulator: Emulator, survey_id: str | None = None, **kwargs: Any) -> int:
    """Deliver every record the responses stream holds, from the oldest, once more (with
    `survey_id`, only that survey's records reach the aggregator: the session's stream holds
    every other test's too)."""
    from functions.api.app import aggregator
    from infra.local import stack

    def only_this_survey(event: dict[str, Any], context: Any) -> Any:
        def survey_of(record: dict[str, Any]) -> str | None:
            image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
            return image.get("survey_id", {}).get("S")

        mine = [r for r in event["Records"] if survey_of(r) == survey_id]
        return aggregator({"Records": mine}, context) if mine else {"batchItemFailures": []}

    if survey_id is not None:
        kwargs.setdefault("handler", only_this_survey)
    poller = stack.make_poller(emulator.stream_arn, emulator.queue_url, **kwargs)
    total = 0
    while handled := poller.poll_once():
        total += handled
    emulator.settle_scores()
    return total


def verify_report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", *args])
    return code, json.loads(capsys.readouterr().out)


def test_the_issue_scenario_ten_answers_a_change_an_erasure_and_a_replay(
    api: Api, emulator: Emulator, tenant: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    # Given 10 answers 10, 9, 9, 8, 7, 6, 5, 0, 10, 9
    rows = [{"customer_id": f"c{i}"} for i in range(10)]
    invitations = answered(api, emulator, key, survey["id"], rows, ISSUE_SCORES)
    summary = scores(api, key, survey["id"])
    assert_issue_nps(summary)
    assert summary["margin_of_error"] == 45.7  # adjusted Wald, worked by hand in tests/unit
    assert (summary["responses"], summary["invited"], summary["response_rate"]) == (10, 10, 100.0)

    # When the customer who gave 0 changes it to 10
    answer(api, invitations[7], 10)
    emulator.drain()
    summary = scores(api, key, survey["id"])
    assert (summary["nps"], summary["responses"], summary["counts"]["0"], summary["counts"]["10"]) == (
        40.0,
        10,
        0,
        3,
    )

    # When that customer is erased
    assert responses.delete_invitation(code_of(invitations[7]))
    emulator.drain()

    # Then the 9 remaining answers 10, 9, 9, 8, 7, 6, 5, 10, 9 are the scores: (5 − 2) / 9
    nine = scores(api, key, survey["id"])
    assert (nine["responses"], nine["invited"], nine["nps"]) == (9, 9, 33.3)
    assert (nine["promoter_count"], nine["passive_count"], nine["detractor_count"]) == (5, 2, 2)
    assert nine["margin_of_error"] == 45.5  # n' = 12, p = 5.75/12, d = 2.75/12
    assert nine["counts"]["10"] == 2
    assert scores(api, key, survey["id"], "30d") | {"as_of": None} == nine | {"as_of": None, "window": "30d"}

    # When the whole stream is replayed
    assert replay_whole_stream(emulator, survey["id"]) > 20

    # Then nothing changes, and `hark verify` finds no drift anywhere
    assert scores(api, key, survey["id"]) | {"as_of": None} == nine | {"as_of": None}
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert report["drift"] == [] and code == 0
    assert report["checked"] > 0


class ReorderingAggregator:
    """The aggregator as a flaky Lambda service would drive it: each batch twice, the second
    time backwards; REMOVEs of `expired` codes marked as DynamoDB's TTL sweeper marks them."""

    def __init__(self, expired: set[str]) -> None:
        self.expired = expired
        self.batches = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        from functions.api.app import aggregator

        for record in event["Records"]:
            if record["eventName"] == "REMOVE" and record["dynamodb"]["Keys"]["pk"]["S"] in self.expired:
                record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        self.batches += 1
        first = aggregator(event, context)
        again = aggregator({"Records": list(reversed(event["Records"]))}, context)
        assert first == again == {"batchItemFailures": []}
        return first


def test_changes_segment_moves_erasure_and_expiry_through_the_stream_in_any_order(
    api: Api, emulator: Emulator, tenant: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.local.poller import StreamPoller
    from infra.local.stack import REGION

    key = tenant["api_key"]
    survey = create_survey(api, key)
    emulator.drain()
    start = emulator.poller.checkpoints
    people = invite(
        api,
        key,
        survey["id"],
        [
            {"customer_id": "ann", "touchpoint": "delivery", "properties": {"plan": "pro"}},
            {"customer_id": "bob", "touchpoint": "delivery"},
            {"customer_id": "cat", "channel": "sms", "phone": "+15551230000", "touchpoint": "support"},
            {"customer_id": "dan", "touchpoint": "support", "properties": {"plan": "free"}},
            {"customer_id": "eve"},
        ],
    )
    ann, bob, cat, dan, eve = people
    # Given answers, one changed twice, one with a follow-up comment
    answer(api, ann, 10)
    answer(api, bob, 3)
    assert api.form(path_of(cat["short_url"]), {"score": "9"}).status_code == 303
    answer(api, dan, 6)
    answer(api, eve, 8)
    answer(api, ann, 2)
    answer(api, ann, 9)
    api.form(path_of(bob["url"]), {"comment": "late again"})
    # And bob's invitation moved from delivery to support (an operator's fix; it bumps rev)
    from functions.settings import get_settings
    from functions.store.clients import client

    client("dynamodb").update_item(
        TableName=get_settings().responses_table,
        Key={"pk": {"S": code_of(bob)}},
        UpdateExpression="SET touchpoint = :t ADD rev :one",
        ExpressionAttributeValues={":t": {"S": "support"}, ":one": {"N": "1"}},
    )
    # And dan erased, eve's raw answer expired by TTL
    responses.delete_invitation(code_of(dan))
    responses.delete_invitation(code_of(eve))
    expired = {code_of(eve)}

    # When the stream reaches the aggregator in batches of 3, each delivered twice and reordered,
    # and then all of it is replayed in batches of 7
    for size in (3, 7):
        handler = ReorderingAggregator(expired)
        poller = StreamPoller(
            emulator.poller.streams,
            emulator.stream_arn,
            handler,
            region=REGION,
            batch_size=size,
            checkpoints=start,
        )
        while poller.poll_once():
            pass
        assert handler.batches >= 2
    emulator.settle_scores()

    # Then: ann 9, bob 3 (now support), cat 9 (sms), eve 8 (kept after expiry); dan gone
    everyone = scores(api, key, survey["id"])
    assert (everyone["responses"], everyone["invited"]) == (4, 4)
    assert {p: n for p, n in everyone["counts"].items() if n} == {"3": 1, "8": 1, "9": 2}
    assert everyone["nps"] == 25.0
    by_touchpoint = api.json("GET", f"/v1/surveys/{survey['id']}/breakdown?by=touchpoint&window=all", key)
    assert {s["segment"]: (s["responses"], s["invited"]) for s in by_touchpoint["segments"]} == {
        "touchpoint:delivery": (1, 1),
        "touchpoint:support": (2, 2),
    }
    assert scores(api, key, survey["id"], segment="channel:sms")["counts"]["9"] == 1
    assert scores(api, key, survey["id"], segment="prop:plan=free")["responses"] == 0
    assert scores(api, key, survey["id"], segment="prop:plan=pro")["nps"] == 100.0
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert (code, report["drift"]) == (0, [])
    emulator.drain()  # the session poller catches up (one more replay, harmless)


@pytest.fixture
def poison_stream(emulator: Emulator) -> Iterator[tuple[str, str, str]]:
    """A responses table of its own (same definition) and a failure queue of its own."""
    from functions.settings import get_settings
    from functions.store.clients import client
    from infra.tables import create_tables, stream_arn

    settings = get_settings()
    table = f"hark-poison-{uuid.uuid4().hex[:8]}"
    names = {
        "HARK_CORE_TABLE": settings.core_table,
        "HARK_RESPONSES_TABLE": table,
        "HARK_SCORES_TABLE": settings.scores_table,
    }
    create_tables(client("dynamodb"), names)  # creates only the table that does not exist
    queue = client("sqs").create_queue(QueueName=f"{table}-failures")["QueueUrl"]
    yield table, stream_arn(client("dynamodb"), table), queue
    client("dynamodb").delete_table(TableName=table)
    client("sqs").delete_queue(QueueUrl=queue)


def test_a_poison_record_goes_to_the_failure_queue_after_bounded_retries_and_blocks_nothing(
    api: Api, emulator: Emulator, tenant: dict[str, str], poison_stream: tuple[str, str, str]
) -> None:
    from functions.api.app import aggregator
    from functions.store.clients import client
    from infra.local.poller import StreamPoller, sqs_failure_sink
    from infra.local.stack import REGION

    table, arn, queue = poison_stream
    key = tenant["api_key"]
    survey = create_survey(api, key)
    invitation = invite(api, key, survey["id"], [{"customer_id": "template"}])[0]
    emulator.drain()
    template = responses.get_invitation(code_of(invitation))
    assert template is not None

    # Given three answered invitations and, between them, one whose score is off the scale
    def answered(score: object) -> dict[str, Any]:
        from dataclasses import replace

        from functions.domain.codes import new_code

        now = clock.iso(clock.now())
        item = responses.invitation_to_item(replace(template, code=new_code()), None)
        item.update(
            score={"N": str(score)} if isinstance(score, int) else {"S": str(score)},
            first_answered_at={"S": now},
            answered_at={"S": now},
            rev={"N": "1"},
        )
        return item

    items = [answered(9), answered(42), answered(10), answered(0)]
    for item in items:
        client("dynamodb").put_item(TableName=table, Item=item)
    poison = items[1]["pk"]["S"]

    # When a poller with a 3-attempt budget drains that stream
    deliveries: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        deliveries.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]])
        return aggregator(event, context)

    poller = StreamPoller(
        emulator.poller.streams,
        arn,
        handler,
        region=REGION,
        max_attempts=3,
        on_failure=sqs_failure_sink(client("sqs"), queue),
    )
    assert poller.poll_once() == 4

    # Then the poison record was tried exactly 3 times, then sent to the failure queue
    assert sum(batch.count(poison) for batch in deliveries) == 3
    assert poller.failed_records == 1
    messages = client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in body["records"]] == [poison]
    assert body["error"] == "batchItemFailures"
    # And the three good answers count
    emulator.settle_scores()
    summary = scores(api, key, survey["id"])
    assert (summary["responses"], summary["promoter_count"], summary["detractor_count"]) == (3, 2, 1)
    # And the stream moved on: nothing is delivered again
    assert poller.poll_once() == 0


def test_verify_finds_a_corrupted_summary_and_rebuild_repairs_it(
    api: Api, emulator: Emulator, tenant: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.domain.scoring import Tally
    from functions.store import scores as score_store

    key = tenant["api_key"]
    survey = create_survey(api, key)
    rows = [{"customer_id": f"c{i}", "channel": "link"} for i in range(3)]
    answered(api, emulator, key, survey["id"], rows, [10, 9, 2])
    healthy = scores(api, key, survey["id"], segment="channel:link")
    assert verify_report(capsys, "--survey", survey["id"])[0] == 0

    # Given the channel:link tallies corrupted (one promoter lost): its day, month and total
    tenant_id, segment = tenant["tenant_id"], "channel:link"
    today = clock.now().date().isoformat()
    day = score_store.read_day_tally(tenant_id, survey["id"], segment, today)
    total = score_store.read_total(survey["id"], segment)
    (month,) = score_store.read_month_tallies(tenant_id, survey["id"], segment)
    assert day is not None and total is not None
    damaged = Tally.from_compact(total.total.to_compact())
    damaged.counts[10] = 0
    assert score_store.put_day_tally(tenant_id, survey["id"], segment, today, damaged, day.gen)
    assert score_store.put_rollup(tenant_id, survey["id"], segment, today[:7], damaged, month.gen)
    assert score_store.put_rollup(tenant_id, survey["id"], segment, None, damaged, total.gen)
    assert scores(api, key, survey["id"], segment="channel:link")["responses"] == 2

    # When verify runs, then it reports the drift per window, day and month, and exits non-zero
    code, report = verify_report(capsys, "--survey", survey["id"])
    assert code == 1
    assert {(d["segment"], d["window"]) for d in report["drift"] if "window" in d} == {
        ("channel:link", w) for w in ("7d", "30d", "90d", "365d", "all")
    }
    assert {d.get("day") or d.get("month") for d in report["drift"] if "window" not in d} == {
        today,
        today[:7],
    }
    assert report["drift"][0]["expected"]["c"] == {"2": 1, "9": 1, "10": 1}

    # When rebuild runs, then the scores are right again and verify is clean
    assert main(["rebuild", "--survey", survey["id"]]) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["summaries"] == 2  # all and channel:link: their month tallies and totals
    assert scores(api, key, survey["id"], segment="channel:link") | {"as_of": None} == healthy | {
        "as_of": None
    }
    assert verify_report(capsys, "--survey", survey["id"])[0] == 0


def test_trend_buckets_days_weeks_and_months_from_one_query(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import Counter

    from functions.store.clients import client

    key = tenant["api_key"]
    survey = create_survey(api, key)
    today = clock.now()
    # Given answers 9 days ago (9 and 3), yesterday (10) and today (sms: 6)
    for days_ago, channel, score in [(9, "email", 9), (9, "email", 3), (1, "email", 10), (0, "sms", 6)]:
        then = today - timedelta(days=days_ago)
        monkeypatch.setattr(clock, "now", lambda then=then: then)
        recipient = {"customer_id": "x", "channel": channel, "phone": "+15551230000"}
        invitation = invite(api, key, survey["id"], [recipient])[0]
        link = invitation["url"] if channel == "email" else invitation["short_url"]
        assert api.form(path_of(link), {"score": str(score)}).status_code == 303
    monkeypatch.setattr(clock, "now", lambda: today)
    emulator.drain()
    first, last = (today - timedelta(days=9)).date().isoformat(), today.date().isoformat()

    # When the daily trend is read
    calls: Counter[str] = Counter()

    def count(model: Any, **kwargs: Any) -> None:
        calls[model.name] += 1

    client("dynamodb").meta.events.register("before-call.dynamodb.*", count)
    try:
        daily = api.json("GET", f"/v1/surveys/{survey['id']}/trend?interval=day&from={first}&to={last}", key)
    finally:
        client("dynamodb").meta.events.unregister("before-call.dynamodb.*", count)

    # Then it has ten buckets, empty ones with null scores, and cost one batch read and one query
    assert calls == Counter({"BatchGetItem": 1, "Query": 1})
    assert (daily["interval"], daily["from"], daily["to"], daily["segment"]) == ("day", first, last, "all")
    buckets = daily["buckets"]
    assert buckets[0]["period"] == first and len(buckets) == 10
    assert [b["responses"] for b in buckets] == [2, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert (buckets[0]["nps"], buckets[0]["counts"]["9"], buckets[0]["invited"]) == (0.0, 1, 2)
    assert (buckets[1]["nps"], buckets[1]["margin_of_error"], buckets[1]["response_rate"]) == (
        None,
        None,
        None,
    )
    assert (buckets[8]["nps"], buckets[9]["nps"]) == (100.0, -100.0)

    # And weeks (ISO, from Monday) and months hold the same answers
    for interval in ("week", "month"):
        trend = api.json(
            "GET", f"/v1/surveys/{survey['id']}/trend?interval={interval}&from={first}&to={last}", key
        )
        assert sum(b["responses"] for b in trend["buckets"]) == 4
        assert trend["buckets"][0]["start"] == first and trend["buckets"][-1]["end"] == last
    weekly = api.json("GET", f"/v1/surveys/{survey['id']}/trend?interval=week&from={first}&to={last}", key)
    assert all(b["period"][4:6] == "-W" for b in weekly["buckets"])
    sms = api.json("GET", f"/v1/surveys/{survey['id']}/trend?from={first}&to={last}&segment=channel:sms", key)
    assert [b["responses"] for b in sms["buckets"]] == [0] * 9 + [1]
    assert len(api.json("GET", f"/v1/surveys/{survey['id']}/trend", key)["buckets"]) == 30


def test_breakdown_lists_one_summary_per_value_seen(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    rows = [
        {"customer_id": "a", "properties": {"plan": "pro"}},
        {"customer_id": "b", "properties": {"plan": "pro"}},
        {"customer_id": "c", "channel": "link", "properties": {"plan": "free"}},
        {"customer_id": "d", "properties": {"planet": "mars"}},
    ]
    answered(api, emulator, key, survey["id"], rows, [10, 7, 0, 9])

    by_plan = api.json("GET", f"/v1/surveys/{survey['id']}/breakdown?by=prop:plan&window=7d", key)
    assert (by_plan["by"], by_plan["window"], by_plan["folded"]) == ("prop:plan", "7d", False)
    assert [(s["segment"], s["responses"], s["nps"]) for s in by_plan["segments"]] == [
        ("prop:plan=pro", 2, 50.0),
        ("prop:plan=free", 1, -100.0),
    ]
    assert all(s["window"] == "7d" and "margin_of_error" in s for s in by_plan["segments"])
    by_channel = api.json("GET", f"/v1/surveys/{survey['id']}/breakdown?by=channel", key)
    assert [(s["segment"], s["responses"]) for s in by_channel["segments"]] == [
        ("channel:email", 3),
        ("channel:link", 1),
    ]
    assert api.json("GET", f"/v1/surveys/{survey['id']}/breakdown?by=touchpoint", key)["segments"] == []


def test_values_beyond_the_limit_fold_into_other_and_say_so(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    from functions.settings import get_settings

    limit = get_settings().segment_value_limit
    key = tenant["api_key"]
    survey = create_survey(api, key)
    # Given one more store than the limit, each with one answer
    rows = [{"customer_id": f"c{i}", "properties": {"store": f"s{i:03d}"}} for i in range(limit + 2)]
    answered(api, emulator, key, survey["id"], rows, [9] * (limit + 2))

    breakdown = api.json("GET", f"/v1/surveys/{survey['id']}/breakdown?by=prop:store&window=all", key)
    assert breakdown["folded"] is True
    assert len(breakdown["segments"]) == limit + 1
    other = breakdown["segments"][-1]
    assert (other["segment"], other["responses"], other["folded"]) == ("prop:store=__other__", 2, True)
    assert "note" in other
    assert sum(s["responses"] for s in breakdown["segments"]) == limit + 2
    # And asking for a folded value says where it is counted
    seen = {s["segment"] for s in breakdown["segments"]}
    folded = next(f"prop:store=s{i:03d}" for i in range(limit + 2) if f"prop:store=s{i:03d}" not in seen)
    view = scores(api, key, survey["id"], segment=folded)
    assert (view["responses"], view["folded_into"]) == (0, "prop:store=__other__")
    assert scores(api, key, survey["id"], segment="prop:store=__other__")["responses"] == 2


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("trend?interval=hour", "interval", "invalid_interval"),
        ("trend?from=2026-13-01", "from", "invalid_date"),
        ("trend?from=2026-11-05&to=2026-11-04", "from", "invalid_range"),
        ("trend?from=2020-01-01&to=2026-01-01", "to", "invalid_range"),
        ("trend?segment=plan", "segment", "invalid_segment"),
        ("breakdown?by=plan", "by", "invalid_breakdown"),
        ("breakdown?by=channel&window=2d", "window", "invalid_window"),
    ],
)
def test_bad_trend_and_breakdown_requests_are_400s_that_say_why(
    api: Api, emulator: Emulator, tenant: dict[str, str], query: str, field: str, code: str
) -> None:
    survey = create_survey(api, tenant["api_key"])
    response = api.call("GET", f"/v1/surveys/{survey['id']}/{query}", tenant["api_key"])
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert (error["field"], error["code"]) == (field, code) and error["message"]


def test_trend_and_breakdown_are_scoped_to_the_tenant_and_need_scores_read(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    from functions.domain.apikeys import parse_scopes
    from functions.logic.tenants import create_key, create_tenant

    survey = create_survey(api, tenant["api_key"])
    other = create_tenant("Other")
    writer = create_key(tenant["tenant_id"], parse_scopes("surveys:write"))
    for path in ("trend", "breakdown?by=channel", "scores"):
        url = f"/v1/surveys/{survey['id']}/{path}"
        assert api.call("GET", url, other["api_key"]).status_code == 404
        assert api.call("GET", url, writer["api_key"]).status_code == 403
        assert api.call("GET", url).status_code == 401
        assert api.call("GET", f"/v1/surveys/srv_{'x' * 300}/{path}", tenant["api_key"]).status_code == 404
