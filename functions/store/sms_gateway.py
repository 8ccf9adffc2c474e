"""The SMS webhooks' calls to the outside world (besides DynamoDB), behind one small class.

Fetching an SNS signing certificate, confirming an SNS subscription, and sending a reply
through AWS End User Messaging. Callers check URLs before they get here (only
``https://sns.<region>.amazonaws.com``); tests replace the gateway, so they never touch the
network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.lazy import lazy
from functions.store.clients import call

if TYPE_CHECKING:
    from urllib import request as urllib_request
else:  # only SNS deliveries fetch a certificate or confirm a subscription
    urllib_request = lazy("urllib.request")

TIMEOUT_SECONDS = 5
MAX_CERTIFICATE_BYTES = 16_384


class GatewayError(Exception):
    """The outside service did not answer as expected."""


class SmsGateway:
    def fetch_certificate(self, url: str) -> bytes:
        """The PEM behind an SNS SigningCertURL (already checked to be an SNS https URL)."""
        try:
            with urllib_request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                body: bytes = response.read(MAX_CERTIFICATE_BYTES + 1)
        except OSError as exc:
            raise GatewayError(f"could not fetch the SNS certificate: {exc}") from exc
        if len(body) > MAX_CERTIFICATE_BYTES:
            raise GatewayError("the SNS certificate is implausibly large")
        return body

    def confirm_subscription(self, url: str) -> None:
        """Visit an SNS SubscribeURL (already checked to be an SNS https URL)."""
        try:
            with urllib_request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                response.read(65_536)
        except OSError as exc:
            raise GatewayError(f"could not confirm the SNS subscription: {exc}") from exc

    def send_text(self, origination: str, destination: str, body: str) -> None:
        """Send an SMS reply from our number `origination` (AWS End User Messaging)."""
        call(
            "pinpoint-sms-voice-v2",
            "send_text_message",
            DestinationPhoneNumber=destination,
            OriginationIdentity=origination,
            MessageBody=body,
            MessageType="TRANSACTIONAL",
        )
