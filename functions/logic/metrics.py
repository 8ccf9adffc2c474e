"""`GET /v1/metrics`: Delighted's metrics call, answered from Hark's day tallies (docs/api.md, Metrics).

Delighted reported whole numbers: each percentage and the NPS are rounded half away from
zero, and the NPS is computed from the exact shares (not from the rounded percentages).
since/until are unix seconds; Hark's tallies are per UTC day, so they select whole UTC days:
the day of `since` through the day of `until`, both inclusive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from functions.domain.apikeys import ApiKey
from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind, nps_groups
from functions.domain.scoring import sum_tallies
from functions.logic.surveys import survey_for_key
from functions.store import scores as score_store

FIRST_DAY = "0001-01-01"
LAST_DAY = "9999-12-31"


def round_half_away(value: Fraction) -> int:
    """Round to a whole number, halves away from zero (as Ruby's round, which Delighted ran)."""
    magnitude = int(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def delighted_view(counts: dict[int, int]) -> dict[str, int]:
    promoters, detractors, n = nps_groups(counts)
    passives = n - promoters - detractors

    def share(part: int) -> int:
        return round_half_away(Fraction(100 * part, n)) if n else 0

    return {
        "nps": round_half_away(Fraction(100 * (promoters - detractors), n)) if n else 0,
        "promoter_count": promoters,
        "promoter_percent": share(promoters),
        "passive_count": passives,
        "passive_percent": share(passives),
        "detractor_count": detractors,
        "detractor_percent": share(detractors),
        "response_count": n,
    }


def _day(seconds: int | None, default: str) -> str:
    if seconds is None:
        return default
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def metrics(key: ApiKey, survey_id: str | None, since: int | None, until: int | None) -> dict[str, Any]:
    """The Delighted-style metrics of one NPS survey (the key's default survey when none named)."""
    survey = survey_for_key(key, survey_id)
    if survey.kind is not Kind.NPS:
        raise InvalidInput(
            f"metrics are Delighted's NPS view; survey {survey.id} is {survey.kind.value}: "
            "read /v1/surveys/{id}/scores instead",
            field="survey_id",
            code="not_an_nps_survey",
        )
    first, last = _day(since, FIRST_DAY), _day(until, LAST_DAY)
    if first > last:
        raise InvalidInput("since must not be after until", field="since", code="invalid_time")
    days = score_store.read_day_tallies(key.tenant_id, survey.id, "all", first, last, consistent=False)
    return delighted_view(sum_tallies(d.tally for d in days).counts)
