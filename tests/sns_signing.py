"""Signing SNS messages the way Amazon SNS does, for tests: our own CA and an SNS-named certificate.

The string to sign is built here independently of functions/domain/sns_message.py, straight
from the published format ("Verifying the signatures of Amazon SNS messages"), so the two
cross-check each other.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-6209c161c6221fdf56ec1eb5c821d112.pem"
)

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def published_string_to_sign(message: dict[str, str]) -> str:
    """Name, newline, value, newline for each listed key present, in the listed (byte) order."""
    keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else CONFIRMATION_KEYS
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)


@lru_cache(maxsize=1)
def _ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hark Test Root CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass
class SnsSigner:
    """An SNS-like signer: a leaf certificate issued by the test CA, and its private key."""

    key: rsa.RSAPrivateKey
    cert_pem: bytes
    cert_url: str = CERT_URL
    topic_arn: str = "arn:aws:sns:us-east-1:123456789012:hark-inbound-sms"
    extra: dict[str, str] = field(default_factory=dict)

    def sign(self, message: dict[str, str], *, version: str = "2") -> dict[str, str]:
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # version 1: to test its refusal
        signature = self.key.sign(published_string_to_sign(message).encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": self.cert_url,
        }

    def notification(self, payload: dict[str, Any] | str, *, topic_arn: str | None = None) -> dict[str, str]:
        message = payload if isinstance(payload, str) else json.dumps(payload)
        return self.sign(
            {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": topic_arn or self.topic_arn,
                "Message": message,
                "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
            }
        )

    def subscription_confirmation(self, *, subscribe_url: str | None = None) -> dict[str, str]:
        token = uuid.uuid4().hex * 4
        url = subscribe_url or (
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={self.topic_arn}&Token={token}"
        )
        return self.sign(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": token,
                "TopicArn": self.topic_arn,
                "Message": f"You have chosen to subscribe to the topic {self.topic_arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message.",
                "SubscribeURL": url,
                "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            }
        )


def make_signer(
    common_name: str = "sns.amazonaws.com", *, days: int = 30, expired: bool = False
) -> SnsSigner:
    ca_key, ca_cert = _ca()
    key = _leaf_key()
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=60), now - timedelta(days=1))
        if expired
        else (now - timedelta(days=1), now + timedelta(days=days))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    return SnsSigner(key, cert.public_bytes(serialization.Encoding.PEM))


@lru_cache(maxsize=1)
def _leaf_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeGateway:
    """Stands in for the network: serves certificates by URL, records confirmations and sends."""

    def __init__(self, certificates: dict[str, bytes] | None = None) -> None:
        self.certificates = dict(certificates or {})
        self.fetched: list[str] = []
        self.confirmed: list[str] = []
        self.sent: list[tuple[str, str, str]] = []

    def fetch_certificate(self, url: str) -> bytes:
        from functions.store.sms_gateway import GatewayError

        self.fetched.append(url)
        if url not in self.certificates:
            raise GatewayError("404")
        return self.certificates[url]

    def confirm_subscription(self, url: str) -> None:
        self.confirmed.append(url)

    def send_text(self, origination: str, destination: str, body: str) -> None:
        self.sent.append((origination, destination, body))
