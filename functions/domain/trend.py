"""Trends (SPEC §2): day tallies summed into day / week / month buckets.

Weeks start on Monday (ISO weeks) and months on their first day, all in UTC days. A bucket with
no answers is kept (its headline score is None) so a chart shows the gap instead of joining
across it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, Tally, summarize

INTERVALS = ("day", "week", "month")


def parse_interval(text: str | None) -> str:
    interval = text or "day"
    if interval not in INTERVALS:
        raise InvalidInput(
            f"interval must be one of {', '.join(INTERVALS)}", field="interval", code="invalid_interval"
        )
    return interval


def bucket_start(day: date, interval: str) -> date:
    """The first day of the bucket that holds `day`."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, interval: str) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def bucket_starts(first: date, last: date, interval: str) -> list[date]:
    """Every bucket start from the bucket holding `first` to the one holding `last`."""
    out: list[date] = []
    start = bucket_start(first, interval)
    while start <= last:
        out.append(start)
        start = next_bucket(start, interval)
    return out


@dataclass(frozen=True)
class Bucket:
    start: date
    tally: Tally


def bucket_tallies(
    day_tallies: Iterable[tuple[str, Tally]], interval: str, first: date, last: date
) -> list[Bucket]:
    """Day tallies (ISO day → tally) summed per bucket between `first` and `last`, empty ones kept.

    Days outside [first, last] are ignored, so a partial first or last bucket holds only the days
    inside the range.
    """
    starts = bucket_starts(first, last, interval)
    totals = {start: Tally() for start in starts}
    low, high = first.isoformat(), last.isoformat()
    for day, tally in day_tallies:
        if low <= day <= high:
            totals[bucket_start(date.fromisoformat(day), interval)].merge(tally)
    return [Bucket(start, totals[start]) for start in starts]


def headline(kind: Kind, tally: Tally, attributes: Sequence[AttributeWeight] = ()) -> float | None:
    """The survey kind's headline score (nps, csat, ces or csi) of one tally; None without answers."""
    value = summarize(kind, tally, attributes)[kind.value]
    return None if value is None else float(value)


def headline_range(kind: Kind) -> tuple[float, float]:
    """The range a headline score can take: -100..100 for NPS, 0..100 otherwise."""
    return (-100.0, 100.0) if kind is Kind.NPS else (0.0, 100.0)
