"""NPS and the other kinds' maths (docs/architecture.md, Scores engine), against hand-computed examples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, Tally, nps_margin_of_error, summarize
from tests.helpers import ISSUE_SCORES, assert_issue_nps

pytestmark = pytest.mark.unit


def tally_of(*scores: int, invited: int = 0) -> Tally:
    tally = Tally(invited=invited)
    for score in scores:
        tally.add_answer(score)
    return tally


def test_issue_example_ten_answers_give_nps_20() -> None:
    # Given the answers from the scores issue
    summary = summarize(Kind.NPS, tally_of(*ISSUE_SCORES, invited=10))
    # Then promoters 5, passives 2, detractors 3 and NPS 50 - 30 = 20
    assert_issue_nps(summary)
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


def test_csat_by_hand() -> None:
    # Given 8 answers 5,5,4,3,2,1,4,5 to 10 invitations
    summary = summarize(Kind.CSAT, tally_of(5, 5, 4, 3, 2, 1, 4, 5, invited=10))
    # Then 5 of 8 are satisfied (4 or 5): 62.5%; the mean is 29/8 = 3.625, shown as 3.63
    assert summary["csat"] == 62.5
    assert summary["mean"] == 3.63
    assert summary["counts"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 3}
    assert (summary["responses"], summary["invited"], summary["response_rate"]) == (8, 10, 80.0)
    assert "nps" not in summary and "margin_of_error" not in summary


def test_ces_counts_five_to_seven_as_easy() -> None:
    summary = summarize(Kind.CES, tally_of(7, 6, 5, 4, 1, 2))
    assert summary["ces"] == 50.0 and summary["mean"] == 4.17


def test_ces_by_hand() -> None:
    # Given 7 answers 7,6,5,5,4,3,1: 4 of 7 found it easy (5 to 7)
    summary = summarize(Kind.CES, tally_of(7, 6, 5, 5, 4, 3, 1))
    # Then ces = 400/7 = 57.142…% → 57.1 and the mean 31/7 = 4.428… → 4.43
    assert summary["ces"] == 57.1 and summary["mean"] == 4.43
    assert list(summary["counts"]) == [str(n) for n in range(1, 8)]


def test_csi_by_hand_weights_attribute_indexes_and_skips_unrated_attributes() -> None:
    # Given three customers rating overall 8, 6 and 9, speed 10, 7, 9 and price 4, 1, (none)
    tally = Tally()
    tally.add_answer(8, {"speed": 10, "price": 4})
    tally.add_answer(6, {"speed": 7, "price": 1})
    tally.add_answer(9, {"speed": 9})
    weights = [AttributeWeight("speed", 2), AttributeWeight("price", 1), AttributeWeight("support", 1)]
    summary = summarize(Kind.CSI, tally, weights)
    rows = {row["key"]: row for row in summary["attributes"]}
    # Then speed: mean 26/3 = 8.67, index (26/3 − 1) / 9 × 100 = 85.185… → 85.2
    assert (rows["speed"]["mean"], rows["speed"]["index"], rows["speed"]["weight"]) == (8.67, 85.2, 2)
    # price: mean 2.5, index 1.5 / 9 × 100 = 16.666… → 16.7
    assert (rows["price"]["mean"], rows["price"]["index"]) == (2.5, 16.7)
    # support: nobody rated it, so it has no index and no say in csi
    assert (rows["support"]["mean"], rows["support"]["index"]) == (None, None)
    # csi = (2 × 85.185… + 1 × 16.666…) / 3 = 62.345… → 62.3; the overall rating's mean 23/3 → 7.67
    assert summary["csi"] == 62.3
    assert summary["mean"] == 7.67
    assert list(summary["counts"]) == [str(n) for n in range(1, 11)]


def test_csi_without_any_rating_is_null() -> None:
    summary = summarize(Kind.CSI, Tally(), [AttributeWeight("speed", 1)])
    assert summary["csi"] is None and summary["mean"] is None
    assert summary["attributes"] == [{"key": "speed", "mean": None, "index": None, "weight": 1}]


@pytest.mark.parametrize(
    ("promoters", "detractors", "n", "expected"),
    [
        # n' = n + 3, p = (P + ¾) / n', d = (D + ¾) / n', moe = 1.96 × √((p + d − (p − d)²) / n') × 100
        (5, 3, 10, 45.7),  # the issue's example: √((0.7308 − 0.0237) / 13) = 0.2332
        (50, 20, 100, 15.1),  # p = 0.4927, d = 0.2015: √(0.6092 / 103) = 0.07692
        (1, 0, 1, 73.5),  # p = 0.4375, d = 0.1875: √(0.5625 / 4) = 0.375 exactly
        (0, 0, 4, 34.3),  # four passives: p = d = 0.75 / 7, √(0.2143 / 7) = 0.1750
    ],
)
def test_margin_of_error_by_hand(promoters: int, detractors: int, n: int, expected: float) -> None:
    assert nps_margin_of_error(promoters, detractors, n) == expected


def test_percentages_round_half_away_from_zero_like_a_person_would() -> None:
    # 1 promoter in 80 answers is 1.25%: Python's round() would say 1.2
    summary = summarize(Kind.NPS, tally_of(10, *[8] * 79))
    assert summary["promoter_percent"] == 1.3 and summary["nps"] == 1.3
    summary = summarize(Kind.NPS, tally_of(0, *[8] * 79))
    assert summary["detractor_percent"] == 1.3 and summary["nps"] == -1.3
    # 1 in 8 is 12.5% exactly
    assert summarize(Kind.NPS, tally_of(9, *[7] * 7))["nps"] == 12.5


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
