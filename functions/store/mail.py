"""Amazon SES v2: sending one raw email; provider errors become domain outcomes."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from functions.settings import get_settings
from functions.store.clients import Busy, Refused, call

# Retry later: the account's sending rate or quota, or sending paused for a while.
RETRYABLE = {
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "SendingPausedException",
    "ServiceUnavailable",
    "InternalFailure",
}


class SendLater(Exception):
    """The provider throttled or is briefly unavailable: the same send is retried later."""


class SendRefused(Exception):
    """The provider refused this message for good (unverified sender, bad address, …)."""


def send_raw(sender: str, to: str, raw: bytes, tags: dict[str, str] | None = None) -> str:
    """Send `raw` (a whole MIME message) from `sender` to `to`; SES's message id. `tags` come
    back on the message's SES events."""
    kwargs: dict[str, Any] = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": [to]},
        "Content": {"Raw": {"Data": raw}},
    }
    if tags:
        kwargs["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
    configuration_set = get_settings().ses_configuration_set
    if configuration_set:
        kwargs["ConfigurationSetName"] = configuration_set
    return provider_send("sesv2", "send_email", kwargs, RETRYABLE)


def provider_send(service: str, operation: str, kwargs: dict[str, Any], retryable: Collection[str]) -> str:
    """The message id of one provider send (SES or SNS); throttling or a `retryable` error code
    is SendLater, any other error is SendRefused with the provider's message."""
    try:
        out = call(service, operation, **kwargs)
    except Busy as exc:
        raise SendLater(exc.reason) from exc
    except Refused as exc:
        if exc.reason in retryable:
            raise SendLater(exc.reason) from exc
        raise SendRefused(f"{exc.reason}: {exc.detail or exc.reason}") from exc
    return str(out["MessageId"])
