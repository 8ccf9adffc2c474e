"""Logs carry correlation ids and never a secret or a customer's contact details; metrics count."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import SIGNING_KEYS, Api, Emulator, path_of

pytestmark = pytest.mark.integration

EMAIL, PHONE, COMMENT = "ada.lovelace@example.com", "+15555550123", "my courier was rude"


def answer_flow(api: Api, emulator: Emulator, key: str) -> list[str]:
    """Survey, an email and an SMS invitation, a detractor's answer with a comment; the links."""
    survey = api.json(
        "POST", "/v1/surveys", key, {"name": "Obs", "kind": "nps", "question": "Recommend?"}, 201
    )
    body = {
        "recipients": [
            {"customer_id": "c-email", "channel": "email", "email": EMAIL},
            {"customer_id": "c-sms", "channel": "sms", "phone": PHONE},
        ]
    }
    email, sms = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, 201)["invitations"]
    assert api.form(path_of(email["url"]), {"score": "3", "comment": COMMENT}).status_code == 303
    emulator.drain()
    return [email["url"], sms["short_url"]]


class Lines(logging.Handler):
    """The JSON lines Powertools writes, formatted as they are emitted (with that moment's keys)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_logs_are_structured_correlated_and_free_of_secrets_and_contact_details(
    api: Api, emulator: Emulator, tenant: dict, caplog: pytest.LogCaptureFixture
) -> None:
    from functions import telemetry

    # Everything Hark logs, at any level, and the libraries at INFO (prod's level; botocore's
    # DEBUG dumps request bodies and is never on in a deployed stage)
    hark = logging.getLogger("hark")
    captured = Lines(telemetry.logger().registered_formatter)
    hark.addHandler(captured)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="hark")
    try:
        links = answer_flow(api, emulator, tenant["api_key"])
    finally:
        hark.removeHandler(captured)

    lines = captured.lines
    text = "\n".join(lines + [r.getMessage() for r in caplog.records])
    secrets = [tenant["api_key"], *(k.split(":")[1] for k in SIGNING_KEYS.split(","))]
    tokens = [link.rsplit("/", 1)[1] for link in links]
    for forbidden in [EMAIL, PHONE, COMMENT, *secrets, *tokens]:
        assert forbidden not in text
    requests = [json.loads(line) for line in lines if line.startswith("{") and '"request"' in line]
    answer = next(r for r in requests if r["route"] == "/r/{token}" and r["method"] == "POST")
    assert answer["status"] == 303 and answer["correlation_id"] and answer["service"] == "hark"
    assert len({r["correlation_id"] for r in requests}) == len(requests)  # one id per request
    batches = [json.loads(line) for line in lines if '"stream batch"' in line]
    assert batches and all(b["correlation_id"] for b in batches)


def test_metrics_count_answers_and_detractors_and_measure_aggregator_lag(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import telemetry

    # What each invocation publishes (the dev stage turns printing off; the set is the same)
    published: list[dict] = []
    metrics = telemetry.metrics()

    def capture(raise_on_empty_metrics: bool = False) -> None:
        published.append(metrics.serialize_metric_set())
        metrics.clear_metrics()

    monkeypatch.setattr(metrics, "flush_metrics", capture)

    answer_flow(api, emulator, tenant["api_key"])

    totals: dict[str, float] = {}
    for blob in published:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Hark"
        assert blob["stage"] == "dev" and blob["service"] == "hark"
        for metric in directive["Metrics"]:
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                sum(value) if isinstance(value, list) else value
            )
    assert totals["AnswersRecorded"] == 1
    assert totals["Detractors"] == 1
    assert totals["AggregatorLag"] >= 0
