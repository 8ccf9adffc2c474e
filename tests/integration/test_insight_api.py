"""Compare, trend uncertainty and roll-up through the API and the real stream (docs/insight.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from functions.domain import significance as sig
from functions.domain.kinds import Kind
from functions.domain.scoring import Tally
from functions.logic import clock
from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "How likely are you to recommend us?"}
CSAT = {"name": "Support", "kind": "csat", "question": "How satisfied were you?"}


def create_survey(api: Api, key: str, fields: dict[str, Any] = NPS) -> str:
    return str(api.json("POST", "/v1/surveys", key, fields, expect=201)["id"])


def answer_all(
    api: Api,
    key: str,
    survey_id: str,
    scores: list[int],
    monkeypatch: pytest.MonkeyPatch,
    when: datetime | None = None,
    channel: str = "email",
) -> None:
    """Invite one customer per score (at `when`) and record each score from their link."""
    moment = when or clock.now()
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: moment)
    try:
        recipients = [
            {
                "customer_id": f"{survey_id}-{channel}-{moment:%Y%m%d}-{i}",
                "channel": channel,
                "phone": "+15551230000",
            }
            for i in range(len(scores))
        ]
        out = api.json(
            "POST", f"/v1/surveys/{survey_id}/invitations", key, {"recipients": recipients}, expect=201
        )
        assert out["errors"] == [] and out["skipped"] == []
        for invitation, score in zip(out["invitations"], scores, strict=True):
            link = invitation["short_url"] if channel == "sms" else invitation["url"]
            assert api.form(path_of(link), {"score": str(score)}).status_code == 303
    finally:
        monkeypatch.setattr(clock, "now", real_now)


@contextmanager
def dynamodb_calls() -> Iterator[Counter[str]]:
    from functions.store.clients import client

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb.*", count)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb.*", count)


def tally_of(scores: list[int]) -> Tally:
    tally = Tally()
    for score in scores:
        tally.add_answer(score)
    return tally


def error_of(api: Api, path: str, key: str, status: int) -> dict[str, Any]:
    body = api.json("GET", path, key, expect=status)
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return dict(body["error"])


# ---- compare ----------------------------------------------------------------------------------


def test_compare_a_rolling_window_with_last_month_in_one_read(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey_id = create_survey(api, key)
    today = clock.now()
    # Given 12 answers 40 days ago (NPS -25) and 12 today (NPS 41.7)
    before = [10, 9, 8, 7, 6, 5, 4, 3, 2, 10, 6, 7]
    after = [10, 10, 9, 9, 9, 10, 8, 7, 6, 3, 10, 8]
    answer_all(api, key, survey_id, before, monkeypatch, today - timedelta(days=40))
    answer_all(api, key, survey_id, after, monkeypatch)
    emulator.drain()
    old = f"{(today - timedelta(days=45)).date()}..{(today - timedelta(days=31)).date()}"

    # When the last 30 days are compared with a window of explicit dates inside the last year
    with dynamodb_calls() as calls:
        body = api.json("GET", f"/v1/surveys/{survey_id}/compare?a=30d&b={old}", key)

    # Then the key, the survey and the total came in one request, both windows' day and month
    # tallies in a second (docs/scale.md)
    assert calls == Counter({"BatchGetItem": 2})
    assert (body["a"]["window"], body["a"]["responses"], body["a"]["nps"]) == ("30d", 12, 41.7)
    assert (body["b"]["window"], body["b"]["responses"], body["b"]["nps"]) == (old, 12, -25.0)
    expected = sig.compare_tallies(Kind.NPS, tally_of(after), tally_of(before))[0].view()
    assert body["metric"] == "nps" and body["test"] == "adjusted_wald_z"
    assert body["difference"] == 66.7 == expected["difference"]
    assert body["confidence_interval"] == expected["confidence_interval"]
    assert body["p_value"] == pytest.approx(expected["p_value"])
    assert body["significant"] is True
    assert body["comparisons"][0]["metric"] == "nps"

    # And a date window more than a year back costs the same: its tallies are read by key
    answer_all(api, key, survey_id, [10, 0], monkeypatch, today - timedelta(days=400))
    emulator.drain()
    ancient = f"{(today - timedelta(days=401)).date()}..{(today - timedelta(days=399)).date()}"
    with dynamodb_calls() as calls:
        body = api.json("GET", f"/v1/surveys/{survey_id}/compare?a=30d&b={ancient}", key)
    assert calls == Counter({"BatchGetItem": 2})
    assert (body["b"]["responses"], body["b"]["nps"], body["b"]["counts"]["0"]) == (2, 0.0, 1)


def test_compare_two_channels_in_one_read(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey_id = create_survey(api, key, CSAT)
    email, sms = [5, 5, 4, 4, 4, 3, 5, 2], [3, 2, 1, 4, 2, 3]
    answer_all(api, key, survey_id, email, monkeypatch)
    answer_all(api, key, survey_id, sms, monkeypatch, channel="sms")
    emulator.drain()

    with dynamodb_calls() as calls:
        body = api.json(
            "GET",
            f"/v1/surveys/{survey_id}/compare?a_segment=channel:email&b_segment=channel:sms&window=7d",
            key,
        )

    assert calls == Counter({"BatchGetItem": 2})  # the totals, then both windows' tallies
    assert (body["a"]["segment"], body["a"]["responses"], body["a"]["csat"]) == ("channel:email", 8, 75.0)
    assert (body["b"]["segment"], body["b"]["responses"], body["b"]["window"]) == ("channel:sms", 6, "7d")
    share, mean = body["comparisons"]
    assert (share["metric"], share["test"], share["difference"]) == ("csat", "two_proportion_z", 58.3)
    expected = sig.compare_means(
        "mean", sig.moments(tally_of(email).counts), sig.moments(tally_of(sms).counts)
    )
    assert (mean["metric"], mean["test"]) == ("mean", "welch_t")
    assert mean["p_value"] == pytest.approx(expected.p_value)
    assert mean["df"] == round(expected.df or 0, 1)
    assert body["difference"] == share["difference"] and body["p_value"] == share["p_value"]


def test_compare_refuses_what_it_cannot_compare(api: Api, emulator: Emulator, tenant: dict[str, str]) -> None:
    from functions.logic.tenants import create_tenant

    key = tenant["api_key"]
    survey_id = create_survey(api, key)
    base = f"/v1/surveys/{survey_id}/compare"
    cases = {
        "?a=30d&b=7d": ("overlapping_windows", "b"),
        "?a=30d&b=2026-10-01..2026-10-32": ("invalid_window", "b"),
        "?a=31d&b=2020-01-01..2020-01-31": ("invalid_window", "a"),
        "?a=30d": ("invalid_window", "b"),
        "?a=30d&b=2020-01-01..2020-01-31&a_segment=channel:sms&b_segment=channel:email": (
            "invalid_comparison",
            "a",
        ),
        "?a_segment=all&b_segment=channel:sms": ("overlapping_segments", "b_segment"),
        "?a_segment=channel:sms&b_segment=channel:sms": ("same_segment", "b_segment"),
        "?a_segment=channel:sms&b_segment=channel:email&window=tomorrow": ("invalid_window", "window"),
    }
    for query, (code, field) in cases.items():
        assert error_of(api, base + query, key, 422) | {"message": ""} == {
            "code": code,
            "field": field,
            "message": "",
        }
    # Another tenant's survey is not found; no key is 401
    other = create_tenant("Other")["api_key"]
    assert error_of(api, base + "?a=30d&b=2020-01-01..2020-01-31", other, 404)["code"] == "not_found"
    assert api.call("GET", base + "?a=30d&b=2020-01-01..2020-01-31").status_code == 401


# ---- trend ------------------------------------------------------------------------------------


def test_trend_points_carry_their_margin_and_flag_significant_changes(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey_id = create_survey(api, key)
    today = clock.now()
    # Given detractors two days ago, the same yesterday, and promoters today
    answer_all(api, key, survey_id, [0, 1, 2, 3, 9, 5, 6, 2], monkeypatch, today - timedelta(days=2))
    answer_all(api, key, survey_id, [0, 1, 2, 3, 9, 5, 6, 10], monkeypatch, today - timedelta(days=1))
    answer_all(api, key, survey_id, [10, 10, 9, 9, 10, 9, 10, 9], monkeypatch)
    emulator.drain()
    first = (today - timedelta(days=3)).date().isoformat()
    trend = api.json("GET", f"/v1/surveys/{survey_id}/trend?from={first}&to={today.date()}", key)
    buckets = trend["buckets"]
    assert [b["significant_change"] for b in buckets] == [None, None, False, True]
    assert buckets[0]["margin_of_error"] is None
    assert buckets[3]["margin_of_error"] > 0
    summary_like = sig.margin_of_error(Kind.NPS, tally_of([0, 1, 2, 3, 9, 5, 6, 10]))
    assert buckets[2]["margin_of_error"] == summary_like


# ---- roll-up ----------------------------------------------------------------------------------


def test_a_roll_up_of_three_surveys_equals_one_survey_with_all_their_answers(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    answers = [[10, 9, 3, 7], [0, 6, 6, 9, 10, 10], [8, 8, 2]]
    surveys = [create_survey(api, key, {**NPS, "name": f"Store {i}"}) for i in range(3)]
    combined = create_survey(api, key, {**NPS, "name": "Every store"})
    for survey_id, scores in zip(surveys, answers, strict=True):
        answer_all(api, key, survey_id, scores, monkeypatch)
        answer_all(api, key, survey_id, [9], monkeypatch, channel="sms")
    answer_all(api, key, combined, [s for scores in answers for s in scores], monkeypatch)
    answer_all(api, key, combined, [9, 9, 9], monkeypatch, channel="sms")
    emulator.drain()

    for segment in ("all", "channel:email"):
        with dynamodb_calls() as calls:
            rolled = api.json(
                "GET", f"/v1/scores?survey_ids={','.join(surveys)}&window=30d&segment={segment}", key
            )
        single = api.json("GET", f"/v1/surveys/{combined}/scores?window=30d&segment={segment}", key)
        # the key, surveys and totals; then the three surveys' 30-day tallies
        assert calls == Counter({"BatchGetItem": 2})
        ignore = {"survey_id", "survey_ids", "surveys", "as_of"}
        assert {k: v for k, v in rolled.items() if k not in ignore} == {
            k: v for k, v in single.items() if k not in ignore
        }
        assert rolled["survey_ids"] == surveys
        extra = 1 if segment == "all" else 0
        assert [s["responses"] for s in rolled["surveys"]] == [len(a) + extra for a in answers]
    assert rolled["nps"] == single["nps"] and rolled["responses"] == 13


def test_a_roll_up_of_100_surveys_packs_their_tallies_behind_the_surveys(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    surveys = [create_survey(api, key, {**NPS, "name": f"Store {i}"}) for i in range(100)]
    answer_all(api, key, surveys[0], [10, 9], monkeypatch)
    answer_all(api, key, surveys[99], [3], monkeypatch)
    emulator.drain()
    ids = ",".join(surveys)

    # All time: the key, 100 surveys and 100 totals are 201 keys, 100 per BatchGetItem
    with dynamodb_calls() as calls:
        rolled = api.json("GET", f"/v1/scores?survey_ids={ids}&window=all", key)
    assert calls == Counter({"BatchGetItem": 3})
    assert (rolled["responses"], rolled["nps"]) == (3, 33.3)

    # A window: the tallies of the surveys with answers ride in the requests' spare room
    # instead of a request of their own
    with dynamodb_calls() as calls:
        rolled = api.json("GET", f"/v1/scores?survey_ids={ids}&window=30d", key)
    assert calls == Counter({"BatchGetItem": 3})
    assert (rolled["responses"], rolled["nps"]) == (3, 33.3)
    assert [s["responses"] for s in rolled["surveys"]][::99] == [2, 1]

    # And a key that is not found costs one request, whatever the list
    with dynamodb_calls() as calls:
        assert api.call("GET", f"/v1/scores?survey_ids={ids}", "hk_live_" + "x" * 32).status_code == 401
    assert calls == Counter({"BatchGetItem": 1})


def test_a_roll_up_refuses_mixed_kinds_other_tenants_and_duplicates(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    from functions.logic.tenants import create_tenant

    key = tenant["api_key"]
    nps, csat = create_survey(api, key), create_survey(api, key, CSAT)
    assert error_of(api, f"/v1/scores?survey_ids={nps},{csat}", key, 422)["code"] == "mixed_kinds"
    assert error_of(api, f"/v1/scores?survey_ids={nps},{nps}", key, 422)["field"] == "survey_ids"
    assert error_of(api, "/v1/scores", key, 422)["field"] == "survey_ids"
    assert error_of(api, f"/v1/scores?survey_ids={nps}&window=3d", key, 400)["field"] == "window"
    other_key = create_tenant("Other")["api_key"]
    theirs = create_survey(api, other_key)
    assert error_of(api, f"/v1/scores?survey_ids={nps},{theirs}", key, 404)["code"] == "not_found"
    assert error_of(api, f"/v1/scores?survey_ids={nps},no%20such", key, 404)["code"] == "not_found"
    assert api.call("GET", f"/v1/scores?survey_ids={nps}").status_code == 401
    # CSI surveys roll up only with the same attributes
    csi = {
        "kind": "csi",
        "question": "Overall?",
        "attributes": [{"key": "staff", "label": "Staff", "weight": 1}],
    }
    one = create_survey(api, key, {**csi, "name": "A"})
    same = create_survey(api, key, {**csi, "name": "B"})
    assert api.json("GET", f"/v1/scores?survey_ids={one},{same}", key)["kind"] == "csi"
    heavier = {**csi, "name": "C", "attributes": [{"key": "staff", "label": "Staff", "weight": 2}]}
    differs = create_survey(api, key, heavier)
    assert error_of(api, f"/v1/scores?survey_ids={one},{differs}", key, 422)["code"] == "different_attributes"


# ---- score reads from totals, month and day tallies (docs/scale.md) ---------------------------


def test_a_score_read_costs_one_request_for_all_time_and_two_for_a_window(
    api: Api, emulator: Emulator, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tenant["api_key"]
    survey_id = create_survey(api, key)
    today = clock.now()
    # Given answers today, 40 days ago, 200 days ago and 400 days ago
    for days_ago, scores in ((0, [10, 9]), (40, [3]), (200, [8, 0]), (400, [10])):
        answer_all(api, key, survey_id, scores, monkeypatch, today - timedelta(days=days_ago))
    emulator.drain()

    # When each window is read, then `all` is one request (the total) and the others two
    expected = {"7d": 2, "30d": 2, "90d": 3, "365d": 5, "all": 6}
    for window, responses in expected.items():
        with dynamodb_calls() as calls:
            body = api.json("GET", f"/v1/surveys/{survey_id}/scores?window={window}", key)
        assert calls == Counter({"BatchGetItem": 1 if window == "all" else 2}), window
        assert body["responses"] == responses, window
