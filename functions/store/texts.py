"""Amazon SNS: one survey text to a phone (AWS End User Messaging underneath)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from functions.store.clients import client
from functions.store.items import error_code
from functions.store.mail import SendLater, SendRefused

RETRYABLE = {
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "InternalError",
    "KMSThrottlingException",
}


def send_text(phone: str, body: str) -> str:
    """Publish `body` to `phone` as a transactional SMS; SNS's message id."""
    try:
        out = client("sns").publish(
            PhoneNumber=phone,
            Message=body,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            },
        )
    except ClientError as exc:
        code = error_code(exc)
        if code in RETRYABLE:
            raise SendLater(code) from exc
        message = exc.response.get("Error", {}).get("Message") or code
        raise SendRefused(f"{code}: {message}") from exc
    return str(out["MessageId"])
