"""Trends (docs/architecture.md, Scores engine): day, week or month buckets between two UTC dates.

Weeks are ISO weeks (Monday to Sunday, labelled `2026-W47`); months are calendar months
(`2026-11`); days are labelled by their date. Every period that meets [from, to] is a bucket,
empty or not, and a bucket counts only the days inside [from, to], so the first and last
buckets of a week or month trend can be partial: their `start` and `end` say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, Tally, summarize

INTERVALS = ("day", "week", "month")
# Three years, leap day included: up to 1,096 daily buckets, at most three reads of one
# DynamoDB query page each (a year of day tallies is far below the 1 MB page).
MAX_DAYS = 3 * 365 + 1
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)
DEFAULT_BUCKETS = {"day": 30, "week": 12, "month": 12}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Bucket:
    period: str
    start: date
    end: date


@dataclass(frozen=True)
class TrendRange:
    interval: str
    first: date
    last: date


def parse_interval(text: str | None) -> str:
    interval = text or "day"
    if interval not in INTERVALS:
        raise InvalidInput("interval must be day, week or month", field="interval", code="invalid_interval")
    return interval


def parse_day(text: str, name: str) -> date:
    """A YYYY-MM-DD date, or a clear error naming the parameter."""
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date written YYYY-MM-DD, such as 2026-11-02", field=name, code="invalid_date"
        ) from None
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(
            f"{name} must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}",
            field=name,
            code="invalid_date",
        )
    return day


def period_start(interval: str, day: date) -> date:
    """The first day of the bucket holding `day`."""
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _next_start(interval: str, start: date) -> date:
    if interval == "week":
        return start + timedelta(days=7)
    if interval == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def _months_before(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def default_first(interval: str, last: date) -> date:
    """The start of a default trend: the last 30 days, 12 ISO weeks or 12 months up to `last`."""
    count = DEFAULT_BUCKETS[interval]
    start = period_start(interval, last)
    if interval == "day":
        return last - timedelta(days=count - 1)
    if interval == "week":
        return start - timedelta(weeks=count - 1)
    return _months_before(start, count - 1)


def parse_range(interval: str | None, first: str | None, last: str | None, today: date) -> TrendRange:
    """The validated interval and dates of a trend request (defaults end today, UTC)."""
    kind = parse_interval(interval)
    end = parse_day(last, "to") if last else today
    start = parse_day(first, "from") if first else max(default_first(kind, end), EARLIEST)
    if start > end:
        raise InvalidInput("from must not be after to", field="from", code="invalid_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "from and to may be at most 3 years apart; ask for several trends",
            field="to",
            code="invalid_range",
        )
    return TrendRange(kind, start, end)


def _label(interval: str, start: date) -> str:
    if interval == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if interval == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


def buckets(span: TrendRange) -> list[Bucket]:
    """Every bucket of `span`, oldest first, clipped to [first, last]."""
    out = []
    start = period_start(span.interval, span.first)
    while start <= span.last:
        following = _next_start(span.interval, start)
        out.append(
            Bucket(
                period=_label(span.interval, start),
                start=max(start, span.first),
                end=min(following - timedelta(days=1), span.last),
            )
        )
        start = following
    return out


def bucket_tallies(span: TrendRange, day_tallies: Iterable[tuple[str, Tally]]) -> list[tuple[Bucket, Tally]]:
    """Each bucket of `span` with the sum of the day tallies inside it."""
    out = [(bucket, Tally()) for bucket in buckets(span)]
    for day_text, tally in day_tallies:
        day = date.fromisoformat(day_text)
        if not span.first <= day <= span.last:
            continue
        start = period_start(span.interval, day)
        # Buckets are consecutive periods, so the index is a count of periods from the first.
        index = _period_index(span.interval, start) - _period_index(
            span.interval, period_start(span.interval, span.first)
        )
        out[index][1].merge(tally)
    return out


def _period_index(interval: str, start: date) -> int:
    if interval == "week":
        return start.toordinal() // 7
    if interval == "month":
        return start.year * 12 + start.month - 1
    return start.toordinal()


@dataclass(frozen=True)
class BucketTally:
    """One bucket's first day and its tally (for charts and sparklines)."""

    start: date
    tally: Tally


def tallies_by_bucket(
    day_tallies: Iterable[tuple[str, Tally]], interval: str, first: date, last: date
) -> list[BucketTally]:
    """Day tallies summed per bucket between `first` and `last`, empty buckets kept."""
    span = TrendRange(interval, first, last)
    return [BucketTally(bucket.start, tally) for bucket, tally in bucket_tallies(span, day_tallies)]


def headline(kind: Kind, tally: Tally, attributes: Sequence[AttributeWeight] = ()) -> float | None:
    """The survey kind's headline score (nps, csat, ces or csi) of one tally; None without answers."""
    value = summarize(kind, tally, attributes)[kind.value]
    return None if value is None else float(value)


def headline_range(kind: Kind) -> tuple[float, float]:
    """The range a headline score can take: -100..100 for NPS, 0..100 otherwise."""
    return (-100.0, 100.0) if kind is Kind.NPS else (0.0, 100.0)
