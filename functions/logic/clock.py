"""The current time, in one place so tests can move it."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def pause_before_retry(attempt: int) -> None:
    """A short random pause, longer each attempt, before retrying a refused transaction, so two
    writers that collided do not collide again in step."""
    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 (jitter, not secrets)
