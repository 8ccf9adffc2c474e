"""Pending sends on the responses table (docs/sending.md): the due index and the state changes.

A scheduled invitation carries ``send_status``, its sealed address ``send_to`` and its place
in the sparse `by_send_due` index (``due_shard``, ``due_at``): an item is in the index exactly
while a job (the send, then maybe its reminder) is pending. A claim is one conditional
UpdateItem that only a due job (or the claim's own holder) passes, so two senders, or a
duplicated queue message, can never both send one job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from functions.domain.sending import due_shard
from functions.domain.survey import SCHEDULED, Survey
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.core import survey_from_item, survey_key
from functions.store.dynamo import get_many
from functions.store.items import from_item, to_item, to_value
from functions.store.people import bounce_keys, unsubscribe_keys
from functions.store.responses import epoch_of
from functions.store.tenant_settings import settings_key

INDEX = "by_send_due"


def _table() -> str:
    return get_settings().responses_table


def due_codes(shard: str, now_epoch: int, page_size: int = 500) -> Iterator[str]:
    """Codes of the invitations in `shard` whose send is due (``due_at <= now``), oldest first."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": INDEX,
        "KeyConditionExpression": "due_shard = :s AND due_at <= :t",
        "ExpressionAttributeValues": {":s": to_value(shard), ":t": to_value(now_epoch)},
        "Limit": page_size,
    }
    for page in dynamo.pages(kwargs):
        for item in page:
            yield str(item["pk"]["S"])


def claim(code: str, claim_id: str, now_epoch: int, claim_until: int) -> dict[str, Any] | None:
    """Claim the invitation's due job (its send, or later its reminder) for `claim_id`: one
    conditional UpdateItem; the item as it now is, or None when there is nothing to do: erased,
    nothing pending (already sent, cancelled), not due yet, or claimed by another message
    whose claim has not lapsed.

    The same message may claim again (its retry after throttling or a crash). While claimed,
    ``due_at`` is the claim's end: if the sender dies, the scheduler queues the job again then.
    """
    return dynamo.conditional_update(
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression="SET send_claim = :c, due_at = :until",
        ConditionExpression="attribute_exists(due_at) AND (due_at <= :now OR send_claim = :c)",
        ExpressionAttributeValues={
            ":c": to_value(claim_id),
            ":now": to_value(now_epoch),
            ":until": to_value(claim_until),
        },
    )


def finish(
    code: str,
    claim_id: str,
    status: str,
    *,
    reminder: bool = False,
    sent_at: str | None = None,
    provider_message_id: str | None = None,
    error: str | None = None,
    remind_at: str | None = None,
) -> bool:
    """The job's outcome, written by the claim's holder (one conditional UpdateItem); False
    when the claim was lost. The sealed address and the index fields leave the item, unless
    `remind_at` schedules the reminder (the address is then kept until it goes out)."""
    prefix = "remind" if reminder else "send"
    fields = {
        f"{prefix}_status": status,
        "remind_sent_at" if reminder else "sent_at": sent_at,
        f"{prefix}_provider_id": provider_message_id,
        f"{prefix}_error": error,
    }
    sets: list[str] = []
    values: dict[str, Any] = {":c": to_value(claim_id)}
    for i, (name, value) in enumerate(fields.items()):
        if value is not None:
            sets.append(f"{name} = :v{i}")
            values[f":v{i}"] = to_value(value)
    removes = ["send_claim"]
    if remind_at is not None:
        sets += ["remind_status = :rs", "remind_at = :ra", "due_at = :due"]
        values.update(
            {
                ":rs": to_value(SCHEDULED),
                ":ra": to_value(remind_at),
                ":due": to_value(epoch_of(remind_at, not_before=True)),
            }
        )
    else:
        removes += ["send_to", "due_shard", "due_at"]
    return dynamo.conditional(
        "update_item",
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
        ConditionExpression="send_claim = :c",
        ExpressionAttributeValues=values,
    )


@dataclass(frozen=True)
class SendContext:
    """What the sender reads before one send, in one BatchGetItem (docs/sending.md)."""

    survey: Survey | None
    suppressed: str | None  # why the tenant must not reach the address, or None
    tenant_settings: dict[str, Any]  # the tenant's settings (sender identity, SMS provider)


def _settings_of(found: list[dict[str, Any]]) -> dict[str, Any]:
    raw = next((r for r in found if r["pk"]["S"].startswith("TENANT#") and r["sk"]["S"] == "SETTINGS"), None)
    item = from_item(raw) or {}
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "version", "updated_at")}


def survey_and_suppression(tenant_id: str, survey_id: str, email: str) -> SendContext:
    """The survey, why the tenant must not mail `email` (``unsubscribed``, ``bounced``) or
    None, and the tenant's settings: one BatchGetItem (the survey, the unsubscribe and the
    bounce under each address-hash secret and their legacy keys, the settings)."""
    table = get_settings().core_table
    address = email.lower()
    keys = [
        survey_key(survey_id),
        *unsubscribe_keys(tenant_id, address),
        *bounce_keys(tenant_id, address),
        settings_key(tenant_id),
    ]
    found = get_many({table: keys})[table]
    survey = next((survey_from_item(raw) for raw in found if raw["pk"]["S"].startswith("SURVEY#")), None)
    kinds = {raw["pk"]["S"].split("#", 1)[0] for raw in found}
    reason = "unsubscribed" if "UNSUB" in kinds else "bounced" if "BOUNCE" in kinds else None
    return SendContext(survey, reason, _settings_of(found))


def mark_delivery_event(code: str, provider_message_id: str, status: str, error: str) -> str | None:
    """Record a bounce or complaint on the invitation the provider's message `provider_message_id`
    was (one conditional UpdateItem); the invitation's customer id, or None when that message
    is not this invitation's."""
    item = dynamo.conditional_update(
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression="SET send_status = :st, send_error = :e",
        ConditionExpression="send_provider_id = :m",
        ExpressionAttributeValues={
            ":st": to_value(status),
            ":e": to_value(error),
            ":m": to_value(provider_message_id),
        },
    )
    return None if item is None else str(item.get("customer_id") or "")


def survey_and_text_opt_out(tenant_id: str, survey_id: str, phone_key: str | None) -> SendContext:
    """The survey, ``opted_out`` when the phone texted STOP to this tenant (or, in the older
    deployment-wide form, to anyone), and the tenant's settings (its SMS provider): one
    BatchGetItem."""
    table = get_settings().core_table
    keys = [survey_key(survey_id), settings_key(tenant_id)]
    if phone_key:
        for pk in (f"OPTOUT#{tenant_id}#{phone_key}", f"OPTOUT#{phone_key}"):
            keys.append({"pk": {"S": pk}, "sk": {"S": "OPTOUT"}})
    found = get_many({table: keys})[table]
    survey = next((survey_from_item(raw) for raw in found if raw["pk"]["S"].startswith("SURVEY#")), None)
    opted = any(raw["pk"]["S"].startswith("OPTOUT#") for raw in found)
    return SendContext(survey, "opted_out" if opted else None, _settings_of(found))


def sent_times(provider_ids: set[str]) -> dict[str, str]:
    """When each provider message (a send or a reminder) went out, by its id: a Scan of the
    responses table, so for the developer outbox on a local stack only (docs/sending.md)."""
    if not provider_ids:
        return {}
    found: dict[str, str] = {}
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "FilterExpression": "attribute_exists(send_provider_id)",
        "ProjectionExpression": "send_provider_id, sent_at, remind_provider_id, remind_sent_at",
    }
    for page in dynamo.pages(kwargs, operation="scan"):
        for raw in page:
            item = from_item(raw) or {}
            for id_field, at_field in (
                ("send_provider_id", "sent_at"),
                ("remind_provider_id", "remind_sent_at"),
            ):
                if item.get(id_field) in provider_ids and item.get(at_field):
                    found[str(item[id_field])] = str(item[at_field])
    return found


# ---- replies to a follow-up (docs/follow-ups.md) ----------------------------------------------
# A reply is one more job on the response's item: ``rply_status`` (scheduled → sent | failed |
# suppressed), ``rply_note`` (the note holding its text), ``rply_to`` (the address, sealed) and the
# item's place in `by_send_due`, so the scheduler and the sender treat it as they treat a send.


MAX_NOTES = 50  # as functions/store/follow_ups.py: a response's notes stay far below 400 KB


def schedule_reply(code: str, tenant_id: str, note: dict[str, Any], sealed_to: str, now_epoch: int) -> bool:
    """Keep the reply as a note and make it due now (one conditional UpdateItem); False while
    another reply (or any claimed job) of this response is pending. A send or reminder still
    scheduled on the answered invitation is cancelled (the sender would cancel it anyway)."""
    if not dynamo.conditional(
        "update_item",
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression="SET fu_notes = list_append(if_not_exists(fu_notes, :empty), :note), "
        "rply_status = :scheduled, rply_note = :id, rply_to = :to, due_shard = :shard, due_at = :now",
        ConditionExpression="attribute_exists(score) AND tenant_id = :t "
        "AND attribute_not_exists(send_claim) "
        "AND (attribute_not_exists(fu_notes) OR size(fu_notes) < :max) "
        "AND (attribute_not_exists(rply_status) OR rply_status <> :scheduled)",
        ExpressionAttributeValues={
            ":empty": {"L": []},
            ":note": {"L": [{"M": to_item(note)}]},
            ":scheduled": to_value(SCHEDULED),
            ":id": to_value(note["id"]),
            ":to": to_value(sealed_to),
            ":shard": to_value(_shard(code)),
            ":now": to_value(now_epoch),
            ":t": to_value(tenant_id),
            ":max": to_value(MAX_NOTES),
        },
    ):
        return False
    _cancel_pending_jobs(code)
    return True


def _shard(code: str) -> str:
    return due_shard(code)


def _cancel_pending_jobs(code: str) -> None:
    """An answered invitation's send or reminder still marked scheduled will not go out: say so,
    so the sender's claim (which the reply now holds) never sends it."""
    for stage in ("send", "remind"):
        # Not scheduled any more (sent, failed or cancelled already): nothing to cancel.
        with suppress(dynamo.ConditionFailed):
            dynamo.request(
                "update_item",
                TableName=_table(),
                Key={"pk": {"S": code}},
                UpdateExpression=f"SET {stage}_status = :cancelled, {stage}_error = :why",
                ConditionExpression=f"{stage}_status = :scheduled",
                ExpressionAttributeValues={
                    ":cancelled": to_value("cancelled"),
                    ":why": to_value("the customer has already answered"),
                    ":scheduled": to_value(SCHEDULED),
                },
            )


def finish_reply(
    code: str,
    claim_id: str,
    note_index: int,
    status: str,
    *,
    sent_at: str | None = None,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> bool:
    """The reply's outcome on the item and on its note, written by the claim's holder; the sealed
    address and the index fields leave the item."""
    outcome = {
        k: v
        for k, v in {
            "status": status,
            "sent_at": sent_at,
            "provider_message_id": provider_message_id,
            "error": error,
        }.items()
        if v is not None
    }
    return dynamo.conditional(
        "update_item",
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression=f"SET rply_status = :s, fu_notes[{int(note_index)}].reply = :r "
        "REMOVE send_claim, rply_to, rply_note, due_shard, due_at",
        ConditionExpression="send_claim = :c",
        ExpressionAttributeValues={
            ":s": to_value(status),
            ":r": to_value(outcome),
            ":c": to_value(claim_id),
        },
    )
