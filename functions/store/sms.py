"""Two-way SMS records: opt-outs (core table) and open SMS invitations by phone (responses table).

Phone numbers appear here only as keyed hashes (``phone_key``, see functions/domain/phones.py).
An opt-out is one core-table item ``OPTOUT#<phone_key>``; an SMS invitation carries its
``phone_key`` and the sparse ``by_phone`` index (phone_key, created_at) finds the newest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.settings import get_settings
from functions.store.clients import client
from functions.store.items import from_item, raise_if_throttled, to_item, to_value

BATCH_GET_LIMIT = 100
QUERY_PAGE = 20


def _opt_out_key(phone_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"OPTOUT#{phone_key}"}, "sk": {"S": "OPTOUT"}}


def opt_out(phone_key: str, at_iso: str, via: str) -> None:
    """Record that this number asked for no more survey texts (idempotent)."""
    item = to_item({"pk": f"OPTOUT#{phone_key}", "sk": "OPTOUT", "opted_out_at": at_iso, "via": via})
    try:
        client("dynamodb").put_item(TableName=get_settings().core_table, Item=item)
    except ClientError as exc:
        raise_if_throttled(exc)
        raise


def opt_in(phone_key: str) -> None:
    """Forget an opt-out (START); nothing happens if there was none."""
    try:
        client("dynamodb").delete_item(TableName=get_settings().core_table, Key=_opt_out_key(phone_key))
    except ClientError as exc:
        raise_if_throttled(exc)
        raise


def opted_out(phone_keys: Iterable[str]) -> set[str]:
    """Which of these phone keys have opted out (BatchGetItem, 100 keys a request)."""
    table = get_settings().core_table
    wanted = sorted(set(phone_keys))
    found: set[str] = set()
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table: {
                "Keys": [_opt_out_key(k) for k in wanted[start : start + BATCH_GET_LIMIT]],
                "ProjectionExpression": "pk",
            }
        }
        while request:
            try:
                out = client("dynamodb").batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise_if_throttled(exc)
                raise
            for raw in out.get("Responses", {}).get(table, []):
                found.add(raw["pk"]["S"].removeprefix("OPTOUT#"))
            request = out.get("UnprocessedKeys") or {}
    return found


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


def latest_open_invitation(
    phone_key: str, now_epoch: int, tenant_id: str | None = None
) -> OpenSmsInvitation | None:
    """The newest unexpired SMS invitation for this phone (of `tenant_id`, if given).

    Usually one Query of a few items: newest first, stopping at the first open one.
    """
    filters = ["expires_at > :now"]
    values = {":k": to_value(phone_key), ":now": to_value(now_epoch)}
    if tenant_id is not None:
        filters.append("tenant_id = :tenant")
        values[":tenant"] = to_value(tenant_id)
    kwargs: dict[str, Any] = {
        "TableName": get_settings().responses_table,
        "IndexName": "by_phone",
        "KeyConditionExpression": "phone_key = :k",
        "FilterExpression": " AND ".join(filters),
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": QUERY_PAGE,
    }
    while True:
        try:
            out = client("dynamodb").query(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        for raw in out.get("Items", []):
            item = from_item(raw)
            if item is not None:
                return OpenSmsInvitation(
                    code=item["pk"],
                    tenant_id=item["tenant_id"],
                    scale=(int(item["smin"]), int(item["smax"])),
                    answered=item.get("score") is not None,
                    page=dict(item.get("page") or {}),
                )
        if "LastEvaluatedKey" not in out:
            return None
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
