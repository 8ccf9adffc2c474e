"""People and unsubscribes of the Delighted-compatible API (docs/delighted.md), in the core table.

A person is keyed by tenant and customer id (``PERSON#<tenant>#<customer>``) and listed by the
`gsi1` index in the order they were first seen; an unsubscribe is keyed by tenant and the
keyed hash of the lower-cased email (``UNSUB#<tenant>#h:<hash>``), listed the same way, and
so is a bounce (``BOUNCE#<tenant>#h:<hash>``); the address and customer id beside the hash are
removed when the customer is erased (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.domain.address_hash import address_key
from functions.settings import get_settings
from functions.store import cursors, dynamo
from functions.store.dynamo import get_many
from functions.store.items import from_item, to_value
from functions.store.parameters import address_hash_secrets


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
    out = dynamo.request("update_item", **kwargs)
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
    dynamo.request("delete_item", TableName=_table(), Key=person_key(tenant_id, customer_id))


# The key attributes of a position in a `gsi1` partition (the people, unsubscribe and bounce lists).
POSITION_FIELDS = ("pk", "sk", "gsi1pk", "gsi1sk")


def position_of(item: Mapping[str, Any]) -> dict[str, str]:
    """The position of a listed item, as plain strings (sealed before it leaves the store)."""
    return {k: str(item[k]) for k in POSITION_FIELDS}


def seal_position(item: Mapping[str, Any], *, tenant_id: str, route: str) -> str:
    """The sealed position of a listed item (a Delighted `page_info`), for `route`."""
    return cursors.seal(position_of(item), tenant_id=tenant_id, route=route)


def open_position(text: str | None, *, tenant_id: str, route: str, index: str) -> dict[str, Any] | None:
    """The start key a sealed `page_info` stands for, in the list `index` (its `gsi1pk`); None
    without one; anything else sealed or unsealed is the one 400 `invalid_cursor`."""
    return cursors.open_start(
        text,
        tenant_id=tenant_id,
        route=route,
        fields=POSITION_FIELDS,
        field="page_info",
        plain=True,
        pinned={"gsi1pk": index},
    )


def start_after(item: Mapping[str, Any]) -> dict[str, Any]:
    """The start key that continues a walk of `page` after `item`."""
    return {k: {"S": v} for k, v in position_of(item).items()}


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
    for found in dynamo.pages(kwargs):
        items.extend(i for i in (from_item(raw) for raw in found) if i is not None)
        if len(items) > limit:
            break
    return items[:limit], len(items) > limit


def unsubscribe_key(tenant_id: str, address_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"UNSUB#{tenant_id}#h:{address_key}"}, "sk": {"S": "UNSUB"}}


def _legacy_unsubscribe_key(tenant_id: str, email: str) -> dict[str, Any]:
    # Before docs/security.md's erasure rules the list was keyed by the address in clear.
    return {"pk": {"S": f"UNSUB#{tenant_id}#{email}"}, "sk": {"S": "UNSUB"}}


def _address_keys(email: str) -> list[str]:
    return [address_key(secret, email) for secret in address_hash_secrets()]


def add_unsubscribe(tenant_id: str, email: str, person_id: str, now_iso: str) -> None:
    """Record that `email` unsubscribed (the first time is kept): one UpdateItem.

    The item is keyed by the address's keyed hash; the address itself is kept beside it only
    for listing, and erasing the person removes it (`forget_unsubscribed_address`).
    """
    hashed = _address_keys(email)[0]
    _suppress(
        unsubscribe_key(tenant_id, hashed),
        unsubscribes_index(tenant_id),
        "unsubscribed_at",
        email,
        person_id,
        now_iso,
        hashed,
    )


def unsubscribe_keys(tenant_id: str, email: str) -> list[dict[str, Any]]:
    """Every key an unsubscribe of `email` may sit under: each hash secret's, and the legacy one."""
    keys = [unsubscribe_key(tenant_id, k) for k in _address_keys(email)]
    keys.append(_legacy_unsubscribe_key(tenant_id, email))
    return list({k["pk"]["S"]: k for k in keys}.values())


def _unsubscribe_items(tenant_id: str, email: str) -> list[dict[str, Any]]:
    """The list's items for `email` under every hash secret and the legacy key: one BatchGetItem."""
    unique = unsubscribe_keys(tenant_id, email)
    return [i for i in (from_item(raw) for raw in get_many({_table(): unique})[_table()]) if i]


def is_unsubscribed(tenant_id: str, email: str) -> bool:
    return bool(_unsubscribe_items(tenant_id, email))


def forget_unsubscribed_address(tenant_id: str, email: str) -> int:
    """Keep the unsubscribe, drop the address: the item keeps only the keyed hash (its key)
    and the time. A legacy item keyed by the address is moved under the hash. How many
    items held the address."""
    hashed = _address_keys(email)[0]
    return _forget_address(
        _unsubscribe_items(tenant_id, email),
        hashed,
        hashed_key=unsubscribe_key(tenant_id, hashed),
        legacy=_legacy_unsubscribe_key(tenant_id, email),
        index=unsubscribes_index(tenant_id),
        at_field="unsubscribed_at",
    )


def _forget_address(
    found: list[dict[str, Any]],
    hashed: str,
    *,
    hashed_key: dict[str, Any],
    legacy: dict[str, Any],
    index: str,
    at_field: str,
) -> int:
    """Drop the address from each suppression row `found` (an unsubscribe or a bounce): a row
    under its keyed hash loses the address and the customer id; a legacy row keyed by the
    address is moved under `hashed_key` (the hash `hashed`'s), keeping only its time. How many
    rows held it."""
    for item in found:
        if item["pk"] == legacy["pk"]["S"]:
            at = str(item.get(at_field) or "")
            moved = {
                **hashed_key,
                at_field: to_value(at),
                "gsi1pk": to_value(index),
                "gsi1sk": to_value(f"{at}#{hashed}"),
            }
            dynamo.request(
                "transact_write_items",
                TransactItems=[
                    {"Put": {"TableName": _table(), "Item": moved}},
                    {"Delete": {"TableName": _table(), "Key": legacy}},
                ],
            )
        else:
            dynamo.request(
                "update_item",
                TableName=_table(),
                Key={"pk": {"S": item["pk"]}, "sk": hashed_key["sk"]},
                UpdateExpression="REMOVE email, person_id",
            )
    return len(found)


def bounces_index(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#BOUNCES"


def bounce_key(tenant_id: str, address_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"BOUNCE#{tenant_id}#h:{address_key}"}, "sk": {"S": "BOUNCE"}}


def _legacy_bounce_key(tenant_id: str, email: str) -> dict[str, Any]:
    # The first bounce list was keyed by the address in clear; its rows are still honoured.
    return {"pk": {"S": f"BOUNCE#{tenant_id}#{email}"}, "sk": {"S": "BOUNCE"}}


def bounce_keys(tenant_id: str, email: str) -> list[dict[str, Any]]:
    """Every key a bounce of `email` may sit under: each hash secret's, and the legacy one."""
    address = email.lower()
    keys = [bounce_key(tenant_id, k) for k in _address_keys(address)]
    keys.append(_legacy_bounce_key(tenant_id, address))
    return list({k["pk"]["S"]: k for k in keys}.values())


def add_bounce(tenant_id: str, email: str, person_id: str, now_iso: str) -> None:
    """Record that mail to `email` bounced for good (the first time is kept): one UpdateItem.

    Keyed by the address's keyed hash, as the unsubscribe list is; the address and the
    customer id (`person_id`) beside it are kept only for Delighted's `Bounce.all()`, and
    erasing the customer removes them (`forget_contact_of`). The sender suppresses the
    address from then on (docs/sending.md).
    """
    address = email.lower()
    hashed = _address_keys(address)[0]
    _suppress(
        bounce_key(tenant_id, hashed),
        bounces_index(tenant_id),
        "bounced_at",
        address,
        person_id,
        now_iso,
        hashed,
    )


def _suppress(
    key: dict[str, Any], index: str, at_field: str, email: str, person_id: str, now_iso: str, hashed: str
) -> None:
    """Write a suppression row (an unsubscribe or a bounce) under the address's keyed hash `key`,
    listed in `index`: the address and the customer id beside it, the first time (`at_field`)
    kept. One UpdateItem."""
    dynamo.request(
        "update_item",
        TableName=_table(),
        Key=key,
        UpdateExpression="SET email = :e, person_id = :p, gsi1pk = :g, "
        f"{at_field} = if_not_exists({at_field}, :now), gsi1sk = if_not_exists(gsi1sk, :gs)",
        ExpressionAttributeValues={
            ":e": to_value(email),
            ":p": to_value(person_id),
            ":g": to_value(index),
            ":now": to_value(now_iso),
            ":gs": to_value(f"{now_iso}#{hashed}"),
        },
    )


def is_bounced(tenant_id: str, email: str) -> bool:
    keys = bounce_keys(tenant_id, email)
    return bool(get_many({_table(): keys})[_table()])


def forget_bounced_address(tenant_id: str, email: str) -> int:
    """Keep the bounce, drop the address: as `forget_unsubscribed_address`, for the bounce list
    (a legacy row keyed by the address is moved under the hash). How many rows held it."""
    address = email.lower()
    found = [
        i
        for i in (from_item(r) for r in get_many({_table(): bounce_keys(tenant_id, address)})[_table()])
        if i
    ]
    hashed = _address_keys(address)[0]
    return _forget_address(
        found,
        hashed,
        hashed_key=bounce_key(tenant_id, hashed),
        legacy=_legacy_bounce_key(tenant_id, address),
        index=bounces_index(tenant_id),
        at_field="bounced_at",
    )


def forget_contact_of(tenant_id: str, customer_id: str) -> int:
    """Drop the address and customer id from every unsubscribe and bounce row recorded for
    `customer_id` (the suppression stays, as its keyed hash): the rows whose address erasure
    cannot name, because Hark no longer holds the customer's address anywhere else. Walks the
    tenant's two lists (a Query each, filtered on the customer id); how many rows changed."""
    changed = 0
    for index, sk in ((unsubscribes_index(tenant_id), "UNSUB"), (bounces_index(tenant_id), "BOUNCE")):
        kwargs: dict[str, Any] = {
            "TableName": _table(),
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "FilterExpression": "person_id = :c",
            "ExpressionAttributeValues": {":p": to_value(index), ":c": to_value(customer_id)},
        }
        for raw in dynamo.raw_items(kwargs):
            key = {"pk": raw["pk"], "sk": {"S": sk}}
            if "#h:" not in raw["pk"]["S"]:  # a legacy row: moved under the hash by address
                email = str(raw.get("email", {}).get("S", ""))
                forget = forget_unsubscribed_address if sk == "UNSUB" else forget_bounced_address
                if email and forget(tenant_id, email):
                    changed += 1
                continue
            dynamo.request(
                "update_item", TableName=_table(), Key=key, UpdateExpression="REMOVE email, person_id"
            )
            changed += 1
    return changed
