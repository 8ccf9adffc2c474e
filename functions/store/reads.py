"""Reads that span tables in one request, for the hot read paths of SPEC §8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.domain.apikeys import ApiKey
from functions.domain.survey import Survey
from functions.settings import get_settings
from functions.store import core, scores


@dataclass(frozen=True)
class ScoreRead:
    """What one BatchGetItem brought back for a scores request."""

    key: ApiKey | None
    survey: Survey | None
    summary: scores.StoredSummary | None = None
    # The segment index of the asked segment's dimension (None when not asked for).
    index: set[str] | None = None


def key_survey_and(
    hash_hex: str, survey_id: str, *, summary_segment: str | None = None, index_dimension: str | None = None
) -> ScoreRead:
    """The API key and the survey, plus optionally a summary and a segment index entry.

    One BatchGetItem whatever is asked, so `GET …/scores` stays one request.
    """
    settings = get_settings()
    wanted: list[dict[str, Any]] = []
    if summary_segment is not None:
        wanted.append(scores.summary_key(survey_id, summary_segment))
    if index_dimension is not None:
        wanted.append(scores.index_key(survey_id, index_dimension))
    found = core.get_many(
        {
            settings.core_table: [core.key_key(hash_hex), core.survey_key(survey_id)],
            settings.scores_table: wanted,
        }
    )
    key = survey = summary = None
    for raw in found[settings.core_table]:
        if raw["sk"]["S"] == "KEY":
            key = core.key_from_item(raw)
        else:
            survey = core.survey_from_item(raw)
    index: set[str] | None = set() if index_dimension is not None else None
    for raw in found[settings.scores_table]:
        if raw["pk"]["S"].startswith("SUM#"):
            summary = scores.summary_from_item(raw)
        else:
            index = scores.index_values_from_item(raw)
    return ScoreRead(key, survey, summary, index)
