"""A tenant's sending and receiving identity, and who owns which SMS number (core table).

- ``TENANT#<tenant>`` / ``SETTINGS``: the settings document (docs/security.md), with a
  version for optimistic concurrency.
- ``SMSROUTE#number#<E.164>`` and ``SMSROUTE#service#<Messaging Service SID>`` / ``ROUTE``: a
  claim naming the one tenant whose customers' replies arrive there. Claims are written in the
  same transaction as the settings, each on the condition that no other tenant holds it, so two
  tenants racing for one number cannot both win; changing the number deletes the old claim.
- ``TENANTS`` / ``COUNT``: how many tenants exist and the first one, kept by tenant creation,
  so a reply to an unclaimed number knows whether the deployment has one business or several.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.domain.errors import Conflict
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_item, to_value

NUMBER = "number"
SERVICE = "service"


def _table() -> str:
    return get_settings().core_table


def settings_key(tenant_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": "SETTINGS"}}


def route_key(kind: str, value: str) -> dict[str, Any]:
    return {"pk": {"S": f"SMSROUTE#{kind}#{value}"}, "sk": {"S": "ROUTE"}}


REGISTRY_KEY = {"pk": {"S": "TENANTS"}, "sk": {"S": "COUNT"}}


@dataclass(frozen=True)
class StoredSettings:
    values: dict[
        str, Any
    ]  # email_from, reply_to, default_locale, sms{provider, number, messaging_service_sid}
    version: int  # 0: never saved


def get_tenant_settings(tenant_id: str) -> StoredSettings:
    out = dynamo.request("get_item", TableName=_table(), Key=settings_key(tenant_id), ConsistentRead=True)
    item = from_item(out.get("Item"))
    if item is None:
        return StoredSettings({}, 0)
    values = {k: v for k, v in item.items() if k not in ("pk", "sk", "version", "updated_at")}
    return StoredSettings(values, int(item.get("version", 0)))


def save_tenant_settings(
    tenant_id: str,
    values: dict[str, Any],
    version: int,
    updated_at: str,
    claim: list[tuple[str, str]],
    release: list[tuple[str, str]],
) -> None:
    """Write the settings (if still at `version`), claim routes and release old ones, atomically.

    Conflict(field="sms.number" or "sms.messaging_service_sid") when another tenant holds a
    route; Conflict(code="concurrent_update") when the settings changed meanwhile.
    """
    table = _table()
    item = to_item(
        {
            "pk": f"TENANT#{tenant_id}",
            "sk": "SETTINGS",
            **values,
            "version": version + 1,
            "updated_at": updated_at,
        }
    )
    condition = "attribute_not_exists(pk)" if version == 0 else "version = :v"
    settings_put: dict[str, Any] = {"TableName": table, "Item": item, "ConditionExpression": condition}
    if version:
        settings_put["ExpressionAttributeValues"] = {":v": to_value(version)}
    items: list[dict[str, Any]] = [{"Put": settings_put}]
    mine = {":t": to_value(tenant_id)}
    for kind, value in claim:
        route = to_item({"pk": f"SMSROUTE#{kind}#{value}", "sk": "ROUTE", "tenant_id": tenant_id})
        items.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": route,
                    "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                    "ExpressionAttributeValues": mine,
                }
            }
        )
    for kind, value in release:
        items.append(
            {
                "Delete": {
                    "TableName": table,
                    "Key": route_key(kind, value),
                    # Never release a claim that is not ours (it may have moved on since).
                    "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                    "ExpressionAttributeValues": mine,
                }
            }
        )
    try:
        dynamo.request("transact_write_items", TransactItems=items)
    except dynamo.TransactionCancelled as exc:
        reasons = exc.reasons
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(
                "the settings changed while this request was made; read them and try again",
                code="concurrent_update",
            ) from exc
        for (kind, _value), reason in zip(claim, reasons[1:], strict=False):
            if reason == "ConditionalCheckFailed":
                raise _taken(kind) from exc
        if "ConditionalCheckFailed" in reasons:  # an old claim moved meanwhile
            raise Conflict("the settings changed meanwhile; try again", code="concurrent_update") from exc
        raise


def _taken(kind: str) -> Conflict:
    if kind == NUMBER:
        return Conflict(
            "another tenant has registered this number; a number routes replies to one tenant only",
            field="sms.number",
            code="number_taken",
        )
    return Conflict(
        "another tenant has registered this Messaging Service",
        field="sms.messaging_service_sid",
        code="number_taken",
    )


def route_tenant(kind: str, value: str) -> str | None:
    """The tenant holding the claim on a number or Messaging Service, if any (one GetItem)."""
    out = dynamo.request("get_item", TableName=_table(), Key=route_key(kind, value))
    item = from_item(out.get("Item"))
    return None if item is None else str(item["tenant_id"])


def registry_update(tenant_id: str) -> dict[str, Any]:
    """The transaction item that counts one more tenant (tenant creation adds it)."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": REGISTRY_KEY,
            "UpdateExpression": "ADD tenants :one SET first_tenant = if_not_exists(first_tenant, :t)",
            "ExpressionAttributeValues": {":one": to_value(1), ":t": to_value(tenant_id)},
        }
    }


def only_tenant() -> str | None:
    """The deployment's tenant when it has exactly one; None with several (or an unknown count,
    from before tenants were counted: then a reply must name its tenant by its number)."""
    out = dynamo.request("get_item", TableName=_table(), Key=REGISTRY_KEY)
    item = from_item(out.get("Item"))
    if item is None or int(item.get("tenants", 0)) != 1:
        return None
    return str(item["first_tenant"])
