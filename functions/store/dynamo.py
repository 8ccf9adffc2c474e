"""The one way the store sends a DynamoDB request (docs/architecture.md, "Store boundary").

Every read and write goes through `request`, so `ClientError` is translated in one place
(`functions/store/clients.py`, `call`): throttling is `Busy` (the domain's `Throttled`, the
documented 503, 429 in the Delighted profile), a failed condition `ConditionFailed` (with the
old item when asked for), a cancelled transaction `TransactionCancelled` (a reason per
action), anything else `Refused`. The module that made the call says what its condition meant.
Paginated reads go through `pages`: one loop over `LastEvaluatedKey` for every Query and Scan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from functions.store.clients import Busy, ConditionFailed, Refused, TransactionCancelled, call
from functions.store.items import from_item

__all__ = [
    "Busy",
    "ConditionFailed",
    "Refused",
    "TransactionCancelled",
    "conditional",
    "conditional_update",
    "request",
]

Raw = dict[str, Any]


def request(operation: str, **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call (`query`, `put_item`, ...), its errors translated (module docstring)."""
    return call("dynamodb", operation, **kwargs)


def pages(
    kwargs: Mapping[str, Any], *, operation: str = "query", max_pages: int | None = None
) -> Iterator[list[Raw]]:
    """The raw items of each page of a Query (or Scan), following `LastEvaluatedKey` until the
    last page (or `max_pages`). Lazy: a caller that stops early reads no further page."""
    if max_pages is not None and max_pages < 1:
        return
    call = dict(kwargs)
    read = 0
    while True:
        out = request(operation, **call)
        read += 1
        yield out.get("Items", [])
        if "LastEvaluatedKey" not in out or (max_pages is not None and read >= max_pages):
            return
        call["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def raw_items(kwargs: Mapping[str, Any], *, operation: str = "query") -> Iterator[Raw]:
    """Every raw item a Query (or Scan) finds, page after page."""
    for page in pages(kwargs, operation=operation):
        yield from page


def items(kwargs: Mapping[str, Any], *, operation: str = "query") -> Iterator[dict[str, Any]]:
    """Every item a Query (or Scan) finds, as plain values."""
    for raw in raw_items(kwargs, operation=operation):
        item = from_item(raw)
        if item is not None:
            yield item


def one_page(
    kwargs: Mapping[str, Any],
    *,
    operation: str = "query",
    start: Raw | None = None,
    limit: int | None = None,
) -> tuple[list[Raw], Raw | None]:
    """One page of a Query (or Scan) from `start`: its raw items and the key to continue from
    (None after the last page). The key stays inside the store: a caller outside it gets a
    sealed position (functions/store/cursors.py)."""
    call = dict(kwargs)
    if start is not None:
        call["ExclusiveStartKey"] = start
    if limit is not None:
        call["Limit"] = limit
    out = request(operation, **call)
    return out.get("Items", []), out.get("LastEvaluatedKey")


def scan_segment(
    table: str,
    segment: int,
    total_segments: int,
    *,
    filter_expression: str | None = None,
    values: Mapping[str, Any] | None = None,
    start: Raw | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], Raw | None]:
    """One consistent page of one parallel scan segment (`hark rebuild` / `hark verify`): its
    items as plain values, kept by `filter_expression` (the scan still reads, and bills, every
    item of the segment), and the key to continue from (None when the segment is done)."""
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if total_segments > 1:
        kwargs.update(Segment=segment, TotalSegments=total_segments)
    if filter_expression:
        kwargs.update(FilterExpression=filter_expression, ExpressionAttributeValues=dict(values or {}))
    found, last = one_page(kwargs, operation="scan", start=start, limit=limit)
    return [i for i in (from_item(x) for x in found) if i], last


def get_many(keys_by_table: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem across tables (unprocessed keys retried); raw items per table."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys_by_table}
    wanted = {t: {"Keys": keys} for t, keys in keys_by_table.items() if keys}
    while wanted:
        out = request("batch_get_item", RequestItems=wanted)
        for table, items in out.get("Responses", {}).items():
            found[table].extend(items)
        wanted = out.get("UnprocessedKeys") or {}
    return found


def conditional(operation: str, **kwargs: Any) -> bool:
    """One conditional write: False when its condition failed (the write is stale, or what it
    expected is not there); throttling is raised as Busy, any other refusal as Refused."""
    try:
        request(operation, **kwargs)
    except ConditionFailed:
        return False
    return True


def conditional_update(**kwargs: Any) -> dict[str, Any] | None:
    """One conditional UpdateItem: the item as it now is (plain values), or None when its
    condition failed; throttling is raised as Busy, any other refusal as Refused."""
    try:
        out = request("update_item", ReturnValues="ALL_NEW", **kwargs)
    except ConditionFailed:
        return None
    return from_item(out.get("Attributes"))
