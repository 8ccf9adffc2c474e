"""NPS and the other kinds' maths (SPEC §5), against hand-computed examples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, Tally, nps_margin_of_error, summarize

pytestmark = pytest.mark.unit


def tally_of(*scores: int, invited: int = 0) -> Tally:
    tally = Tally(invited=invited)
    for score in scores:
        tally.add_answer(score)
    return tally


def test_issue_example_ten_answers_give_nps_20() -> None:
    # Given the answers from the scores issue
    summary = summarize(Kind.NPS, tally_of(10, 9, 9, 8, 7, 6, 5, 0, 10, 9, invited=10))
    # Then promoters 5, passives 2, detractors 3 and NPS 50 - 30 = 20
    assert summary["nps"] == 20.0
    assert (summary["promoter_count"], summary["passive_count"], summary["detractor_count"]) == (5, 2, 3)
    assert (summary["promoter_percent"], summary["passive_percent"], summary["detractor_percent"]) == (
        50.0,
        20.0,
        30.0,
    )
    # Adjusted Wald by hand: n'=13, p=5.75/13, d=3.75/13
    p, d = 5.75 / 13, 3.75 / 13
    assert summary["margin_of_error"] == round(1.96 * math.sqrt((p + d - (p - d) ** 2) / 13) * 100, 1)
    assert summary["margin_of_error"] == 45.7
    assert summary["responses"] == 10 and summary["response_rate"] == 100.0
    assert summary["counts"] == {
        "0": 1,
        "1": 0,
        "2": 0,
        "3": 0,
        "4": 0,
        "5": 1,
        "6": 1,
        "7": 1,
        "8": 1,
        "9": 3,
        "10": 2,
    }


def test_changing_the_zero_to_ten_gives_nps_40() -> None:
    summary = summarize(Kind.NPS, tally_of(10, 9, 9, 8, 7, 6, 5, 10, 10, 9))
    assert summary["nps"] == 40.0


def test_single_promoter_and_single_detractor() -> None:
    assert summarize(Kind.NPS, tally_of(9))["nps"] == 100.0
    assert summarize(Kind.NPS, tally_of(3))["nps"] == -100.0


def test_no_answers_gives_zeros_and_null_scores() -> None:
    summary = summarize(Kind.NPS, Tally())
    assert summary["responses"] == 0
    assert summary["nps"] is None and summary["margin_of_error"] is None
    assert summary["promoter_percent"] is None and summary["response_rate"] is None
    assert set(summary["counts"].values()) == {0}


def test_csat_counts_four_and_five_as_satisfied() -> None:
    summary = summarize(Kind.CSAT, tally_of(5, 4, 3, 1))
    assert summary["csat"] == 50.0 and summary["mean"] == 3.25
    assert list(summary["counts"]) == ["1", "2", "3", "4", "5"]


def test_ces_counts_five_to_seven_as_easy() -> None:
    summary = summarize(Kind.CES, tally_of(7, 6, 5, 4, 1, 2))
    assert summary["ces"] == 50.0 and summary["mean"] == 4.17


def test_csi_weights_attribute_indexes() -> None:
    tally = Tally()
    tally.add_answer(8, {"speed": 10, "price": 1})
    tally.add_answer(6, {"speed": 10, "price": 4})
    summary = summarize(Kind.CSI, tally, [AttributeWeight("speed", 3), AttributeWeight("price", 1)])
    rows = {row["key"]: row for row in summary["attributes"]}
    assert rows["speed"]["mean"] == 10.0 and rows["speed"]["index"] == 100.0
    assert rows["price"]["mean"] == 2.5 and rows["price"]["index"] == round(1.5 / 9 * 100, 1)
    assert summary["csi"] == round((3 * 100 + 1 * 1.5 / 9 * 100) / 4, 1)


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=200))
def test_nps_properties(scores: list[int]) -> None:
    summary = summarize(Kind.NPS, tally_of(*scores))
    n = len(scores)
    assert summary["responses"] == n
    assert summary["promoter_count"] + summary["passive_count"] + summary["detractor_count"] == n
    if n:
        exact = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n
        assert abs(summary["nps"] - exact) <= 0.05 + 1e-9
        assert -100 <= summary["nps"] <= 100
        assert 0 < summary["margin_of_error"] <= 100
    else:
        assert summary["nps"] is None


def test_margin_of_error_shrinks_with_more_answers() -> None:
    assert nps_margin_of_error(50, 30, 100) < nps_margin_of_error(5, 3, 10)


def test_tally_round_trips_through_compact_form() -> None:
    tally = Tally(invited=3)
    tally.add_answer(9, {"speed": 7})
    assert Tally.from_compact(tally.to_compact()) == tally
