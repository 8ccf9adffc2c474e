"""Two-way SMS (SPEC §3): a text reply answers the customer's latest open SMS invitation.

Provider-neutral: the Twilio and SNS webhooks (functions/logic/sms_providers.py) turn their
requests into an `InboundSms`, and `answer` returns the text to reply with (or None).

The phone number is used only to compute its keyed hash; it is never stored or logged.
The reply's invitation is the newest unexpired SMS invitation for that hash. Which tenant?
A deployment usually texts from numbers of its own, so `HARK_SMS_NUMBERS` may map each of
our numbers (the inbound ``To``) to the tenant that texts from it; a reply to a mapped
number only answers that tenant's invitations. Unmapped (one business, or a shared number),
it answers the newest open SMS invitation across tenants — the one the customer most
likely just received.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from functions.domain import languages, phones
from functions.domain.errors import Gone, InvalidInput, NotConfigured, NotFound
from functions.domain.sms_reply import AMBIGUOUS, Intent, SmsReply, parse_reply
from functions.domain.survey import Invitation
from functions.i18n import N_, Translate, translator
from functions.logic import clock
from functions.settings import get_settings
from functions.store import responses
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


def invitation_language(page: Mapping[str, Any]) -> str:
    """The language texts about an invitation speak: its recipient's, if the survey speaks it,
    else the survey's default (docs/languages.md)."""
    return languages.choose(
        recipient=page.get("locale"),
        requested=None,
        accept=None,
        default=page.get("default_locale"),
        available=languages.survey_languages(page),
    )


# ---- phone keys -------------------------------------------------------------------------------


def _secret() -> str:
    secret = get_settings().phone_hash_key
    if not secret:
        raise NotConfigured("SMS is not set up on this deployment: HARK_PHONE_HASH_KEY is missing")
    return secret


def phone_key_for(phone: str) -> str | None:
    """The keyed hash of a phone number, or None when it is not an E.164 number."""
    secret = _secret()
    normal = phones.normalise_phone(phone)
    return None if normal is None else phones.phone_key(secret, normal)


@lru_cache(maxsize=4)
def _number_tenants(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        number, sep, tenant = part.strip().partition("=")
        normal = phones.normalise_phone(number)
        if sep and normal and tenant.strip():
            out[normal] = tenant.strip()
    return out


def tenant_for_number(to: str) -> str | None:
    """The tenant that texts from our number `to`, if HARK_SMS_NUMBERS says so."""
    normal = phones.normalise_phone(to)
    return None if normal is None else _number_tenants(get_settings().sms_numbers).get(normal)


# ---- invitations (hooks for functions/logic/invitations.py) -----------------------------------


def recipient_problem(channel: str) -> dict[str, Any] | None:
    """Why an SMS recipient cannot be invited on this deployment (the row's error), or None."""
    if channel == "sms" and not get_settings().phone_hash_key:
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
    keys = {inv.phone_key for inv in invitations if inv.phone_key}
    if not keys:
        return list(invitations), []
    stopped = store.opted_out(keys)
    kept = [inv for inv in invitations if inv.phone_key not in stopped]
    skipped = [
        {"customer_id": inv.customer_id, "reason": OPTED_OUT}
        for inv in invitations
        if inv.phone_key in stopped
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


def _keyword_reply(text: str, key: str, to: str) -> str | None:
    """A carrier keyword's answer, when Hark answers them, in the language of the customer's
    latest open invitation (one more Query, only for these rare texts)."""
    if not get_settings().sms_keyword_replies:
        return None
    target = store.latest_open_invitation(key, int(clock.now().timestamp()), tenant_for_number(to))
    return translator(invitation_language(target.page) if target else languages.SOURCE)(text)


def answer(message: InboundSms) -> str | None:
    """Act on one inbound text; the reply to send back (None: send nothing)."""
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
        store.opt_out(key, clock.iso(moment), message.provider)
        log.info("sms opt-out", extra={"provider": message.provider})
        return _keyword_reply(OPTED_OUT_TEXT, key, message.to)
    if reply.intent is Intent.OPT_IN:
        store.opt_in(key)
        log.info("sms opt-in", extra={"provider": message.provider})
        return _keyword_reply(OPTED_IN_TEXT, key, message.to)
    if reply.intent is Intent.HELP:
        return _keyword_reply(HELP_TEXT, key, message.to)

    now_epoch = int(moment.timestamp())
    target = store.latest_open_invitation(key, now_epoch, tenant_for_number(message.to))
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
        responses.record_answer(
            target.code,
            score=score,
            comment=reply.comment,
            attrs={},
            now_iso=clock.iso(moment),
            now_epoch=now_epoch,
            now_ms=int(moment.timestamp() * 1000),
            channel="sms",
        )
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
