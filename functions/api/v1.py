"""Business API routes under /v1 (docs/api.md): API key auth, JSON, one error shape.

Every route is declared with `operation(...)`, which checks the caller's scope before the view
runs and documents the route in the OpenAPI document. Views are thin: parse, call logic, shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from chalice.app import Blueprint, Response

from functions.api.http import json_response
from functions.api.operations import Caller, operation
from functions.domain.event_names import EVENTS
from functions.domain.segments import parse_segment
from functions.domain.sending import SendPlan
from functions.domain.windows import parse_window
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.api import models as m
    from functions.logic import erasure, follow_ups, insight, invitations, metrics, scores, surveys, webhooks
    from functions.logic import responses as answers
else:  # loaded by the first business API call, not by a customer's click (docs/benchmarks.md, Targets)
    erasure = lazy("functions.logic.erasure")
    insight = lazy("functions.logic.insight")
    invitations = lazy("functions.logic.invitations")
    metrics = lazy("functions.logic.metrics")
    scores = lazy("functions.logic.scores")
    surveys = lazy("functions.logic.surveys")
    webhooks = lazy("functions.logic.webhooks")
    answers = lazy("functions.logic.responses")
    follow_ups = lazy("functions.logic.follow_ups")

bp = Blueprint(__name__)

SURVEYS, RESPONSES, CUSTOMERS, WEBHOOKS, METRICS = "Surveys", "Responses", "Customers", "Webhooks", "Metrics"
FOLLOW_UPS = "Follow-ups"
CSV, NDJSON = "text/csv", "application/x-ndjson"


# ---- surveys --------------------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/v1/surveys",
    scope="surveys:write",
    summary="Create a survey",
    tag=SURVEYS,
    status=201,
)
def create_survey(caller: Caller, body: m.SurveyCreate) -> Annotated[Response, m.SurveyOut]:
    return json_response(surveys.survey_view(surveys.create_survey(caller.tenant_id, body.command())), 201)


@operation(
    bp,
    "GET",
    "/v1/surveys",
    scope="scores:read",
    summary="List surveys, newest first",
    tag=SURVEYS,
)
def list_surveys(caller: Caller, query: m.PageQuery) -> Annotated[Response, m.SurveyPage]:
    found, next_cursor = surveys.list_surveys(caller.tenant_id, query.limit, query.cursor)
    return json_response({"data": [surveys.survey_view(s) for s in found], "next_cursor": next_cursor})


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}",
    scope="scores:read",
    summary="Read a survey",
    tag=SURVEYS,
)
def get_survey(caller: Caller, survey_id: str) -> Annotated[Response, m.SurveyOut]:
    return json_response(surveys.survey_view(surveys.get_survey(caller.tenant_id, survey_id)))


@operation(
    bp,
    "PATCH",
    "/v1/surveys/{survey_id}",
    scope="surveys:write",
    summary="Change a survey",
    description="Absent fields stay. `kind` and `attributes` cannot change. "
    'Invitations already sent keep the question they were sent with. `"status": "active"` unarchives.',
    tag=SURVEYS,
)
def update_survey(caller: Caller, survey_id: str, body: m.SurveyPatch) -> Annotated[Response, m.SurveyOut]:
    return json_response(
        surveys.survey_view(surveys.update_survey(caller.tenant_id, survey_id, body.command()))
    )


@operation(
    bp,
    "DELETE",
    "/v1/surveys/{survey_id}",
    scope="surveys:write",
    summary="Archive a survey",
    description="Surveys are archived, never deleted: their responses and scores stay readable, "
    "and new invitations are refused (409) until the survey is made active again.",
    tag=SURVEYS,
)
def archive_survey(caller: Caller, survey_id: str) -> Annotated[Response, m.SurveyOut]:
    return json_response(surveys.survey_view(surveys.archive_survey(caller.tenant_id, survey_id)))


# ---- invitations ----------------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/v1/surveys/{survey_id}/invitations",
    scope="surveys:write",
    summary="Invite up to 1,000 customers",
    description="Returns each invitation with its links and its `delivery` state. With `send` "
    "(per call or per recipient) Hark emails the invitation now, after `delay` seconds or at "
    "`send_at` (docs/sending.md); without it Hark sends nothing. A recipient inside "
    "the survey's cool-down is returned in `skipped` with the reason; a bad row is reported in "
    "`errors` by index and the good rows are still created. More than 1,000 recipients: 413.",
    tag=SURVEYS,
    status=201,
)
def create_invitations(
    caller: Caller, survey_id: str, body: m.InvitationsRequest
) -> Annotated[Response, m.InvitationsOut]:
    survey = surveys.get_survey(caller.tenant_id, survey_id)
    plan = SendPlan(send=body.send, delay=body.delay, send_at=body.send_at)
    return json_response(invitations.create_invitations(survey, body.recipients, plan), 201)


# ---- scores ---------------------------------------------------------------------------------


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}/scores",
    scope="scores:read",
    summary="A survey's scores for one window and segment",
    tag=SURVEYS,
    deferred_auth=True,
)
def read_scores(
    caller: Caller, survey_id: str, query: m.ScoresQuery
) -> Annotated[Response, m.ScoreSummaryOut]:
    segment = parse_segment(query.segment)
    # The key, the survey and the summary are read in one request (docs/benchmarks.md, Targets).
    return json_response(scores.read_summary(caller.secret, survey_id, query.window, segment))


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}/breakdown",
    scope="scores:read",
    summary="One summary per channel, language, touchpoint or property value",
    description="`by` is channel, locale, touchpoint or prop:<key>. Values past the cardinality guard share "
    "`__other__` (then `folded` is true).",
    tag=SURVEYS,
    deferred_auth=True,
)
def read_breakdown(
    caller: Caller, survey_id: str, query: m.BreakdownQuery
) -> Annotated[Response, m.BreakdownOut]:
    window = parse_window(query.window)
    return json_response(scores.read_breakdown(caller.secret, survey_id, query.by, window))


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}/trend",
    scope="scores:read",
    summary="Scores by day, week or month between two dates",
    description="ISO weeks (Monday first); empty buckets have null scores; one query per year of data.",
    tag=SURVEYS,
    deferred_auth=True,
)
def read_trend(caller: Caller, survey_id: str, query: m.TrendQuery) -> Annotated[Response, m.TrendOut]:
    segment = parse_segment(query.segment)
    return json_response(
        scores.read_trend(caller.secret, survey_id, segment, query.interval, query.from_, query.to)
    )


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}/compare",
    scope="scores:read",
    summary="Did the score really change? Two windows or two segments compared",
    description="`a` and `b` are windows (7d, 30d, 90d, 365d, all, or YYYY-MM-DD..YYYY-MM-DD) that "
    "share no day, read in `segment`; or `a_segment` and `b_segment`, two values of one dimension, "
    "read in `window` (default 30d). Returns both summaries, `difference` (a − b), its 95% "
    "`confidence_interval`, a two-sided `p_value` and `significant` (p < 0.05): NPS with "
    "adjusted-Wald variances, CSAT/CES shares with the two-proportion z-test, means with Welch's "
    "t-test. Overlapping windows or segments and bad windows are 422. See docs/insight.md.",
    tag=SURVEYS,
    deferred_auth=True,
    errors=(422,),
)
def read_comparison(
    caller: Caller, survey_id: str, query: m.CompareQuery
) -> Annotated[Response, m.CompareOut]:
    return json_response(
        insight.read_comparison(
            caller.secret,
            survey_id,
            a=query.a,
            b=query.b,
            a_segment=query.a_segment,
            b_segment=query.b_segment,
            window=query.window,
            segment=query.segment,
        )
    )


@operation(
    bp,
    "GET",
    "/v1/scores",
    scope="scores:read",
    summary="One score rolled up across surveys of one kind",
    description="`survey_ids`: up to 100 surveys of the caller's tenant, all of one kind (CSI: with "
    "the same attributes). Their histograms are added, never their scores averaged. Mixed kinds "
    "are 422; a survey that is not the caller's is 404. See docs/insight.md.",
    tag=SURVEYS,
    deferred_auth=True,
    errors=(404, 422),
)
def read_rollup(caller: Caller, query: m.RollUpQuery) -> Annotated[Response, m.RollUpOut]:
    return json_response(insight.read_rollup(caller.secret, query.survey_ids, query.window, query.segment))


# ---- responses ------------------------------------------------------------------------------


def _export_format(request: Any, chosen: str | None) -> str:
    if chosen:
        return chosen
    accept = (request.headers or {}).get("accept", "").lower()
    if CSV in accept:
        return "csv"
    if NDJSON in accept:
        return "ndjson"
    return "json"


def _next_link(survey_id: str, query: m.ResponsesQuery, cursor: str) -> str:
    limit = str(query.limit) if "limit" in query.model_fields_set else None
    params = {
        "since": query.since,
        "until": query.until,
        "format": query.format,
        "limit": limit,
        "cursor": cursor,
    }
    text = urlencode({k: v for k, v in params.items() if v})
    # Absolute, under the configured public base URL (which carries any stage prefix).
    base = get_settings().public_base_url
    return f'<{base}/v1/surveys/{survey_id}/responses?{text}>; rel="next"'


@operation(
    bp,
    "GET",
    "/v1/surveys/{survey_id}/responses",
    scope="responses:read",
    summary="List or export responses, newest first",
    description="Ordered by first answer time, newest first. The cursor never skips or repeats a "
    "response while others are written: an edited response keeps its place; answers that arrive "
    "during a walk sort before its first page (start again to see them). With `Accept: text/csv` "
    "or `application/x-ndjson` (or `format=`) the body is an export written row by row; one "
    "response carries at most ~5 MB (Lambda's limit is 6 MB) and, when more rows remain, a "
    '`Link: <…>; rel="next"` header and `X-Next-Cursor` continue it (CSV chunks after the '
    "first have no header row, so they concatenate into one file).",
    tag=RESPONSES,
    media={CSV: "CSV export (formula-like cells neutralised)", NDJSON: "one JSON response per line"},
)
def list_responses(
    caller: Caller, survey_id: str, query: m.ResponsesQuery
) -> Annotated[Response, m.ResponsePage]:
    survey = surveys.get_survey(caller.tenant_id, survey_id)
    within = answers.span(query.since, query.until)
    fmt = _export_format(bp.current_request, query.format)
    if fmt == "json":
        data, next_cursor = answers.list_responses(survey, within, query.cursor, query.limit)
        return json_response({"data": data, "next_cursor": next_cursor})
    max_rows = query.limit if "limit" in query.model_fields_set else None
    chunk = answers.export_responses(survey, within, query.cursor, fmt, max_rows=max_rows)
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else f"{NDJSON}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="responses-{survey.id}.{fmt}"',
        "Cache-Control": "no-store",
        "X-Row-Count": str(chunk.rows),
    }
    if chunk.next_cursor:
        headers["X-Next-Cursor"] = chunk.next_cursor
        headers["Link"] = _next_link(survey.id, query, chunk.next_cursor)
    return Response(body=chunk.body, status_code=200, headers=headers)


# ---- follow-ups (docs/follow-ups.md) ---------------------------------------------------------


@operation(
    bp,
    "GET",
    "/v1/follow-ups",
    scope="responses:read",
    summary="The follow-up queue, oldest due first",
    description="Default: open and in-progress follow-ups. `status=closed` lists closed ones; "
    "`overdue=true` only those past `due_at`; `owner` and `survey_id` narrow the list. One "
    "DynamoDB Query per page (the `follow_ups` index); owner and survey are filters of that "
    "Query, so a page may hold fewer than `limit` items and still have a `next_cursor`.",
    tag=FOLLOW_UPS,
    errors=(404,),
)
def list_follow_ups(caller: Caller, query: m.FollowUpsQuery) -> Annotated[Response, m.FollowUpPage]:
    flt = follow_ups.QueueFilter(query.status, query.owner, query.survey_id, query.overdue)
    data, next_cursor = follow_ups.list_follow_ups(caller.tenant_id, flt, query.cursor, query.limit)
    return json_response({"data": data, "next_cursor": next_cursor})


@operation(
    bp,
    "GET",
    "/v1/responses/{response_id}",
    scope="responses:read",
    summary="One response with its follow-up, notes and tags",
    description="`response_id` is the `id` that GET /v1/follow-ups, the follow-up webhooks and "
    "Delighted's survey responses carry.",
    tag=FOLLOW_UPS,
)
def get_response(caller: Caller, response_id: str) -> Annotated[Response, m.FollowUpResponseOut]:
    return json_response(follow_ups.get_follow_up(caller.tenant_id, response_id))


@operation(
    bp,
    "PATCH",
    "/v1/responses/{response_id}",
    scope="follow_ups:write",
    summary="Work a follow-up: status, owner, tags",
    description="Status moves open ↔ in_progress and from either to closed; closing is final "
    "(anything else from closed is 409 `illegal_transition`). Status and owner need a follow-up "
    "(409 `no_follow_up`); tags can be set on any response. Closing raises `follow_up.closed`. "
    "A key without `responses:read` gets only `id`, `follow_up` and `tags` back.",
    tag=FOLLOW_UPS,
    errors=(409,),
)
def update_response(
    caller: Caller, response_id: str, body: m.FollowUpPatch
) -> Annotated[Response, m.FollowUpChangedOut]:
    change = follow_ups.FollowUpChange(
        fields=frozenset(body.model_fields_set),
        status=body.status,
        owner=body.owner,
        tags=tuple(body.tags or ()),
    )
    view = follow_ups.update_follow_up(caller.tenant_id, response_id, change)
    # The answer, comment and customer only to a key that may read responses (docs/security.md).
    return json_response(view if caller.key.allows("responses:read") else follow_ups.limited_view(view))


@operation(
    bp,
    "POST",
    "/v1/responses/{response_id}/notes",
    scope="follow_ups:write",
    summary="Add a note to a response",
    tag=FOLLOW_UPS,
    status=201,
    errors=(409,),
)
def add_note(caller: Caller, response_id: str, body: m.NoteCreate) -> Annotated[Response, m.NoteOut]:
    author = body.author or caller.key.key_id
    return json_response(follow_ups.add_note(caller.tenant_id, response_id, body.text, author), 201)


@operation(
    bp,
    "POST",
    "/v1/responses/{response_id}/reply",
    scope="follow_ups:write",
    summary="Email the customer a reply, kept as a note",
    description="Sent from the survey's (else the deployment's) sender through the sending "
    "pipeline (docs/sending.md); the note's `reply.status` follows it (scheduled → sent, "
    "failed or suppressed). `email` is the customer's address: Hark keeps none after an "
    "invitation's last send (default: the customer's person record). Refused with 409 when the "
    "address unsubscribed (`customer_unsubscribed`) or bounced (`customer_bounced`), when "
    "sending is not configured (`sending_not_configured`), or while a reply is pending.",
    tag=FOLLOW_UPS,
    status=202,
    errors=(409, 422),
)
def reply(caller: Caller, response_id: str, body: m.ReplyCreate) -> Annotated[Response, m.NoteOut]:
    author = body.author or caller.key.key_id
    note = follow_ups.reply(
        caller.tenant_id, response_id, body.text, author, email=body.email, subject=body.subject
    )
    return json_response(note, 202)


# ---- customers ------------------------------------------------------------------------------


@operation(
    bp,
    "DELETE",
    "/v1/customers/{customer_id}",
    scope="responses:erase",
    summary="Erase a customer",
    description="Deletes the customer's invitations and responses in every survey of the tenant, "
    "their person record (name, email, phone) and their address on the unsubscribe list (the "
    "unsubscribe stays, as a keyed hash); their answers leave the scores within seconds "
    "(through the responses stream). Safe to repeat. See docs/security.md for copies that "
    "expire on a bounded retention instead.",
    tag=CUSTOMERS,
    status=202,
)
def erase_customer(caller: Caller, customer_id: str) -> Annotated[Response, m.ErasureOut]:
    erased = erasure.erase_customer(caller.tenant_id, customer_id)
    return json_response({"customer_id": customer_id, "status": "accepted", "erased": erased}, 202)


# ---- metrics --------------------------------------------------------------------------------


@operation(
    bp,
    "GET",
    "/v1/metrics",
    scope="scores:read",
    summary="Delighted-compatible NPS metrics",
    description="Delighted's field names and whole-number percentages, for one NPS survey "
    "(`survey_id`, or the API key's default survey). `since`/`until` are unix seconds and select "
    "whole UTC days (Hark keeps daily tallies). Like every Delighted-compatible call, it takes "
    "HTTP Basic (the key as the user) as well as Bearer, answers at `/v1/metrics.json` too, and "
    "answers invalid input with 422.",
    tag=METRICS,
    delighted=True,
)
def read_metrics(caller: Caller, query: m.MetricsQuery) -> Annotated[Response, m.MetricsOut]:
    return json_response(metrics.metrics(caller.key, query.survey_id, query.since, query.until))


# ---- webhooks -------------------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/v1/webhooks",
    scope="admin",
    summary="Subscribe a URL to events",
    description=f"Events: {', '.join(EVENTS)} (docs/follow-ups.md). Deliveries are "
    "signed per Standard Webhooks with the returned `secret` (shown once), retried with back-off "
    "and delivered at least once (deduplicate by `webhook-id`).",
    tag=WEBHOOKS,
    status=201,
)
def create_webhook(caller: Caller, body: m.WebhookCreate) -> Annotated[Response, m.WebhookCreatedOut]:
    webhook = webhooks.create_webhook(caller.tenant_id, body.url, body.events)
    return json_response(webhooks.webhook_view(webhook, with_secret=True), 201)


@operation(
    bp,
    "GET",
    "/v1/webhooks",
    scope="admin",
    summary="List webhooks",
    tag=WEBHOOKS,
)
def list_webhooks(caller: Caller) -> Annotated[Response, m.WebhookPage]:
    found = webhooks.list_webhooks(caller.tenant_id)
    return json_response({"data": [webhooks.webhook_view(w) for w in found], "next_cursor": None})


@operation(
    bp,
    "DELETE",
    "/v1/webhooks/{webhook_id}",
    scope="admin",
    summary="Delete a webhook",
    description="Deliveries already queued for it are dropped.",
    tag=WEBHOOKS,
    status=204,
)
def delete_webhook(caller: Caller, webhook_id: str) -> Response:
    webhooks.delete_webhook(caller.tenant_id, webhook_id)
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
