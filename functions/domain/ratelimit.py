"""Fixed-window rate limits (pure; the caller supplies the clock).

Each key may make `limit` requests per `window` seconds. Memory is bounded: past `max_keys`
keys, the oldest windows are dropped (a dropped key starts afresh, which errs toward serving).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    limit: int
    window: int = 60
    max_keys: int = 50_000
    _counts: OrderedDict[str, tuple[int, int]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, key: str, now: float) -> int:
        """0 when `key` may go ahead (and count it); else the seconds until it may retry."""
        if self.limit <= 0:
            return 0
        start = int(now) - int(now) % self.window
        with self._lock:
            window_start, count = self._counts.get(key, (start, 0))
            if window_start != start:
                window_start, count = start, 0
            if count >= self.limit:
                return max(1, window_start + self.window - int(now))
            self._counts[key] = (window_start, count + 1)
            self._counts.move_to_end(key)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
            return 0
