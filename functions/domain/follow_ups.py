"""Follow-ups (docs/follow-ups.md), the pure parts: which answers open one, which status changes
are allowed, and the hours-to-close histogram a summary's median comes from.

A survey's `follow_up_rule` is copied onto each invitation (like its question), so the
aggregator decides from the stream record alone, with no read of the survey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, SCALES, Kind
from functions.lazy import lazy

# fractions and the score maths load where an answer is matched or a median computed, not on a
# customer's click (survey entities import this module: docs/benchmarks.md, cold imports).
if TYPE_CHECKING:
    import fractions

    from functions.domain import scoring
else:
    fractions, scoring = lazy("fractions"), lazy("functions.domain.scoring")

OPEN = "open"
IN_PROGRESS = "in_progress"
CLOSED = "closed"
STATUSES = (OPEN, IN_PROGRESS, CLOSED)

# Answers at or below these open a follow-up unless the survey says otherwise.
DEFAULT_MAX_SCORE: dict[Kind, int] = {Kind.NPS: 6, Kind.CSAT: 2, Kind.CES: 3}
# CSI: an answer whose own index (its ratings, weighted as the survey weighs them) is below this.
DEFAULT_BELOW_INDEX = 50.0
DEFAULT_SLA_HOURS = 24
MAX_SLA_HOURS = 720

# Upper bounds (hours) of the hours-to-close buckets; a last bucket holds everything longer.
HOUR_BUCKETS: tuple[int, ...] = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720)


@dataclass(frozen=True)
class FollowUpRule:
    """Which answers open a follow-up, and its deadline; `None` fields take the kind's default."""

    enabled: bool = True
    max_score: int | None = None
    below_index: float | None = None
    sla_hours: int = DEFAULT_SLA_HOURS

    def effective(self, kind: Kind) -> FollowUpRule:
        """The rule with the kind's defaults filled in (what the survey shows)."""
        if kind is Kind.CSI:
            below = DEFAULT_BELOW_INDEX if self.below_index is None else self.below_index
            return FollowUpRule(self.enabled, None, below, self.sla_hours)
        top = DEFAULT_MAX_SCORE[kind] if self.max_score is None else self.max_score
        return FollowUpRule(self.enabled, top, None, self.sla_hours)

    def view(self, kind: Kind) -> dict[str, Any]:
        rule = self.effective(kind)
        out: dict[str, Any] = {"enabled": rule.enabled, "sla_hours": rule.sla_hours}
        if kind is Kind.CSI:
            out["below_index"] = rule.below_index
        else:
            out["max_score"] = rule.max_score
        return out

    def page_copy(self, kind: Kind, weights: Mapping[str, float]) -> dict[str, Any]:
        """The compact copy kept on each invitation's page (`page.fu`)."""
        rule = self.effective(kind)
        out: dict[str, Any] = {"on": rule.enabled, "sla": rule.sla_hours}
        if kind is Kind.CSI:
            out["below"] = rule.below_index
            out["w"] = {k: float(v) for k, v in weights.items()}
        else:
            out["max"] = rule.max_score
        return out


def rule_problem(kind: Kind, max_score: int | None, below_index: float | None) -> str | None:
    """Why a rule does not fit a survey's kind, or None."""
    if kind is Kind.CSI and max_score is not None:
        return "follow_up_rule: a csi survey takes below_index, not max_score"
    if kind is not Kind.CSI and below_index is not None:
        return "follow_up_rule: below_index is for csi surveys; use max_score"
    low, high = SCALES[kind]
    if max_score is not None and not low <= max_score < high:
        return f"follow_up_rule.max_score must be from {low} to {high - 1} for a {kind.value} survey"
    return None


def rule_from_plain(data: Mapping[str, Any] | None) -> FollowUpRule:
    if not data:
        return FollowUpRule()
    below = data.get("below_index")
    top = data.get("max_score")
    return FollowUpRule(
        enabled=bool(data.get("enabled", True)),
        max_score=None if top is None else int(top),
        below_index=None if below is None else float(below),
        sla_hours=int(data.get("sla_hours") or DEFAULT_SLA_HOURS),
    )


def rule_to_plain(rule: FollowUpRule) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": rule.enabled, "sla_hours": rule.sla_hours}
    if rule.max_score is not None:
        out["max_score"] = rule.max_score
    if rule.below_index is not None:
        out["below_index"] = rule.below_index
    return out


def answer_index(score: int, attrs: Mapping[str, int], weights: Mapping[str, float]) -> fractions.Fraction:
    """One CSI answer's own index (0..100): its ratings weighted like the survey's CSI, or its
    overall rating when it rated no attribute."""
    low, high = CSI_ATTRIBUTE_SCALE
    rated = [(fractions.Fraction(str(weights.get(k, 1.0))), r) for k, r in attrs.items()]
    total = sum((w for w, _ in rated), fractions.Fraction(0))
    if not rated or total == 0:
        return fractions.Fraction(score - low, high - low) * 100
    return (
        sum((w * fractions.Fraction(r - low, high - low) * 100 for w, r in rated), fractions.Fraction(0))
        / total
    )


def page_rule(page: Mapping[str, Any]) -> tuple[bool, int, int | None, float | None, dict[str, float]]:
    """(enabled, sla hours, max score, below index, weights) of an invitation's page copy, with the
    kind's defaults for invitations made before surveys had a rule."""
    kind = Kind(page["kind"])
    copy = page.get("fu")
    if not isinstance(copy, Mapping):
        weights = {str(a["key"]): 1.0 for a in page.get("attributes") or ()}
        copy = FollowUpRule().page_copy(kind, weights)
    weights = {str(k): float(v) for k, v in (copy.get("w") or {}).items()}
    top = copy.get("max")
    below = copy.get("below")
    return (
        bool(copy.get("on", True)),
        int(copy.get("sla") or DEFAULT_SLA_HOURS),
        None if top is None else int(top),
        None if below is None else float(below),
        weights,
    )


def matches(page: Mapping[str, Any], score: int | None, attrs: Mapping[str, int]) -> bool:
    """Whether an answer with `score` (and CSI `attrs`) on this invitation opens a follow-up."""
    if score is None:
        return False
    enabled, _sla, top, below, weights = page_rule(page)
    if not enabled:
        return False
    if Kind(page["kind"]) is Kind.CSI:
        return below is not None and answer_index(score, attrs, weights) < fractions.Fraction(str(below))
    return top is not None and score <= top


# ---- status changes -------------------------------------------------------------------------

# Closing is final: a new complaint is a new answer. open ↔ in_progress both ways (hand back).
_ALLOWED: dict[str, frozenset[str]] = {
    OPEN: frozenset({OPEN, IN_PROGRESS, CLOSED}),
    IN_PROGRESS: frozenset({OPEN, IN_PROGRESS, CLOSED}),
    CLOSED: frozenset({CLOSED}),
}


def can_move(current: str, wanted: str) -> bool:
    return wanted in _ALLOWED.get(current, frozenset())


# ---- hours to close ---------------------------------------------------------------------------


def hours_between(start_iso: str, end_iso: str) -> float:
    start = datetime.fromisoformat(start_iso.replace("Z", "+00:00"))
    end = datetime.fromisoformat(end_iso.replace("Z", "+00:00"))
    return max((end - start).total_seconds(), 0.0) / 3600


def bucket_of(hours: float) -> int:
    """The index of the bucket `hours` falls in (upper bounds inclusive; len(HOUR_BUCKETS): longer)."""
    for index, bound in enumerate(HOUR_BUCKETS):
        if hours <= bound:
            return index
    return len(HOUR_BUCKETS)


def _bounds(index: int) -> tuple[float, float | None]:
    low = 0.0 if index == 0 else float(HOUR_BUCKETS[index - 1])
    high = float(HOUR_BUCKETS[index]) if index < len(HOUR_BUCKETS) else None
    return low, high


def median_hours(hist: Mapping[int, int]) -> float | None:
    """The median hours to close from the bucket histogram (one decimal), interpolated linearly
    inside the bucket that holds it; a median in the last, open bucket is its lower bound."""
    n = sum(v for v in hist.values() if v > 0)
    if n <= 0:
        return None
    half = fractions.Fraction(n, 2)
    below = 0
    for index in sorted(k for k, v in hist.items() if v > 0):
        count = hist[index]
        if below + count >= half:
            low, high = _bounds(index)
            if high is None:
                return low
            exact = fractions.Fraction(str(low)) + (half - below) / count * fractions.Fraction(
                str(high - low)
            )
            return scoring.rounded(exact)
        below += count
    return None  # pragma: no cover (the loop always reaches half)


def within_sla(closed_at: str, due_at: str) -> bool:
    return closed_at <= due_at
