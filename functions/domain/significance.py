"""Did a score really change? Pure statistics over histograms (docs/insight.md).

Every test compares two independent samples (two disjoint windows, or two values of one
segment dimension) and reports the difference a − b, its 95% confidence interval, a two-sided
p-value and whether p < 0.05:

- NPS: a z-test whose variances are the adjusted-Wald ones of the summary's margin of error
  (add 3 to n and ¾ to promoters and to detractors; var = (p + d − (p − d)²) / n);
- CSAT and CES percentages: the two-proportion z-test (pooled variance for the p-value,
  unpooled for the interval);
- means (CSAT, CES, CSI ratings): Welch's t-test, the variances taken from the histograms;
- the CSI index: a z-test whose standard error is an upper bound (attributes taken as perfectly
  correlated, since the histograms cannot tell their covariance), so it errs towards "not
  significant".

No scipy here (it is not in the Lambda): the normal tail is `math.erfc`, Student's t tail the
regularized incomplete beta function (a continued fraction), its quantile found by bisection.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, SHARE_FROM, Kind, nps_groups
from functions.domain.scoring import Z_95, AttributeWeight, Tally, rounded

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """One metric compared between samples a and b (difference = a − b, in the metric's units)."""

    metric: str
    test: str
    a: float | None
    b: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    statistic: float | None
    df: float | None = None
    attribute: str | None = None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < ALPHA

    def view(self, places: int = 1) -> dict[str, object]:
        """The JSON form: scores with `places` decimals, the p-value unrounded."""

        def r(value: float | None, digits: int = places) -> float | None:
            return None if value is None else rounded(value, digits)

        out: dict[str, object] = {
            "metric": self.metric,
            "test": self.test,
            "a": r(self.a),
            "b": r(self.b),
            "difference": r(self.difference),
            "confidence_interval": None if self.low is None else [r(self.low), r(self.high)],
            "p_value": self.p_value,
            "significant": self.significant,
            "statistic": r(self.statistic, 3),
        }
        if self.df is not None:
            out["df"] = r(self.df, 1)
        if self.attribute is not None:
            out["attribute"] = self.attribute
        return out


# ---- distributions --------------------------------------------------------------------------


def normal_two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    # Lentz's method for the continued fraction of the incomplete beta function.
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """I_x(a, b), the regularized incomplete beta function; `y` is 1 − x when the caller knows
    it more precisely than `1.0 - x` can say (x within a rounding error of 1)."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with `df` degrees of freedom."""
    # x = df / (df + t²) rounds to 1 for a small t and a large df: pass 1 − x exactly.
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t))


def t_critical(df: float, alpha: float = ALPHA) -> float:
    """The t with P(|T| ≥ t) = alpha (bisection on the tail, to float precision)."""
    low, high = 0.0, 2.0
    while t_two_sided_p(high, df) > alpha:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_two_sided_p(middle, df) > alpha:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


# ---- samples --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    n: int
    mean: float
    variance: float | None  # the sample variance (n − 1); None below two answers


def moments(hist: Mapping[int, int]) -> Moments | None:
    """n, mean and sample variance of a histogram (sum of squares from the counts, exactly)."""
    n = sum(hist.values())
    if n <= 0:
        return None
    total = sum(point * count for point, count in hist.items())
    squares = sum(point * point * count for point, count in hist.items())
    mean = Fraction(total, n)
    variance = None if n < 2 else float((squares - n * mean * mean) / (n - 1))
    return Moments(n, float(mean), variance)


def nps_standard_error(promoters: float, detractors: float, n: float) -> float:
    """The adjusted-Wald standard error of an NPS, in NPS points (counts may be fractional)."""
    n_adj = n + 3.0
    p = (promoters + 0.75) / n_adj
    d = (detractors + 0.75) / n_adj
    return 100.0 * math.sqrt((p + d - (p - d) ** 2) / n_adj)


def _interval(difference: float, se: float, critical: float = Z_95) -> tuple[float, float]:
    return difference - critical * se, difference + critical * se


def compare_nps(a: tuple[float, float, float], b: tuple[float, float, float]) -> Comparison:
    """NPS of a against b, each given as (promoters, detractors, answers).

    The difference is of the reported (unadjusted) scores; the adjusted-Wald terms enter
    only the variances, as in the summary's margin of error.
    """
    (pa, da, na), (pb, db, nb) = a, b
    if na <= 0 or nb <= 0:
        return _undefined("nps", "adjusted_wald_z", _nps(pa, da, na), _nps(pb, db, nb))
    score_a, score_b = _nps(pa, da, na), _nps(pb, db, nb)
    assert score_a is not None and score_b is not None
    difference = score_a - score_b
    se = math.hypot(nps_standard_error(pa, da, na), nps_standard_error(pb, db, nb))
    z = difference / se
    low, high = _interval(difference, se)
    return Comparison(
        "nps", "adjusted_wald_z", score_a, score_b, difference, low, high, normal_two_sided_p(z), z
    )


def _nps(promoters: float, detractors: float, n: float) -> float | None:
    return None if n <= 0 else 100.0 * (promoters - detractors) / n


def compare_proportions(metric: str, a: tuple[int, int], b: tuple[int, int]) -> Comparison:
    """The share of a against b, each (successes, answers), in percentage points.

    p-value from the pooled z-test (the null hypothesis says both shares are equal), the
    interval from the unpooled (Wald) standard error of the difference.
    """
    (xa, na), (xb, nb) = a, b
    share_a = None if na <= 0 else 100.0 * xa / na
    share_b = None if nb <= 0 else 100.0 * xb / nb
    if share_a is None or share_b is None:
        return _undefined(metric, "two_proportion_z", share_a, share_b)
    pa, pb = xa / na, xb / nb
    difference = share_a - share_b
    pooled = (xa + xb) / (na + nb)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb))
    se_unpooled = 100.0 * math.sqrt(pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb)
    low, high = _interval(difference, se_unpooled)
    if se_pooled == 0.0:  # both samples all yes or all no: nothing varies, nothing to test
        return Comparison(metric, "two_proportion_z", share_a, share_b, difference, low, high, None, None)
    z = (pa - pb) / se_pooled
    return Comparison(
        metric, "two_proportion_z", share_a, share_b, difference, low, high, normal_two_sided_p(z), z
    )


def compare_means(
    metric: str, a: Moments | None, b: Moments | None, attribute: str | None = None
) -> Comparison:
    """Welch's t-test of two means (unequal variances, Welch–Satterthwaite degrees of freedom)."""
    mean_a = None if a is None else a.mean
    mean_b = None if b is None else b.mean
    if a is None or b is None or a.variance is None or b.variance is None:
        return _undefined(metric, "welch_t", mean_a, mean_b, attribute)
    difference = a.mean - b.mean
    va, vb = a.variance / a.n, b.variance / b.n
    if va + vb == 0.0:  # every answer the same on both sides
        return Comparison(
            metric, "welch_t", a.mean, b.mean, difference, None, None, None, None, attribute=attribute
        )
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    t = difference / se
    low, high = _interval(difference, se, t_critical(df))
    return Comparison(
        metric, "welch_t", a.mean, b.mean, difference, low, high, t_two_sided_p(t, df), t, df, attribute
    )


def _undefined(
    metric: str, test: str, a: float | None, b: float | None, attribute: str | None = None
) -> Comparison:
    difference = None if a is None or b is None else a - b
    return Comparison(metric, test, a, b, difference, None, None, None, None, attribute=attribute)


# ---- CSI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEstimate:
    value: float
    se: float | None  # an upper bound; None when an attribute has fewer than two ratings


def csi_estimate(tally: Tally, attributes: Sequence[AttributeWeight]) -> IndexEstimate | None:
    """The CSI index and an upper bound of its standard error.

    csi = Σ cᵢ·meanᵢ + constant with cᵢ = wᵢ / Σw × 100 / 9, over the attributes rated. The
    ratings of one customer are correlated and the histograms do not say how, so the standard
    error is bounded by Σ cᵢ·sdᵢ/√nᵢ (the value at perfect correlation; Cauchy–Schwarz).
    """
    low, high = CSI_ATTRIBUTE_SCALE
    rated = [
        (a, m) for a in attributes if a.weight > 0 and (m := moments(tally.attrs.get(a.key, {}))) is not None
    ]
    if not rated:
        return None
    total_weight = sum(a.weight for a, _ in rated)
    value = sum(a.weight * (m.mean - low) / (high - low) * 100.0 for a, m in rated) / total_weight
    if any(m.variance is None for _, m in rated):
        return IndexEstimate(value, None)
    se = sum(
        a.weight / total_weight * 100.0 / (high - low) * math.sqrt((m.variance or 0.0) / m.n)
        for a, m in rated
    )
    return IndexEstimate(value, se)


def compare_index(a: IndexEstimate | None, b: IndexEstimate | None) -> Comparison:
    value_a = None if a is None else a.value
    value_b = None if b is None else b.value
    if a is None or b is None or a.se is None or b.se is None:
        return _undefined("csi", "conservative_z", value_a, value_b)
    difference = a.value - b.value
    se = math.hypot(a.se, b.se)
    if se == 0.0:
        return Comparison("csi", "conservative_z", a.value, b.value, difference, None, None, None, None)
    z = difference / se
    low, high = _interval(difference, se)
    return Comparison(
        "csi", "conservative_z", a.value, b.value, difference, low, high, normal_two_sided_p(z), z
    )


# ---- by kind --------------------------------------------------------------------------------

_groups = nps_groups


def _share(kind: Kind, counts: Mapping[int, int]) -> tuple[int, int]:
    return sum(c for s, c in counts.items() if s >= SHARE_FROM[kind]), sum(counts.values())


def headline_comparison(
    kind: Kind, a: Tally, b: Tally, attributes: Sequence[AttributeWeight] = ()
) -> Comparison:
    """The kind's headline score (nps, csat, ces or csi) of a against b."""
    if kind is Kind.NPS:
        return compare_nps(_groups(a.counts), _groups(b.counts))
    if kind is Kind.CSI:
        return compare_index(csi_estimate(a, attributes), csi_estimate(b, attributes))
    return compare_proportions(kind.value, _share(kind, a.counts), _share(kind, b.counts))


def compare_tallies(
    kind: Kind, a: Tally, b: Tally, attributes: Sequence[AttributeWeight] = ()
) -> list[Comparison]:
    """Every comparison of a kind, the headline first, then the means (and CSI's attributes)."""
    out = [headline_comparison(kind, a, b, attributes)]
    if kind is not Kind.NPS:
        out.append(compare_means("mean", moments(a.counts), moments(b.counts)))
    if kind is Kind.CSI:
        for attribute in attributes:
            out.append(
                compare_means(
                    "mean",
                    moments(a.attrs.get(attribute.key, {})),
                    moments(b.attrs.get(attribute.key, {})),
                    attribute=attribute.key,
                )
            )
    return out


def margin_of_error(kind: Kind, tally: Tally, attributes: Sequence[AttributeWeight] = ()) -> float | None:
    """The 95% margin of error of the headline score, in its points (one decimal).

    NPS: adjusted-Wald (as in every NPS summary); CSAT and CES shares: adjusted Wald
    (Agresti–Coull: two successes and two failures added); CSI: 1.96 × its standard-error bound.
    """
    if kind is Kind.NPS:
        promoters, detractors, n = _groups(tally.counts)
        return None if n <= 0 else rounded(Z_95 * nps_standard_error(promoters, detractors, n))
    if kind is Kind.CSI:
        estimate = csi_estimate(tally, attributes)
        return None if estimate is None or estimate.se is None else rounded(Z_95 * estimate.se)
    successes, n = _share(kind, tally.counts)
    if n <= 0:
        return None
    n_adj = n + 4.0
    p = (successes + 2.0) / n_adj
    return rounded(Z_95 * 100.0 * math.sqrt(p * (1.0 - p) / n_adj))


def successive_changes(
    kind: Kind, tallies: Sequence[Tally], attributes: Sequence[AttributeWeight] = ()
) -> list[bool | None]:
    """For each bucket, whether its headline differs significantly from the bucket before.

    None for the first bucket, and where either bucket has too few answers to test.
    """
    out: list[bool | None] = [None] if tallies else []
    for before, after in itertools.pairwise(tallies):
        out.append(headline_comparison(kind, after, before, attributes).significant)
    return out
