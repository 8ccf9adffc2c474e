"""Customer routes (SPEC §3): email links /r/{token}, SMS links /s/{code}. No API key.

A GET never records; only the page's POST does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from functions.api import pages
from functions.api.http import form_body, query, status_for
from functions.domain.errors import HarkError, InvalidInput
from functions.logic import answers
from functions.settings import get_settings

bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]
ANSWER_ERRORS = {"invalid_score", "invalid_attribute", "comment_too_long", "invalid_form"}


def page_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn domain errors into friendly pages with the right status."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except HarkError as exc:
            message = exc.message if exc.code in ANSWER_ERRORS else None
            return pages.error_page(status_for(exc), message)

    return wrapped


def _chosen(inv_scale: tuple[int, int]) -> int | None:
    raw = query(bp.current_request).get("score")
    if raw is None:
        return None
    if not raw.isdigit() or not inv_scale[0] <= int(raw) <= inv_scale[1]:
        raise InvalidInput(
            f"score must be an integer from {inv_scale[0]} to {inv_scale[1]}", code="invalid_score"
        )
    return int(raw)


def _url(path: str) -> str:
    """An absolute URL under the configured public base (which may carry a stage prefix)."""
    return get_settings().public_base_url + path


def _see_other(location: str) -> Response:
    return Response(
        body="",
        status_code=303,
        headers={"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@bp.route("/r/{token}", methods=["GET"])
@page_errors
def email_page(token: str) -> Response:
    inv = answers.open_invitation(answers.code_from_token(token))
    return pages.survey_page(inv.page, _url(f"/r/{token}"), _chosen(inv.scale), inv.score)


@bp.route("/r/{token}", methods=["POST"], content_types=FORM)
@page_errors
def email_answer(token: str) -> Response:
    code = answers.code_from_token(token)
    answers.record(code, form_body(bp.current_request))
    return _see_other(_url(f"/r/{token}/thanks"))


@bp.route("/r/{token}/thanks", methods=["GET"])
@page_errors
def email_thanks(token: str) -> Response:
    inv = answers.open_invitation(answers.code_from_token(token))
    return pages.thanks_page(inv.page, _url(f"/r/{token}"), inv.score, inv.comment)


@bp.route("/s/{code}", methods=["GET"])
@page_errors
def sms_page(code: str) -> Response:
    inv = answers.open_invitation(answers.check_short_code(code), channel="sms")
    return pages.survey_page(inv.page, _url(f"/s/{code}"), _chosen(inv.scale), inv.score)


@bp.route("/s/{code}", methods=["POST"], content_types=FORM)
@page_errors
def sms_answer(code: str) -> Response:
    answers.record(answers.check_short_code(code), form_body(bp.current_request), channel="sms")
    return _see_other(_url(f"/s/{code}/thanks"))


@bp.route("/s/{code}/thanks", methods=["GET"])
@page_errors
def sms_thanks(code: str) -> Response:
    inv = answers.open_invitation(answers.check_short_code(code), channel="sms")
    return pages.thanks_page(inv.page, _url(f"/s/{code}"), inv.score, inv.comment)
