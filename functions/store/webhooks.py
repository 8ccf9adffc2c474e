"""Webhook subscriptions in the core table: ``TENANT#<tenant>`` / ``WEBHOOK#<id>``.

Living under the tenant's partition, a tenant's webhooks are one Query, and another tenant's
webhook id finds nothing. The signing secret is stored here (the table is encrypted at rest)
and is returned to the API only when the webhook is created; it is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.domain.errors import NotFound
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_item, to_value


@dataclass(frozen=True)
class Webhook:
    id: str
    tenant_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: str


def _table() -> str:
    return get_settings().core_table


def _key(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": f"WEBHOOK#{webhook_id}"}}


def _from_item(raw: dict[str, Any]) -> Webhook:
    item = from_item(raw)
    assert item is not None
    return Webhook(
        id=item["id"],
        tenant_id=item["tenant_id"],
        url=item["url"],
        events=tuple(item["events"]),
        secret=item["secret"],
        created_at=item["created_at"],
    )


def put_webhook(webhook: Webhook) -> None:
    item = to_item(
        {
            "pk": f"TENANT#{webhook.tenant_id}",
            "sk": f"WEBHOOK#{webhook.id}",
            "id": webhook.id,
            "tenant_id": webhook.tenant_id,
            "url": webhook.url,
            "events": list(webhook.events),
            "secret": webhook.secret,
            "created_at": webhook.created_at,
        }
    )
    dynamo.request("put_item", TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")


def list_webhooks(tenant_id: str) -> list[Webhook]:
    """Every webhook of a tenant, oldest first (a tenant has a handful)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :w)",
        "ExpressionAttributeValues": {":p": to_value(f"TENANT#{tenant_id}"), ":w": to_value("WEBHOOK#")},
    }
    found: list[Webhook] = []
    for page in dynamo.pages(kwargs):
        found.extend(_from_item(raw) for raw in page)
    return sorted(found, key=lambda w: (w.created_at, w.id))


def get_webhook(tenant_id: str, webhook_id: str) -> Webhook | None:
    out = dynamo.request("get_item", TableName=_table(), Key=_key(tenant_id, webhook_id), ConsistentRead=True)
    return _from_item(out["Item"]) if "Item" in out else None


def delete_webhook(tenant_id: str, webhook_id: str) -> None:
    try:
        dynamo.request(
            "delete_item",
            TableName=_table(),
            Key=_key(tenant_id, webhook_id),
            ConditionExpression="attribute_exists(pk)",
        )
    except dynamo.ConditionFailed as exc:
        raise NotFound("no such webhook", field="webhook_id") from exc
