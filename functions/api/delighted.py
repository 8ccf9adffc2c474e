"""Delighted's API under /v1 (docs/delighted.md): the calls its official clients make, so a team moves
to Hark by changing `api_base_url`. Each route also answers at `<path>.json` and takes HTTP
Basic (the key as the user) as well as Bearer; invalid input is 422 and a busy database 429.

`GET /v1/metrics` is declared with Hark's own routes (functions/api/v1.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import unquote, urlencode

from chalice.app import Blueprint, Response

from functions.api.http import json_response, query
from functions.api.operations import Caller, operation
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.api import models as m
    from functions.logic import delighted
else:  # loaded by the first Delighted-compatible call, not by a customer's click
    delighted = lazy("functions.logic.delighted")

bp = Blueprint(__name__)

TAG = "Delighted-compatible"
NOT_JSON = ".json"


def _path_value(text: str) -> str:
    """A path segment as sent (percent-encoded by Delighted's clients), without `.json`."""
    text = unquote(text)
    return text[: -len(NOT_JSON)] if text.endswith(NOT_JSON) else text


def _next_link(path: str, changes: dict[str, str]) -> dict[str, str]:
    """`Link: <…>; rel="next"`: this request's query with `changes` (and no page number: the
    next page is named by its sealed `page_info`), under the public base URL."""
    params = {k: v for k, v in query(bp.current_request).items() if v != "" and k != "page"}
    params.update(changes)
    return {"Link": f'<{get_settings().public_base_url}{path}?{urlencode(params)}>; rel="next"'}


# ---- people -----------------------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/v1/people",
    scope="surveys:write",
    summary="Create a person (an invitation to the default survey)",
    description="Delighted's `Person.create`. Makes an invitation to the key's default survey "
    "(email → email channel, phone_number alone → sms) and answers with the person plus the "
    "invitation's links (`url`, `score_urls`, `short_url`) and its `delivery`: Hark emails or texts "
    "it after `delay` seconds unless `send=false` (docs/sending.md). An unsubscribed email or a "
    "person inside the survey's cool-down gets no "
    "invitation (`survey_scheduled: false` and `skipped` say why). Properties beyond 10, or not "
    "text, are listed in `ignored_properties`.",
    tag=TAG,
    status=201,
    delighted=True,
)
def create_person(
    caller: Caller, query: m.SurveyQuery, body: m.PersonCreate
) -> Annotated[Response, m.PersonOut]:
    return json_response(delighted.create_person(caller.key, query.survey_id, body.command()), 201)


@operation(
    bp,
    "GET",
    "/v1/people",
    scope="responses:read",
    summary="List people, oldest first",
    description="Delighted's `Person.list`: a JSON array of people; when more follow, a "
    '`Link: <…>; rel="next"` header (which `auto_paging_iter()` follows).',
    tag=TAG,
    delighted=True,
)
def list_people(caller: Caller, query: m.PeopleQuery) -> Response:
    found, position = delighted.list_people(caller.key, query.command())
    headers = _next_link("/v1/people", {"page_info": position}) if position else None
    return json_response(found, headers=headers)


@operation(
    bp,
    "DELETE",
    "/v1/people/{person_id}",
    scope="responses:erase",
    summary="Erase a person",
    description="Delighted's `Person.delete(id=…|email=…|phone_number=…)`: Hark's erasure of the "
    "customer (every invitation and response in every survey; scores follow within seconds) and "
    "of the person.",
    tag=TAG,
    status=202,
    delighted=True,
)
def delete_person(caller: Caller, person_id: str) -> Annotated[Response, m.OkOut]:
    person = _path_value(person_id)
    erased = delighted.erase_person(caller.key, person)
    return json_response({"ok": True, "person_id": delighted.customer_id_for(person), "erased": erased}, 202)


@operation(
    bp,
    "DELETE",
    "/v1/people/{person_id}/survey_requests/pending",
    scope="surveys:write",
    summary="Close a person's pending invitations",
    description="Delighted's `SurveyRequest.delete_pending`: the person's unanswered invitations "
    "to the default survey close now (their links stop working).",
    tag=TAG,
    status=202,
    delighted=True,
)
def delete_pending(caller: Caller, person_id: str, query: m.SurveyQuery) -> Annotated[Response, m.OkOut]:
    closed = delighted.close_pending(caller.key, query.survey_id, _path_value(person_id))
    return json_response({"ok": True, "closed": closed}, 202)


# ---- survey responses -------------------------------------------------------------------------


@operation(
    bp,
    "GET",
    "/v1/survey_responses",
    scope="responses:read",
    summary="List survey responses",
    description="Delighted's `SurveyResponse.all`: a JSON array, by creation time (`order=asc` "
    "or `desc`), `per_page` (max 100) and `page`; when more follow, a "
    '`Link: <…>; rel="next"` header (with a sealed `page_info`). `expand[]=person` embeds each '
    "person. Bounded reads: page numbers reach the first 1,000 rows (then 422 `page_too_deep`: "
    "follow the Link header), and `person_id` / `person_email` read only that person's "
    "invitations (up to 500 per survey, else 422 `too_many_to_filter`).",
    tag=TAG,
    delighted=True,
)
def list_survey_responses(caller: Caller, query: m.SurveyResponsesQuery) -> Response:
    found, position = delighted.list_survey_responses(caller.key, query.command())
    headers = _next_link("/v1/survey_responses", {"page_info": position}) if position else None
    return json_response(found, headers=headers)


@operation(
    bp,
    "POST",
    "/v1/survey_responses",
    scope="surveys:write",
    summary="Record a survey response",
    description="Delighted's `SurveyResponse.create`: the answer is recorded on the person's open, "
    "unanswered invitation to the default survey, or on a new one (channel `link`).",
    tag=TAG,
    status=201,
    delighted=True,
)
def create_survey_response(
    caller: Caller, query: m.SurveyQuery, body: m.SurveyResponseCreate
) -> Annotated[Response, m.SurveyResponseOut]:
    return json_response(delighted.create_survey_response(caller.key, query.survey_id, body.command()), 201)


@operation(
    bp,
    "GET",
    "/v1/survey_responses/{response_id}",
    scope="responses:read",
    summary="Read a survey response",
    tag=TAG,
    delighted=True,
)
def get_survey_response(
    caller: Caller, response_id: str, query: m.ExpandQuery
) -> Annotated[Response, m.SurveyResponseOut]:
    found = delighted.get_survey_response(caller.key, _path_value(response_id), query.expand == "person")
    return json_response(found)


@operation(
    bp,
    "PUT",
    "/v1/survey_responses/{response_id}",
    scope="surveys:write",
    summary="Change a survey response's score, comment, tags or notes",
    description="Delighted's `SurveyResponse.save()` (which sends the whole response): the score "
    "and the comment change; `tags` replaces the response's tags and each note without an `id` "
    "is added (they are the follow-up's, docs/follow-ups.md; changing them needs "
    "`follow_ups:write` too, else 403; a note `id` that is not the response's is 422 "
    "`unknown_note`); the other fields are ignored.",
    tag=TAG,
    delighted=True,
)
def update_survey_response(
    caller: Caller, response_id: str, body: m.SurveyResponseUpdate
) -> Annotated[Response, m.SurveyResponseOut]:
    return json_response(
        delighted.update_survey_response(caller.key, _path_value(response_id), body.command())
    )


# ---- unsubscribes and bounces -----------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/v1/unsubscribes",
    scope="surveys:write",
    summary="Unsubscribe an email",
    description="Delighted's `Unsubscribe.create`: later `POST /v1/people` for this email make no "
    "invitation (they answer `survey_scheduled: false`, `skipped.reason: unsubscribed`).",
    tag=TAG,
    delighted=True,
)
def create_unsubscribe(caller: Caller, body: m.UnsubscribeCreate) -> Annotated[Response, m.OkOut]:
    delighted.unsubscribe(caller.key, body.person_email)
    return json_response({"ok": True})


@operation(
    bp,
    "GET",
    "/v1/unsubscribes",
    scope="responses:read",
    summary="List unsubscribes",
    description="A JSON array, oldest first, `per_page` (max 100) and `page` (the first 1,000 "
    'rows; then follow the `Link: <…>; rel="next"` header).',
    tag=TAG,
    delighted=True,
)
def list_unsubscribes(caller: Caller, query: m.DelightedPageQuery) -> Response:
    found, position = delighted.list_unsubscribes(caller.key, query.command())
    headers = _next_link("/v1/unsubscribes", {"page_info": position}) if position else None
    return json_response(found, headers=headers)


@operation(
    bp,
    "GET",
    "/v1/bounces",
    scope="responses:read",
    summary="List bounces",
    description="Delighted's `Bounce.all`: addresses whose survey email bounced for good (SES's "
    "permanent bounces; Hark no longer mails them), oldest first, `per_page` (max 100) and `page`.",
    tag=TAG,
    delighted=True,
)
def list_bounces(caller: Caller, query: m.DelightedPageQuery) -> Response:
    found, more = delighted.list_bounces(caller.key, query.per_page, query.page)
    headers = _next_link("/v1/bounces", {"page": str(query.page + 1)}) if more else None
    return json_response(found, headers=headers)
