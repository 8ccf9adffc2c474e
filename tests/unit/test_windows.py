"""Windows read as signed sums of day and month tallies (functions/domain/windows.py)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from functions.domain.windows import span_parts, window_span

pytestmark = pytest.mark.unit


def coverage(parts: list[tuple[str, int]], day: date) -> int:
    return sum(sign for period, sign in parts if period in (day.isoformat(), day.isoformat()[:7]))


def test_every_span_counts_each_of_its_days_once_and_no_other_day() -> None:
    rng = random.Random(5)
    for _ in range(400):
        last = date(2024, 1, 1) + timedelta(days=rng.randrange(1500))
        first = last - timedelta(days=rng.choice([1, 7, 30, 90, 365, rng.randrange(1, 1100)]) - 1)
        parts = span_parts(first, last)
        day = first - timedelta(days=40)
        while day <= last + timedelta(days=40):
            assert coverage(parts, day) == (1 if first <= day <= last else 0), (first, last, day)
            day += timedelta(days=1)


def test_a_year_needs_at_most_43_tallies_and_whole_months_are_one() -> None:
    worst = max(
        len(span_parts(*span))
        for n in range(800)
        if (span := window_span("365d", date(2025, 1, 1) + timedelta(days=n))) is not None
    )
    assert worst <= 43
    assert span_parts(date(2026, 2, 1), date(2026, 3, 31)) == [("2026-02", 1), ("2026-03", 1)]
    # most of a month: the month less the days outside
    assert span_parts(date(2026, 3, 3), date(2026, 3, 31)) == [
        ("2026-03", 1), ("2026-03-01", -1), ("2026-03-02", -1)
    ]  # fmt: skip
    assert span_parts(date(2026, 3, 30), date(2026, 4, 1)) == [
        ("2026-03-30", 1), ("2026-03-31", 1), ("2026-04-01", 1)
    ]  # fmt: skip
    assert window_span("all", date(2026, 3, 1)) is None
