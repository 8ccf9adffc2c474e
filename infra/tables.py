"""The table definitions in infra/tables.json, as CloudFormation and as CreateTable calls.

The deployed template and the local/test stacks are built from the same file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

TABLES_JSON = Path(__file__).with_name("tables.json")
# Which setting names each table (the functions read table names from these variables).
TABLE_SETTINGS = {
    "CoreTable": "HARK_CORE_TABLE",
    "ResponsesTable": "HARK_RESPONSES_TABLE",
    "ScoresTable": "HARK_SCORES_TABLE",
}


def resources() -> dict[str, Any]:
    data: dict[str, dict[str, Any]] = json.loads(TABLES_JSON.read_text())
    return data["Resources"]


def create_table_requests(names: dict[str, str]) -> list[tuple[dict[str, Any], str | None]]:
    """(CreateTable kwargs, TTL attribute or None) per table; `names` maps setting → name."""
    out = []
    for logical, resource in resources().items():
        props = resource["Properties"]
        kwargs: dict[str, Any] = {
            "TableName": names[TABLE_SETTINGS[logical]],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props["BillingMode"],
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        ttl = props.get("TimeToLiveSpecification", {})
        out.append((kwargs, ttl.get("AttributeName") if ttl.get("Enabled") else None))
    return out


def create_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create every table that does not exist yet, and wait until each is active."""
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for kwargs, ttl_attribute in create_table_requests(names):
        if kwargs["TableName"] in existing:
            add_missing_indexes(dynamodb, kwargs)
            continue
        dynamodb.create_table(**kwargs)
        dynamodb.get_waiter("table_exists").wait(
            TableName=kwargs["TableName"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
        )
        if ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=kwargs["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )


def add_missing_indexes(dynamodb: Any, wanted: dict[str, Any]) -> list[str]:
    """Add the indexes a table made by an older definition lacks (a local stack's saved state;
    the deployed stack gets them from CloudFormation), one at a time as DynamoDB requires."""
    table = dynamodb.describe_table(TableName=wanted["TableName"])["Table"]
    have = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    added = []
    for index in wanted.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in have:
            continue
        used = {key["AttributeName"] for key in index["KeySchema"]}
        dynamodb.update_table(
            TableName=wanted["TableName"],
            AttributeDefinitions=[a for a in wanted["AttributeDefinitions"] if a["AttributeName"] in used],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        added.append(index["IndexName"])
        _wait_for_index(dynamodb, wanted["TableName"], index["IndexName"])
    return added


def _wait_for_index(dynamodb: Any, table_name: str, index_name: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        status = {
            i["IndexName"]: i.get("IndexStatus", "ACTIVE") for i in table.get("GlobalSecondaryIndexes", [])
        }
        if status.get(index_name) == "ACTIVE" and table.get("TableStatus", "ACTIVE") == "ACTIVE":
            return
        time.sleep(0.2)
    raise TimeoutError(f"index {index_name} of {table_name} is not active after {seconds:.0f} s")


def stream_arn(dynamodb: Any, table_name: str) -> str:
    return str(dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"])
