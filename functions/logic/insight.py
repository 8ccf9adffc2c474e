"""Comparing two windows or segments of a survey, and rolling scores up across surveys
(docs/insight.md).

Costs (docs/scale.md): a compare is one BatchGetItem (key, survey, the two segments' totals, a
segment index entry), then one BatchGetItem per 100 of the day and month tallies its two
windows need (none for `all`; at most 43 for a rolling window, 16 + months + 16 for dates).
A roll-up is ⌈(2 × surveys + 1) / 100⌉ BatchGetItems (one up to 49 surveys), then, for a
window other than `all`, one per 100 of the surveys' day and month tallies.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from functions.domain import apikeys
from functions.domain.codes import ID_PATTERN
from functions.domain.comparison import DaySpan, disjoint_segments, disjoint_windows, parse_span
from functions.domain.errors import HarkError, NotFound, Unauthenticated, Unprocessable
from functions.domain.kinds import Kind
from functions.domain.scoring import Tally, sum_tallies, summarize
from functions.domain.segments import parse_segment
from functions.domain.significance import Comparison, compare_tallies
from functions.domain.survey import Survey
from functions.domain.windows import parse_window, window_span
from functions.logic import clock
from functions.logic.scores import SCOPE, authorized_read, fold_note, segment_index_dimension
from functions.logic.tenants import authenticate, check_key
from functions.store import reads
from functions.store import scores as score_store
from functions.store.scores import StoredSummary

MAX_ROLLUP_SURVEYS = 100
_MEAN_PLACES = 2  # means are reported with two decimals, scores and percentages with one


def _side_tallies(
    survey: Survey, summaries: dict[str, StoredSummary], sides: list[tuple[DaySpan, str]]
) -> list[Tally]:
    """The tally of each side: `all` from the segment's total, other windows from its day and
    month tallies, read for both sides in one BatchGetItem (per 100)."""
    wanted = []
    for span, segment in sides:
        summary = summaries.get(segment)
        if summary is not None and summary.tenant_id == survey.tenant_id and span.rolling != "all":
            wanted.append((survey.id, summary, span.first, span.last))
    loaded = score_store.load_parts(wanted) if wanted else {}
    out: list[Tally] = []
    for span, segment in sides:
        summary = loaded.get((survey.id, segment)) or summaries.get(segment)
        if summary is None or summary.tenant_id != survey.tenant_id:
            out.append(Tally())
        elif span.rolling == "all":
            out.append(summary.window("all", span.last))
        else:
            out.append(summary.span(span.first, span.last))
    return out


def _side(
    survey: Survey, tally: Tally, segment: str, span: DaySpan, index: set[str] | None
) -> dict[str, Any]:
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "segment": segment,
        "window": span.label,
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "as_of": clock.iso(clock.now()),
        **summarize(survey.kind, tally, survey.weights),
        **fold_note(segment, index),
    }


def _comparison_view(comparison: Comparison) -> dict[str, Any]:
    return comparison.view(_MEAN_PLACES if comparison.metric == "mean" else 1)


def read_comparison(
    secret: str | None,
    survey_id: str,
    *,
    a: str | None,
    b: str | None,
    a_segment: str | None,
    b_segment: str | None,
    window: str | None,
    segment: str | None,
) -> dict[str, Any]:
    """Two windows (`a`, `b`, in one `segment`) or two segments (within `window`) compared."""
    today = clock.now().date()
    try:
        sides = _sides(a, b, a_segment, b_segment, window, segment, today)
    except HarkError:
        authorized_read(secret, survey_id)  # who asks comes first: 401, 403 or 404 before a 422
        raise
    dimension = segment_index_dimension(sides[0][1]) or segment_index_dimension(sides[1][1])
    found = authorized_read(
        secret, survey_id, summary_segments=tuple(s for _, s in sides), index_dimension=dimension
    )
    survey = found.survey
    assert survey is not None
    tallies = _side_tallies(survey, found.summaries, sides)
    comparisons = compare_tallies(survey.kind, tallies[0], tallies[1], survey.weights)
    headline = _comparison_view(comparisons[0])
    return {
        "survey_id": survey.id,
        "kind": survey.kind.value,
        "as_of": clock.iso(clock.now()),
        "a": _side(survey, tallies[0], sides[0][1], sides[0][0], found.index),
        "b": _side(survey, tallies[1], sides[1][1], sides[1][0], found.index),
        **{k: v for k, v in headline.items() if k not in ("a", "b")},
        "comparisons": [_comparison_view(c) for c in comparisons],
    }


def _sides(
    a: str | None,
    b: str | None,
    a_segment: str | None,
    b_segment: str | None,
    window: str | None,
    segment: str | None,
    today: date,
) -> list[tuple[DaySpan, str]]:
    """The (window, segment) of each side, validated: 422 for what cannot be compared."""
    if a_segment is not None or b_segment is not None:
        if a is not None or b is not None:
            raise Unprocessable(
                "compare either two windows (a, b) or two segments (a_segment, b_segment), not both",
                field="a",
                code="invalid_comparison",
            )
        for name, value in (("a_segment", a_segment), ("b_segment", b_segment)):
            if value is None:
                raise Unprocessable(
                    f"{name} is required to compare segments", field=name, code="invalid_comparison"
                )
        seg_a, seg_b = parse_segment(a_segment), parse_segment(b_segment)
        disjoint_segments(seg_a, seg_b)
        span = parse_span(window or "30d", "window", today)
        sides = [(span, seg_a), (span, seg_b)]
    else:
        if a is None and b is None:
            raise Unprocessable(
                "give two windows (a, b) or two segments (a_segment, b_segment)",
                field="a",
                code="invalid_comparison",
            )
        span_a, span_b = parse_span(a, "a", today), parse_span(b, "b", today)
        disjoint_windows(span_a, span_b)
        one = parse_segment(segment)
        sides = [(span_a, one), (span_b, one)]
    return sides


def parse_survey_ids(text: str | None) -> list[str]:
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not ids:
        raise Unprocessable(
            "survey_ids must list one or more survey ids, comma-separated", field="survey_ids"
        )
    if len(ids) > MAX_ROLLUP_SURVEYS:
        raise Unprocessable(f"survey_ids may list at most {MAX_ROLLUP_SURVEYS} surveys", field="survey_ids")
    seen: set[str] = set()
    for survey_id in ids:
        if survey_id in seen:
            raise Unprocessable(
                f"survey_ids lists {survey_id[:40]} twice (its answers would count twice)", field="survey_ids"
            )
        seen.add(survey_id)
    return ids


def read_rollup(
    secret: str | None, survey_ids: str | None, window: str | None, segment: str | None
) -> dict[str, Any]:
    """One score across surveys of one kind: their window tallies added, then summarised once."""
    if not secret or not apikeys.looks_like_key(secret):
        raise Unauthenticated("send 'Authorization: Bearer hk_live_…' with a valid API key")
    try:
        ids = parse_survey_ids(survey_ids)
        chosen_window = parse_window(window)
        chosen_segment = parse_segment(segment)
    except HarkError:
        authenticate(secret, SCOPE)  # who asks comes first: 401 or 403 before a 4xx for the query
        raise
    well_formed = [survey_id for survey_id in ids if ID_PATTERN.match(survey_id)]
    if len(well_formed) < len(ids):
        authenticate(secret, SCOPE)  # a bad key is a 401 whatever the ids
        bad = next(n for n, survey_id in enumerate(ids) if not ID_PATTERN.match(survey_id))
        raise NotFound(f"no such survey (survey_ids item {bad + 1})", field="survey_ids")
    today = clock.now().date()
    span = window_span(chosen_window, today)
    found = reads.rollup_read(apikeys.key_hash(secret), ids, chosen_segment, span)
    key = check_key(found.key, SCOPE)
    surveys: list[Survey] = []
    for n, survey_id in enumerate(ids):
        survey = found.surveys.get(survey_id)
        if survey is None or survey.tenant_id != key.tenant_id:
            # By position, not id: the answer must not echo which ids exist elsewhere.
            raise NotFound(f"no such survey (survey_ids item {n + 1})", field="survey_ids")
        surveys.append(survey)
    kinds = {survey.kind for survey in surveys}
    if len(kinds) > 1:
        raise Unprocessable(
            "surveys of different kinds cannot be rolled up: "
            + ", ".join(f"{s.id} is {s.kind.value}" for s in surveys),
            field="survey_ids",
            code="mixed_kinds",
        )
    kind = surveys[0].kind
    weights = surveys[0].weights
    if kind is Kind.CSI and any(survey.weights != weights for survey in surveys):
        raise Unprocessable(
            "CSI surveys roll up only when their attributes (keys and weights) are the same",
            field="survey_ids",
            code="different_attributes",
        )
    mine = {
        survey.id: summary
        for survey in surveys
        if (summary := found.summaries.get(survey.id)) is not None and summary.tenant_id == survey.tenant_id
    }
    per_survey = [
        (survey, mine[survey.id].window(chosen_window, today) if survey.id in mine else Tally())
        for survey in surveys
    ]
    total = sum_tallies(tally for _, tally in per_survey)
    return {
        "survey_ids": ids,
        "kind": kind.value,
        "segment": chosen_segment,
        "window": chosen_window,
        "as_of": clock.iso(clock.now()),
        **summarize(kind, total, weights),
        "surveys": [
            {"survey_id": survey.id, "responses": tally.responses, "invited": tally.invited}
            for survey, tally in per_survey
        ],
    }
