"""Rolling windows (docs/architecture.md): 7d, 30d, 90d, 365d ending today (UTC days), or all."""

from __future__ import annotations

from datetime import date, timedelta

from functions.domain.errors import InvalidInput

WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}


def parse_window(text: str | None) -> str:
    window = text or "30d"
    if window not in WINDOWS:
        raise InvalidInput(
            f"window must be one of {', '.join(WINDOWS)}", field="window", code="invalid_window"
        )
    return window


def first_day(window: str, today: date) -> str | None:
    """The first day (ISO) inside `window` ending `today`; None for all time."""
    length = WINDOWS[window]
    return None if length is None else (today - timedelta(days=length - 1)).isoformat()


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def span_parts(first: date, last: date) -> list[tuple[str, int]]:
    """The stored tallies whose signed sum is the tally of the days `first`..`last` (inclusive).

    A part is a day (``YYYY-MM-DD``) or a month (``YYYY-MM``), with sign +1 or -1. A month the
    span covers whole is its month tally; a month it covers in part is either its days inside
    the span or, when fewer items, its month tally less its days outside: at most 16 items per
    partly covered month, so a 365-day window is at most 16 + 11 + 16 = 43 items
    (docs/scale.md).
    """
    parts: list[tuple[str, int]] = []
    start = first
    while start <= last:
        end_of_month = _month_end(start)
        end = min(last, end_of_month)
        month_first = start.replace(day=1)
        inside = (end - start).days + 1
        length = end_of_month.day
        if inside == length:
            parts.append((start.isoformat()[:7], 1))
        elif 1 + (length - inside) < inside:
            parts.append((start.isoformat()[:7], 1))
            for n in range(length):
                day = month_first + timedelta(days=n)
                if not start <= day <= end:
                    parts.append((day.isoformat(), -1))
        else:
            parts.extend(((start + timedelta(days=n)).isoformat(), 1) for n in range(inside))
        start = end_of_month + timedelta(days=1)
    return parts


def window_span(window: str, today: date) -> tuple[date, date] | None:
    """The days of a rolling window ending `today`; None for all time (the total)."""
    length = WINDOWS[window]
    return None if length is None else (today - timedelta(days=length - 1), today)
