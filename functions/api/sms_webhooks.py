"""Inbound SMS webhooks (docs/sms.md): Twilio and Amazon SNS post customers' text replies here.

No API key: each provider's signature is the credential. A request that fails it gets 403
and changes nothing; a deployment without the provider's setting answers 503.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from chalice.app import Blueprint, Response

from functions.api.errors import status_for
from functions.api.http import raw_body
from functions.domain.errors import HarkError
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.logic import sms_providers
else:  # loaded by the first text message, not by a customer's click
    sms_providers = lazy("functions.logic.sms_providers")

bp = Blueprint(__name__)
TWILIO_PATH = "/webhooks/sms/twilio"
SNS_PATH = "/webhooks/sms/sns"
BODY_LIMIT = 64_000  # Twilio bodies are a few KB; SNS messages are at most 256 KB but ours are small
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def twiml(reply: str | None) -> Response:
    """A TwiML document that sends `reply` back to the texter (nothing when None)."""
    message = f"<Message>{escape(_NOT_XML.sub('', reply))}</Message>" if reply else ""
    return Response(
        body=f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>',
        status_code=200,
        headers={"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store"},
    )


def _plain(status: int, text: str) -> Response:
    return Response(
        body=text + "\n",
        status_code=status,
        headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
    )


def _public_url(path: str) -> str:
    """The URL the provider called, as configured (API Gateway hides the stage prefix and host)."""
    url = get_settings().public_base_url + path
    params = bp.current_request.query_params
    if params:
        # Best effort: API Gateway hands over parsed parameters, not the raw query string.
        # Configure the webhook URL in Twilio without one.
        url += "?" + urlencode(dict(params))
    return url


@bp.route(TWILIO_PATH, methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def twilio_sms() -> Response:
    request = bp.current_request
    headers: Any = request.headers or {}
    try:
        reply = sms_providers.twilio_reply(
            _public_url(TWILIO_PATH),
            raw_body(request, BODY_LIMIT),
            headers.get("x-twilio-signature"),
            headers.get("x-twilio-webhooks-signature-settings"),
        )
    except HarkError as exc:
        return _plain(status_for(exc, "sms"), exc.message)
    return twiml(reply)


@bp.route(SNS_PATH, methods=["POST"], content_types=["text/plain", "application/json"])
def sns_sms() -> Response:
    try:
        outcome = sms_providers.sns_delivery(raw_body(bp.current_request, BODY_LIMIT))
    except HarkError as exc:
        return _plain(status_for(exc, "sms"), exc.message)
    return Response(
        body=json.dumps({"status": outcome.kind, "reply": outcome.reply}),
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )
