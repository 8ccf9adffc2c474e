"""Reading scores (SPEC §4, §5): summaries for a window and segment."""

from __future__ import annotations

from typing import Any

from functions.domain import apikeys
from functions.domain.codes import ID_PATTERN
from functions.domain.errors import NotFound, Unauthenticated
from functions.domain.scoring import Tally, summarize
from functions.domain.survey import Survey
from functions.domain.windows import window_tally
from functions.logic import clock
from functions.logic.tenants import check_key
from functions.store import reads
from functions.store.scores import StoredSummary

SCOPE = "scores:read"


def summary_view(survey: Survey, summary: StoredSummary | None, segment: str, window: str) -> dict[str, Any]:
    moment = clock.now()
    tally = (
        window_tally(summary.older, summary.days, window, moment.date())
        if summary is not None and summary.tenant_id == survey.tenant_id
        else Tally()
    )
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "segment": segment,
        "window": window,
        "as_of": clock.iso(moment),
        **summarize(survey.kind, tally, survey.weights),
    }


def read_summary(secret: str | None, survey_id: str, window: str, segment: str) -> dict[str, Any]:
    """Authenticate and read one summary with a single request to the store."""
    if not secret or not apikeys.looks_like_key(secret):
        raise Unauthenticated("send 'Authorization: Bearer hk_live_…' with a valid API key")
    if not ID_PATTERN.match(survey_id):
        raise NotFound("no such survey", field="survey_id")
    key, survey, summary = reads.key_survey_summary(apikeys.key_hash(secret), survey_id, segment)
    key = check_key(key, SCOPE)
    if survey is None or survey.tenant_id != key.tenant_id:
        raise NotFound("no such survey", field="survey_id")
    return summary_view(survey, summary, segment, window)
