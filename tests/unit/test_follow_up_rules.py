"""The pure parts of closing the loop (docs/follow-ups.md): which answers open a follow-up, which
status moves are allowed, the hours-to-close buckets and their median, and the ledger entry that
counts a follow-up exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain import follow_ups as fu
from functions.domain.kinds import Kind
from functions.domain.ledger import (
    FOLLOW_UP,
    ItemState,
    LoopMark,
    StoredEntry,
    day_tallies,
    entries_for_change,
)
from functions.domain.scoring import Tally, summarize

pytestmark = pytest.mark.unit


def page(kind: str, rule: fu.FollowUpRule | None = None, weights: dict[str, float] | None = None) -> dict:
    out: dict = {"kind": kind, "attributes": [{"key": k} for k in (weights or {})]}
    if rule is not None:
        out["fu"] = rule.page_copy(Kind(kind), weights or {})
    return out


@pytest.mark.parametrize(
    ("kind", "opens", "stays"),
    [("nps", [0, 6], [7, 10]), ("csat", [1, 2], [3, 5]), ("ces", [1, 3], [4, 7])],
)
def test_default_rules_open_the_low_band_of_each_kind(kind: str, opens: list[int], stays: list[int]) -> None:
    for score in opens:
        assert fu.matches(page(kind), score, {})  # an invitation made before rules existed
        assert fu.matches(page(kind, fu.FollowUpRule()), score, {})
    for score in stays:
        assert not fu.matches(page(kind), score, {})
    assert not fu.matches(page(kind), None, {})


def test_csi_opens_below_an_answer_index_of_50_weighted_like_the_survey() -> None:
    weights = {"speed": 3.0, "price": 1.0}
    rule = page("csi", fu.FollowUpRule(), weights)
    # speed 4 → 33.3, price 10 → 100: (3·33.3 + 100) / 4 = 50 → not below 50
    assert not fu.matches(rule, 8, {"speed": 4, "price": 10})
    assert fu.matches(rule, 8, {"speed": 3, "price": 10})  # (3·22.2 + 100) / 4 = 41.7
    assert fu.matches(rule, 5, {})  # no ratings: the overall 5 → 44.4
    assert not fu.matches(rule, 6, {})  # 55.6
    assert fu.answer_index(10, {"speed": 10}, weights) == 100


def test_a_survey_rule_changes_the_band_the_deadline_or_turns_follow_ups_off() -> None:
    assert fu.matches(page("nps", fu.FollowUpRule(max_score=8)), 8, {})
    assert not fu.matches(page("nps", fu.FollowUpRule(max_score=2)), 3, {})
    assert not fu.matches(page("nps", fu.FollowUpRule(enabled=False)), 0, {})
    assert fu.page_rule(page("nps", fu.FollowUpRule(sla_hours=4)))[1] == 4
    assert fu.FollowUpRule().view(Kind.CSI) == {"enabled": True, "sla_hours": 24, "below_index": 50.0}
    assert fu.rule_from_plain(fu.rule_to_plain(fu.FollowUpRule(True, 5, None, 8))) == fu.FollowUpRule(
        True, 5, None, 8
    )


def test_rules_that_do_not_fit_the_kind_say_why() -> None:
    assert fu.rule_problem(Kind.NPS, 6, None) is None
    assert "below_index" in (fu.rule_problem(Kind.NPS, None, 40) or "")
    assert "max_score" in (fu.rule_problem(Kind.CSI, 3, None) or "")
    assert "from 1 to 4" in (fu.rule_problem(Kind.CSAT, 5, None) or "")  # the top would open everything
    assert fu.rule_problem(Kind.CES, 0, None) is not None


def test_status_moves_open_and_in_progress_both_ways_and_closing_is_final() -> None:
    assert fu.can_move(fu.OPEN, fu.IN_PROGRESS) and fu.can_move(fu.IN_PROGRESS, fu.OPEN)
    assert fu.can_move(fu.OPEN, fu.CLOSED) and fu.can_move(fu.IN_PROGRESS, fu.CLOSED)
    assert not fu.can_move(fu.CLOSED, fu.OPEN) and not fu.can_move(fu.CLOSED, fu.IN_PROGRESS)
    assert fu.can_move(fu.CLOSED, fu.CLOSED)
    assert not fu.can_move("unknown", fu.OPEN)


def test_hours_fall_in_buckets_with_inclusive_upper_bounds() -> None:
    assert fu.bucket_of(0) == 0 and fu.bucket_of(1) == 0 and fu.bucket_of(1.01) == 1
    assert fu.bucket_of(24) == fu.HOUR_BUCKETS.index(24)
    assert fu.bucket_of(10_000) == len(fu.HOUR_BUCKETS)
    assert fu.hours_between("2026-12-01T09:00:00.000Z", "2026-12-01T11:30:00.000Z") == 2.5


def test_the_median_is_interpolated_inside_its_bucket() -> None:
    assert fu.median_hours({}) is None
    assert fu.median_hours({1: 1}) == 1.5  # one close in (1, 2]
    # 4 closes: two in (0, 1], two in (4, 8]: the median (2nd of 4) ends the first bucket
    assert fu.median_hours({0: 2, 3: 2}) == 1.0
    # 3 closes in (24, 48]: half = 1.5 → 24 + 1.5/3 · 24 = 36
    assert fu.median_hours({fu.bucket_of(30): 3}) == 36.0
    assert fu.median_hours({len(fu.HOUR_BUCKETS): 5}) == 720.0  # the open bucket: its lower bound


@given(st.lists(st.floats(min_value=0, max_value=2000, allow_nan=False), min_size=1, max_size=60))
def test_the_median_lies_in_the_bucket_of_the_true_median(hours: list[float]) -> None:
    hist: dict[int, int] = {}
    for h in hours:
        hist[fu.bucket_of(h)] = hist.get(fu.bucket_of(h), 0) + 1
    median = fu.median_hours(hist)
    assert median is not None
    ordered = sorted(hours)
    low_true = ordered[(len(ordered) - 1) // 2]
    high_true = ordered[len(ordered) // 2]
    bounds = (0.0, *map(float, fu.HOUR_BUCKETS))
    low_edge = bounds[fu.bucket_of(low_true)]
    high_edge = bounds[min(fu.bucket_of(high_true) + 1, len(bounds) - 1)]
    assert low_edge - 0.05 <= median <= max(high_edge, low_edge) + 0.05


def state(rev: int, mark: LoopMark | None, score: int = 3) -> ItemState:
    return ItemState(
        code="abcdefghij",
        tenant_id="ten_1",
        survey_id="srv_1",
        rev=rev,
        invited_day="2026-12-01",
        segments=("all", "channel:email"),
        score=score,
        answered_day="2026-12-01",
        follow_up=mark,
    )


def test_a_follow_up_is_one_ledger_entry_whose_revision_only_grows() -> None:
    opened = entries_for_change("MODIFY", state(1, None), state(1, LoopMark(1)), expired_by_ttl=False)
    assert [(e.part, e.rev) for e in opened] == [(FOLLOW_UP, 1001)]
    closed_mark = LoopMark(2, closed=True, within_sla=True, bucket=2)
    closed = entries_for_change("MODIFY", state(1, LoopMark(1)), state(1, closed_mark), expired_by_ttl=False)
    assert [(e.part, e.rev) for e in closed] == [(FOLLOW_UP, 1002)]
    # a note, an owner or the overdue mark changes no figure: no entry
    assert (
        entries_for_change("MODIFY", state(1, closed_mark), state(1, closed_mark), expired_by_ttl=False) == []
    )
    # a later answer keeps the follow-up's entry as it is; an erasure takes it out
    assert [
        e.part
        for e in entries_for_change(
            "MODIFY", state(1, closed_mark), state(2, closed_mark, 9), expired_by_ttl=False
        )
    ] == ["R"]
    erased = [
        e
        for e in entries_for_change("REMOVE", state(2, closed_mark), None, expired_by_ttl=False)
        if e.part == FOLLOW_UP
    ]
    assert erased[0].rev == 3000 and erased[0].erased
    assert entries_for_change("REMOVE", state(2, closed_mark), None, expired_by_ttl=True) == []

    tallies = day_tallies([StoredEntry.of(closed[0])])
    figures = summarize(Kind.NPS, tallies["all"])["follow_ups"]
    assert figures == {"opened": 1, "closed": 1, "closed_within_sla": 1, "median_hours_to_close": 3.0}
    assert day_tallies([StoredEntry.of(erased[0])]) == {"all": Tally(), "channel:email": Tally()}


def test_tally_figures_survive_the_compact_form_and_subtract() -> None:
    tally = Tally(fu_opened=3, fu_closed=2, fu_within=1, fu_hours={0: 1, 5: 1})
    assert Tally.from_compact(tally.to_compact()) == tally
    tally.merge(Tally(fu_opened=1, fu_closed=1, fu_within=1, fu_hours={0: 1}), sign=-1)
    assert (tally.fu_opened, tally.fu_closed, tally.fu_within, tally.fu_hours) == (2, 1, 0, {0: 0, 5: 1})
    assert not Tally(fu_opened=1).is_empty()
