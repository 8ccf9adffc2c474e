"""When an invitation is sent, and where a pending send waits (docs/sending.md). No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

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
