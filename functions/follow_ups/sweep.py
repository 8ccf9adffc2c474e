"""The follow-up sweep (every minute): mark each open follow-up past its deadline overdue, once
(docs/follow-ups.md). The mark's stream record raises `follow_up.overdue`. The time is the
clock's (functions/logic/clock.py), so tests and the local stack move it."""

from __future__ import annotations

from typing import Any

from functions.logic.follow_ups import sweep_overdue


def handle_tick(event: Any = None, context: Any = None) -> dict[str, int]:
    return {"overdue": sweep_overdue()}
