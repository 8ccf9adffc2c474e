"""Sending invitations (docs/sending.md): the scheduler's tick and the sender's one send.

The scheduler queues the codes of due sends (no address ever enters the queue). The sender
claims one invitation with a conditional state change (`scheduled` → `sending`), checks what
must still be true at send time, makes the one provider call, and writes the outcome. A
duplicated or retried message finds the invitation no longer `scheduled` (or claimed by
another message) and does nothing. Cost of one send: 3 DynamoDB requests (claim, one
BatchGetItem for the survey, the tenant's settings — its sender identity, or for a text its
provider (SNS or Twilio) — and its unsubscribe and bounce entries, outcome) and 1 provider call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.domain import languages, sealing
from functions.domain.email_message import REMINDER, SurveyEmail, build_message
from functions.domain.sender import SenderIdentity, resolve_sender
from functions.domain.sending import CLAIM_SECONDS, DUE_SHARDS, outside_quiet_hours
from functions.domain.survey import (
    ARCHIVED,
    CANCELLED,
    FAILED,
    SCHEDULED,
    SENT,
    SUPPRESSED,
    Invitation,
    Survey,
)
from functions.i18n import translator
from functions.lazy import lazy
from functions.logic import clock, unsubscribes
from functions.logic.links import links_for
from functions.settings import get_settings
from functions.store import mail, queues, sends
from functions.store.parameters import signing_keys
from functions.store.responses import invitation_from_plain

if TYPE_CHECKING:
    from functions.domain import colours, reply_message
    from functions.domain import sms as sms_format
    from functions.logic import secrets
    from functions.store import tenant_settings as settings_store
    from functions.store import texts, twilio_messages
else:  # each on the send that needs it (an email, a text, a reply)
    colours = lazy("functions.domain.colours")
    reply_message = lazy("functions.domain.reply_message")
    sms_format = lazy("functions.domain.sms")
    secrets = lazy("functions.logic.secrets")
    settings_store = lazy("functions.store.tenant_settings")
    texts = lazy("functions.store.texts")
    twilio_messages = lazy("functions.store.twilio_messages")

log = logging.getLogger("hark.sending")
TAG_INVITATION = "hark_invitation"
TAG_TENANT = "hark_tenant"
NOTHING = "nothing_to_send"


def enqueue_due(now: datetime | None = None) -> int:
    """Queue every send that is due (one message per invitation); how many were queued.

    A send still queued (or claimed) at the next tick may be queued twice: the claim makes
    the second message a no-op, never a second email.
    """
    epoch = int((now or clock.now()).timestamp())
    codes = [code for shard in range(DUE_SHARDS) for code in sends.due_codes(str(shard), epoch)]
    if codes:
        queues.send_messages(get_settings().required("send_queue_url"), [{"code": c} for c in codes])
    return len(codes)


@dataclass(frozen=True)
class Hold:
    status: str
    error: str


SUPPRESSION_TEXT = {
    "unsubscribed": "the address unsubscribed from this sender's surveys",
    "opted_out": "the phone texted STOP: no more survey texts",
    "bounced": "mail to the address bounced for good; it is suppressed",
}


def hold_reason(
    inv: Invitation, survey: Survey | None, suppressed: str | None, now_epoch: int
) -> Hold | None:
    """Why this invitation must not be sent now (checked at send time), or None."""
    if survey is None or survey.status == ARCHIVED:
        return Hold(CANCELLED, "the survey is archived")
    if inv.score is not None:
        return Hold(CANCELLED, "the customer has already answered")
    if inv.expires_at <= now_epoch:
        return Hold(CANCELLED, "the invitation has expired or was closed")
    if suppressed:
        return Hold(SUPPRESSED, SUPPRESSION_TEXT.get(suppressed, suppressed))
    return None


NO_SENDER = "no sender: set email_from in the tenant's settings (PATCH /v1/settings) or HARK_EMAIL_FROM"


def sender_from_settings(
    tenant_settings: Mapping[str, Any], survey: Survey | None = None
) -> SenderIdentity | None:
    """The sender of a tenant's email from its settings as stored (functions/domain/sender.py):
    the survey's `email_from`, else the tenant's, else HARK_EMAIL_FROM; `reply_to` the tenant's."""
    return resolve_sender(
        survey_from=survey.email_from if survey else None,
        tenant_from=_text_or_none(tenant_settings.get("email_from")),
        tenant_reply_to=_text_or_none(tenant_settings.get("reply_to")),
        deployment_from=get_settings().email_from,
    )


def sender_identity(tenant_id: str, survey: Survey | None = None) -> SenderIdentity | None:
    """Who an email on the tenant's behalf comes from: `From` and `Reply-To` (docs/sending.md,
    "The sender address"). For any email Hark sends a tenant's customer (an invitation, a
    follow-up reply); `survey` when the email belongs to one (its own `email_from` wins). One
    GetItem (the tenant's settings); None when no sender is set anywhere (say NO_SENDER)."""
    return sender_from_settings(settings_store.get_tenant_settings(tenant_id).values, survey)


def survey_email(inv: Invitation, sender: SenderIdentity, to: str, *, reminder: bool = False) -> SurveyEmail:
    """The invitation's email in its one language (docs/languages.md): the recipient's locale
    when the survey speaks it, else the survey's default, for the survey's texts and Hark's."""
    language = languages.invitation_language(inv.page)
    page = languages.localized(inv.page, language)
    brand, on_brand = colours.brand_colours(str(page.get("brand_color") or ""))
    links = links_for(inv)
    return SurveyEmail(
        sender=sender.email_from,
        reply_to=sender.reply_to,
        to=to,
        brand_name=str(page.get("brand_name") or ""),
        brand_color=brand,
        on_brand=on_brand,
        kind=str(page["kind"]),
        question=str(page["question"]),
        url=str(links["url"]),
        score_urls=dict(links["score_urls"]),  # type: ignore[call-overload]
        unsubscribe_url=unsubscribes.url_for(inv.tenant_id, to, inv.customer_id, language),
        reminder=reminder,
        language=language,
        scale_low=_text_or_none(page.get("scale_low")),
        scale_high=_text_or_none(page.get("scale_high")),
    )


def _text_or_none(value: object) -> str | None:
    return str(value) if value else None


def sms_text(inv: Invitation, short_url: str, *, reminder: bool) -> str:
    """The invitation's text in its one language: `<brand>: <question> <link> <opt-out>`."""
    language = languages.invitation_language(inv.page)
    _ = translator(language)
    page = languages.localized(inv.page, language)
    question = str(page["question"])
    question = _(REMINDER, text=question) if reminder else question
    return sms_format.sms_body(
        str(page.get("brand_name") or ""), question, short_url, _(sms_format.OPT_OUT_TEXT)
    )


def send_invitation(code: str, claim_id: str) -> str:
    """Send invitation `code` once, as the holder of `claim_id` (the queue message's id); the
    outcome's status, or NOTHING when there was nothing to do.

    Raises mail.SendLater when the provider throttles: the message goes back to the queue
    and its retry (same id) claims the send again.
    """
    now = clock.now()
    epoch = int(now.timestamp())
    item = sends.claim(code, claim_id, epoch, epoch + CLAIM_SECONDS)
    if item is None:
        return NOTHING
    inv = invitation_from_plain(item)
    if item.get("rply_status") == SCHEDULED:
        return _send_reply(inv, item, claim_id, now)
    # The pending job: the send itself, or (once it went out) its one reminder.
    reminder = item.get("send_status") != SCHEDULED
    if reminder and item.get("remind_status") != SCHEDULED:
        return _finish(inv, claim_id, FAILED, reminder=True, error="nothing was pending")
    try:
        address = sealing.open_sealed(inv.sealed_to or "", signing_keys(), sealing.ADDRESS, inv.invitation_id)
    except sealing.SealBroken:
        return _finish(
            inv,
            claim_id,
            FAILED,
            reminder=reminder,
            error="the address held for this send could not be opened",
        )
    texting = inv.channel == "sms"
    if texting:
        context = sends.survey_and_text_opt_out(inv.tenant_id, inv.survey_id, inv.phone_key)
    else:
        context = sends.survey_and_suppression(inv.tenant_id, inv.survey_id, address)
    survey = context.survey
    hold = hold_reason(inv, survey, context.suppressed, epoch)
    if hold is not None:
        return _finish(inv, claim_id, hold.status, reminder=reminder, error=hold.error)
    if texting:
        return _send_text(inv, claim_id, address, survey, now, context.tenant_settings, reminder=reminder)
    sender = sender_from_settings(context.tenant_settings, survey)
    if sender is None:
        return _finish(inv, claim_id, FAILED, reminder=reminder, error=NO_SENDER)
    raw = build_message(survey_email(inv, sender, address, reminder=reminder))
    from_address = sender.email_from
    # The tags come back on SES's bounce and complaint events (functions/sending/ses_events.py).
    tags = {TAG_INVITATION: inv.code, TAG_TENANT: inv.tenant_id}
    return _hand_over(
        inv, claim_id, survey, now, lambda: mail.send_raw(from_address, address, raw, tags=tags), reminder
    )


def _send_text(
    inv: Invitation,
    claim_id: str,
    phone: str,
    survey: Survey | None,
    now: datetime,
    tenant_settings: Mapping[str, Any],
    *,
    reminder: bool,
) -> str:
    """The SMS path of a send: the invitation's text (in its language), with opt-out wording,
    through the tenant's provider (SNS unless its sms.provider is "twilio")."""

    body = sms_text(inv, str(links_for(inv)["short_url"]), reminder=reminder)
    return _hand_over(
        inv, claim_id, survey, now, lambda: _text_provider(tenant_settings)(phone, body), reminder
    )


def _hand_over(
    inv: Invitation,
    claim_id: str,
    survey: Survey | None,
    now: datetime,
    send: Callable[[], str],
    reminder: bool,
) -> str:
    """Give the message to its provider (`send`, which answers the provider's message id) and
    write the outcome: FAILED with the provider's refusal, else SENT, with the reminder's time
    for a first send."""
    try:
        message_id = send()
    except mail.SendRefused as exc:
        return _finish(inv, claim_id, FAILED, reminder=reminder, error=str(exc)[:500])
    # The one window left (docs/sending.md): a crash here, after the provider accepted, before
    # this write, lets the message's retry claim and send again.
    remind_at = None if reminder or survey is None else reminder_time(survey, inv, now)
    return _finish(
        inv,
        claim_id,
        SENT,
        reminder=reminder,
        sent_at=clock.iso(now),
        provider_message_id=message_id,
        remind_at=remind_at,
    )


def _text_provider(tenant_settings: Mapping[str, Any]) -> Callable[[str, str], str]:
    """How this tenant's texts go out: `send(phone, body) -> provider message id`.

    SNS needs nothing more. Twilio needs the deployment's account SID and auth token and the
    tenant's sender (its Messaging Service, else its number), from the settings the send's
    one BatchGetItem read (docs/sending.md). Anything missing is a permanent refusal, so the
    invitation says why.
    """
    sms = tenant_settings.get("sms") or {}
    if sms.get("provider") != "twilio":
        return texts.send_text
    settings = get_settings()
    token = secrets.twilio_auth_token()
    if not settings.twilio_account_sid or not token:
        raise mail.SendRefused(
            "Twilio is not set up on this deployment: HARK_TWILIO_ACCOUNT_SID and the auth token are needed"
        )
    account_sid: str = settings.twilio_account_sid
    number = str(sms.get("number") or "") or None
    service = str(sms.get("messaging_service_sid") or "") or None

    def send(phone: str, body: str) -> str:
        return twilio_messages.send_text(
            settings.twilio_api_base,
            account_sid,
            token,
            phone,
            body,
            from_number=number,
            messaging_service_sid=service,
        )

    return send


def _send_reply(inv: Invitation, item: dict[str, object], claim_id: str, now: datetime) -> str:
    """A follow-up's reply (docs/follow-ups.md): the note's text, to the address sealed for it,
    checked again at send time against the tenant's unsubscribes and bounces."""
    notes = list(item.get("fu_notes") or [])  # type: ignore[call-overload]
    index = next((i for i, n in enumerate(notes) if n.get("id") == item.get("rply_note")), None)

    def finish(status: str, **fields: str | None) -> str:
        if index is None or not sends.finish_reply(inv.code, claim_id, index, status, **fields):
            log.warning("reply of %s: its note or its claim was lost before the outcome", inv.invitation_id)
        return status

    if index is None:
        return finish(FAILED, error="the reply's note is gone")
    note = notes[index]
    try:
        address = sealing.open_sealed(
            str(item.get("rply_to") or ""), signing_keys(), sealing.ADDRESS, inv.invitation_id
        )
    except sealing.SealBroken:
        return finish(FAILED, error="the address held for this reply could not be opened")
    context = sends.survey_and_suppression(inv.tenant_id, inv.survey_id, address)
    if context.suppressed:
        return finish(SUPPRESSED, error=SUPPRESSION_TEXT.get(context.suppressed, context.suppressed))
    sender = sender_from_settings(context.tenant_settings, context.survey)
    if sender is None:
        return finish(FAILED, error=NO_SENDER)
    language = languages.invitation_language(inv.page)
    page = languages.localized(inv.page, language)
    brand = str(page.get("brand_name") or "")
    chosen = (note.get("reply") or {}).get("subject")
    raw = reply_message.build_reply(
        reply_message.ReplyEmail(
            sender=sender.email_from,
            reply_to=sender.reply_to,
            to=address,
            subject=reply_message.subject_for(brand, str(page.get("question") or ""), chosen),
            text=str(note["text"]),
            brand_name=brand,
            unsubscribe_url=unsubscribes.url_for(inv.tenant_id, address, inv.customer_id, language),
        )
    )
    try:
        message_id = mail.send_raw(sender.email_from, address, raw, tags={TAG_TENANT: inv.tenant_id})
    except mail.SendRefused as exc:
        return finish(FAILED, error=str(exc)[:500])
    return finish(SENT, sent_at=clock.iso(now), provider_message_id=message_id)


def reminder_time(survey: Survey, inv: Invitation, sent: datetime) -> str | None:
    """When to remind (survey `reminder_after_days` after the send), or None: no reminders, or
    the invitation would have expired by then."""
    if not survey.reminder_after_days:
        return None
    moment = sent + timedelta(days=survey.reminder_after_days)
    if moment.timestamp() >= inv.expires_at:
        return None
    return clock.iso(outside_quiet_hours(moment, survey.quiet_hours, None))


def _finish(inv: Invitation, claim_id: str, status: str, *, reminder: bool, **fields: str | None) -> str:
    if not sends.finish(inv.code, claim_id, status, reminder=reminder, **fields):
        log.warning("send of %s: the claim passed to another message before its outcome", inv.invitation_id)
    return status
