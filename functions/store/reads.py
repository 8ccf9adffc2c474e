"""Reads that span tables in one request, for the hot read paths of SPEC §8."""

from __future__ import annotations

from functions.domain.apikeys import ApiKey
from functions.domain.survey import Survey
from functions.settings import get_settings
from functions.store import core, scores


def key_survey_summary(
    hash_hex: str, survey_id: str, segment: str
) -> tuple[ApiKey | None, Survey | None, scores.StoredSummary | None]:
    """The API key, the survey and its summary for `segment`: one BatchGetItem."""
    settings = get_settings()
    found = core.get_many(
        {
            settings.core_table: [core.key_key(hash_hex), core.survey_key(survey_id)],
            settings.scores_table: [scores.summary_key(survey_id, segment)],
        }
    )
    key = survey = None
    for raw in found[settings.core_table]:
        if raw["sk"]["S"] == "KEY":
            key = core.key_from_item(raw)
        else:
            survey = core.survey_from_item(raw)
    summary = (
        scores.summary_from_item(found[settings.scores_table][0]) if found[settings.scores_table] else None
    )
    return key, survey, summary
