"""What the aggregator counts as a new detractor, and how it measures its lag."""

from __future__ import annotations

import pytest

from functions.aggregator.handler import became_detractor
from functions.telemetry import oldest_record_age_ms

pytestmark = pytest.mark.unit


def image(score: int | None, kind: str = "nps") -> dict:
    out: dict = {"page": {"M": {"kind": {"S": kind}}}}
    if score is not None:
        out["score"] = {"N": str(score)}
    return out


@pytest.mark.parametrize(
    ("old", "new", "counted"),
    [
        (image(None), image(3), True),  # a first answer of 3
        (image(9), image(6), True),  # a promoter changed their mind
        (image(3), image(2), False),  # still a detractor: not a new one
        (image(3), image(9), False),
        (None, image(None), False),  # a new invitation
        (image(None, "csat"), image(2, "csat"), False),  # detractors are an NPS notion
    ],
)
def test_a_detractor_is_counted_when_an_answer_becomes_one(
    old: dict | None, new: dict, counted: bool
) -> None:
    body = {"NewImage": new, **({"OldImage": old} if old else {})}
    assert became_detractor({"eventName": "MODIFY", "dynamodb": body}) is counted


def test_lag_is_the_age_of_the_oldest_record() -> None:
    records = [{"dynamodb": {"ApproximateCreationDateTime": t}} for t in (100.0, 98.5, 99.0)]
    assert oldest_record_age_ms(records, now=100.0) == 1500.0
    assert oldest_record_age_ms([], now=100.0) is None
