"""The read-only dashboard: sessions opened with an API key, and what a survey's page shows.

Reads per survey page: the session's key (one Query on gsi1), the survey (one GetItem), its
`all` total (one GetItem) and its segment totals (one Query per kind of segment on
``T#<survey>``), the day and month tallies of the window (one BatchGetItem for `all`'s, one per
100 for the segments'; docs/scale.md), its day tallies for the trend (one Query per year shown) and the latest
answers (one Query of each of the ``by_survey`` index's 33 keys, newest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from typing import Any

from functions.domain import sessions
from functions.domain.apikeys import ApiKey
from functions.domain.charts import BarRow, TrendPoint, is_detractor, tone
from functions.domain.codes import ID_PATTERN
from functions.domain.errors import Forbidden, NotFound, Unauthenticated
from functions.domain.kinds import scale_points
from functions.domain.significance import margin_of_error, successive_changes
from functions.domain.survey import Survey
from functions.domain.trend import BucketTally, headline, tallies_by_bucket
from functions.logic import clock
from functions.logic.scores import summary_view, with_window
from functions.logic.tenants import authenticate, check_key
from functions.store import core, responses, summaries
from functions.store import scores as score_store
from functions.store.parameters import signing_keys

SCOPE = "scores:read"
# Comments, customer ids and answers are behind this scope in the API, and so here too.
ANSWERS_SCOPE = "responses:read"
DEFAULT_WINDOW = "90d"
LATEST_COMMENTS = 10
COMMENT_PAGES = 5
MOST_SURVEYS = 100
MOST_PROPERTY_SEGMENTS = 20
# How each window's trend is bucketed, and how many days it spans (None: from the first answer).
TREND_SHAPE: dict[str, tuple[str, int | None]] = {
    "7d": ("day", 7),
    "30d": ("day", 30),
    "90d": ("week", 90),
    "365d": ("month", 365),
    "all": ("month", None),
}


@dataclass(frozen=True)
class SignedIn:
    value: str
    max_age: int


def sign_in(secret: str | None) -> SignedIn:
    """Exchange an API key with `scores:read` for a session (the key is not kept anywhere)."""
    key = authenticate((secret or "").strip(), SCOPE)
    expires_at = int(clock.now().timestamp()) + sessions.SESSION_SECONDS
    value = sessions.sign_session(key.tenant_id, key.key_id, expires_at, signing_keys())
    return SignedIn(value, sessions.SESSION_SECONDS)


def session_key(value: str | None) -> ApiKey:
    """The live key behind a session cookie; Unauthenticated when there is none.

    The key is read again on every request, so a revoked key (or one that lost the scope)
    ends its sessions at once, not when the cookie expires.
    """
    if not value:
        raise Unauthenticated("sign in with an API key")
    try:
        session = sessions.verify_session(value, signing_keys(), int(clock.now().timestamp()))
    except sessions.SessionExpired:
        raise Unauthenticated("your session has ended; sign in again") from None
    except sessions.SessionInvalid:
        raise Unauthenticated("sign in with an API key") from None
    try:
        key = check_key(core.get_key_by_id(session.key_id), SCOPE)
    except Forbidden:
        raise Unauthenticated("this key can no longer read scores; sign in again") from None
    if key.tenant_id != session.tenant_id:
        raise Unauthenticated("sign in with an API key")
    return key


def tenant_surveys(key: ApiKey) -> list[Survey]:
    """The tenant's surveys, newest first (the first 100)."""
    found, _ = core.list_surveys(key.tenant_id, MOST_SURVEYS, None, route="dashboard")  # one page only
    return found


@dataclass(frozen=True)
class SegmentRow:
    group: str  # Channel, Touchpoint or the property's key
    value: str
    responses: int
    score: float | None
    margin_of_error: float | None


@dataclass(frozen=True)
class Comment:
    score: int
    comment: str
    answered_at: str
    customer_id: str
    detractor: bool


@dataclass(frozen=True)
class SurveyPage:
    survey: Survey
    window: str
    summary: dict[str, Any]
    interval: str
    trend: list[TrendPoint]
    distribution: list[BarRow]
    segments: list[SegmentRow]
    comments: list[Comment]
    # False when the key lacks responses:read: the page shows scores only (docs/security.md).
    comments_shown: bool = True


def _short(start: date, interval: str) -> str:
    return f"{start:%b %Y}" if interval == "month" else f"{start:%b} {start.day}"


def _long(start: date, interval: str) -> str:
    if interval == "month":
        return f"{start:%B %Y}"
    if interval == "week":
        return f"week of {start.isoformat()}"
    return start.isoformat()


def trend_points(survey: Survey, buckets: list[BucketTally], interval: str) -> list[TrendPoint]:
    """One point per bucket, with its margin of error and whether it changed significantly."""
    changes = successive_changes(survey.kind, [b.tally for b in buckets], survey.weights)
    return [
        TrendPoint(
            label=_short(b.start, interval),
            long_label=_long(b.start, interval),
            value=headline(survey.kind, b.tally, survey.weights),
            responses=b.tally.responses,
            margin=margin_of_error(survey.kind, b.tally, survey.weights),
            significant=change,
        )
        for b, change in zip(buckets, changes, strict=True)
    ]


def trend_buckets(survey: Survey, interval: str, days: int | None, today: date) -> list[BucketTally]:
    """Buckets of the survey's `all` segment over the last `days` days (None: since the first)."""
    if days is None:
        tallies = score_store.read_day_tallies(survey.tenant_id, survey.id, "all", consistent=False)
        first = date.fromisoformat(tallies[0].day) if tallies else today
        first = min(first, today)
    else:
        first = today - timedelta(days=days - 1)
        tallies = score_store.read_day_tallies(
            survey.tenant_id, survey.id, "all", first.isoformat(), today.isoformat(), consistent=False
        )
    return tallies_by_bucket(((t.day, t.tally) for t in tallies), interval, first, today)


def weekly_trend(survey: Survey, weeks: int = 12, segment: str = "all") -> list[BucketTally]:
    """The last `weeks` weeks (Monday to Sunday, this week last) of a segment, for `hark scores`."""
    today = clock.now().date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    tallies = score_store.read_day_tallies(
        survey.tenant_id, survey.id, segment, first.isoformat(), today.isoformat()
    )
    return tallies_by_bucket(((t.day, t.tally) for t in tallies), "week", first, today)


def _group(segment: str) -> tuple[str, str] | None:
    kind, _, rest = segment.partition(":")
    if kind == "channel":
        return "Channel", rest
    if kind == "touchpoint":
        return "Touchpoint", rest
    if kind == "locale":
        return "Language", rest
    if kind == "prop":
        key, _, value = rest.partition("=")
        return key, value
    return None


def _segments(survey: Survey, window: str, stored: list[score_store.StoredSummary]) -> list[SegmentRow]:
    rows: list[SegmentRow] = []
    properties = 0
    for summary in with_window(survey, stored, window):
        group = _group(summary.segment)
        if group is None or summary.tenant_id != survey.tenant_id:
            continue
        view = summary_view(survey, summary, summary.segment, window)
        if not view["responses"]:
            continue
        if summary.segment.startswith("prop:"):
            properties += 1
            if properties > MOST_PROPERTY_SEGMENTS:
                continue
        rows.append(
            SegmentRow(
                group[0], group[1], view["responses"], view[survey.kind.value], view.get("margin_of_error")
            )
        )
    order = {"Channel": 0, "Touchpoint": 1}
    return sorted(rows, key=lambda r: (order.get(r.group, 2), r.group, -r.responses, r.value))


# Every answer_sk ("<ISO time>#<code>") sorts between these.
EARLIEST, LATEST = "0", "~"


def latest_comments(survey: Survey, most: int = LATEST_COMMENTS) -> list[Comment]:
    """The newest answers that carry a comment (detractors marked), newest first."""
    found: list[Comment] = []
    answers = responses.answers_by_survey(
        survey.tenant_id, survey.id, lowest=EARLIEST, highest=LATEST, page_size=100
    )
    for item in islice(answers, COMMENT_PAGES * 100):
        comment = str(item.get("comment") or "").strip()
        if not comment or item.get("score") is None or item.get("tenant_id") != survey.tenant_id:
            continue
        score = int(item["score"])
        found.append(
            Comment(
                score=score,
                comment=comment,
                answered_at=str(item.get("first_answered_at") or ""),
                customer_id=str(item.get("customer_id") or ""),
                detractor=is_detractor(survey.kind, score),
            )
        )
        if len(found) >= most:
            return found
    return found


def survey_page(key: ApiKey, survey_id: str, window: str) -> SurveyPage:
    """Everything the survey's dashboard page shows, for `window` ending today: to a key
    without `responses:read`, the scores only (no comments, customer ids or answers), exactly
    what the API would show it."""
    survey = core.get_survey(survey_id) if ID_PATTERN.match(survey_id) else None
    if survey is None or survey.tenant_id != key.tenant_id:
        raise NotFound("no such survey", field="survey_id")
    # Property segments can be many (one per value): they get one page, after the channels
    # and touchpoints, which are few and always shown.
    stored = [
        *summaries.query_summaries(survey.id, "channel:"),
        *summaries.query_summaries(survey.id, "locale:"),
        *summaries.query_summaries(survey.id, "touchpoint:"),
        *summaries.query_summaries(survey.id, "prop:", max_pages=1),
    ]
    summary = summary_view(survey, score_store.get_summary(survey.id, "all"), "all", window)
    interval, days = TREND_SHAPE[window]
    buckets = trend_buckets(survey, interval, days, clock.now().date())
    distribution = [
        BarRow(str(point), int(summary["counts"][str(point)]), tone(survey.kind, point))
        for point in scale_points(survey.kind)
    ]
    return SurveyPage(
        survey=survey,
        window=window,
        summary=summary,
        interval=interval,
        trend=trend_points(survey, buckets, interval),
        distribution=distribution,
        segments=_segments(survey, window, stored),
        comments=latest_comments(survey) if key.allows(ANSWERS_SCOPE) else [],
        comments_shown=key.allows(ANSWERS_SCOPE),
    )
