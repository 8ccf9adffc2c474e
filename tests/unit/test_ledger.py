"""The ledger: stream changes become revision-guarded entries; TTL expiry changes nothing."""

from __future__ import annotations

import pytest

from functions.domain.ledger import (
    ItemState,
    StoredEntry,
    day_generation,
    day_tallies,
    entries_for_change,
    newest_entries,
)

pytestmark = pytest.mark.unit


def state(rev: int = 0, score: int | None = None) -> ItemState:
    return ItemState(
        code="AbCdEf1234",
        tenant_id="ten_x",
        survey_id="srv_y",
        rev=rev,
        invited_day="2026-11-01",
        segments=("all", "channel:email"),
        score=score,
        answered_day="2026-11-02" if score is not None else None,
    )


def test_insert_counts_an_invitation() -> None:
    [entry] = entries_for_change("INSERT", None, state(), expired_by_ttl=False)
    assert (entry.part, entry.day, entry.rev, entry.erased) == ("I", "2026-11-01", 0, False)


def test_answer_writes_a_response_entry_at_the_item_revision() -> None:
    [entry] = entries_for_change("MODIFY", state(), state(rev=1, score=9), expired_by_ttl=False)
    assert (entry.part, entry.day, entry.rev, entry.score) == ("R", "2026-11-02", 1, 9)


def test_erasure_tombstones_both_entries_above_the_last_revision() -> None:
    entries = entries_for_change("REMOVE", state(rev=3, score=9), None, expired_by_ttl=False)
    assert {(e.part, e.rev, e.erased) for e in entries} == {("I", 1, True), ("R", 4, True)}


def test_ttl_expiry_changes_no_score() -> None:
    assert entries_for_change("REMOVE", state(rev=3, score=9), None, expired_by_ttl=True) == []


def test_newest_entry_wins_within_a_batch() -> None:
    a = entries_for_change("MODIFY", state(), state(rev=1, score=9), expired_by_ttl=False)
    b = entries_for_change("MODIFY", state(), state(rev=2, score=3), expired_by_ttl=False)
    [entry] = newest_entries(b + a)
    assert entry.score == 3


def test_day_tallies_skip_erased_entries_but_keep_their_segments() -> None:
    entries = [
        StoredEntry("R#a", "R", 1, ("all", "channel:sms"), frozenset({"all", "channel:sms"}), 9, {}, False),
        StoredEntry(
            "R#b", "R", 2, ("all", "channel:email"), frozenset({"all", "channel:email"}), None, {}, True
        ),
    ]
    tallies = day_tallies(entries)
    assert tallies["all"].counts == {9: 1}
    assert tallies["channel:email"].is_empty()
    assert day_generation(entries) == 5
