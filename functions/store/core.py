"""The core table: tenants, API keys and surveys (single-table design, pk/sk + gsi1)."""

from __future__ import annotations

from typing import Any

from functions.domain.apikeys import ApiKey
from functions.domain.errors import Conflict, NotFound
from functions.domain.follow_ups import rule_from_plain, rule_to_plain
from functions.domain.kinds import Kind
from functions.domain.languages import SOURCE
from functions.domain.questions import questions_from_plain
from functions.domain.sending import QuietHours
from functions.domain.survey import Attribute, Brand, Survey
from functions.settings import get_settings
from functions.store import cursors, dynamo
from functions.store.items import from_item, to_item, to_value
from functions.store.tenant_settings import registry_update


def _table() -> str:
    return get_settings().core_table


def key_key(hash_hex: str) -> dict[str, Any]:
    return {"pk": {"S": f"KEY#{hash_hex}"}, "sk": {"S": "KEY"}}


def survey_key(survey_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SURVEY#{survey_id}"}, "sk": {"S": "SURVEY"}}


# ---- tenants and keys -------------------------------------------------------------------------


def _key_item(hash_hex: str, key: ApiKey, created_at: str) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"KEY#{hash_hex}",
            "sk": "KEY",
            "gsi1pk": f"KEYID#{key.key_id}",
            "gsi1sk": "KEY",
            "key_id": key.key_id,
            "tenant_id": key.tenant_id,
            "scopes": sorted(key.scopes),
            "default_survey_id": key.default_survey_id,
            "revoked": key.revoked,
            "created_at": created_at,
        }
    )


def create_tenant(tenant_id: str, name: str, created_at: str, hash_hex: str, key: ApiKey) -> None:
    """The tenant and its first key, written together."""
    tenant = to_item({"pk": f"TENANT#{tenant_id}", "sk": "TENANT", "name": name, "created_at": created_at})
    dynamo.request(
        "transact_write_items",
        TransactItems=[
            {
                "Put": {
                    "TableName": _table(),
                    "Item": tenant,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _key_item(hash_hex, key, created_at),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            # Counted, so an SMS reply knows whether the deployment has one tenant or several.
            registry_update(tenant_id),
        ],
    )


def tenant_exists(tenant_id: str) -> bool:
    out = dynamo.request(
        "get_item", TableName=_table(), Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": "TENANT"}}
    )
    return "Item" in out


def put_key(hash_hex: str, key: ApiKey, created_at: str) -> None:
    dynamo.request(
        "put_item",
        TableName=_table(),
        Item=_key_item(hash_hex, key, created_at),
        ConditionExpression="attribute_not_exists(pk)",
    )


def key_from_item(raw: dict[str, Any] | None) -> ApiKey | None:
    item = from_item(raw)
    if item is None:
        return None
    return ApiKey(
        key_id=item["key_id"],
        tenant_id=item["tenant_id"],
        scopes=frozenset(item.get("scopes") or ()),
        default_survey_id=item.get("default_survey_id"),
        revoked=bool(item.get("revoked")),
    )


def get_key(hash_hex: str) -> ApiKey | None:
    out = dynamo.request("get_item", TableName=_table(), Key=key_key(hash_hex))
    return key_from_item(out.get("Item"))


def get_key_by_id(key_id: str) -> ApiKey | None:
    """The key with public id `key_id` (one Query on gsi1; keys are stored by hash)."""
    out = dynamo.request(
        "query",
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :k",
        ExpressionAttributeValues={":k": {"S": f"KEYID#{key_id}"}},
    )
    items = out.get("Items") or []
    return key_from_item(items[0]) if items else None


def revoke_key(key_id: str) -> None:
    """Mark the key revoked; it stops working on its next use."""
    out = dynamo.request(
        "query",
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :k",
        ExpressionAttributeValues={":k": {"S": f"KEYID#{key_id}"}},
    )
    if not out.get("Items"):
        raise NotFound(f"no key {key_id}")
    for item in out["Items"]:
        dynamo.request(
            "update_item",
            TableName=_table(),
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET revoked = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
        )


# ---- surveys ----------------------------------------------------------------------------------


OMITTED_WHEN_EMPTY = ("translations", "reminder_after_days", "questions")


def survey_to_item(survey: Survey) -> dict[str, Any]:
    plain = survey.plain()
    return to_item(
        {
            "pk": f"SURVEY#{survey.id}",
            "sk": "SURVEY",
            "gsi1pk": f"TENANT#{survey.tenant_id}#SURVEYS",
            "gsi1sk": f"{survey.created_at}#{survey.id}",
            "tenant_id": survey.tenant_id,
            # The survey's one plain shape (functions/domain/survey.py); these are left out when empty
            **{k: v for k, v in plain.items() if v or k not in OMITTED_WHEN_EMPTY},
            # the rule as set (None: the kind's default), not as the API shows it resolved
            "follow_up_rule": rule_to_plain(survey.follow_up_rule),
        }
    )


def survey_from_item(raw: dict[str, Any] | None) -> Survey | None:
    item = from_item(raw)
    if item is None:
        return None
    return Survey(
        id=item["id"],
        tenant_id=item["tenant_id"],
        name=item["name"],
        kind=Kind(item["kind"]),
        question=item["question"],
        follow_up_question=item.get("follow_up_question"),
        attributes=tuple(
            Attribute(a["key"], a["label"], float(a.get("weight", 1))) for a in item.get("attributes") or ()
        ),
        brand=Brand(item["brand"]["name"], item["brand"]["color"]),
        cooldown_days=item.get("cooldown_days"),
        status=item["status"],
        created_at=item["created_at"],
        default_locale=item.get("default_locale") or SOURCE,
        translations=item.get("translations") or {},
        email_from=item.get("email_from"),
        quiet_hours=QuietHours(**item["quiet_hours"]) if item.get("quiet_hours") else None,
        reminder_after_days=int(item.get("reminder_after_days") or 0),
        follow_up_rule=rule_from_plain(item.get("follow_up_rule")),
        questions=questions_from_plain(item.get("questions")),
    )


def put_survey(survey: Survey, *, new: bool) -> None:
    kwargs: dict[str, Any] = {"TableName": _table(), "Item": survey_to_item(survey)}
    kwargs["ConditionExpression"] = "attribute_not_exists(pk)" if new else "attribute_exists(pk)"
    try:
        dynamo.request("put_item", **kwargs)
    except dynamo.ConditionFailed as exc:
        raise (Conflict("survey already exists") if new else NotFound("no such survey")) from exc


def get_survey(survey_id: str) -> Survey | None:
    out = dynamo.request("get_item", TableName=_table(), Key=survey_key(survey_id))
    return survey_from_item(out.get("Item"))


# A position in a tenant's survey list is the start key of its gsi1 query.
SURVEY_POSITION_FIELDS = ("pk", "sk", "gsi1pk", "gsi1sk")


def list_surveys(
    tenant_id: str, limit: int, cursor: str | None, *, route: str
) -> tuple[list[Survey], str | None]:
    """One page of the tenant's surveys, newest first, from `cursor` (sealed for `route`, else
    the one 400 `invalid_cursor`), and the sealed cursor of the next page (None after the last)."""
    start = cursors.open_start(cursor, tenant_id=tenant_id, route=route, fields=SURVEY_POSITION_FIELDS)
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p",
        "ExpressionAttributeValues": {":p": to_value(f"TENANT#{tenant_id}#SURVEYS")},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    out = dynamo.request("query", **kwargs)
    surveys = [s for s in (survey_from_item(i) for i in out.get("Items", [])) if s]
    return surveys, cursors.seal_start(out.get("LastEvaluatedKey"), tenant_id=tenant_id, route=route)
