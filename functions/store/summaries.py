"""Every segment total of one survey, for the dashboard's segment comparison.

Totals are items ``T#<survey>`` / ``<segment>`` in the scores table (see store/scores.py), so
one Query on the partition returns them all, `all` and every channel, touchpoint and property
segment, in segment order; a window's day and month tallies are read after (`load_parts`).
"""

from __future__ import annotations

from typing import Any

from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import to_value
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
    for page in dynamo.pages(kwargs, max_pages=max_pages):
        found.extend(s for s in (summary_from_item(raw) for raw in page) if s)
    return found
