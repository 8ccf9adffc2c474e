"""Trend buckets: ISO weeks from Monday, calendar months, every bucket present, dates validated."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.errors import InvalidInput
from functions.domain.scoring import Tally
from functions.domain.trend import TrendRange, bucket_tallies, buckets, parse_range

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 23)  # a Monday


def spans(rows: list) -> list[tuple[str, str, str]]:
    return [(b.period, b.start.isoformat(), b.end.isoformat()) for b in rows]


def test_iso_weeks_start_on_monday_and_cross_the_year_as_iso_does() -> None:
    # 2026-12-31 is a Thursday, so ISO week 53 of 2026 runs to Sunday 2027-01-03
    span = parse_range("week", "2026-12-23", "2027-01-06", TODAY)
    assert spans(buckets(span)) == [
        ("2026-W52", "2026-12-23", "2026-12-27"),  # partial: from is a Wednesday
        ("2026-W53", "2026-12-28", "2027-01-03"),
        ("2027-W01", "2027-01-04", "2027-01-06"),  # partial: to is a Wednesday
    ]


def test_months_are_calendar_months() -> None:
    span = parse_range("month", "2026-11-15", "2027-02-01", TODAY)
    assert spans(buckets(span)) == [
        ("2026-11", "2026-11-15", "2026-11-30"),
        ("2026-12", "2026-12-01", "2026-12-31"),
        ("2027-01", "2027-01-01", "2027-01-31"),
        ("2027-02", "2027-02-01", "2027-02-01"),
    ]


def test_days_include_empty_ones_and_a_leap_day() -> None:
    span = parse_range("day", "2028-02-28", "2028-03-01", TODAY)
    tallies = bucket_tallies(span, [("2028-03-01", Tally(counts={9: 2}))])
    assert [(b.period, t.counts) for b, t in tallies] == [
        ("2028-02-28", {}),
        ("2028-02-29", {}),
        ("2028-03-01", {9: 2}),
    ]


def test_defaults_end_today_with_30_days_12_weeks_or_12_months() -> None:
    assert len(buckets(parse_range(None, None, None, TODAY))) == 30
    weeks = buckets(parse_range("week", None, None, TODAY))
    assert len(weeks) == 12 and weeks[-1].period == "2026-W48" and weeks[0].start.weekday() == 0
    months = buckets(parse_range("month", None, None, TODAY))
    assert (len(months), months[0].period, months[-1].period) == (12, "2025-12", "2026-11")


def test_three_years_is_the_longest_trend() -> None:
    assert len(buckets(parse_range("day", "2024-01-01", "2026-12-31", TODAY))) == 1096
    with pytest.raises(InvalidInput) as error:
        parse_range("day", "2024-01-01", "2027-01-01", TODAY)
    assert (error.value.field, error.value.code) == ("to", "invalid_range")


@pytest.mark.parametrize(
    ("interval", "first", "last", "field", "code"),
    [
        ("hour", None, None, "interval", "invalid_interval"),
        ("day", "2026-1-5", None, "from", "invalid_date"),
        ("day", "20261105", None, "from", "invalid_date"),
        ("day", "2026-02-30", None, "from", "invalid_date"),
        ("day", "1969-12-31", None, "from", "invalid_date"),
        ("day", None, "yesterday", "to", "invalid_date"),
        ("day", "2026-11-20", "2026-11-19", "from", "invalid_range"),
        ("day", "2026-12-01", None, "from", "invalid_range"),  # after today, the default `to`
    ],
)
def test_bad_trend_requests_are_clear_errors(
    interval: str, first: str | None, last: str | None, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_range(interval, first, last, TODAY)
    assert (error.value.field, error.value.code) == (field, code)
    assert error.value.message


@given(
    st.sampled_from(["day", "week", "month"]),
    st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    st.integers(0, 800),
    st.dictionaries(st.integers(-30, 830), st.integers(1, 5), max_size=40),
)
def test_buckets_tile_the_range_and_count_every_day_inside_it_once(
    interval: str, first: date, length: int, answers: dict[int, int]
) -> None:
    span = TrendRange(interval, first, first + timedelta(days=length))
    days = [((first + timedelta(days=o)).isoformat(), Tally(counts={7: n})) for o, n in answers.items()]
    out = bucket_tallies(span, days)
    # consecutive, no gaps or overlaps, exactly [first, last]
    assert out[0][0].start == span.first and out[-1][0].end == span.last
    for (a, _), (b, _) in itertools.pairwise(out):
        assert b.start == a.end + timedelta(days=1)
    inside = sum(n for o, n in answers.items() if 0 <= o <= length)
    assert sum(t.responses for _, t in out) == inside


def test_tallies_by_bucket_keeps_empty_weeks_and_sums_days() -> None:
    from functions.domain.trend import tallies_by_bucket

    one = Tally()
    one.add_answer(9)
    weeks = tallies_by_bucket(
        [("2026-11-02", one), ("2026-11-04", one)], "week", date(2026, 10, 26), date(2026, 11, 15)
    )
    assert [w.start.isoformat() for w in weeks] == ["2026-10-26", "2026-11-02", "2026-11-09"]
    assert [w.tally.responses for w in weeks] == [0, 2, 0]


def test_headline_is_the_kinds_score() -> None:
    from functions.domain.kinds import Kind
    from functions.domain.trend import headline, headline_range

    tally = Tally()
    tally.add_answer(10)
    tally.add_answer(0)
    assert headline(Kind.NPS, tally) == 0.0 and headline(Kind.NPS, Tally()) is None
    assert headline_range(Kind.NPS) == (-100.0, 100.0) and headline_range(Kind.CSAT) == (0.0, 100.0)
