"""Score maths (docs/architecture.md, Scores engine): pure functions over histograms.

A `Tally` is what the aggregator stores per (survey, segment, day): a histogram of headline
scores, the number of invitations sent, and, for CSI, one histogram per attribute. Windows and
trend buckets are sums of tallies; summaries are computed from a tally only here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from functions.domain.follow_ups import median_hours
from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, SHARE_FROM, Kind, nps_groups, scale_points

Z_95 = 1.96


@dataclass
class Tally:
    """Counts for one (survey, segment) over some set of days."""

    counts: dict[int, int] = field(default_factory=dict)
    invited: int = 0
    attrs: dict[str, dict[int, int]] = field(default_factory=dict)
    # Follow-ups of the answers counted here (docs/follow-ups.md): opened, closed, closed within
    # their deadline, and closes per hours-to-close bucket (domain/follow_ups.py HOUR_BUCKETS).
    fu_opened: int = 0
    fu_closed: int = 0
    fu_within: int = 0
    fu_hours: dict[int, int] = field(default_factory=dict)
    # Additional questions' choices: "<question position>#<value position>" → answers
    # (domain.questions; the summary names them from the survey's questions).
    picks: dict[str, int] = field(default_factory=dict)

    @property
    def responses(self) -> int:
        return sum(self.counts.values())

    def add_answer(self, score: int, attrs: Mapping[str, int] | None = None) -> None:
        self.counts[score] = self.counts.get(score, 0) + 1
        for key, rating in (attrs or {}).items():
            hist = self.attrs.setdefault(key, {})
            hist[rating] = hist.get(rating, 0) + 1

    def add_picks(self, picks: Iterable[str]) -> None:
        for pick in picks:
            self.picks[pick] = self.picks.get(pick, 0) + 1

    def merge(self, other: Tally, sign: int = 1) -> None:
        """Add `other` into this tally (or, with `sign` -1, take it out)."""
        for pick, n in other.picks.items():
            self.picks[pick] = self.picks.get(pick, 0) + sign * n
        for point, n in other.counts.items():
            self.counts[point] = self.counts.get(point, 0) + sign * n
        self.invited += sign * other.invited
        for key, hist in other.attrs.items():
            mine = self.attrs.setdefault(key, {})
            for point, n in hist.items():
                mine[point] = mine.get(point, 0) + sign * n
        self.fu_opened += sign * other.fu_opened
        self.fu_closed += sign * other.fu_closed
        self.fu_within += sign * other.fu_within
        for bucket, n in other.fu_hours.items():
            self.fu_hours[bucket] = self.fu_hours.get(bucket, 0) + sign * n

    def is_empty(self) -> bool:
        return not self.invited and not any(self.counts.values()) and not self.fu_opened

    def to_compact(self) -> dict[str, Any]:
        """A small JSON-able form for storage (only non-zero points)."""
        out: dict[str, Any] = {"c": {str(k): v for k, v in sorted(self.counts.items()) if v}}
        if self.invited:
            out["i"] = self.invited
        attrs = {
            key: {str(k): v for k, v in sorted(hist.items()) if v} for key, hist in sorted(self.attrs.items())
        }
        attrs = {key: hist for key, hist in attrs.items() if hist}
        if attrs:
            out["a"] = attrs
        loop = {"o": self.fu_opened, "c": self.fu_closed, "w": self.fu_within}
        hours = {str(k): v for k, v in sorted(self.fu_hours.items()) if v}
        if any(loop.values()) or hours:
            out["f"] = {**{k: v for k, v in loop.items() if v}, **({"h": hours} if hours else {})}
        picks = {pick: n for pick, n in sorted(self.picks.items()) if n}
        if picks:
            out["q"] = picks
        return out

    @classmethod
    def from_compact(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            counts={int(k): int(v) for k, v in (data.get("c") or {}).items()},
            invited=int(data.get("i", 0)),
            attrs={
                key: {int(k): int(v) for k, v in hist.items()} for key, hist in (data.get("a") or {}).items()
            },
            fu_opened=int((data.get("f") or {}).get("o", 0)),
            fu_closed=int((data.get("f") or {}).get("c", 0)),
            fu_within=int((data.get("f") or {}).get("w", 0)),
            fu_hours={int(k): int(v) for k, v in ((data.get("f") or {}).get("h") or {}).items()},
            picks={str(k): int(v) for k, v in (data.get("q") or {}).items()},
        )


def sum_tallies(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def rounded(value: Fraction | float, places: int = 1) -> float:
    """`value` rounded half away from zero (12.25 → 12.3, −12.25 → −12.3), as a float.

    Python's round() rounds half to even on binary floats (round(1.25, 1) == 1.2); a
    percentage a person reads should round as they learnt at school, from the exact value.
    """
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(value)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, one decimal; None when there is nothing to divide."""
    if whole <= 0:
        return None
    return rounded(Fraction(100 * part, whole))


def _exact_mean(hist: Mapping[int, int]) -> Fraction | None:
    n = sum(hist.values())
    if n == 0:
        return None
    return Fraction(sum(point * count for point, count in hist.items()), n)


def _mean(hist: Mapping[int, int]) -> float | None:
    """The mean answer, two decimals; None when there are no answers."""
    exact = _exact_mean(hist)
    return None if exact is None else rounded(exact, 2)


def nps_margin_of_error(promoters: int, detractors: int, n: int) -> float | None:
    """95% margin of error of an NPS, adjusted-Wald, in NPS points (one decimal).

    Add 3 to n and 3/4 to promoters and to detractors, then
    var = (p + d - (p - d)^2) / n'. None when there are no answers.
    """
    if n <= 0:
        return None
    n_adj = n + 3
    p = (promoters + 0.75) / n_adj
    d = (detractors + 0.75) / n_adj
    variance = (p + d - (p - d) ** 2) / n_adj
    return rounded(Z_95 * math.sqrt(variance) * 100.0)


def nps_fields(counts: Mapping[int, int]) -> dict[str, Any]:
    promoters, detractors, n = nps_groups(counts)
    passives = n - promoters - detractors
    nps = None if n == 0 else rounded(Fraction(100 * (promoters - detractors), n))
    return {
        "nps": nps,
        "promoter_count": promoters,
        "promoter_percent": percent(promoters, n),
        "passive_count": passives,
        "passive_percent": percent(passives, n),
        "detractor_count": detractors,
        "detractor_percent": percent(detractors, n),
        "margin_of_error": nps_margin_of_error(promoters, detractors, n),
    }


def _share_at_least(counts: Mapping[int, int], threshold: int) -> float | None:
    n = sum(counts.values())
    return percent(sum(c for s, c in counts.items() if s >= threshold), n)


@dataclass(frozen=True)
class AttributeWeight:
    key: str
    weight: float


def csi_fields(tally: Tally, attributes: Sequence[AttributeWeight]) -> dict[str, Any]:
    """Per attribute its mean and index ((mean − 1) / 9 × 100); `csi` their weighted mean.

    The headline `mean` is the mean of the overall 1–10 rating each customer gives; `csi`
    weights only the attribute indexes, and attributes nobody rated yet are left out of it.
    Rounding happens once, at the end, from exact means.
    """
    rows = []
    weighted = Fraction(0)
    weights = Fraction(0)
    low, high = CSI_ATTRIBUTE_SCALE
    for attribute in attributes:
        exact = _exact_mean(tally.attrs.get(attribute.key, {}))
        index = None if exact is None else (exact - low) / (high - low) * 100
        rows.append(
            {
                "key": attribute.key,
                "mean": None if exact is None else rounded(exact, 2),
                "index": None if index is None else rounded(index),
                "weight": attribute.weight,
            }
        )
        if index is not None and attribute.weight > 0:
            # Weights are decimals people typed (1.5), so take them as written, not as binary.
            weight = Fraction(str(attribute.weight))
            weighted += weight * index
            weights += weight
    csi = None if weights == 0 else rounded(weighted / weights)
    return {"csi": csi, "mean": _mean(tally.counts), "attributes": rows}


def follow_up_fields(tally: Tally) -> dict[str, Any]:
    """The loop's figures (docs/follow-ups.md): counted on the day of the answer followed up."""
    return {
        "opened": tally.fu_opened,
        "closed": tally.fu_closed,
        "closed_within_sla": tally.fu_within,
        "median_hours_to_close": median_hours(tally.fu_hours),
    }


def summarize(kind: Kind, tally: Tally, attributes: Sequence[AttributeWeight] = ()) -> dict[str, Any]:
    """Every summary field (docs/architecture.md) for one tally (the caller adds ids, segment and window)."""
    responses = tally.responses
    counts = {str(point): tally.counts.get(point, 0) for point in scale_points(kind)}
    out: dict[str, Any] = {
        "responses": responses,
        "invited": tally.invited,
        "response_rate": percent(responses, tally.invited),
        "counts": counts,
        "follow_ups": follow_up_fields(tally),
    }
    if kind is Kind.NPS:
        out.update(nps_fields(tally.counts))
    elif kind is Kind.CSAT:
        out.update(
            {"csat": _share_at_least(tally.counts, SHARE_FROM[Kind.CSAT]), "mean": _mean(tally.counts)}
        )
    elif kind is Kind.CES:
        out.update({"ces": _share_at_least(tally.counts, SHARE_FROM[Kind.CES]), "mean": _mean(tally.counts)})
    else:
        out.update(csi_fields(tally, attributes))
    return out
