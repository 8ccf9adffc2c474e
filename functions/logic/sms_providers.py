"""The two inbound SMS providers: Twilio (form POST, X-Twilio-Signature) and Amazon SNS
(AWS End User Messaging two-way SMS published to a topic, signature version 2).

Each checks that the request really comes from its provider before anything is read or
written, then hands the text to functions.logic.sms.answer. A request that fails a check
raises Forbidden (403) and changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl

from functions.domain import sns_message, twilio_signature
from functions.domain.errors import Conflict, Forbidden, InvalidInput, NotConfigured, Throttled
from functions.logic import clock, secrets
from functions.logic.sms import InboundSms, answer
from functions.settings import get_settings
from functions.store import sms as sms_store
from functions.store.sms_gateway import GatewayError, SmsGateway

log = logging.getLogger("hark.sms")

# The gateway to the outside world (SNS certificates and subscriptions, outbound replies).
# Tests replace it; nothing else should.
gateway = SmsGateway()

_CERTIFICATE_CACHE_SIZE = 32
_certificates: dict[str, bytes] = {}
_certificates_lock = threading.Lock()


# ---- Twilio -----------------------------------------------------------------------------------


def twilio_reply(url: str, body: bytes, signature: str | None, signature_settings: str | None) -> str | None:
    """Verify a Twilio webhook and answer the text in it; the reply for TwiML (or None).

    `url` is the public URL Twilio was configured with (HARK_PUBLIC_BASE_URL + path + any
    query string), since behind API Gateway the function cannot see the URL Twilio used.
    """
    token = secrets.twilio_auth_token()
    if not token:
        raise NotConfigured(
            "Twilio replies are not set up on this deployment: HARK_TWILIO_AUTH_TOKEN is missing"
        )
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form is not valid UTF-8", code="invalid_form") from None
    algorithm = twilio_signature.algorithm_from_settings(signature_settings)
    if not twilio_signature.is_valid(token, url, params, signature, algorithm):
        log.warning("twilio webhook refused: bad or missing signature")
        raise Forbidden("the Twilio signature is missing or does not match", code="invalid_signature")
    form = dict(params)
    message = InboundSms(
        provider="twilio",
        sender=form.get("From", ""),
        to=form.get("To", ""),
        body=form.get("Body", ""),
        provider_keyword=form.get("OptOutType"),
        messaging_service_sid=form.get("MessagingServiceSid") or None,
    )
    # Twilio signs no timestamp, so its MessageSid is remembered for as long as an invitation
    # can be open: a captured request replayed any time later is refused. Every request Twilio
    # signs carries one; one without can only come from the holder of the auth token.
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        return answer(message)
    return _once("twilio", sid, TWILIO_SEEN_SECONDS, lambda: answer(message))


# ---- replays ----------------------------------------------------------------------------------

TWILIO_SEEN_SECONDS = 400 * 24 * 3600  # longer than any invitation stays open (365 days at most)
SNS_SEEN_SECONDS = 2 * sns_message.MAX_AGE_SECONDS + 60  # older messages are refused by their Timestamp

T = TypeVar("T")


def _once(provider: str, message_id: str, keep_seconds: int, handle: Callable[[], T]) -> T:
    """Run `handle` for the first delivery of a provider's message id; refuse any later one.

    If handling fails (the database is busy, say), the id is forgotten again so the
    provider's own retry goes through instead of being taken for a replay.
    """
    if not sms_store.first_sight(provider, message_id, int(clock.now().timestamp()), keep_seconds):
        log.warning(
            "sms callback refused: this message id was delivered before", extra={"provider": provider}
        )
        raise Conflict("this message was delivered before; a replay is not answered", code="replayed_message")
    try:
        return handle()
    except Exception:
        try:
            sms_store.forget_sight(provider, message_id)
        except Exception:  # the original failure is the one to report
            log.exception("could not forget a message id; the provider's retry will be refused")
        raise


# ---- Amazon SNS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnsOutcome:
    """What an SNS delivery did (for the response body and logs)."""

    kind: str  # "subscribed" | "unsubscribed" | "answered"
    reply: str | None = None


def _allowed_topics() -> set[str]:
    topics = {t.strip() for t in get_settings().sns_topic_arns.split(",") if t.strip()}
    if not topics:
        raise NotConfigured("SNS replies are not set up on this deployment: HARK_SNS_TOPIC_ARNS is empty")
    return topics


def _certificate(url: str) -> bytes:
    with _certificates_lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        return gateway.fetch_certificate(url)
    except GatewayError as exc:
        log.warning("sns certificate fetch failed: %s", exc)
        raise Throttled("could not fetch the SNS signing certificate; SNS will retry") from exc


def _remember(url: str, pem: bytes) -> None:
    with _certificates_lock:
        if url not in _certificates and len(_certificates) >= _CERTIFICATE_CACHE_SIZE:
            _certificates.pop(next(iter(_certificates)))
        _certificates[url] = pem


def verified_sns_message(body: bytes) -> sns_message.SnsMessage:
    """The SNS message in `body`, once its topic, certificate URL and signature check out."""
    topics = _allowed_topics()
    try:
        message = sns_message.parse_message(body)
    except sns_message.SnsMessageInvalid as exc:
        raise InvalidInput(f"not an SNS message: {exc}", code="invalid_sns_message") from None
    if message.topic_arn not in topics:
        log.warning("sns message refused: unexpected topic")
        raise Forbidden("messages from this topic are not accepted", code="unexpected_topic")
    if message.fields.get("SignatureVersion") != sns_message.SIGNATURE_VERSION:
        raise Forbidden("only SNS SignatureVersion 2 (SHA256) is accepted", code="invalid_signature")
    if not sns_message.is_sns_url(message.cert_url, pem=True):
        log.warning("sns message refused: signing certificate outside SNS")
        raise Forbidden("the signing certificate is not an SNS certificate", code="invalid_signature")
    pem = _certificate(message.cert_url)
    if not sns_message.verify_signature(message, pem):
        log.warning("sns message refused: bad signature")
        raise Forbidden("the SNS signature does not match", code="invalid_signature")
    _remember(message.cert_url, pem)
    return message


def sns_delivery(body: bytes) -> SnsOutcome:
    """Handle one SNS POST: confirm a subscription, or answer the SMS in a notification."""
    message = verified_sns_message(body)
    if not sns_message.is_fresh(message, clock.now()):
        log.warning("sns message refused: its Timestamp is more than 5 minutes away")
        raise Forbidden(
            "the SNS message is more than 5 minutes old (or dated ahead); it is not accepted",
            code="stale_message",
        )
    return _once("sns", message.fields["MessageId"], SNS_SEEN_SECONDS, lambda: _sns_handle(message))


def _sns_handle(message: sns_message.SnsMessage) -> SnsOutcome:
    if message.type == sns_message.SUBSCRIPTION_CONFIRMATION:
        if not sns_message.is_sns_url(message.subscribe_url):
            raise Forbidden("the SubscribeURL is not an SNS URL", code="invalid_subscribe_url")
        try:
            gateway.confirm_subscription(message.subscribe_url)
        except GatewayError as exc:
            raise Throttled("could not confirm the SNS subscription; SNS will retry") from exc
        log.info("sns subscription confirmed")
        return SnsOutcome("subscribed")
    if message.type == sns_message.UNSUBSCRIBE_CONFIRMATION:
        log.info("sns subscription removed")
        return SnsOutcome("unsubscribed")
    try:
        text = sns_message.parse_inbound_text(message.message)
    except sns_message.SnsMessageInvalid as exc:
        raise InvalidInput(str(exc), code="invalid_sms_payload") from None
    reply = answer(
        InboundSms(provider="sns", sender=text.origination_number, to=text.destination_number, body=text.body)
    )
    if reply and get_settings().sns_send_replies and text.destination_number:
        try:
            gateway.send_text(text.destination_number, text.origination_number, reply)
        except Exception:  # the answer is recorded; a lost courtesy reply must not make SNS retry
            log.exception("sms reply could not be sent")
    return SnsOutcome("answered", reply)
