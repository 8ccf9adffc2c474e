"""The error table: every domain error (functions/domain/errors.py) → its HTTP status per profile.

Each HTTP surface answers a domain error in its own shape (docs/architecture.md, Errors):

- ``json``: the Business API's one error shape ``{"error": {"code", "message", "field"}}``
  (docs/api.md, Errors), with Retry-After on 429/503 and a Bearer challenge on 401;
- ``delighted``: the same shape with the statuses Delighted's clients handle (docs/delighted.md):
  422 for any invalid input, 429 when the database is busy, a Basic challenge on 401;
- ``page``: the friendly HTML page of a customer link or the dashboard (docs/pages.md);
- ``sms``: the SMS webhooks' answer to the provider (docs/sms.md): a short plain-text reason
  (a reply that is answered at all is TwiML).

The routes, the wrappers and the OpenAPI document all read this table; nothing else maps an
error to a status. The code in each body is the error's own ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from functions.domain.errors import (
    Conflict,
    Forbidden,
    Gone,
    HarkError,
    InvalidInput,
    NotConfigured,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Throttled,
    Unauthenticated,
    Unprocessable,
    UnsupportedMediaType,
)

Profile = Literal["json", "delighted", "page", "sms"]
PROFILES: tuple[Profile, ...] = ("json", "delighted", "page", "sms")
RETRY_AFTER_SECONDS = "2"
# Statuses whose answer says when to try again.
RETRY_STATUSES = (429, 503)


@dataclass(frozen=True)
class Row:
    """One domain error's status in each profile, and what it means (for the OpenAPI document)."""

    json: int
    delighted: int
    page: int
    sms: int
    about: str

    def status(self, profile: Profile) -> int:
        status: int = getattr(self, profile)
        return status


TABLE: dict[type[HarkError], Row] = {
    InvalidInput: Row(400, 422, 400, 400, "malformed input (a bad parameter, cursor or JSON)"),
    Unprocessable: Row(
        422,
        422,
        422,
        422,
        "well-formed input that fails validation, or values that cannot be compared or rolled up",
    ),
    Unauthenticated: Row(401, 401, 401, 401, "no API key, or an invalid or revoked one"),
    Forbidden: Row(403, 403, 403, 403, "the API key lacks the operation's scope"),
    NotFound: Row(404, 404, 404, 404, "no such resource in this tenant"),
    Conflict: Row(409, 409, 409, 409, "conflicts with the resource's state"),
    Gone: Row(410, 410, 410, 410, "the invitation has expired or was closed"),
    PayloadTooLarge: Row(413, 413, 413, 413, "the body or the list is too large"),
    UnsupportedMediaType: Row(
        415, 415, 415, 415, "the body is not JSON (send Content-Type: application/json)"
    ),
    RateLimited: Row(429, 429, 429, 429, "too many requests, retry after Retry-After seconds"),
    Throttled: Row(503, 429, 503, 503, "the database is busy, retry after Retry-After seconds"),
    NotConfigured: Row(503, 503, 503, 503, "this deployment lacks a setting the request needs"),
}


def row_for(exc: HarkError | type[HarkError]) -> Row:
    """The row of the error's nearest class in the table (a subclass inherits its parent's row)."""
    cls = exc if isinstance(exc, type) else type(exc)
    for base in cls.__mro__:
        found = TABLE.get(base)
        if found is not None:
            return found
    return TABLE[InvalidInput]  # a bare HarkError: the caller's request was at fault


def status_for(exc: HarkError, profile: Profile = "json") -> int:
    """The HTTP status of `exc` in `profile`."""
    return row_for(exc).status(profile)


def headers_for(exc: HarkError, profile: Profile) -> dict[str, str]:
    """The headers an error answer carries in a JSON profile: when to retry, how to authenticate."""
    status = status_for(exc, profile)
    headers: dict[str, str] = {"Retry-After": RETRY_AFTER_SECONDS} if status in RETRY_STATUSES else {}
    if status == 401:
        headers["WWW-Authenticate"] = (
            'Basic realm="hark"' if profile == "delighted" else 'Bearer realm="hark"'
        )
    return headers


def error_body(exc: HarkError) -> dict[str, object]:
    """The one error shape, ``{"error": {"code", "message", "field"}}`` (field when known)."""
    error: dict[str, object] = {"code": exc.code, "message": exc.message}
    if exc.field:
        error["field"] = exc.field
    return {"error": error}
