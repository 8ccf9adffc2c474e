"""Pending sends on the responses table (docs/sending.md): the due index and the state changes.

A scheduled invitation carries ``send_status``, its sealed address ``send_to`` and its place
in the sparse `by_send_due` index (``due_shard``, ``due_at``). Every change of state is one
conditional UpdateItem, so two senders (or a duplicated queue message) can never both move
one invitation from `scheduled` to `sending`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from functions.domain.survey import SCHEDULED, SENDING, Survey
from functions.settings import get_settings
from functions.store.clients import client
from functions.store.core import get_many, survey_from_item, survey_key
from functions.store.items import error_code, from_item, raise_if_throttled, to_value
from functions.store.people import bounce_key, unsubscribe_key

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
    while True:
        try:
            out = client("dynamodb").query(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        for item in out.get("Items", []):
            yield str(item["pk"]["S"])
        if "LastEvaluatedKey" not in out:
            return
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def claim(code: str, claim_id: str, now_epoch: int, claim_until: int) -> dict[str, Any] | None:
    """Move a due send to `sending` for `claim_id` (one conditional UpdateItem); the item as it
    now is, or None when there is nothing to send: erased, not scheduled (already sent,
    cancelled), not due yet, or claimed by another message whose claim has not lapsed.

    The same message may claim again (its retry after throttling or a crash). While claimed,
    ``due_at`` is the claim's end: if the sender dies, the scheduler queues the send again then.
    """
    try:
        out = client("dynamodb").update_item(
            TableName=_table(),
            Key={"pk": {"S": code}},
            UpdateExpression="SET send_status = :sending, send_claim = :c, due_at = :until",
            ConditionExpression="attribute_exists(pk) AND ("
            "(send_status = :scheduled AND due_at <= :now) OR "
            "(send_status = :sending AND (send_claim = :c OR due_at <= :now)))",
            ExpressionAttributeValues={
                ":sending": to_value(SENDING),
                ":scheduled": to_value(SCHEDULED),
                ":c": to_value(claim_id),
                ":now": to_value(now_epoch),
                ":until": to_value(claim_until),
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise_if_throttled(exc)
        raise
    return from_item(out.get("Attributes"))


def finish(
    code: str,
    claim_id: str,
    status: str,
    *,
    sent_at: str | None = None,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> bool:
    """The send's outcome, written by the claim's holder (one conditional UpdateItem): the
    sealed address and the index fields leave the item. False when the claim was lost."""
    sets = ["send_status = :st"]
    values: dict[str, Any] = {":st": to_value(status), ":c": to_value(claim_id)}
    for name, value in (
        ("sent_at", sent_at),
        ("send_provider_id", provider_message_id),
        ("send_error", error),
    ):
        if value is not None:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = to_value(value)
    try:
        client("dynamodb").update_item(
            TableName=_table(),
            Key={"pk": {"S": code}},
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE send_to, send_claim, due_shard, due_at",
            ConditionExpression="send_claim = :c",
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise_if_throttled(exc)
        raise
    return True


def survey_and_suppression(tenant_id: str, survey_id: str, email: str) -> tuple[Survey | None, str | None]:
    """The survey, and why the tenant must not mail `email` (``unsubscribed``, ``bounced``) or
    None: one BatchGetItem of three keys."""
    table = get_settings().core_table
    address = email.lower()
    keys = [survey_key(survey_id), unsubscribe_key(tenant_id, address), bounce_key(tenant_id, address)]
    found = get_many({table: keys})[table]
    survey = next((survey_from_item(raw) for raw in found if raw["pk"]["S"].startswith("SURVEY#")), None)
    kinds = {raw["pk"]["S"].split("#", 1)[0] for raw in found}
    reason = "unsubscribed" if "UNSUB" in kinds else "bounced" if "BOUNCE" in kinds else None
    return survey, reason


def mark_delivery_event(code: str, provider_message_id: str, status: str, error: str) -> bool:
    """Record a bounce or complaint on the invitation the provider's message `provider_message_id`
    was (one conditional UpdateItem); False when that message is not this invitation's."""
    try:
        client("dynamodb").update_item(
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
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise_if_throttled(exc)
        raise
    return True
