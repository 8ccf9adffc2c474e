"""Every segment total of one survey, for the dashboard's segment comparison.

Totals are items ``T#<survey>`` / ``<segment>`` in the scores table (see store/scores.py), so
one Query on the partition returns them all, `all` and every channel, touchpoint and property
segment, in segment order; a window's day and month tallies are read after (`load_parts`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.settings import get_settings
from functions.store.clients import client
from functions.store.items import raise_if_throttled, to_value
from functions.store.scores import StoredSummary, summary_from_item


def query_summaries(survey_id: str, prefix: str = "", max_pages: int = 2) -> list[StoredSummary]:
    """Summaries of `survey_id` whose segment starts with `prefix`, at most `max_pages` pages."""
    kwargs: dict[str, Any] = {
        "TableName": get_settings().scores_table,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": to_value(f"T#{survey_id}")},
    }
    if prefix:
        kwargs["KeyConditionExpression"] += " AND begins_with(sk, :s)"
        kwargs["ExpressionAttributeValues"][":s"] = to_value(prefix)
    found: list[StoredSummary] = []
    for _ in range(max_pages):
        try:
            out = client("dynamodb").query(**kwargs)
        except ClientError as exc:
            raise_if_throttled(exc)
            raise
        found.extend(s for s in (summary_from_item(raw) for raw in out.get("Items", [])) if s)
        if "LastEvaluatedKey" not in out:
            break
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    return found
