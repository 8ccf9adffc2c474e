"""Rolling windows (docs/architecture.md): 7d, 30d, 90d, 365d ending today (UTC days), or all."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from functions.domain.errors import InvalidInput

if TYPE_CHECKING:
    from functions.domain.scoring import Tally

WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}
# A summary keeps this many days individually so any window ending on a later day can be cut.
RECENT_DAYS = 365


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


def recent_cut(as_of: date) -> str:
    """The first day (ISO) a summary made `as_of` keeps individually."""
    return (as_of - timedelta(days=RECENT_DAYS - 1)).isoformat()


def split_recent(day_tallies: Iterable[tuple[str, Tally]], as_of: date) -> tuple[Tally, dict[str, Tally]]:
    """(total of days older than the recent range, the recent days by ISO date)."""
    cut = recent_cut(as_of)
    from functions.domain.scoring import Tally  # not needed to parse a window (cold start)

    older = Tally()
    recent: dict[str, Tally] = {}
    for day, tally in day_tallies:
        if day < cut:
            older.merge(tally)
        elif not tally.is_empty():
            recent[day] = tally
    return older, recent


def window_tally(older: Tally, recent: dict[str, Tally], window: str, today: date) -> Tally:
    """The tally of `window` ending `today`, from a summary's older total and recent days."""
    start = first_day(window, today)
    end = today.isoformat()
    from functions.domain.scoring import Tally

    total = Tally()
    if start is None:
        total.merge(older)
    for day, tally in recent.items():
        if (start is None or day >= start) and day <= end:
            total.merge(tally)
    return total
