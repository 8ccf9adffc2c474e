"""Two-way SMS (docs/sms.md): a text reply answers the customer's latest open SMS invitation.

Provider-neutral: the Twilio and SNS webhooks (functions/logic/sms_providers.py) turn their
requests into an `InboundSms`, and `answer` returns the text to reply with (or None).

The phone number is used only to compute its keyed hash; it is never stored or logged.
The reply's invitation is the newest unexpired SMS invitation for that hash, of the tenant
that owns the receiving number: the one that registered it as `sms.number` (PATCH
/v1/settings), or its Twilio Messaging Service, or that HARK_SMS_NUMBERS assigns it to, or the
deployment's only tenant. With several tenants and a number nobody owns, nothing is recorded
and nothing answered: guessing across tenants would let one business read (and answer) the
replies meant for another (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from functions.domain import languages, phones
from functions.domain.errors import Gone, InvalidInput, NotConfigured, NotFound
from functions.domain.sms_reply import AMBIGUOUS, Intent, SmsReply, parse_reply
from functions.domain.survey import Invitation
from functions.i18n import N_, Translate, translator
from functions.logic import clock, secrets, tenant_settings
from functions.logic.answers import record_answer
from functions.settings import get_settings
from functions.store import sms as store

log = logging.getLogger("hark.sms")

OPTED_OUT = "opted_out"
PROVIDER_KEYWORDS = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}


@dataclass(frozen=True)
class InboundSms:
    """One text a customer sent to one of our numbers."""

    provider: str  # "twilio" | "sns"
    sender: str  # the customer's number
    to: str  # our number
    body: str
    provider_keyword: str | None = None  # the provider's own verdict (Twilio's OptOutType)
    messaging_service_sid: str | None = None  # Twilio: the Messaging Service the number is in


# ---- what we answer (in the invitation's language; English when there is no invitation) ------

NO_OPEN_SURVEY = N_(
    "Thanks for your message. We have no open survey for this number, so nothing was recorded."
)
COMMENT_ADDED = N_("Thank you, we have added your comment to your answer.")
OPTED_OUT_TEXT = N_(
    "You are unsubscribed from survey texts and will receive no more. Reply START to resubscribe."
)
OPTED_IN_TEXT = N_("You are resubscribed to survey texts. Reply STOP to unsubscribe.")
HELP_TEXT = N_(
    "Survey texts: reply with a number to answer. Reply STOP to unsubscribe. Msg & data rates may apply."
)


def _ask_again(_: Translate, scale: tuple[int, int], problem: str | None) -> str:
    low, high = scale
    if problem == AMBIGUOUS:
        return _(
            "Sorry, we need just one number. Please reply with a whole number from {low} to {high}.",
            low=low,
            high=high,
        )
    return _(
        "Sorry, we did not catch that. Please reply with a whole number from {low} to {high}.",
        low=low,
        high=high,
    )


def _ask_for_score(_: Translate, scale: tuple[int, int]) -> str:
    low, high = scale
    return _(
        "Thank you! Please reply with a number from {low} to {high} first; then tell us anything you like.",
        low=low,
        high=high,
    )


def _thanks(_: Translate, score: int, commented: bool, follow_up: str | None) -> str:
    if commented:
        return _("Thank you! We recorded your {score} and your comment.", score=score)
    if follow_up:
        return _(
            "Thank you! We recorded your {score}. {follow_up} Just reply to tell us.",
            score=score,
            follow_up=follow_up,
        )
    return _("Thank you! We recorded your {score}. Reply any time to tell us why.", score=score)


invitation_language = languages.invitation_language


# ---- phone keys -------------------------------------------------------------------------------


def _secret() -> str:
    secret = secrets.phone_hash_key()
    if not secret:
        raise NotConfigured("SMS is not set up on this deployment: HARK_PHONE_HASH_KEY is missing")
    return secret


def phone_key_for(phone: str) -> str | None:
    """The keyed hash of a phone number, or None when it is not an E.164 number."""
    secret = _secret()
    normal = phones.normalise_phone(phone)
    return None if normal is None else phones.phone_key(secret, normal)


# ---- invitations (hooks for functions/logic/invitations.py) -----------------------------------


def recipient_problem(channel: str) -> dict[str, Any] | None:
    """Why an SMS recipient cannot be invited on this deployment (the row's error), or None."""
    if channel == "sms" and not secrets.phone_hash_key():
        return {
            "code": "sms_not_configured",
            "message": "SMS invitations need HARK_PHONE_HASH_KEY set on this deployment",
            "field": "channel",
        }
    return None


def invitation_phone_key(channel: str, phone: str | None) -> str | None:
    """The phone key an invitation stores: SMS invitations only (they are the ones answered by text)."""
    return phone_key_for(phone) if channel == "sms" and phone else None


def drop_opted_out(invitations: Sequence[Invitation]) -> tuple[list[Invitation], list[dict[str, str]]]:
    """(invitations to create, skipped rows) — SMS invitations to opted-out numbers are skipped."""
    stopped: set[tuple[str, str]] = set()
    for tenant_id in {inv.tenant_id for inv in invitations if inv.phone_key}:
        keys = {inv.phone_key for inv in invitations if inv.phone_key and inv.tenant_id == tenant_id}
        stopped |= {(tenant_id, key) for key in store.opted_out(tenant_id, keys)}
    if not stopped:
        return list(invitations), []
    kept = [inv for inv in invitations if (inv.tenant_id, inv.phone_key) not in stopped]
    skipped = [
        {"customer_id": inv.customer_id, "reason": OPTED_OUT}
        for inv in invitations
        if (inv.tenant_id, inv.phone_key) in stopped
    ]
    return kept, skipped


# ---- answering a text -------------------------------------------------------------------------


def _intent(message: InboundSms, language: str | None = None) -> SmsReply:
    reply = parse_reply(message.body, language)
    hint = PROVIDER_KEYWORDS.get((message.provider_keyword or "").strip().upper())
    if hint is not None and reply.intent is not hint:
        # The provider matched one of the account's own keywords (e.g. a custom opt-out word).
        return replace(reply, intent=hint)
    return reply


def _keyword_reply(text: str, key: str, tenant_id: str) -> str | None:
    """A carrier keyword's answer, when Hark answers them, in the language of the customer's
    latest open invitation (one more Query, only for these rare texts)."""
    if not get_settings().sms_keyword_replies:
        return None
    target = store.latest_open_invitation(key, int(clock.now().timestamp()), tenant_id)
    return translator(invitation_language(target.page) if target else languages.SOURCE)(text)


def answer(message: InboundSms) -> str | None:
    """Act on one inbound text; the reply to send back (None: send nothing)."""
    tenant_id = tenant_settings.tenant_for_reply(message.to, message.messaging_service_sid)
    if tenant_id is None:
        log.warning(
            "sms reply to a number no tenant has registered, in a deployment with several tenants: "
            "nothing recorded (register it with PATCH /v1/settings sms.number)",
            extra={"provider": message.provider, "to": phones.normalise_phone(message.to) or "(not E.164)"},
        )
        return None
    key = phone_key_for(message.sender)
    reply = _intent(message)
    english = translator(languages.SOURCE)
    if key is None:
        log.info("sms reply from a sender that is not an E.164 number", extra={"provider": message.provider})
        if reply.intent in (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP):
            return None
        return english(NO_OPEN_SURVEY)
    moment = clock.now()
    if reply.intent is Intent.OPT_OUT:
        store.opt_out(tenant_id, key, clock.iso(moment), message.provider, phones.normalise_phone(message.to))
        log.info("sms opt-out", extra={"provider": message.provider})
        return _keyword_reply(OPTED_OUT_TEXT, key, tenant_id)
    if reply.intent is Intent.OPT_IN:
        store.opt_in(tenant_id, key)
        log.info("sms opt-in", extra={"provider": message.provider})
        return _keyword_reply(OPTED_IN_TEXT, key, tenant_id)
    if reply.intent is Intent.HELP:
        return _keyword_reply(HELP_TEXT, key, tenant_id)

    now_epoch = int(moment.timestamp())
    target = store.latest_open_invitation(key, now_epoch, tenant_id)
    if target is None:
        log.info("sms reply without an open invitation", extra={"provider": message.provider})
        return english(NO_OPEN_SURVEY)
    language = invitation_language(target.page)
    _ = translator(language)
    # Read again with the invitation's number words ("neuf" on a French invitation).
    reply = _intent(message, language)
    low, high = target.scale
    if reply.intent is Intent.UNCLEAR:
        return _ask_again(_, target.scale, reply.problem)
    if reply.intent is Intent.COMMENT:
        if not target.answered:
            return _ask_for_score(_, target.scale)
        score = None
    else:
        assert reply.score is not None
        if not low <= reply.score <= high or (reply.out_of is not None and reply.out_of != high):
            return _ask_again(_, target.scale, None)
        score = reply.score
    try:
        record_answer(target.code, score=score, comment=reply.comment, channel="sms", moment=moment)
    except (Gone, NotFound):
        return _(NO_OPEN_SURVEY)
    except InvalidInput as exc:
        log.info("sms answer refused", extra={"provider": message.provider, "code": exc.code})
        return _ask_again(_, target.scale, None)
    log.info("sms answer recorded", extra={"provider": message.provider, "intent": reply.intent.value})
    if score is None:
        return _(COMMENT_ADDED)
    follow_up = languages.localized(target.page, language).get("follow_up_question")
    return _thanks(_, score, reply.comment is not None, follow_up)
