"""Domain errors. The API maps them to HTTP status codes in one place (functions/api/errors.py)."""

from __future__ import annotations


class HarkError(Exception):
    """Base of every error a caller may see; `code` is stable, `message` is for people."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        values: dict[str, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Numbers the message names (a scale's ends), so a customer page can say it in any language.
        self.values = dict(values or {})
        if code is not None:
            self.code = code


class InvalidInput(HarkError):
    code = "invalid_request"


class Unprocessable(InvalidInput):
    """Well-formed input that fails validation (422)."""

    code = "validation_error"


class Unauthenticated(HarkError):
    code = "unauthenticated"


class Forbidden(HarkError):
    code = "forbidden"


class NotFound(HarkError):
    code = "not_found"


class Conflict(HarkError):
    code = "conflict"


class Gone(HarkError):
    code = "gone"


class PayloadTooLarge(HarkError):
    code = "payload_too_large"


class UnsupportedMediaType(HarkError):
    """A request body that is not JSON, where the API takes only JSON."""

    code = "unsupported_media_type"


class RateLimited(HarkError):
    """Too many requests from one client or for one link; retry after `retry_after` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(HarkError):
    """The store is throttling us; the caller may retry after a short wait."""

    code = "throttled"


class NotConfigured(HarkError):
    """This deployment lacks a setting the request needs (e.g. HARK_TWILIO_AUTH_TOKEN)."""

    code = "not_configured"
