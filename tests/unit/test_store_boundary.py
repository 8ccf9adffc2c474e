"""The store boundary (docs/architecture.md, "Store boundary"): one codec for start keys, one
stream-image decoder, and the score bands in their one home."""

from __future__ import annotations

from typing import Any

import pytest

from functions.domain import charts, webhooks
from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind, is_low, nps_groups, scale_points
from functions.domain.tokens import SigningKeys
from functions.store import cursors, streams
from functions.store.items import to_item

pytestmark = pytest.mark.unit

KEYS = SigningKeys.parse("k1:" + "a" * 40)
TENANT, ROUTE = "ten_AAAAAAAAAAAA", "GET /v1/surveys"
FIELDS = ("pk", "sk")


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cursors, "signing_keys", lambda: KEYS)


def test_a_start_key_round_trips_through_its_cursor() -> None:
    key = {"pk": {"S": "SURVEY#1"}, "sk": {"S": "SURVEY"}}
    text = cursors.seal_start(key, tenant_id=TENANT, route=ROUTE)
    assert text is not None and "SURVEY" not in text
    assert cursors.open_start(text, tenant_id=TENANT, route=ROUTE, fields=FIELDS) == key
    assert cursors.seal_start(None, tenant_id=TENANT, route=ROUTE) is None
    assert cursors.open_start(None, tenant_id=TENANT, route=ROUTE, fields=FIELDS) is None


def test_a_plain_position_opens_as_a_start_key_and_pinned_values_must_match() -> None:
    text = cursors.seal({"pk": "P#1", "sk": "x"}, tenant_id=TENANT, route=ROUTE)
    opened = cursors.open_start(
        text, tenant_id=TENANT, route=ROUTE, fields=FIELDS, plain=True, pinned={"pk": "P#1"}
    )
    assert opened == {"pk": {"S": "P#1"}, "sk": {"S": "x"}}
    with pytest.raises(InvalidInput) as caught:
        cursors.open_start(
            text,
            tenant_id=TENANT,
            route=ROUTE,
            fields=FIELDS,
            plain=True,
            pinned={"pk": "P#2"},
            field="page_info",
        )
    assert (caught.value.code, caught.value.field) == ("invalid_cursor", "page_info")


@pytest.mark.parametrize(
    "position",
    [
        7,
        "text",
        [],
        {},
        {"pk": {"S": "a"}},
        {"pk": {"S": "a"}, "sk": {"S": "b"}, "extra": {"S": "c"}},
        {"pk": {"S": "a"}, "sk": {"N": "1"}},
        {"pk": {"S": "a"}, "sk": "b"},
        {"pk": {"S": 1}, "sk": {"S": "b"}},
    ],
)
def test_a_sealed_value_that_is_not_such_a_start_key_is_the_one_400(position: Any) -> None:
    text = cursors.seal(position, tenant_id=TENANT, route=ROUTE)
    with pytest.raises(InvalidInput) as caught:
        cursors.open_start(text, tenant_id=TENANT, route=ROUTE, fields=FIELDS)
    assert caught.value.code == "invalid_cursor"


def test_stream_images_are_decoded_to_plain_values() -> None:
    new = {"pk": "AbCdEfGhIj", "score": 3, "page": {"kind": "nps"}}
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": to_item(new)}}
    assert streams.images(record) == (None, new)
    assert streams.new_image(record) == new
    assert streams.old_image(record) is None
    assert streams.new_image({"eventName": "REMOVE"}) is None
    with pytest.raises(KeyError):
        streams.images({"eventName": "INSERT"})


@pytest.mark.parametrize("kind", list(Kind))
def test_every_reader_of_the_low_band_agrees(kind: Kind) -> None:
    for score in scale_points(kind):
        low = is_low(kind, score)
        assert webhooks.is_low(kind, score) == low
        assert charts.is_detractor(kind, score) == low
        assert (charts.tone(kind, score) == "low") == low


def test_nps_groups_cut_at_six_and_nine() -> None:
    counts = {score: 1 for score in range(11)}
    assert nps_groups(counts) == (2, 7, 11)


def test_the_webhook_event_names_have_one_home() -> None:
    from typing import get_args

    from functions.api import models
    from functions.api.openapi import build_document
    from functions.domain.event_names import EVENTS

    assert get_args(models.Event) == EVENTS  # what a subscription may name
    operation = build_document()["paths"]["/v1/webhooks"]["post"]
    assert all(name in operation["description"] for name in EVENTS)


def test_the_survey_has_one_plain_shape_that_the_api_answers_and_the_store_round_trips() -> None:
    import dataclasses

    from functions.domain.survey import Attribute, Brand, Survey
    from functions.logic.surveys import survey_view
    from functions.store.core import survey_from_item, survey_to_item

    base = Survey(
        id="srv_1",
        tenant_id=TENANT,
        name="n",
        kind=Kind.CSI,
        question="q?",
        follow_up_question=None,
        attributes=(Attribute("speed", "Speed", 2.0),),
        brand=Brand("Shop", "#112233"),
        cooldown_days=0,
        status="active",
        created_at="2026-12-01T00:00:00Z",
    )
    for survey in (
        base,
        dataclasses.replace(base, translations={"fr": {"question": "q ?"}}, reminder_after_days=3),
    ):
        assert survey_view(survey) == survey.plain()
        assert survey_from_item(survey_to_item(survey)) == survey
    assert "translations" not in survey_to_item(base) and "questions" not in survey_to_item(base)
    # imported history keeps its rule switched off
    assert base.public_view(opens_follow_ups=False)["fu"] == {**base.public_view()["fu"], "on": False}


def test_answers_are_recorded_through_one_use_case() -> None:
    """The store's write, the clock and the metric are put together once
    (functions/logic/answers.py, record_answer); every channel calls that."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    callers = {
        path.relative_to(root).as_posix()
        for path in (root / "functions").rglob("*.py")
        if re.search(r"\b(responses|response_store)\.record_answer\(", path.read_text())
    }
    assert callers == {"functions/logic/answers.py"}
