"""Amazon SNS: one survey text to a phone (AWS End User Messaging underneath)."""

from __future__ import annotations

from functions.store.mail import provider_send

RETRYABLE = {
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "InternalError",
    "KMSThrottlingException",
}


def send_text(phone: str, body: str) -> str:
    """Publish `body` to `phone` as a transactional SMS; SNS's message id."""
    return provider_send(
        "sns",
        "publish",
        {
            "PhoneNumber": phone,
            "Message": body,
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            },
        },
        RETRYABLE,
    )
