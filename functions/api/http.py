"""HTTP plumbing shared by the routes: the one error shape, body parsing, security headers.

Domain errors map to HTTP statuses in the error table (functions/api/errors.py), nowhere else.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from chalice.app import Response

from functions.api.errors import Profile, error_body, headers_for, status_for
from functions.domain.errors import HarkError, InvalidInput, PayloadTooLarge
from functions.domain.json_input import parse_json

log = logging.getLogger("hark.api")

JSON_BODY_LIMIT = 1_000_000
FORM_BODY_LIMIT = 16_000


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
    )


def error_response(exc: HarkError, profile: Profile = "json") -> Response:
    """A domain error in the one error shape, with its status and headers from the error table."""
    return json_response(error_body(exc), status_for(exc, profile), headers_for(exc, profile))


def json_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Map domain errors raised by a JSON view to the one error shape (docs/api.md, Errors)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except HarkError as exc:
            return error_response(exc)

    return wrapped


def raw_body(request: Any, limit: int) -> bytes:
    body: bytes = request.raw_body or b""
    if len(body) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    return body


def json_body(request: Any) -> Any:
    body = raw_body(request, JSON_BODY_LIMIT)
    if not body:
        raise InvalidInput("send a JSON body", code="invalid_json")
    return parse_json(body)


def form_body(request: Any, limit: int = FORM_BODY_LIMIT) -> dict[str, str]:
    """The fields of a url-encoded form (a repeated field keeps its last value)."""
    return dict(form_pairs(request, limit))


def form_pairs(request: Any, limit: int = FORM_BODY_LIMIT) -> list[tuple[str, str]]:
    """Every (name, value) of a url-encoded form, in order, repeated fields included."""
    body = raw_body(request, limit)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form is not valid UTF-8", code="invalid_form") from None
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise InvalidInput("the form holds a NUL character", code="invalid_form")
    return pairs


def bearer(request: Any) -> str | None:
    header = (request.headers or {}).get("authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def api_key(request: Any) -> str | None:
    """The API key of `Authorization: Bearer KEY`, or of HTTP Basic with the key as the user
    (Delighted's clients send ``base64(KEY)``, others ``base64(KEY:)``; both are accepted)."""
    header = str((request.headers or {}).get("authorization", ""))
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user.strip() or None


def query(request: Any) -> dict[str, str]:
    return dict(request.query_params or {})
