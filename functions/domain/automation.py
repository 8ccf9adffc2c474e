"""Spotting answers made by machines rather than customers (docs/pages.md, Scanners).

An email security scanner that runs scripts opens every score link of a message at once, and
each page posts its score: one invitation then receives several different scores within a
second or two. A person who changes their mind goes back to the page and picks again, which
takes longer. So an answer is *suspect* when its score differs from the one it replaced and
arrived less than BURST_SECONDS after it.

The store keeps the current and the previous score with their times on the item (written by
the same single UpdateItem that records the answer), so the flag is a pure function of the
stored item: it needs no extra request, and a later answer from a person clears it.
"""

from __future__ import annotations

BURST_SECONDS = 5


def is_suspect_automation(
    score: int | None,
    scored_at_ms: int | None,
    previous_score: int | None,
    previous_scored_at_ms: int | None,
) -> bool:
    """True when the current score replaced a different one less than BURST_SECONDS earlier."""
    if None in (score, scored_at_ms, previous_score, previous_scored_at_ms):
        return False
    assert scored_at_ms is not None and previous_scored_at_ms is not None
    return score != previous_score and 0 <= scored_at_ms - previous_scored_at_ms < BURST_SECONDS * 1000
