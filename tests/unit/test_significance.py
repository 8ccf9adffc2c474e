"""Compare maths (docs/insight.md) against values computed independently with scipy and numpy.

scipy is a test dependency only: the Lambda computes with functions/domain/significance.py.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from functions.domain import significance as sig
from functions.domain.comparison import disjoint_segments, disjoint_windows, parse_span
from functions.domain.errors import Unprocessable
from functions.domain.kinds import Kind
from functions.domain.scoring import AttributeWeight, Tally

pytestmark = pytest.mark.unit

Z = stats.norm.ppf(0.975)


def tally(hist: dict[int, int]) -> Tally:
    return Tally(counts=dict(hist))


def adjusted_wald_se(promoters: float, detractors: float, n: float) -> float:
    """Independently: the standard error of the mean of a +1/0/−1 variable over pseudo-answers
    (¾ promoter, ¾ detractor and 1½ passive added), in NPS points."""
    weights = np.array([promoters + 0.75, n - promoters - detractors + 1.5, detractors + 0.75])
    values = np.array([1.0, 0.0, -1.0])
    mean = np.average(values, weights=weights)
    variance = np.average((values - mean) ** 2, weights=weights)
    return float(100 * np.sqrt(variance / weights.sum()))


def expected_nps(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float, float]:
    (pa, da, na), (pb, db, nb) = a, b
    difference = 100 * (pa - da) / na - 100 * (pb - db) / nb
    se = math.sqrt(adjusted_wald_se(*a) ** 2 + adjusted_wald_se(*b) ** 2)
    p = 2 * stats.norm.sf(abs(difference / se))
    return difference, se, float(p)


# ---- NPS --------------------------------------------------------------------------------------


def test_the_issue_case_nps_30_on_200_against_22_on_180() -> None:
    # Given NPS 30.0 on 200 answers (100 promoters, 40 detractors) and 22.0 on 180
    # (42% promoters, 20% detractors: 75.6 and 36)
    a, b = (100.0, 40.0, 200.0), (75.6, 36.0, 180.0)
    # When they are compared
    result = sig.compare_nps(a, b)
    # Then the difference, interval and p-value are a statistician's, with adjusted-Wald variances
    difference, se, p = expected_nps(a, b)
    assert result.difference == pytest.approx(8.0) == pytest.approx(difference)
    assert result.low == pytest.approx(difference - 1.96 * se)
    assert result.high == pytest.approx(difference + 1.96 * se)
    assert (result.low, result.high) == pytest.approx((difference - Z * se, difference + Z * se), abs=0.01)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # Worked by hand: se_a = 5.480, se_b = 5.587 NPS points, so z = 8 / 7.826 = 1.022,
    # p = 0.307 and the interval 8 ± 1.96 × 7.826 = [-7.3, 23.3]
    assert result.statistic == pytest.approx(1.022, abs=1e-3)
    assert result.p_value == pytest.approx(0.307, abs=1e-3)
    assert result.significant is False
    view = result.view()
    assert view["difference"] == 8.0
    assert view["confidence_interval"] == [-7.3, 23.3]


def test_the_issue_case_with_whole_answers_through_tallies() -> None:
    # Given 200 answers with NPS 30 and 180 with NPS 22.2 (76 promoters, 36 detractors)
    a = tally({10: 100, 7: 60, 3: 40})
    b = tally({9: 76, 8: 68, 0: 36})
    headline = sig.compare_tallies(Kind.NPS, a, b)[0]
    difference, se, p = expected_nps((100, 40, 200), (76, 36, 180))
    assert headline.metric == "nps" and headline.test == "adjusted_wald_z"
    assert headline.difference == pytest.approx(difference)
    assert headline.p_value == pytest.approx(p, rel=1e-9)
    assert headline.low == pytest.approx(difference - 1.96 * se)


def test_a_large_nps_change_on_many_answers_is_significant() -> None:
    result = sig.compare_nps((600, 100, 1000), (400, 250, 1000))
    difference, _, p = expected_nps((600, 100, 1000), (400, 250, 1000))
    assert result.difference == pytest.approx(35.0) == pytest.approx(difference)
    assert result.p_value == pytest.approx(p, rel=1e-6)
    assert result.significant is True
    assert result.low is not None and result.low > 0


def test_no_answers_on_one_side_means_nothing_to_test() -> None:
    result = sig.compare_nps((10, 2, 20), (0, 0, 0))
    assert (result.difference, result.p_value, result.significant, result.low) == (None, None, None, None)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 500).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n)).flatmap(
            lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[0] - t[1]))
        )
    ),
    st.integers(1, 500).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n)).flatmap(
            lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[0] - t[1]))
        )
    ),
)
def test_nps_matches_the_independent_computation_and_is_antisymmetric(
    a: tuple[int, int, int], b: tuple[int, int, int]
) -> None:
    (na, pa, da), (nb, pb, db) = a, b
    result = sig.compare_nps((pa, da, na), (pb, db, nb))
    swapped = sig.compare_nps((pb, db, nb), (pa, da, na))
    difference, _, p = expected_nps((pa, da, na), (pb, db, nb))
    assert result.difference == pytest.approx(difference, abs=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-6, abs=1e-12)
    assert swapped.p_value == pytest.approx(result.p_value)
    assert swapped.difference == pytest.approx(-difference, abs=1e-9)


# ---- proportions ---------------------------------------------------------------------------------


def test_csat_shares_use_the_two_proportion_test() -> None:
    # Given CSAT 80% of 150 against 70% of 120
    result = sig.compare_proportions("csat", (120, 150), (84, 120))
    # Then the pooled z-test's p-value is the chi-squared test's on the 2×2 table (no correction)
    _, p, _, _ = stats.chi2_contingency([[120, 30], [84, 36]], correction=False)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # and the interval is the unpooled (Wald) one on the difference of percentages
    se = 100 * math.sqrt(0.8 * 0.2 / 150 + 0.7 * 0.3 / 120)
    assert result.difference == pytest.approx(10.0)
    assert (result.low, result.high) == pytest.approx((10 - 1.96 * se, 10 + 1.96 * se))
    assert result.test == "two_proportion_z"


def test_two_samples_that_are_all_satisfied_cannot_be_tested() -> None:
    result = sig.compare_proportions("csat", (50, 50), (40, 40))
    assert result.difference == 0.0
    assert result.p_value is None and result.significant is None


# ---- means -----------------------------------------------------------------------------------------


def expand(hist: dict[int, int]) -> np.ndarray:
    return np.repeat(np.array(list(hist), dtype=float), list(hist.values()))


@pytest.mark.parametrize(
    ("hist_a", "hist_b"),
    [
        ({1: 5, 2: 10, 3: 20, 4: 40, 5: 25}, {1: 10, 2: 15, 3: 25, 4: 30, 5: 10}),
        ({7: 3, 6: 2, 1: 1}, {4: 9, 5: 1}),
        ({1: 200, 10: 200}, {5: 1, 6: 1}),
    ],
)
def test_means_use_welch_t_as_scipy_does(hist_a: dict[int, int], hist_b: dict[int, int]) -> None:
    result = sig.compare_means("mean", sig.moments(hist_a), sig.moments(hist_b))
    expected = stats.ttest_ind(expand(hist_a), expand(hist_b), equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.df == pytest.approx(expected.df, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-8)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high), rel=1e-8)


def test_one_answer_has_no_variance_so_no_test() -> None:
    result = sig.compare_means("mean", sig.moments({3: 1}), sig.moments({4: 10, 5: 10}))
    assert result.difference == pytest.approx(-1.5)
    assert result.p_value is None


@settings(max_examples=80, deadline=None)
@given(st.floats(0.0, 40.0), st.floats(1.0, 1e6))
@example(1e-5, 1e6)  # found by a CI run: df / (df + t²) rounded to 1, so 1 − x lost every digit
def test_student_t_tail_and_quantile_match_scipy(t: float, df: float) -> None:
    assert sig.t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-8, abs=1e-300)
    assert sig.t_critical(df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-9)


# ---- CSI -------------------------------------------------------------------------------------------


def test_csi_of_one_attribute_has_the_exact_standard_error() -> None:
    ratings = {8: 30, 9: 20, 6: 10}
    estimate = sig.csi_estimate(Tally(attrs={"staff": ratings}), [AttributeWeight("staff", 1.0)])
    assert estimate is not None
    assert estimate.value == pytest.approx((expand(ratings).mean() - 1) / 9 * 100)
    assert estimate.se == pytest.approx(100 / 9 * stats.sem(expand(ratings)))


def test_csi_standard_error_bounds_any_correlation_between_attributes() -> None:
    # Given two attributes rated by the same 40 customers, perfectly correlated
    rng = np.random.default_rng(7)
    first = rng.integers(1, 11, 40)
    second = np.clip(first + 0, 1, 10)
    hist = {int(v): int((first == v).sum()) for v in set(first.tolist())}
    attrs = [AttributeWeight("a", 2.0), AttributeWeight("b", 1.0)]
    estimate = sig.csi_estimate(
        Tally(attrs={"a": hist, "b": {int(v): int((second == v).sum()) for v in set(second.tolist())}}), attrs
    )
    # Then the bound equals the true standard error of the per-customer index
    per_customer = (2 * (first - 1) + (second - 1)) / 3 / 9 * 100
    assert estimate is not None and estimate.se == pytest.approx(stats.sem(per_customer))


# ---- margins and trends ------------------------------------------------------------------------------


def test_margins_of_error_by_kind() -> None:
    # NPS: as in every summary (adjusted Wald)
    assert sig.margin_of_error(Kind.NPS, tally({10: 100, 7: 60, 3: 40})) == round(
        1.96 * adjusted_wald_se(100, 40, 200), 1
    )
    # CSAT 8 of 10 satisfied: Agresti–Coull, p' = 10/14 on n' = 14
    assert sig.margin_of_error(Kind.CSAT, tally({5: 6, 4: 2, 2: 2})) == 23.7
    assert sig.margin_of_error(Kind.CES, Tally()) is None


def test_successive_changes_flag_only_significant_jumps() -> None:
    steady = tally({10: 50, 8: 30, 2: 20})
    jump = tally({10: 90, 8: 10})
    flags = sig.successive_changes(Kind.NPS, [steady, steady, jump, Tally(), jump])
    assert flags == [None, False, True, None, None]


# ---- windows and segments ----------------------------------------------------------------------------

TODAY = date(2026, 11, 30)


def test_windows_parse_and_overlap() -> None:
    rolling = parse_span("30d", "a", TODAY)
    assert (rolling.first, rolling.last, rolling.rolling) == (date(2026, 11, 1), TODAY, "30d")
    october = parse_span("2026-10-01..2026-10-31", "b", TODAY)
    assert (october.first, october.last, october.rolling) == (date(2026, 10, 1), date(2026, 10, 31), None)
    disjoint_windows(rolling, october)
    with pytest.raises(Unprocessable) as caught:
        disjoint_windows(rolling, parse_span("2026-10-01..2026-11-01", "b", TODAY))
    assert caught.value.code == "overlapping_windows"
    with pytest.raises(Unprocessable):
        disjoint_windows(parse_span("7d", "a", TODAY), parse_span("all", "b", TODAY))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "31d",
        "2026-10-01",
        "2026-10-31..2026-10-01",
        "2026-13-01..2026-13-02",
        "x..y",
        "2020-01-01..2026-01-01",
        "9" * 80,
    ],
)
def test_bad_windows_are_422_naming_the_parameter(text: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        parse_span(text, "a", TODAY)
    assert caught.value.field == "a"


def test_only_two_values_of_one_dimension_compare() -> None:
    disjoint_segments("channel:email", "channel:sms")
    disjoint_segments("prop:plan=gold", "prop:plan=__other__")
    for a, b in [
        ("all", "channel:sms"),
        ("channel:sms", "channel:sms"),
        ("channel:sms", "touchpoint:web"),
        ("prop:plan=gold", "prop:tier=gold"),
    ]:
        with pytest.raises(Unprocessable):
            disjoint_segments(a, b)
