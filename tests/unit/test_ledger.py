"""The ledger: stream changes become revision-guarded entries; TTL expiry changes nothing."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.domain.ledger import (
    ItemState,
    LedgerEntry,
    StoredEntry,
    day_tallies,
    entries_for_change,
    entry_delta,
    newest_entries,
)

pytestmark = pytest.mark.unit

EMAIL = ("all", "channel:email")


def state(
    rev: int = 0, score: int | None = None, segments: tuple[str, ...] = EMAIL, **more: object
) -> ItemState:
    base = ItemState(
        code="AbCdEf1234",
        tenant_id="ten_x",
        survey_id="srv_y",
        rev=rev,
        invited_day="2026-11-01",
        segments=segments,
        score=score,
        answered_day="2026-11-02" if score is not None else None,
    )
    return replace(base, **more)  # type: ignore[arg-type]


def test_insert_counts_an_invitation() -> None:
    [entry] = entries_for_change("INSERT", None, state(), expired_by_ttl=False)
    assert (entry.part, entry.day, entry.rev, entry.erased) == ("I", "2026-11-01", 0, False)


def test_an_item_inserted_already_answered_counts_both() -> None:
    entries = entries_for_change("INSERT", None, state(rev=1, score=7), expired_by_ttl=False)
    assert {(e.part, e.day, e.rev, e.score) for e in entries} == {
        ("I", "2026-11-01", 1, None),
        ("R", "2026-11-02", 1, 7),
    }


def test_answer_writes_a_response_entry_at_the_item_revision() -> None:
    [entry] = entries_for_change("MODIFY", state(), state(rev=1, score=9), expired_by_ttl=False)
    assert (entry.part, entry.day, entry.rev, entry.score) == ("R", "2026-11-02", 1, 9)


def test_a_changed_score_moves_the_count_at_the_new_revision() -> None:
    [entry] = entries_for_change("MODIFY", state(rev=1, score=9), state(rev=2, score=3), expired_by_ttl=False)
    assert (entry.part, entry.rev, entry.score) == ("R", 2, 3)


def test_a_follow_up_comment_changes_no_score_and_writes_nothing() -> None:
    assert (
        entries_for_change("MODIFY", state(rev=1, score=9), state(rev=2, score=9), expired_by_ttl=False) == []
    )


def test_new_attribute_ratings_are_a_change() -> None:
    old = state(rev=1, score=9, attrs={"speed": 3})
    [entry] = entries_for_change("MODIFY", old, replace(old, rev=2, attrs={"speed": 8}), expired_by_ttl=False)
    assert entry.attrs == {"speed": 8}


def test_a_segment_change_moves_both_the_invitation_and_the_answer() -> None:
    old = state(rev=1, score=9)
    new = state(rev=2, score=9, segments=(*EMAIL, "touchpoint:delivery"))
    entries = entries_for_change("MODIFY", old, new, expired_by_ttl=False)
    assert {(e.part, e.rev, e.segments) for e in entries} == {
        ("I", 2, new.segments),
        ("R", 2, new.segments),
    }


def test_a_withdrawn_answer_stops_counting() -> None:
    [entry] = entries_for_change("MODIFY", state(rev=1, score=9), state(rev=2), expired_by_ttl=False)
    assert (entry.part, entry.rev, entry.erased, entry.day) == ("R", 2, True, "2026-11-02")


def test_erasure_tombstones_both_entries_above_the_last_revision() -> None:
    entries = entries_for_change("REMOVE", state(rev=3, score=9), None, expired_by_ttl=False)
    assert {(e.part, e.rev, e.erased) for e in entries} == {("I", 4, True), ("R", 4, True)}


def test_erasing_an_unanswered_invitation_uncounts_the_invitation() -> None:
    [entry] = entries_for_change("REMOVE", state(), None, expired_by_ttl=False)
    assert (entry.part, entry.rev, entry.erased) == ("I", 1, True)


def test_ttl_expiry_changes_no_score() -> None:
    assert entries_for_change("REMOVE", state(rev=3, score=9), None, expired_by_ttl=True) == []


def test_newest_entry_wins_within_a_batch() -> None:
    a = entries_for_change("MODIFY", state(), state(rev=1, score=9), expired_by_ttl=False)
    b = entries_for_change("MODIFY", state(), state(rev=2, score=3), expired_by_ttl=False)
    [entry] = newest_entries(b + a)
    assert entry.score == 3


def test_day_tallies_skip_erased_entries_but_keep_their_segments() -> None:
    entries = [
        StoredEntry("R#a", "R", 1, ("all", "channel:sms"), 9, {}, False),
        StoredEntry("R#b", "R", 2, ("all", "channel:email"), None, {}, True),
    ]
    tallies = day_tallies(entries)
    assert tallies["all"].counts == {9: 1}
    assert tallies["channel:email"].is_empty()


def test_an_entry_delta_moves_counts_between_scores_and_segments() -> None:
    old = StoredEntry("R#a", "R", 1, ("all", "touchpoint:delivery"), 9, {}, False)
    new = StoredEntry("R#a", "R", 2, ("all", "touchpoint:support"), 3, {}, False)
    delta = entry_delta(old, new)
    assert delta["all"].counts == {9: -1, 3: 1}
    assert delta["touchpoint:delivery"].counts == {9: -1}
    assert delta["touchpoint:support"].counts == {3: 1}
    # erasing takes everything out; a first revision only adds
    erased = entry_delta(new, StoredEntry("R#a", "R", 3, new.segments, None, {}, True))
    assert erased["all"].counts == {3: -1} and erased["touchpoint:support"].counts == {3: -1}
    assert entry_delta(None, old)["all"].counts == {9: 1}


# ---- any order of any history leaves the ledger of the final state ----------------------------


def store(ledger: dict[tuple[str, ...], StoredEntry], entry: LedgerEntry) -> None:
    """What the store's conditional write does: keep the entry only if its revision is newer."""
    key = (*entry.identity,)
    held = ledger.get(key)
    if held is not None and held.rev >= entry.rev:
        return
    ledger[key] = StoredEntry.of(entry)


changes = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.integers(0, 10)),
        st.tuples(st.just("comment"), st.just(0)),
        st.tuples(st.just("move"), st.sampled_from(["delivery", "support"])),
    ),
    max_size=6,
)


@settings(max_examples=150)
@given(changes, st.sampled_from(["keep", "erase", "expire"]), st.randoms(use_true_random=False))
def test_any_order_and_duplication_of_a_history_counts_its_final_state(
    history: list[tuple[str, object]], ending: str, rng: object
) -> None:
    # Given an invitation's history as stream records (old image, new image)
    states = [state()]
    for name, value in history:
        last = states[-1]
        if name == "answer":
            states.append(
                replace(last, rev=last.rev + 1, score=value, answered_day=last.answered_day or "2026-11-03")
            )
        elif name == "comment":
            states.append(replace(last, rev=last.rev + 1))
        else:
            states.append(replace(last, rev=last.rev + 1, segments=(*EMAIL, f"touchpoint:{value}")))
    records = [("INSERT", None, states[0])] + [("MODIFY", a, b) for a, b in itertools.pairwise(states)]
    if ending != "keep":
        records.append(("REMOVE", states[-1], None))

    # When they arrive shuffled, some twice
    delivered = records + [records[i] for i in range(0, len(records), 2)]
    rng.shuffle(delivered)  # type: ignore[attr-defined]
    ledger: dict[tuple[str, ...], StoredEntry] = {}
    for event, old, new in delivered:
        for entry in entries_for_change(event, old, new, expired_by_ttl=ending == "expire"):
            store(ledger, entry)

    # Then the tallies are those of the final state alone (nothing if erased)
    final = states[-1]
    want: dict[str, tuple[int, dict[int, int]]] = {}
    if ending != "erase":
        for segment in final.segments:
            want[segment] = (1, {final.score: 1} if final.score is not None else {})
    got: dict[str, tuple[int, dict[int, int]]] = {}
    by_day: dict[str, list[StoredEntry]] = {}
    for key, entry in ledger.items():
        by_day.setdefault(key[2], []).append(entry)
    for entries in by_day.values():
        for segment, tally in day_tallies(entries).items():
            invited, counts = got.get(segment, (0, {}))
            merged = dict(counts)
            for point, n in tally.counts.items():
                merged[point] = merged.get(point, 0) + n
            got[segment] = (invited + tally.invited, {p: n for p, n in merged.items() if n})
    assert {s: v for s, v in got.items() if v != (0, {})} == want
