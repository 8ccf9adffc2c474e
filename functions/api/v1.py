"""Business API routes under /v1 (SPEC §4): API key auth, JSON, one error shape."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalice.app import Blueprint, Response

from functions.api.http import bearer, json_body, json_errors, json_response, query
from functions.api.models import InvitationsRequest, SurveyCreate, SurveyPatch, parse
from functions.domain.errors import InvalidInput
from functions.domain.segments import parse_breakdown_by, parse_segment
from functions.domain.windows import parse_window
from functions.logic import invitations, scores, surveys
from functions.logic.tenants import authenticate

bp = Blueprint(__name__)
JSON = ["application/json"]


def _key(scope: str) -> Any:
    return authenticate(bearer(bp.current_request), scope)


def _limit(params: dict[str, str], default: int = 50, most: int = 100) -> int:
    raw = params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise InvalidInput(
            f"limit must be a whole number from 1 to {most}", field="limit", code="invalid_limit"
        )
    return int(raw)


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (ValueError, TypeError):
        raise InvalidInput(
            "cursor is not one this API returned", field="cursor", code="invalid_cursor"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput("cursor is not one this API returned", field="cursor", code="invalid_cursor")
    return value


@bp.route("/v1/surveys", methods=["POST"], content_types=JSON)
@json_errors
def create_survey() -> Response:
    key = _key("surveys:write")
    request = parse(SurveyCreate, json_body(bp.current_request))
    return json_response(surveys.survey_view(surveys.create_survey(key.tenant_id, request)), 201)


@bp.route("/v1/surveys", methods=["GET"])
@json_errors
def list_surveys() -> Response:
    key = _key("scores:read")
    params = query(bp.current_request)
    found, last = surveys.list_surveys(key.tenant_id, _limit(params), decode_cursor(params.get("cursor")))
    return json_response(
        {"data": [surveys.survey_view(s) for s in found], "next_cursor": encode_cursor(last)}
    )


@bp.route("/v1/surveys/{survey_id}", methods=["GET"])
@json_errors
def get_survey(survey_id: str) -> Response:
    key = _key("scores:read")
    return json_response(surveys.survey_view(surveys.get_survey(key.tenant_id, survey_id)))


@bp.route("/v1/surveys/{survey_id}", methods=["PATCH"], content_types=JSON)
@json_errors
def update_survey(survey_id: str) -> Response:
    key = _key("surveys:write")
    patch = parse(SurveyPatch, json_body(bp.current_request))
    return json_response(surveys.survey_view(surveys.update_survey(key.tenant_id, survey_id, patch)))


@bp.route("/v1/surveys/{survey_id}", methods=["DELETE"])
@json_errors
def archive_survey(survey_id: str) -> Response:
    key = _key("surveys:write")
    return json_response(surveys.survey_view(surveys.archive_survey(key.tenant_id, survey_id)))


@bp.route("/v1/surveys/{survey_id}/invitations", methods=["POST"], content_types=JSON)
@json_errors
def create_invitations(survey_id: str) -> Response:
    key = _key("surveys:write")
    request = parse(InvitationsRequest, json_body(bp.current_request))
    survey = surveys.get_survey(key.tenant_id, survey_id)
    return json_response(invitations.create_invitations(survey, request.recipients), 201)


@bp.route("/v1/surveys/{survey_id}/scores", methods=["GET"])
@json_errors
def read_scores(survey_id: str) -> Response:
    params = query(bp.current_request)
    window = parse_window(params.get("window"))
    segment = parse_segment(params.get("segment"))
    return json_response(scores.read_summary(bearer(bp.current_request), survey_id, window, segment))


@bp.route("/v1/surveys/{survey_id}/breakdown", methods=["GET"])
@json_errors
def read_breakdown(survey_id: str) -> Response:
    params = query(bp.current_request)
    window = parse_window(params.get("window"))
    by = parse_breakdown_by(params.get("by"))
    return json_response(scores.read_breakdown(bearer(bp.current_request), survey_id, by, window))


@bp.route("/v1/surveys/{survey_id}/trend", methods=["GET"])
@json_errors
def read_trend(survey_id: str) -> Response:
    params = query(bp.current_request)
    segment = parse_segment(params.get("segment"))
    return json_response(
        scores.read_trend(
            bearer(bp.current_request),
            survey_id,
            segment,
            params.get("interval"),
            params.get("from"),
            params.get("to"),
        )
    )
