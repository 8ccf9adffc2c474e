"""Amazon SNS messages posted to an HTTPS subscription, and their signatures (no I/O).

Per "Verifying the signatures of Amazon SNS messages": the string to sign is the listed
fields, in byte order, each as ``Name\\nValue\\n`` — for a Notification ``Message``,
``MessageId``, ``Subject`` (only if present), ``Timestamp``, ``TopicArn``, ``Type``; for a
SubscriptionConfirmation or UnsubscribeConfirmation ``Message``, ``MessageId``,
``SubscribeURL``, ``Timestamp``, ``Token``, ``TopicArn``, ``Type``. ``Signature`` is the
base64 RSA PKCS#1 v1.5 signature of that string, with SHA-256 for ``SignatureVersion`` 2.
We accept only version 2 (SHA-1 signatures are version 1; set the topic's
``SignatureVersion`` attribute to 2).

The certificate must come from ``https://sns.<region>.amazonaws.com[.cn]/….pem``; any other
URL is refused before anything is fetched, and so is a ``SubscribeURL`` elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from functions.domain.json_input import InvalidJson, parse_json
from functions.lazy import lazy

if TYPE_CHECKING:
    import cryptography.exceptions as crypto_errors
    import cryptography.x509.oid as x509_oid
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
else:  # only the SNS webhook verifies a signature, and cryptography is heavy for a cold start
    crypto_errors, x509, x509_oid = (
        lazy("cryptography.exceptions"),
        lazy("cryptography.x509"),
        lazy("cryptography.x509.oid"),
    )
    hashes = lazy("cryptography.hazmat.primitives.hashes")
    padding = lazy("cryptography.hazmat.primitives.asymmetric.padding")
    rsa = lazy("cryptography.hazmat.primitives.asymmetric.rsa")

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
TYPES = (NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION)
SIGNATURE_VERSION = "2"

_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
# A region-shaped label only (us-east-1, us-gov-west-1, cn-north-1): `sns.<bucket>.amazonaws.com`
# style hosts that someone else could serve content from never match.
_SNS_HOST = re.compile(r"^sns\.[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?$")
_SNS_CERT_NAME = re.compile(r"^sns(?:\.[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")
_MAX_FIELD = 300_000  # SNS messages are at most 256 KB


class SnsMessageInvalid(Exception):
    """The body is not an SNS message we accept; the message says why (for logs)."""


@dataclass(frozen=True)
class SnsMessage:
    fields: dict[str, str]

    @property
    def type(self) -> str:
        return self.fields["Type"]

    @property
    def topic_arn(self) -> str:
        return self.fields["TopicArn"]

    @property
    def message(self) -> str:
        return self.fields["Message"]

    @property
    def cert_url(self) -> str:
        return self.fields["SigningCertURL"]

    @property
    def subscribe_url(self) -> str:
        return self.fields.get("SubscribeURL", "")


def parse_message(body: bytes) -> SnsMessage:
    """The SNS message in a POST body, with every field the signature needs."""
    try:
        data: Any = parse_json(body)
    except InvalidJson as exc:
        raise SnsMessageInvalid(exc.message) from None
    if not isinstance(data, dict):
        raise SnsMessageInvalid("the body is not a JSON object")
    fields = {
        k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and len(v) < _MAX_FIELD
    }
    kind = fields.get("Type")
    if kind not in TYPES:
        raise SnsMessageInvalid(f"unknown message type {kind!r}")
    needed = [f for f in _fields_for(kind) if f != "Subject"] + [
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ]
    missing = [f for f in needed if f not in fields]
    if missing:
        raise SnsMessageInvalid(f"missing fields {missing}")
    return SnsMessage(fields)


MAX_AGE_SECONDS = 300  # provider callbacks older than this are refused (docs/security.md)


def is_fresh(message: SnsMessage, now: datetime, max_age_seconds: int = MAX_AGE_SECONDS) -> bool:
    """True when the message's signed Timestamp lies within `max_age_seconds` of `now` (either
    side: a clock a little ahead is tolerated, a date far in the future is not)."""
    text = message.fields.get("Timestamp", "")
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    if stamp.tzinfo is None:
        return False
    return abs((now - stamp).total_seconds()) <= max_age_seconds


def _fields_for(kind: str) -> tuple[str, ...]:
    return _NOTIFICATION_FIELDS if kind == NOTIFICATION else _CONFIRMATION_FIELDS


def signing_string(message: SnsMessage) -> bytes:
    """The bytes SNS signed for this message."""
    parts = []
    for name in _fields_for(message.type):
        if name in message.fields:
            parts.append(f"{name}\n{message.fields[name]}\n")
    return "".join(parts).encode("utf-8")


def is_sns_url(url: str, *, pem: bool = False) -> bool:
    """Whether `url` is https on an SNS regional endpoint (for a certificate: a .pem path)."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        return False  # urlsplit would silently drop tabs and newlines
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port not in (None, 443) or parts.username or parts.password:
        return False
    if not _SNS_HOST.fullmatch(host):
        return False
    return not pem or (parts.path.endswith(".pem") and not parts.query and not parts.fragment)


def verify_signature(message: SnsMessage, certificate_pem: bytes, now: datetime | None = None) -> bool:
    """Whether the message's signature is valid under the certificate's RSA public key.

    The certificate must name SNS (subject CN ``sns.amazonaws.com``, or a regional or
    China-partition variant) and be within its validity period. Anything malformed
    verifies as False, never raises.
    """
    if message.fields.get("SignatureVersion") != SIGNATURE_VERSION:
        return False
    try:
        signature = base64.b64decode(message.fields["Signature"], validate=True)
        cert = x509.load_pem_x509_certificate(certificate_pem)
    except (binascii.Error, ValueError):
        return False
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509_oid.NameOID.COMMON_NAME)]
    if len(names) != 1 or not _SNS_CERT_NAME.fullmatch(names[0]):
        return False
    moment = now or datetime.now(UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        return False
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, signing_string(message), padding.PKCS1v15(), hashes.SHA256())
    except crypto_errors.InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class InboundText:
    """The two-way SMS payload AWS End User Messaging publishes to the topic."""

    origination_number: str
    destination_number: str
    body: str
    message_id: str


def parse_inbound_text(message: str) -> InboundText:
    """The SMS inside a Notification's ``Message`` (originationNumber, messageBody, …)."""
    try:
        data: Any = parse_json(message)
    except InvalidJson:
        raise SnsMessageInvalid("the notification is not an End User Messaging SMS payload") from None
    if not isinstance(data, dict) or not isinstance(data.get("originationNumber"), str):
        raise SnsMessageInvalid("the notification is not an End User Messaging SMS payload")
    body = data.get("messageBody")
    return InboundText(
        origination_number=data["originationNumber"],
        destination_number=str(data.get("destinationNumber") or ""),
        body=body if isinstance(body, str) else "",
        message_id=str(data.get("inboundMessageId") or ""),
    )
