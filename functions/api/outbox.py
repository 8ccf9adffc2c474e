"""`GET /dev/outbox` and `GET /dev/outbox/{id}`: the developer outbox (docs/sending.md).

Dev stage only: on any other stage both answer 404, as if they did not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from functions.api.http import error_response, json_response
from functions.domain.errors import HarkError, NotFound
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.logic import outbox
else:
    outbox = lazy("functions.logic.outbox")

bp = Blueprint(__name__)


def _dev_only() -> None:
    if get_settings().stage != "dev":
        raise NotFound("no such route")


@bp.route("/dev/outbox", methods=["GET"])
def list_outbox() -> Response:
    try:
        _dev_only()
        return json_response({"data": outbox.sent_messages()})
    except HarkError as exc:
        return error_response(exc)


@bp.route("/dev/outbox/{message_id}", methods=["GET"])
def show_email(message_id: str) -> Response:
    try:
        _dev_only()
        html = outbox.email_html(message_id)
    except HarkError as exc:
        return error_response(exc)
    return Response(
        body=html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # The email as sent: its inline styles render, nothing else runs or loads.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
