"""Fixed-window rate limits."""

from __future__ import annotations

import pytest

from functions.domain.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


def test_a_key_gets_its_limit_per_window_then_waits_for_the_next() -> None:
    limiter = RateLimiter(limit=2, window=60)
    assert [limiter.check("a", 120.0), limiter.check("a", 121.0)] == [0, 0]
    assert limiter.check("a", 130.0) == 50  # until the window that starts at 180
    assert limiter.check("b", 130.0) == 0  # other keys are unaffected
    assert limiter.check("a", 180.0) == 0


def test_zero_turns_the_limit_off_and_memory_stays_bounded() -> None:
    assert all(RateLimiter(limit=0).check("a", 1.0) == 0 for _ in range(100))
    limiter = RateLimiter(limit=1, max_keys=10)
    for i in range(100):
        limiter.check(f"k{i}", 1.0)
    assert len(limiter._counts) == 10
