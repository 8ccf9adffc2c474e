"""Flagging bursts of different scores for one invitation as automated."""

from __future__ import annotations

import pytest

from functions.domain.automation import BURST_SECONDS, is_suspect_automation

pytestmark = pytest.mark.unit

T = 1_800_000_000_000
WINDOW = BURST_SECONDS * 1000


@pytest.mark.parametrize(
    ("score", "at", "previous", "previous_at", "suspect"),
    [
        (9, T, 9, T, False),  # the first answer: its own previous
        (3, T + 800, 9, T, True),  # a different score within a second
        (3, T + WINDOW - 1, 9, T, True),
        (3, T + WINDOW, 9, T, False),  # a person changing their mind takes longer
        (9, T + 300, 9, T, False),  # a double click sends the same score twice
        (3, T - 100, 9, T, False),  # clocks out of order: not evidence of a burst
        (None, None, None, None, False),  # never answered
        (3, T, None, None, False),  # answered before Hark kept the previous score
    ],
)
def test_suspect_only_when_a_different_score_follows_within_the_window(
    score: int | None, at: int | None, previous: int | None, previous_at: int | None, suspect: bool
) -> None:
    assert is_suspect_automation(score, at, previous, previous_at) is suspect
