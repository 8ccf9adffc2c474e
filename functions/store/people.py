"""People and unsubscribes of the Delighted-compatible API (SPEC §4a), in the core table.

A person is keyed by tenant and customer id (``PERSON#<tenant>#<customer>``) and listed by the
`gsi1` index in the order they were first seen; an unsubscribe is keyed by tenant and the
lower-cased email (``UNSUB#<tenant>#<email>``), listed the same way.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.settings import get_settings
from functions.store.clients import client
from functions.store.core import get_many
from functions.store.items import from_item, raise_if_throttled, to_value


def _table() -> str:
    return get_settings().core_table


def person_key(tenant_id: str, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PERSON#{tenant_id}#{customer_id}"}, "sk": {"S": "PERSON"}}


def people_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#PEOPLE"


def unsubscribes_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#UNSUBSCRIBES"


def save_person(
    tenant_id: str,
    customer_id: str,
    *,
    email: str | None,
    name: str | None,
    phone_number: str | None,
    now_iso: str,
    sent_iso: str | None,
) -> dict[str, Any]:
    """Create or update a person (given fields only; `created_at` stays): one UpdateItem."""
    sets = [
        "customer_id = :c",
        "created_at = if_not_exists(created_at, :now)",
        "gsi1pk = :g",
        "gsi1sk = if_not_exists(gsi1sk, :gs)",
    ]
    values: dict[str, Any] = {
        ":c": to_value(customer_id),
        ":now": to_value(now_iso),
        ":g": to_value(people_index(tenant_id)),
        ":gs": to_value(f"{now_iso}#{customer_id}"),
    }
    names: dict[str, str] = {}
    for field, value in (
        ("email", email),
        ("name", name),
        ("phone_number", phone_number),
        ("last_sent_at", sent_iso),
    ):
        if value is not None:
            sets.append(f"#{field} = :{field}")
            values[f":{field}"] = to_value(value)
            names[f"#{field}"] = field
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "Key": person_key(tenant_id, customer_id),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
    }
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        out = client("dynamodb").update_item(**kwargs)
    except ClientError as exc:
        raise_if_throttled(exc)
        raise
    item = from_item(out.get("Attributes"))
    assert item is not None
    return item


def get_people(tenant_id: str, customer_ids: set[str]) -> dict[str, dict[str, Any]]:
    """People by customer id (those that exist), in one BatchGetItem per 100."""
    found: dict[str, dict[str, Any]] = {}
    ids = sorted(customer_ids)
    for start in range(0, len(ids), 100):
        keys = [person_key(tenant_id, c) for c in ids[start : start + 100]]
        for raw in get_many({_table(): keys})[_table()]:
            item = from_item(raw)
            if item is not None:
                found[item["customer_id"]] = item
    return found


def delete_person(tenant_id: str, customer_id: str) -> None:
    try:
        client("dynamodb").delete_item(TableName=_table(), Key=person_key(tenant_id, customer_id))
    except ClientError as exc:
        raise_if_throttled(exc)
        raise


def page(index: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` items of an index partition (`gsi1`), oldest first, after `start`, and
    whether more follow (one item past the page is read, so a last page says so)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p",
        "ExpressionAttributeValues": {":p": to_value(index)},
        "Limit": limit + 1,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    items: list[dict[str, Any]] = []
    while len(items) <= limit:
        try:
            out = client("dynamodb").query(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        items.extend(i for i in (from_item(raw) for raw in out.get("Items", [])) if i is not None)
        if "LastEvaluatedKey" not in out:
            break
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    return items[:limit], len(items) > limit


def unsubscribe_key(tenant_id: str, email: str) -> dict[str, Any]:
    return {"pk": {"S": f"UNSUB#{tenant_id}#{email}"}, "sk": {"S": "UNSUB"}}


def add_unsubscribe(tenant_id: str, email: str, person_id: str, now_iso: str) -> None:
    """Record that `email` unsubscribed (the first time is kept): one UpdateItem."""
    try:
        client("dynamodb").update_item(
            TableName=_table(),
            Key=unsubscribe_key(tenant_id, email),
            UpdateExpression="SET email = :e, person_id = :p, gsi1pk = :g, "
            "unsubscribed_at = if_not_exists(unsubscribed_at, :now), gsi1sk = if_not_exists(gsi1sk, :gs)",
            ExpressionAttributeValues={
                ":e": to_value(email),
                ":p": to_value(person_id),
                ":g": to_value(unsubscribes_index(tenant_id)),
                ":now": to_value(now_iso),
                ":gs": to_value(f"{now_iso}#{email}"),
            },
        )
    except ClientError as exc:
        raise_if_throttled(exc)
        raise


def is_unsubscribed(tenant_id: str, email: str) -> bool:
    try:
        out = client("dynamodb").get_item(
            TableName=_table(), Key=unsubscribe_key(tenant_id, email), ProjectionExpression="pk"
        )
    except ClientError as exc:
        raise_if_throttled(exc)
        raise
    return "Item" in out


def bounces_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#BOUNCES"


def bounce_key(tenant_id: str, email: str) -> dict[str, Any]:
    return {"pk": {"S": f"BOUNCE#{tenant_id}#{email}"}, "sk": {"S": "BOUNCE"}}


def add_bounce(tenant_id: str, email: str, person_id: str, now_iso: str) -> None:
    """Record that mail to `email` bounced for good (the first time is kept): one UpdateItem.
    The sender suppresses the address from then on (docs/sending.md)."""
    try:
        client("dynamodb").update_item(
            TableName=_table(),
            Key=bounce_key(tenant_id, email),
            UpdateExpression="SET email = :e, person_id = :p, gsi1pk = :g, "
            "bounced_at = if_not_exists(bounced_at, :now), gsi1sk = if_not_exists(gsi1sk, :gs)",
            ExpressionAttributeValues={
                ":e": to_value(email),
                ":p": to_value(person_id),
                ":g": to_value(bounces_index(tenant_id)),
                ":now": to_value(now_iso),
                ":gs": to_value(f"{now_iso}#{email}"),
            },
        )
    except ClientError as exc:
        raise_if_throttled(exc)
        raise
