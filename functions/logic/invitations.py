"""Invitations: up to 1,000 recipients a call, each with its links (SPEC §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from functions.api.models import RecipientModel, validation_error
from functions.domain.codes import new_code, new_id
from functions.domain.errors import Conflict
from functions.domain.survey import ARCHIVED, Invitation, Survey
from functions.logic import clock, sms
from functions.logic.links import links_for
from functions.settings import get_settings
from functions.store import responses


def _purge_at(inv: Invitation) -> int | None:
    days = get_settings().raw_retention_days
    return inv.expires_at + days * 86400 if days else None


def _recode(inv: Invitation) -> Invitation:
    return replace(inv, code=new_code())


def build_invitation(survey: Survey, recipient: RecipientModel, moment: datetime) -> Invitation:
    days = recipient.expires_in_days or get_settings().invitation_ttl_days
    return Invitation(
        code=new_code(),
        invitation_id=new_id("inv"),
        tenant_id=survey.tenant_id,
        survey_id=survey.id,
        customer_id=recipient.customer_id,
        channel=recipient.channel,
        touchpoint=recipient.touchpoint,
        properties=dict(recipient.properties),
        created_at=clock.iso(moment),
        expires_at=int((moment + timedelta(days=days)).timestamp()),
        rev=0,
        page=survey.public_view(),
        phone_key=sms.invitation_phone_key(recipient.channel, recipient.phone),
    )


def invitation_view(inv: Invitation) -> dict[str, Any]:
    return {
        "invitation_id": inv.invitation_id,
        "customer_id": inv.customer_id,
        "channel": inv.channel,
        **links_for(inv),
        "expires_at": datetime.fromtimestamp(inv.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def create_invitations(survey: Survey, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Validate each row on its own: bad rows are reported, good rows are created."""
    if survey.status == ARCHIVED:
        raise Conflict("this survey is archived; unarchive it to invite customers", code="survey_archived")
    moment = clock.now()
    errors: list[dict[str, Any]] = []
    pending: list[Invitation] = []
    row_of: dict[str, int] = {}
    for index, row in enumerate(rows):
        try:
            recipient = RecipientModel.model_validate(row)
        except ValidationError as exc:
            problem = validation_error(exc)
            errors.append(
                {
                    "index": index,
                    "error": {"code": problem.code, "message": problem.message, "field": problem.field},
                }
            )
            continue
        sms_problem = sms.recipient_problem(recipient.channel)
        if sms_problem:
            errors.append({"index": index, "error": sms_problem})
            continue
        invitation = build_invitation(survey, recipient, moment)
        row_of[invitation.invitation_id] = index
        pending.append(invitation)
    pending, skipped = sms.drop_opted_out(pending)
    written, failed = responses.create_invitations(pending, _purge_at, _recode)
    for inv in failed:
        errors.append(
            {
                "index": row_of[inv.invitation_id],
                "error": {"code": "throttled", "message": "the store was busy; send this row again"},
            }
        )
    errors.sort(key=lambda e: int(e["index"]))
    return {
        "invitations": [invitation_view(inv) for inv in written],
        "skipped": skipped,
        "errors": errors,
    }
