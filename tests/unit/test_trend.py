"""Trend buckets: day tallies summed per day, ISO week or month, gaps kept."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind
from functions.domain.scoring import Tally
from functions.domain.trend import bucket_start, bucket_tallies, headline, next_bucket, parse_interval

pytestmark = pytest.mark.unit


def tally(**counts: int) -> Tally:
    return Tally(counts={int(k[1:]): v for k, v in counts.items()})


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    sunday = date(2024, 3, 10)
    assert bucket_start(sunday, "week") == date(2024, 3, 4)
    assert bucket_start(sunday, "month") == date(2024, 3, 1)
    assert bucket_start(sunday, "day") == sunday
    assert next_bucket(date(2024, 12, 1), "month") == date(2025, 1, 1)
    assert next_bucket(date(2024, 3, 4), "week") == date(2024, 3, 11)


def test_days_are_summed_per_week_and_empty_weeks_stay() -> None:
    days = [("2024-03-04", tally(s10=2)), ("2024-03-10", tally(s0=1)), ("2024-03-20", tally(s9=1))]
    buckets = bucket_tallies(days, "week", date(2024, 3, 4), date(2024, 3, 24))
    assert [b.start.isoformat() for b in buckets] == ["2024-03-04", "2024-03-11", "2024-03-18"]
    assert [b.tally.counts for b in buckets] == [{10: 2, 0: 1}, {}, {9: 1}]
    assert [headline(Kind.NPS, b.tally) for b in buckets] == [33.3, None, 100.0]


def test_days_outside_the_range_are_left_out() -> None:
    days = [("2024-01-31", tally(s10=5)), ("2024-02-01", tally(s1=1)), ("2024-03-01", tally(s10=1))]
    (february,) = bucket_tallies(days, "month", date(2024, 2, 1), date(2024, 2, 29))
    assert february.tally.counts == {1: 1}


def test_headline_scores_by_kind() -> None:
    assert headline(Kind.CSAT, tally(s5=3, s1=1)) == 75.0
    assert headline(Kind.CES, tally(s7=1, s4=1)) == 50.0


def test_unknown_intervals_are_refused() -> None:
    assert parse_interval(None) == "day"
    with pytest.raises(InvalidInput):
        parse_interval("year")


@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 10)), max_size=60),
    st.sampled_from(["day", "week", "month"]),
)
def test_bucketing_keeps_every_answer_in_range(answers: list[tuple[int, int]], interval: str) -> None:
    first = date(2024, 1, 1)
    last = first + timedelta(days=365)
    days: dict[str, Tally] = {}
    for offset, score in answers:
        days.setdefault((first + timedelta(days=offset)).isoformat(), Tally()).add_answer(score)
    buckets = bucket_tallies(days.items(), interval, first, last)
    inside = sum(1 for offset, _ in answers if offset <= 365)
    assert sum(b.tally.responses for b in buckets) == inside
    assert [b.start for b in buckets] == sorted({b.start for b in buckets})
    assert all(bucket_start(b.start, interval) == b.start for b in buckets)
