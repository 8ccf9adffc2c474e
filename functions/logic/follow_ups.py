"""Closing the loop (docs/follow-ups.md): the use cases the Business API, the CLI and the
dashboard call.

- `list_follow_ups(tenant_id, ...)`: the queue, oldest due first, one Query per page;
- `get_follow_up(tenant_id, response_id)`: one response with its follow-up, notes and tags;
- `update_follow_up(tenant_id, response_id, change)`: status, owner, tags (409 on an illegal move);
- `add_note(tenant_id, response_id, text, author)`;
- `reply(tenant_id, response_id, text, author, email=...)`: an email to the customer through the
  sending pipeline, kept as a note;
- `sweep_overdue(now)`: the scheduled sweep that raises each follow-up's overdue event once.

A response is named by its public id: its code sealed for its tenant, the same id Delighted's
survey responses carry (never the code that answers at /s/{code}: docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.domain import follow_ups as rules
from functions.domain import sealing
from functions.domain.codes import CODE_PATTERN, new_id
from functions.domain.errors import Conflict, InvalidInput, NotFound
from functions.lazy import lazy
from functions.logic import clock
from functions.logic.responses import answer_fields
from functions.settings import get_settings
from functions.store import cursors, queues, sends
from functions.store import follow_ups as store
from functions.store.parameters import signing_keys

if TYPE_CHECKING:
    from functions.logic import sending, surveys
    from functions.store import people
else:  # a filter by survey, a reply and a customer's address only
    sending = lazy("functions.logic.sending")
    surveys = lazy("functions.logic.surveys")
    people = lazy("functions.store.people")

# The same route Delighted's response ids are sealed for (functions/logic/delighted.py), so
# one response has one public id in both APIs.
RESPONSE_ID_ROUTE = "delighted survey response id"
LIST_ROUTE = "GET /v1/follow-ups"
MAX_TAGS = 20


# ---- ids and views ----------------------------------------------------------------------------


def response_id(tenant_id: str, code: str) -> str:
    """A response's public id, the same as Delighted's survey response id: its code sealed for its
    tenant (docs/security.md). The one codec of that id; functions/logic/delighted.py uses it too."""
    return cursors.seal(code, tenant_id=tenant_id, route=RESPONSE_ID_ROUTE)


def response_code(tenant_id: str, text: str) -> str | None:
    """The code a public response id seals, or None for anything that is not one of the tenant's."""
    try:
        code = cursors.unseal(text, tenant_id=tenant_id, route=RESPONSE_ID_ROUTE)
    except cursors.SealBroken:
        return None
    return code if isinstance(code, str) and CODE_PATTERN.match(code) else None


def _answered(tenant_id: str, public_id: str) -> dict[str, Any]:
    """The stored response `public_id` names, or 404 (another tenant's is not found either)."""
    code = response_code(tenant_id, public_id)
    item = store.get_item(code) if code else None
    if item is None or item.get("tenant_id") != tenant_id or item.get("score") is None:
        raise NotFound("no such response", field="id")
    return item


def _is_overdue(item: Mapping[str, Any], now_iso: str) -> bool:
    status = item.get("fu_status")
    return bool(status) and status != rules.CLOSED and str(item.get("fu_due", "~")) < now_iso


def note_view(note: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "id": note["id"],
        "text": note["text"],
        "author": note.get("author"),
        "created_at": note["created_at"],
        "kind": note.get("kind", "note"),
    }
    if note.get("reply"):
        out["reply"] = dict(note["reply"])
    return out


def follow_up_part(item: Mapping[str, Any], now_iso: str | None = None) -> dict[str, Any] | None:
    """The response's follow-up, or None when it has none."""
    if not item.get("fu_status"):
        return None
    now_iso = now_iso or clock.iso(clock.now())
    return {
        "status": item["fu_status"],
        "owner": item.get("fu_owner"),
        "due_at": item.get("fu_due"),
        "opened_at": item.get("fu_opened"),
        "closed_at": item.get("fu_closed"),
        "sla_hours": item.get("fu_sla"),
        "overdue": _is_overdue(item, now_iso),
        "overdue_at": item.get("fu_overdue"),
        "no_longer_matching": bool(item.get("fu_nlm")),
    }


def follow_up_view(item: Mapping[str, Any], now_iso: str | None = None) -> dict[str, Any]:
    """A response as the loop shows it: the answer, its follow-up, notes and tags."""
    return {
        "id": response_id(str(item["tenant_id"]), str(item["pk"])),
        "invitation_id": item["invitation_id"],
        "survey_id": item["survey_id"],
        "survey_kind": (item.get("page") or {}).get("kind"),
        **answer_fields(item),
        "created_at": item.get("first_answered_at"),
        "updated_at": item.get("answered_at"),
        "follow_up": follow_up_part(item, now_iso),
        "notes": [note_view(n) for n in item.get("fu_notes") or ()],
        "tags": list(item.get("fu_tags") or ()),
    }


# ---- the queue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # None: open and in progress
    owner: str | None = None
    survey_id: str | None = None
    overdue: bool = False


def _route(flt: QueueFilter) -> str:
    # A cursor opens only for the filter that made it.
    return f"{LIST_ROUTE} {flt.status or ''} {flt.owner or ''} {flt.survey_id or ''} {int(flt.overdue)}"


def list_follow_ups(
    tenant_id: str, flt: QueueFilter, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tenant's follow-ups, oldest due first, and the sealed cursor of the next.

    `overdue` is a key condition (due before now) on the open queue; owner and survey are
    filters of the same Query, so a page may be short and still have a next one.
    """
    if flt.overdue and flt.status == rules.CLOSED:
        raise InvalidInput("a closed follow-up is never overdue", field="overdue", code="invalid_parameter")
    if flt.survey_id:
        surveys.get_survey(tenant_id, flt.survey_id)  # another tenant's survey is not found
    route = _route(flt)
    now_iso = clock.iso(clock.now())
    filters: dict[str, str] = {}
    if flt.status in (rules.OPEN, rules.IN_PROGRESS):
        filters["fu_status"] = flt.status
    if flt.owner:
        filters["fu_owner"] = flt.owner
    if flt.survey_id:
        filters["survey_id"] = flt.survey_id
    items, next_cursor = store.queue_page(
        tenant_id,
        flt.status or rules.OPEN,
        due_before=now_iso if flt.overdue else None,
        cursor=cursor,
        route=route,
        limit=limit,
        filters=filters,
    )
    return [follow_up_view(item, now_iso) for item in items], next_cursor


# ---- one response -----------------------------------------------------------------------------


def get_follow_up(tenant_id: str, public_id: str) -> dict[str, Any]:
    return follow_up_view(_answered(tenant_id, public_id))


@dataclass(frozen=True)
class FollowUpChange:
    """What a PATCH asks for; `fields` names the ones it sent (an owner sent as null clears it)."""

    fields: frozenset[str]
    status: str | None = None
    owner: str | None = None
    tags: Sequence[str] = ()


def limited_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """What a caller without `responses:read` may see of a response it works: its id, the
    follow-up and the tags, never the answer, comment or customer (docs/security.md)."""
    return {"id": view["id"], "follow_up": view["follow_up"], "tags": view["tags"]}


def update_follow_up(tenant_id: str, public_id: str, change: FollowUpChange) -> dict[str, Any]:
    """Change status, owner or tags. Status moves open ↔ in_progress → closed; closing is final
    (409 `illegal_transition`). Status and owner need a follow-up (409 `no_follow_up`); tags
    may be set on any response."""
    item = _answered(tenant_id, public_id)
    current = item.get("fu_status")
    wants_status = "status" in change.fields and change.status is not None
    if (wants_status or "owner" in change.fields) and not current:
        raise Conflict(
            "this response has no follow-up: its answer did not match the survey's follow_up_rule",
            field="status" if wants_status else "owner",
            code="no_follow_up",
        )
    if wants_status and change.status and not rules.can_move(str(current), change.status):
        raise Conflict(
            f"a {current} follow-up cannot move to {change.status}: closing is final",
            field="status",
            code="illegal_transition",
        )
    tags = list(dict.fromkeys(change.tags)) if "tags" in change.fields else None
    if tags is not None and len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags", code="too_many_tags")
    updated = store.change(
        str(item["pk"]),
        tenant_id,
        seen_status=current,
        status=change.status if wants_status else None,
        owner=change.owner if "owner" in change.fields and change.owner else None,
        clear_owner="owner" in change.fields and not change.owner,
        tags=tags,
        closed_at=clock.iso(clock.now()),
    )
    if updated is None:
        raise Conflict("the follow-up changed meanwhile; read it and try again", code="conflict")
    return follow_up_view(updated)


def _note(
    text: str, author: str, kind: str = "note", reply: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    note: dict[str, Any] = {
        "id": new_id("note"),
        "text": text,
        "author": author,
        "created_at": clock.iso(clock.now()),
        "kind": kind,
    }
    if reply is not None:
        note["reply"] = dict(reply)
    return note


def add_note(tenant_id: str, public_id: str, text: str, author: str) -> dict[str, Any]:
    item = _answered(tenant_id, public_id)
    note = _note(text, author)
    if store.add_note(str(item["pk"]), tenant_id, note) is None:
        raise Conflict(f"a response holds at most {store.MAX_NOTES} notes", code="too_many_notes")
    return note_view(note)


# ---- reply ------------------------------------------------------------------------------------


def reply(
    tenant_id: str,
    public_id: str,
    text: str,
    author: str,
    *,
    email: str | None = None,
    subject: str | None = None,
) -> dict[str, Any]:
    """Email the customer through the sending pipeline (docs/sending.md) and keep it as a note.

    Hark keeps no address after an invitation's last send, so the address comes with the
    request (`email`) or from the customer's person record (Delighted's people). It is sealed
    on the response only until the reply is sent, as an invitation's is. Refused (409) when the
    address unsubscribed or bounced, when sending is not configured, or while a reply is pending.
    """
    item = _answered(tenant_id, public_id)
    if len(item.get("fu_notes") or ()) >= store.MAX_NOTES:
        raise Conflict(f"a response holds at most {store.MAX_NOTES} notes", code="too_many_notes")
    address = email or _person_email(tenant_id, str(item["customer_id"]))
    if not address:
        raise InvalidInput(
            "Hark keeps no address for this customer: send `email`", field="email", code="email_required"
        )
    settings = get_settings()
    context = sends.survey_and_suppression(tenant_id, str(item["survey_id"]), address)
    sender = sending.sender_from_settings(context.tenant_settings, context.survey)
    if sender is None or not settings.send_queue_url:
        raise Conflict(
            "sending is not configured: set email_from (the survey's, the tenant's settings or "
            "HARK_EMAIL_FROM) and the send queue",
            code="sending_not_configured",
        )
    if context.suppressed:
        raise Conflict(
            f"the customer cannot be emailed: {context.suppressed}",
            field="email",
            code=f"customer_{context.suppressed}",
        )
    note = _note(text, author, kind="reply", reply={"status": "scheduled", "subject": subject})
    sealed = sealing.seal(address, signing_keys(), sealing.ADDRESS, str(item["invitation_id"]))
    code = str(item["pk"])
    if not sends.schedule_reply(code, tenant_id, note, sealed, int(clock.now().timestamp())):
        raise Conflict(
            "a reply to this response is still being sent; try again shortly", code="reply_pending"
        )
    # Queued now rather than at the next tick; the scheduler would find it too (due now).
    queues.send_messages(settings.required("send_queue_url"), [{"code": code}])
    return note_view(note)


def _person_email(tenant_id: str, customer_id: str) -> str | None:
    person = people.get_people(tenant_id, {customer_id}).get(customer_id) or {}
    found = person.get("email")
    return str(found) if found else None


# ---- the overdue sweep ------------------------------------------------------------------------


def sweep_overdue(now: datetime | None = None) -> int:
    """Mark every open follow-up past its deadline as overdue, once each (the mark's stream
    record raises `follow_up.overdue`); how many were marked. Run by a schedule, never by a
    request, so the event comes when the deadline passes even if nobody looks."""
    now_iso = clock.iso(now or clock.now())
    return sum(1 for code in list(store.due_for_overdue(now_iso)) if store.mark_overdue(code, now_iso))


# ---- for the dashboard and Delighted's survey responses ---------------------------------------


def answered_item(tenant_id: str, public_id: str) -> dict[str, Any]:
    """The stored response behind a public id (404 for another tenant's, or an unanswered one):
    for pages that show more of it than `follow_up_view` does."""
    return _answered(tenant_id, public_id)
