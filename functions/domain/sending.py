"""When an invitation is sent, and where a pending send waits (docs/sending.md). No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from functions.lazy import lazy

if TYPE_CHECKING:
    import zoneinfo
else:  # a send in quiet hours only (a click's cold start loads no time zone data)
    zoneinfo = lazy("zoneinfo")

MAX_DELAY_SECONDS = 30 * 86400
# Pending sends wait in a sparse index partitioned this many ways, so no one index partition
# takes every scheduled write of a large batch; the scheduler reads each partition per tick.
DUE_SHARDS = 4
# How long a claimed send belongs to the message that claimed it. A sender that dies after
# claiming leaves the invitation `sending`; once this passes the scheduler queues it again.
CLAIM_SECONDS = 300


@dataclass(frozen=True)
class SendPlan:
    """What a caller asked for: send or not, and when (at most one of delay and send_at)."""

    send: bool = False
    delay: int | None = None
    send_at: datetime | None = None

    def override(self, send: bool | None, delay: int | None, send_at: datetime | None) -> SendPlan:
        """A recipient's own choices over the call's: a recipient's time replaces the call's."""
        own_time = delay is not None or send_at is not None
        return SendPlan(
            send=self.send if send is None else send,
            delay=delay if own_time else self.delay,
            send_at=send_at if own_time else self.send_at,
        )

    def moment(self, now: datetime) -> datetime:
        """When to send: now + delay, or send_at (a past send_at means now)."""
        if self.send_at is not None:
            return max(self.send_at, now)
        return now + timedelta(seconds=self.delay or 0)


def due_shard(code: str) -> str:
    return str(hashlib.sha256(code.encode()).digest()[0] % DUE_SHARDS)


@dataclass(frozen=True)
class QuietHours:
    """Local times (``HH:MM``) between which nobody is emailed; `start` > `end` spans midnight."""

    start: str
    end: str

    def covers(self, local: time) -> bool:
        start, end = _time(self.start), _time(self.end)
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def outside_quiet_hours(moment: datetime, quiet: QuietHours | None, zone: str | None) -> datetime:
    """`moment`, or, when it falls inside the quiet hours in the recipient's time zone (UTC when
    none is known), the end of those quiet hours (docs/sending.md)."""
    if quiet is None:
        return moment
    tz = zoneinfo.ZoneInfo(zone) if zone else zoneinfo.ZoneInfo("UTC")
    local = moment.astimezone(tz)
    if not quiet.covers(local.time().replace(tzinfo=None)):
        return moment
    end = _time(quiet.end)
    day = local.date() if local.time().replace(tzinfo=None) < end else local.date() + timedelta(days=1)
    # A wall-clock time that a DST change skips resolves forward (fold=0), as people expect.
    ends = datetime.combine(day, end, tzinfo=tz)
    return max(ends.astimezone(moment.tzinfo), moment)
