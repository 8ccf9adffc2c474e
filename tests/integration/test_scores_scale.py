"""Scores at scale (docs/scale.md): a 12-attribute CSI survey with a year of answers keeps
scoring, and no item the aggregator writes to the scores table grows past 4 KB.

In the older layout one summary item per (survey, segment) held a year of day tallies: for a
12-attribute CSI survey it passed DynamoDB's 400 KB item limit after months, and from then on
every batch for the survey failed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, summarize
from functions.domain.windows import WINDOWS
from functions.logic import clock
from functions.logic.rebuild import verify
from functions.store import scores as score_store
from tests.integration.aws_in_process import InProcessStack, in_process_aws
from tests.integration.scores_model import SurveyWorld, expected_tallies, window_of
from tests.integration.test_scores_properties import window_of_summary

pytestmark = pytest.mark.integration

LIMIT_BYTES = 4096
# Twelve attributes with keys of a realistic length (16-20 characters)
ATTRIBUTES = [
    "delivery_speed", "product_quality", "price_for_value", "staff_friendliness",
    "website_usability", "checkout_process", "packaging_quality", "return_process",
    "support_response", "product_range", "order_accuracy", "communication_tone",
]  # fmt: skip
BATCH = 80  # the deployed stream batch size (infra/template.py)


@dataclass
class CsiWorld(SurveyWorld):
    @property
    def page(self) -> dict[str, Any]:
        return {**super().page, "attributes": [{"key": k, "label": k.title()} for k in ATTRIBUTES]}


class ItemSizes:
    """The size of every scores-table item written (botocore hook): whole items as sent
    (PutItem, Put in a transaction); updated items read back after, as stored."""

    def __init__(self, dynamodb: Any) -> None:
        self.largest_sent: dict[str, int] = {}
        self.updated: set[tuple[str, str]] = set()
        dynamodb.meta.events.register("before-parameter-build.dynamodb.*", self._note)

    def _note(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        for key, item in score_store.written_items(model.name, params):
            kind = str(key["pk"]["S"]).split("#", 1)[0]
            if kind not in score_store.KINDS:
                continue  # another table's item (a response)
            if item is None:
                self.updated.add((key["pk"]["S"], key["sk"]["S"]))
            else:
                self.largest_sent[kind] = max(self.largest_sent.get(kind, 0), score_store.item_size(item))

    def largest_stored(self, dynamodb: Any, table: str) -> dict[str, int]:
        out: dict[str, int] = {}
        keys = sorted(self.updated)
        for start in range(0, len(keys), 100):
            request = {
                table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + 100]]}
            }
            while request:
                found = dynamodb.batch_get_item(RequestItems=request)
                for item in found["Responses"].get(table, []):
                    kind = item["pk"]["S"].split("#", 1)[0]
                    out[kind] = max(out.get(kind, 0), score_store.item_size(item))
                request = found.get("UnprocessedKeys") or {}
        return out


@pytest.fixture
def stack() -> Iterator[InProcessStack]:
    with in_process_aws() as created:
        yield created


def test_a_12_attribute_csi_survey_with_a_year_of_answers_keeps_scoring_in_small_items(
    stack: InProcessStack,
) -> None:
    from functions.store.clients import client

    rng = random.Random(22)
    dynamodb = client("dynamodb")
    sizes = ItemSizes(dynamodb)

    # Given a 12-attribute CSI survey answered every day for a year (and a day), in 4 segments
    world = CsiWorld(kind="csi")
    days = 366
    world.invite(
        [
            (rng.choice(["email", "sms"]), "delivery", {"plan": rng.choice(["free", "pro"])}, d)
            for d in range(days)
        ]
    )
    for i in range(len(world.customers)):
        world.answer(i, rng.randint(1, 10), 0, {key: rng.randint(1, 10) for key in ATTRIBUTES})

    # When its stream reaches the aggregator in deployed-size batches
    records = stack.new_records()
    for start in range(0, len(records), BATCH):
        response = stack.aggregate(records[start : start + BATCH])
        assert response == {"batchItemFailures": []}

    # Then every window of every segment equals a recomputation from the model
    expected = expected_tallies(world, score_store.read_segment_index(world.survey_id))
    totals = {s.segment: s for s in score_store.query_summaries(world.survey_id)}
    assert set(totals) == set(expected)
    for segment, by_day in expected.items():
        for window in WINDOWS:
            stored = window_of_summary(world.survey_id, totals[segment], window)
            assert stored.to_compact() == window_of(by_day, window, clock.now()), (segment, window)
    assert verify(world.survey_id)["drift"] == []

    # And the year scores as CSI, every attribute with a mean
    weights = tuple(AttributeWeight(key, 1.0) for key in ATTRIBUTES)
    year = summarize(Kind.CSI, window_of_summary(world.survey_id, totals["all"], "365d"), weights)
    assert year["responses"] == 365 and year["csi"] is not None
    assert len(year["attributes"]) == 12 and all(a["mean"] is not None for a in year["attributes"])

    # And no item written to the scores table is over 4 KB, as sent or as stored
    stored_sizes = sizes.largest_stored(dynamodb, stack.names["HARK_SCORES_TABLE"])
    assert set(stored_sizes) >= {"D", "M", "T"} and set(sizes.largest_sent) >= {"L"}
    largest = max([*stored_sizes.values(), *sizes.largest_sent.values()])
    print("largest items (bytes):", stored_sizes, sizes.largest_sent)
    assert largest <= LIMIT_BYTES, (stored_sizes, sizes.largest_sent)
    # (the month tallies and totals, which hold every rating point of every attribute, are the largest)
    assert stored_sizes["T"] > 1500, stored_sizes


def test_rebuild_moves_a_survey_of_the_older_layout_to_months_and_totals(stack: InProcessStack) -> None:
    from functions.logic.rebuild import rebuild
    from functions.store.clients import client

    # Given a survey scored in the older layout: day tallies and one summary item per segment,
    # no month tallies and no totals
    world = SurveyWorld()
    world.invite([("email", None, {}, 3), ("sms", None, {}, 40)])
    world.answer(0, 10, 0, {})
    world.answer(1, 4, 0, {})
    assert stack.aggregate(stack.new_records()) == {"batchItemFailures": []}
    dynamodb, table = client("dynamodb"), stack.names["HARK_SCORES_TABLE"]
    segments = sorted(s.segment for s in score_store.query_summaries(world.survey_id))
    for segment in segments:
        dynamodb.delete_item(TableName=table, Key=score_store.total_key(world.survey_id, segment))
        for month in score_store.read_month_tallies(world.tenant_id, world.survey_id, segment):
            key = {
                "pk": {"S": score_store.month_pk(world.tenant_id, world.survey_id, segment)},
                "sk": {"S": month.day},
            }
            dynamodb.delete_item(TableName=table, Key=key)
        old = {
            "pk": {"S": f"SUM#{world.survey_id}"},
            "sk": {"S": segment},
            "days": {"S": "{}"},
            "gen": {"N": "1"},
        }
        dynamodb.put_item(TableName=table, Item=old)
    before = verify(world.survey_id)
    assert before["legacy_summaries"] == len(segments) == 3 and before["drift"]

    # When it is rebuilt
    report = rebuild(world.survey_id)

    # Then the old summaries are gone, every segment has its total and months, and scores are right
    assert report["legacy_summaries_deleted"] == 3
    after = verify(world.survey_id)
    assert after["drift"] == [] and after["legacy_summaries"] == 0
    total = score_store.get_summary(world.survey_id, "all")
    assert window_of_summary(world.survey_id, total, "all").counts == {10: 1, 4: 1}
    assert window_of_summary(world.survey_id, total, "30d").counts == {10: 1}
