"""Reading scores (docs/architecture.md, Scores engine): a summary, a breakdown by segment, a trend.

Costs (docs/scale.md): a summary is one BatchGetItem (key, survey, the segment's total and, for
a touchpoint or property segment, its segment index entry), plus, for a window other than
`all`, one BatchGetItem of the window's day and month tallies (at most 43); a breakdown is the
first of those, one query of the survey's totals, and one BatchGetItem per 100 tallies its
window needs; a trend is the first plus one query of day tallies (one page per year of data).
"""

from __future__ import annotations

from typing import Any

from functions.domain import apikeys, significance
from functions.domain import trend as trends
from functions.domain.codes import ID_PATTERN
from functions.domain.errors import NotFound, Unauthenticated
from functions.domain.questions import additional_counts
from functions.domain.scoring import Tally, summarize
from functions.domain.segments import (
    OTHER,
    breakdown_prefix,
    guarded,
    is_other,
    other_segment,
    parse_breakdown_by,
)
from functions.domain.survey import Survey
from functions.domain.windows import window_span
from functions.logic import clock
from functions.logic.tenants import authenticate, check_key
from functions.settings import get_settings
from functions.store import reads
from functions.store import scores as score_store
from functions.store.scores import StoredSummary

SCOPE = "scores:read"


def fold_note(segment: str, index: set[str] | None) -> dict[str, Any]:
    """What a reader should know about a segment under the cardinality guard (maybe nothing)."""
    found = guarded(segment)
    if found is None:
        return {}
    dimension, value = found
    limit = get_settings().segment_value_limit
    if value == OTHER:
        return {
            "folded": True,
            "note": f"answers whose {dimension} is not among the first {limit} values seen for this survey",
        }
    if index is not None and value not in index and len(index) >= limit:
        return {
            "folded_into": other_segment(dimension),
            "note": f"{dimension} already has {limit} values with scores of their own; "
            f"answers with this value are counted in {other_segment(dimension)}",
        }
    return {}


def summary_view(
    survey: Survey,
    summary: StoredSummary | None,
    segment: str,
    window: str,
    index: set[str] | None = None,
) -> dict[str, Any]:
    """The summary (docs/architecture.md) of a (survey, segment, window), from the stored tallies."""
    moment = clock.now()
    tally = Tally()
    if summary is not None and summary.tenant_id == survey.tenant_id:
        span = window_span(window, moment.date())
        if span is not None:
            summary = score_store.with_parts(survey.id, summary, *span)
        tally = summary.window(window, moment.date())
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "segment": segment,
        "window": window,
        "as_of": clock.iso(moment),
        **summarize(survey.kind, tally, survey.weights),
        **additional_view(survey, tally),
        **fold_note(segment, index),
    }


def additional_view(survey: Survey, tally: Tally) -> dict[str, Any]:
    """`additional`: the choices of the survey's select and scale questions (docs/questions.md)."""
    if not any(q.counted for q in survey.questions):
        return {}
    return {"additional": additional_counts(survey.questions, tally.picks)}


def with_window(survey: Survey, summaries: list[StoredSummary], window: str) -> list[StoredSummary]:
    """The survey's summaries with the tallies `window` needs, read together (100 per request)."""
    span = window_span(window, clock.now().date())
    mine = [s for s in summaries if s.tenant_id == survey.tenant_id]
    if span is None or not mine:
        return mine
    loaded = score_store.load_parts([(survey.id, s, *span) for s in mine])
    return [loaded[(survey.id, s.segment)] for s in mine]


def authorized_read(
    secret: str | None,
    survey_id: str,
    *,
    summary_segment: str | None = None,
    index_dimension: str | None = None,
    summary_segments: tuple[str, ...] = (),
) -> reads.ScoreRead:
    """The key (checked for scores:read) and the tenant's survey, plus what was asked: one request."""
    if not secret or not apikeys.looks_like_key(secret):
        raise Unauthenticated("send 'Authorization: Bearer hk_live_…' with a valid API key")
    if not ID_PATTERN.match(survey_id):
        authenticate(secret, SCOPE)  # a bad key is a 401 whatever the id
        raise NotFound("no such survey", field="survey_id")
    found = reads.key_survey_and(
        apikeys.key_hash(secret),
        survey_id,
        summary_segment=summary_segment,
        index_dimension=index_dimension,
        summary_segments=summary_segments,
    )
    key = check_key(found.key, SCOPE)
    if found.survey is None or found.survey.tenant_id != key.tenant_id:
        raise NotFound("no such survey", field="survey_id")
    return found


def segment_index_dimension(segment: str) -> str | None:
    found = guarded(segment)
    return found[0] if found is not None and found[1] != OTHER else None


def read_summary(secret: str | None, survey_id: str, window: str, segment: str) -> dict[str, Any]:
    """Authenticate and read one summary with a single request to the store."""
    found = authorized_read(
        secret, survey_id, summary_segment=segment, index_dimension=segment_index_dimension(segment)
    )
    assert found.survey is not None
    return summary_view(found.survey, found.summary, segment, window, found.index)


def read_breakdown(secret: str | None, survey_id: str, by_text: str | None, window: str) -> dict[str, Any]:
    """One summary per value of `by` seen so far (busiest first, `__other__` last)."""
    found = authorized_read(secret, survey_id)
    by = parse_breakdown_by(by_text)
    survey = found.survey
    assert survey is not None
    views = [
        summary_view(survey, summary, summary.segment, window)
        for summary in with_window(
            survey, score_store.query_summaries(survey.id, breakdown_prefix(by)), window
        )
    ]
    views.sort(key=lambda v: (is_other(v["segment"]), -v["responses"], v["segment"]))
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "by": by,
        "window": window,
        "as_of": clock.iso(clock.now()),
        "folded": any(is_other(v["segment"]) for v in views),
        "segments": views,
    }


def read_trend(
    secret: str | None,
    survey_id: str,
    segment: str,
    interval: str | None,
    first: str | None,
    last: str | None,
) -> dict[str, Any]:
    """Day, week or month buckets between two dates: one query of the segment's day tallies.

    Each bucket carries the margin of error of its headline score and whether it differs
    significantly from the bucket before (docs/insight.md).
    """
    span = trends.parse_range(interval, first, last, clock.now().date())
    found = authorized_read(secret, survey_id, index_dimension=segment_index_dimension(segment))
    survey = found.survey
    assert survey is not None
    days = score_store.read_day_tallies(
        survey.tenant_id,
        survey.id,
        segment,
        span.first.isoformat(),
        span.last.isoformat(),
        consistent=False,
    )
    bucketed = trends.bucket_tallies(span, ((d.day, d.tally) for d in days))
    changes = significance.successive_changes(survey.kind, [tally for _, tally in bucketed], survey.weights)
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "segment": segment,
        "interval": span.interval,
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "as_of": clock.iso(clock.now()),
        **fold_note(segment, found.index),
        "buckets": [
            {
                "period": bucket.period,
                "start": bucket.start.isoformat(),
                "end": bucket.end.isoformat(),
                **summarize(survey.kind, tally, survey.weights),
                "margin_of_error": significance.margin_of_error(survey.kind, tally, survey.weights),
                "significant_change": change,
            }
            for (bucket, tally), change in zip(bucketed, changes, strict=True)
        ],
    }
