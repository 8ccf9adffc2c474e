"""Invitations: up to 1,000 recipients a call, each with its links (docs/api.md, Invitations)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.domain.codes import new_code, new_id
from functions.domain.errors import Conflict, PayloadTooLarge, Throttled
from functions.domain.sending import MAX_DELAY_SECONDS, SendPlan, outside_quiet_hours
from functions.domain.survey import ARCHIVED, SCHEDULED, Delivery, Invitation, Survey
from functions.lazy import lazy
from functions.logic import clock, sms
from functions.logic.links import links_for
from functions.settings import get_settings
from functions.store import responses
from functions.store.parameters import signing_keys

if TYPE_CHECKING:
    import pydantic

    from functions.domain import sealing
    from functions.logic import commands
    from functions.logic.commands import RecipientModel
else:  # the recipient rows' model (pydantic) and the sealing code load when invitations are created
    commands, pydantic, sealing = (
        lazy("functions.logic.commands"),
        lazy("pydantic"),
        lazy("functions.domain.sealing"),
    )

COOLDOWN_WORKERS = 16


def _purge_at(inv: Invitation) -> int | None:
    days = get_settings().raw_retention_days
    return inv.expires_at + days * 86400 if days else None


def _recode(inv: Invitation) -> Invitation:
    return replace(inv, code=new_code())


def build_invitation(
    survey: Survey, recipient: RecipientModel, moment: datetime, send_at: datetime | None = None
) -> Invitation:
    """The invitation for `recipient`; with `send_at`, scheduled to be emailed then, its
    address sealed to it (held only until the send, docs/sending.md)."""
    days = recipient.expires_in_days or get_settings().invitation_ttl_days
    invitation_id = new_id("inv")
    delivery, sealed_to = Delivery(), None
    address = recipient.phone if recipient.channel == "sms" else recipient.email
    if send_at is not None and address:
        delivery = Delivery(status=SCHEDULED, send_at=clock.iso(send_at))
        sealed_to = sealing.seal(address, signing_keys(), sealing.ADDRESS, invitation_id)
    return Invitation(
        code=new_code(),
        invitation_id=invitation_id,
        tenant_id=survey.tenant_id,
        survey_id=survey.id,
        customer_id=recipient.customer_id,
        channel=recipient.channel,
        touchpoint=recipient.touchpoint,
        properties=dict(recipient.properties),
        created_at=clock.iso(moment),
        expires_at=int((moment + timedelta(days=days)).timestamp()),
        rev=0,
        page=survey.public_view(locale=recipient.locale),
        phone_key=sms.invitation_phone_key(recipient.channel, recipient.phone),
        delivery=delivery,
        sealed_to=sealed_to,
    )


def _problem(code: str, message: str, field: str) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field}


def send_problem(
    recipient: RecipientModel, send_at: datetime, now: datetime, expires_at: datetime
) -> dict[str, Any] | None:
    """Why this recipient cannot be sent what was asked (a row error), or None. (An sms
    recipient always has its phone: the recipient model requires it.)"""
    if recipient.channel == "link":
        return _problem("nothing_to_send", "a link invitation is not sent; use channel email", "send")
    if recipient.channel == "email" and not recipient.email:
        return _problem("email_required", "an email to send needs the recipient's email", "email")
    if recipient.channel == "email" and recipient.email and not recipient.email.isascii():
        # SES has no SMTPUTF8: the address would be refused (or mangled) at send time
        return _problem(
            "email_not_sendable",
            "SES sends only to addresses in ASCII: write an international domain in punycode "
            "(xn--…); a local part (before the @) outside ASCII cannot be sent",
            "email",
        )
    if send_at > now + timedelta(seconds=MAX_DELAY_SECONDS):
        return _problem("send_too_late", "send at most 30 days ahead", "send_at")
    if send_at >= expires_at:
        return _problem(
            "send_too_late",
            "the invitation would have expired by then; send earlier or raise expires_in_days",
            "send_at",
        )
    return None


def invitation_view(inv: Invitation, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "invitation_id": inv.invitation_id,
        "customer_id": inv.customer_id,
        "channel": inv.channel,
        **links_for(inv),
        "expires_at": datetime.fromtimestamp(inv.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "delivery": inv.delivery.view(),
    }


def _row_error(index: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"index": index, "error": {"code": code, "message": message, "field": field}}


def recently_invited(survey: Survey, customer_ids: Iterable[str], moment: datetime) -> dict[str, str]:
    """Customers invited to `survey` within its cool-down, with when they were last invited.

    One Query (at most one key, KEYS_ONLY) per distinct customer on the `by_customer`
    index, run COOLDOWN_WORKERS at a time: 1,000 customers cost 1,000 small reads
    (~0.5 RCU each on demand). The index is eventually consistent, so two calls for one
    customer within about a second of each other may both invite.
    """
    if not survey.cooldown_days:
        return {}
    since = clock.iso(moment - timedelta(days=survey.cooldown_days))
    distinct = sorted(set(customer_ids))

    def last(customer_id: str) -> tuple[str, str | None]:
        return customer_id, responses.last_invited_at(survey.tenant_id, customer_id, survey.id, since)

    with ThreadPoolExecutor(max_workers=COOLDOWN_WORKERS) as pool:
        found = dict(pool.map(last, distinct))
    return {customer: at for customer, at in found.items() if at is not None}


def create_invitations(survey: Survey, rows: list[Any], plan: SendPlan | None = None) -> dict[str, Any]:
    """Validate each row on its own: bad rows are reported, good rows are created, customers
    inside the survey's cool-down are skipped with the reason. With a plan that sends (the
    call's, or a row's own), each email invitation is scheduled for the scheduler to queue."""
    plan = plan or SendPlan()
    if len(rows) > commands.MAX_RECIPIENTS:
        raise PayloadTooLarge(
            f"send at most {commands.MAX_RECIPIENTS:,} recipients per call (this call has {len(rows):,}); "
            "split the list into several calls",
            field="recipients",
            code="too_many_recipients",
        )
    if survey.status == ARCHIVED:
        raise Conflict("this survey is archived; unarchive it to invite customers", code="survey_archived")
    moment = clock.now()
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, RecipientModel]] = []
    for index, row in enumerate(rows):
        try:
            valid.append((index, commands.RecipientModel.model_validate(row)))
        except pydantic.ValidationError as exc:
            problem = commands.validation_error(exc)
            errors.append(_row_error(index, problem.code, problem.message, problem.field))
    recent = recently_invited(survey, (r.customer_id for _, r in valid), moment)
    skipped: list[dict[str, Any]] = []
    pending: list[tuple[int, Invitation]] = []
    seen: set[str] = set()
    for index, recipient in valid:
        customer = recipient.customer_id
        if survey.cooldown_days and (customer in recent or customer in seen):
            at = recent.get(customer)
            skipped.append(
                {
                    "index": index,
                    "customer_id": customer,
                    "reason": "cooldown",
                    "message": (
                        f"invited to this survey at {at}, within its {survey.cooldown_days}-day cool-down"
                        if at
                        else "invited earlier in this request; the survey has a cool-down"
                    ),
                    "last_invited_at": at or clock.iso(moment),
                }
            )
            continue
        sms_problem = sms.recipient_problem(recipient.channel)
        if sms_problem:
            errors.append({"index": index, "error": sms_problem})
            continue
        chosen = plan.override(recipient.send, recipient.delay, recipient.send_at)
        send_at = chosen.moment(moment) if chosen.send else None
        if send_at is not None:
            send_at = outside_quiet_hours(send_at, survey.quiet_hours, recipient.time_zone)
        if send_at is not None:
            days = recipient.expires_in_days or get_settings().invitation_ttl_days
            unsendable = send_problem(recipient, send_at, moment, moment + timedelta(days=days))
            if unsendable:
                errors.append({"index": index, "error": unsendable})
                continue
        seen.add(customer)
        pending.append((index, build_invitation(survey, recipient, moment, send_at)))
    kept, opted_out = sms.drop_opted_out([inv for _, inv in pending])
    kept_ids = {inv.invitation_id for inv in kept}
    skipped += [
        {"index": index, **row}
        for (index, inv), row in zip(
            [(i, inv) for i, inv in pending if inv.invitation_id not in kept_ids], opted_out, strict=True
        )
    ]
    pending = [(index, inv) for index, inv in pending if inv.invitation_id in kept_ids]
    index_of = {inv.invitation_id: index for index, inv in pending}
    written, failed = responses.create_invitations([inv for _, inv in pending], _purge_at, _recode)
    for inv in failed:
        errors.append(
            _row_error(
                index_of[inv.invitation_id],
                "throttled",
                "not created: the database is busy; send this recipient again",
            )
        )
    errors.sort(key=lambda e: int(e["index"]))
    return {
        "invitations": [invitation_view(inv, index_of[inv.invitation_id]) for inv in written],
        "skipped": skipped,
        "errors": errors,
    }


def create_invitation(survey: Survey, recipient: RecipientModel) -> Invitation:
    """One invitation, written now, with no cool-down check (for recording an answer that
    arrives through the API rather than through a link)."""
    if survey.status == ARCHIVED:
        raise Conflict("this survey is archived; unarchive it to record answers", code="survey_archived")
    written, _ = responses.create_invitations(
        [build_invitation(survey, recipient, clock.now())], _purge_at, _recode
    )
    if not written:
        raise Throttled("the database is busy; try again in a moment")
    return written[0]
