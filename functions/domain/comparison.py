"""What a compare request compares (docs/insight.md): two windows, or two segments.

Two windows are rolling (`30d`, …, `all`, ending today) or explicit UTC dates
(`2026-10-01..2026-10-31`, both days included) and must not share a day. Two segments are
values of one dimension (two channels, two touchpoints, two values of one property), so no
answer counts in both: the tests assume independent samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from functions.domain import trend
from functions.domain.errors import InvalidInput, Unprocessable
from functions.domain.segments import ALL, guarded
from functions.domain.windows import WINDOWS

MAX_TEXT = 40


@dataclass(frozen=True)
class DaySpan:
    """The days a window covers; `rolling` names a rolling window (served from the summary)."""

    label: str
    first: date
    last: date
    rolling: str | None = None

    def overlaps(self, other: DaySpan) -> bool:
        return self.first <= other.last and other.first <= self.last


def parse_span(text: str | None, name: str, today: date) -> DaySpan:
    """A rolling window or `YYYY-MM-DD..YYYY-MM-DD`; a 422 naming the parameter otherwise."""
    if not text:
        raise Unprocessable(f"{name} is required", field=name, code="invalid_window")
    problem = (
        f"{name} must be one of {', '.join(WINDOWS)} or two dates YYYY-MM-DD..YYYY-MM-DD (UTC, inclusive)"
    )
    if len(text) > MAX_TEXT:
        raise Unprocessable(problem, field=name, code="invalid_window")
    if text in WINDOWS:
        length = WINDOWS[text]
        first = trend.EARLIEST if length is None else today - timedelta(days=length - 1)
        return DaySpan(text, first, today, rolling=text)
    start, dots, end = text.partition("..")
    if not dots:
        raise Unprocessable(problem, field=name, code="invalid_window")
    try:
        first, last = trend.parse_day(start, name), trend.parse_day(end, name)
    except InvalidInput as exc:
        raise Unprocessable(exc.message, field=name, code="invalid_window") from None
    if first > last:
        raise Unprocessable(
            f"{name}: the first date must not be after the second", field=name, code="invalid_window"
        )
    if (last - first).days + 1 > trend.MAX_DAYS:
        raise Unprocessable(f"{name} may span at most 3 years", field=name, code="invalid_window")
    return DaySpan(text, first, last)


def disjoint_windows(a: DaySpan, b: DaySpan) -> None:
    """Refuse two windows that share a day: their answers would be counted on both sides."""
    if a.overlaps(b):
        raise Unprocessable(
            f"windows {a.label} ({a.first.isoformat()}..{a.last.isoformat()}) and {b.label} "
            f"({b.first.isoformat()}..{b.last.isoformat()}) overlap; compare windows that share no day",
            field="b",
            code="overlapping_windows",
        )


def dimension(segment: str) -> str | None:
    """`channel`, `touchpoint` or `prop:<key>`; None for `all`."""
    if segment == ALL:
        return None
    found = guarded(segment)
    if found is not None:
        return found[0]
    return segment.partition(":")[0]


def disjoint_segments(a: str, b: str) -> None:
    """Refuse two segments that may share answers (only two values of one dimension cannot)."""
    if a == b:
        raise Unprocessable(
            "a_segment and b_segment are the same segment", field="b_segment", code="same_segment"
        )
    dim_a, dim_b = dimension(a), dimension(b)
    if dim_a is None or dim_b is None or dim_a != dim_b:
        raise Unprocessable(
            "compare two values of one dimension (two channels, two touchpoints or two values of one "
            "property): other segments share answers, and the tests need independent samples",
            field="b_segment",
            code="overlapping_segments",
        )
