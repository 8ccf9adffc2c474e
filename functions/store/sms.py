"""Two-way SMS records: opt-outs and provider message ids seen (core table), and open SMS
invitations by phone (responses table).

Phone numbers appear here only as keyed hashes (``phone_key``, see functions/domain/phones.py).
An opt-out is one core-table item ``OPTOUT#<tenant>#<phone_key>``; a provider callback seen is
``SEEN#<provider>#<sha256 of its id>`` with a TTL; an SMS invitation carries its ``phone_key``
and the sparse ``by_phone`` index (phone_key, created_at) finds the newest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_item, to_value

BATCH_GET_LIMIT = 100
QUERY_PAGE = 20


def _opt_out_pk(tenant_id: str | None, phone_key: str) -> str:
    # Opt-outs are per tenant (the business whose number the customer texted STOP to).
    # ``OPTOUT#<phone_key>`` alone is the older, deployment-wide form: still honoured.
    return f"OPTOUT#{phone_key}" if tenant_id is None else f"OPTOUT#{tenant_id}#{phone_key}"


def _opt_out_key(tenant_id: str | None, phone_key: str) -> dict[str, Any]:
    return {"pk": {"S": _opt_out_pk(tenant_id, phone_key)}, "sk": {"S": "OPTOUT"}}


def opt_out(tenant_id: str, phone_key: str, at_iso: str, via: str, number: str | None) -> None:
    """Record that this phone asked `tenant_id` (texting its `number`) for no more survey texts."""
    item = to_item(
        {
            "pk": _opt_out_pk(tenant_id, phone_key),
            "sk": "OPTOUT",
            "tenant_id": tenant_id,
            "number": number,
            "opted_out_at": at_iso,
            "via": via,
        }
    )
    dynamo.request("put_item", TableName=get_settings().core_table, Item=item)


def opt_in(tenant_id: str, phone_key: str) -> None:
    """Forget this tenant's opt-out (START), and an older deployment-wide one; idempotent."""
    table = get_settings().core_table
    for key in (_opt_out_key(tenant_id, phone_key), _opt_out_key(None, phone_key)):
        dynamo.request("delete_item", TableName=table, Key=key)


def opted_out(tenant_id: str, phone_keys: Iterable[str]) -> set[str]:
    """Which of these phone keys have opted out of `tenant_id`'s texts (or of every tenant's,
    the older form), by BatchGetItem of 100 keys a request."""
    table = get_settings().core_table
    wanted = sorted(set(phone_keys))
    keys = [_opt_out_key(t, k) for k in wanted for t in (tenant_id, None)]
    by_pk = {_opt_out_pk(t, k): k for k in wanted for t in (tenant_id, None)}
    found: set[str] = set()
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ProjectionExpression": "pk"}
        }
        while request:
            out = dynamo.request("batch_get_item", RequestItems=request)
            for raw in out.get("Responses", {}).get(table, []):
                found.add(by_pk[raw["pk"]["S"]])
            request = out.get("UnprocessedKeys") or {}
    return found


# ---- provider callbacks seen ------------------------------------------------------------------


def _seen_key(provider: str, message_id: str) -> dict[str, Any]:
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return {"pk": {"S": f"SEEN#{provider}#{digest}"}, "sk": {"S": "SEEN"}}


def first_sight(provider: str, message_id: str, now_epoch: int, keep_seconds: int) -> bool:
    """Note a provider's message id; False when it was noted before (a replay or a retry).

    One conditional PutItem. The item expires by TTL after `keep_seconds`; TTL deletes late,
    so an expired item counts as absent.
    """
    item = {
        **_seen_key(provider, message_id),
        "purge_at": to_value(now_epoch + keep_seconds),
    }
    return dynamo.conditional(
        "put_item",
        TableName=get_settings().core_table,
        Item=item,
        ConditionExpression="attribute_not_exists(pk) OR purge_at < :now",
        ExpressionAttributeValues={":now": to_value(now_epoch)},
    )


def forget_sight(provider: str, message_id: str) -> None:
    """Undo first_sight when handling failed, so the provider's retry is not taken for a replay."""
    dynamo.request("delete_item", TableName=get_settings().core_table, Key=_seen_key(provider, message_id))


@dataclass(frozen=True)
class OpenSmsInvitation:
    """What answering by text needs to know about an invitation (the by_phone projection)."""

    code: str
    tenant_id: str
    scale: tuple[int, int]
    answered: bool
    page: dict[str, Any]  # the survey's page copy: its texts, translations and the recipient's locale

    @property
    def follow_up_question(self) -> str | None:
        found = self.page.get("follow_up_question")
        return str(found) if found else None


def latest_open_invitation(phone_key: str, now_epoch: int, tenant_id: str) -> OpenSmsInvitation | None:
    """The newest unexpired SMS invitation of `tenant_id` for this phone.

    Usually one Query of a few items: newest first, stopping at the first open one.
    """
    filters = ["expires_at > :now", "tenant_id = :tenant"]
    values = {":k": to_value(phone_key), ":now": to_value(now_epoch), ":tenant": to_value(tenant_id)}
    kwargs: dict[str, Any] = {
        "TableName": get_settings().responses_table,
        "IndexName": "by_phone",
        "KeyConditionExpression": "phone_key = :k",
        "FilterExpression": " AND ".join(filters),
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": QUERY_PAGE,
    }
    for page in dynamo.pages(kwargs):
        for raw in page:
            item = from_item(raw)
            if item is not None:
                return OpenSmsInvitation(
                    code=item["pk"],
                    tenant_id=item["tenant_id"],
                    scale=(int(item["smin"]), int(item["smax"])),
                    answered=item.get("score") is not None,
                    page=dict(item.get("page") or {}),
                )
    return None
