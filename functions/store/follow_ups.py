"""Follow-ups on the responses table (docs/follow-ups.md): a response's follow-up lives on its item.

Fields: ``fu_status``, ``fu_owner``, ``fu_opened``, ``fu_due``, ``fu_closed``, ``fu_sla``,
``fu_rev`` (1 opened, 2 closed: the ledger's revision of the figures), ``fu_nlm`` (the answer
no longer matches the rule), ``fu_overdue`` (when the sweep found it past its deadline),
``fu_notes`` and ``fu_tags``; and the keys of two sparse indexes:

- `follow_ups` (``fq`` / ``fd``): ``<tenant>#active`` (open or in progress) or ``<tenant>#closed``
  / ``<due_at>#<code>``, so a tenant's queue is one Query, oldest due first, and "overdue" is a
  key condition (``fd < now``);
- `follow_ups_due` (``fw`` / ``fd``): ``fw`` is a shard (0–9) present only while the follow-up is
  open or in progress and its overdue event has not been raised, so the sweep reads only what
  it may still have to mark, whatever the number of tenants.

Every change is one conditional UpdateItem on the item; the stream carries it to the
aggregator (figures) and the webhook consumer (events).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from functions.domain.follow_ups import CLOSED, OPEN
from functions.domain.sending import DUE_SHARDS, due_shard
from functions.lazy import lazy
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_value

if TYPE_CHECKING:
    from functions.store import cursors
else:  # the API's inbox pages only: the aggregator, which opens follow-ups, never seals one
    cursors = lazy("functions.store.cursors")

QUEUE_INDEX = "follow_ups"
SWEEP_INDEX = "follow_ups_due"
ACTIVE = "active"
# Notes live on the response's item (at most 400 KB, like every DynamoDB item, and copied into
# the `follow_ups` index): 50 notes of at most 2,000 characters keep it far below that.
MAX_NOTES = 50


def _table() -> str:
    return get_settings().responses_table


def queue_key(tenant_id: str, status: str) -> str:
    return f"{tenant_id}#{CLOSED if status == CLOSED else ACTIVE}"


def _update(**kwargs: Any) -> dict[str, Any] | None:
    """One conditional UpdateItem; the item as it now is, or None when the condition failed
    (or the item would outgrow DynamoDB's item size)."""
    try:
        out = dynamo.request("update_item", TableName=_table(), ReturnValues="ALL_NEW", **kwargs)
    except dynamo.ConditionFailed:
        return None
    except dynamo.Refused as exc:
        if exc.reason == "ValidationException" and "size" in exc.detail.lower():
            return None
        raise
    return from_item(out.get("Attributes"))


def get_item(code: str) -> dict[str, Any] | None:
    out = dynamo.request("get_item", TableName=_table(), Key={"pk": {"S": code}}, ConsistentRead=True)
    return from_item(out.get("Item"))


def open_follow_up(code: str, tenant_id: str, rev: int, opened_at: str, due_at: str, sla_hours: int) -> bool:
    """Open the item's follow-up once: the condition makes a replayed or duplicated stream
    record (or a second aggregator) a no-op. `rev` is the revision the decision was made on:
    a newer answer decides for itself when its own record arrives."""
    out = _update(
        Key={"pk": {"S": code}},
        UpdateExpression="SET fu_status = :open, fu_opened = :at, fu_due = :due, fu_sla = :sla, "
        "fu_rev = :one, fq = :q, fd = :d, fw = :w",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(fu_status) AND rev = :rev",
        ExpressionAttributeValues={
            ":open": to_value(OPEN),
            ":at": to_value(opened_at),
            ":due": to_value(due_at),
            ":sla": to_value(sla_hours),
            ":one": to_value(1),
            ":q": to_value(queue_key(tenant_id, OPEN)),
            ":d": to_value(f"{due_at}#{code}"),
            ":w": to_value(due_shard(code)),
            ":rev": to_value(rev),
        },
    )
    return out is not None


def mark_matching(code: str, matching: bool, rev: int) -> bool:
    """Flag (or unflag) an open follow-up whose answer changed so the rule no longer matches it,
    if the answer is still at revision `rev` (a stale replayed image must not flip the flag)."""
    update = "REMOVE fu_nlm" if matching else "SET fu_nlm = :t"
    values: dict[str, Any] = {":closed": to_value(CLOSED), ":rev": to_value(rev)}
    if not matching:
        values[":t"] = to_value(True)
    return (
        _update(
            Key={"pk": {"S": code}},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(fu_status) AND fu_status <> :closed AND rev = :rev",
            ExpressionAttributeValues=values,
        )
        is not None
    )


def change(
    code: str,
    tenant_id: str,
    *,
    seen_status: str | None,
    status: str | None = None,
    owner: str | None = None,
    clear_owner: bool = False,
    tags: Sequence[str] | None = None,
    closed_at: str | None = None,
) -> dict[str, Any] | None:
    """Change status, owner or tags, if the status is still `seen_status` (None: the item has
    no follow-up); the item after, or None when another change came first."""
    sets: list[str] = []
    removes: list[str] = []
    values: dict[str, Any] = {":t": to_value(tenant_id)}
    conditions = ["attribute_exists(pk)", "tenant_id = :t", "attribute_exists(score)"]
    if seen_status is None:
        conditions.append("attribute_not_exists(fu_status)")
    else:
        conditions.append("fu_status = :seen")
        values[":seen"] = to_value(seen_status)
    if status is not None and status != seen_status:
        sets += ["fu_status = :s", "fq = :q"]
        values[":s"] = to_value(status)
        values[":q"] = to_value(queue_key(tenant_id, status))
        if status == CLOSED:
            sets += ["fu_closed = :closed_at", "fu_rev = :two"]
            values[":closed_at"] = to_value(closed_at)
            values[":two"] = to_value(2)
            removes.append("fw")
    if owner is not None:
        sets.append("fu_owner = :o")
        values[":o"] = to_value(owner)
    elif clear_owner:
        removes.append("fu_owner")
    if tags is not None:
        if tags:
            sets.append("fu_tags = :tags")
            values[":tags"] = to_value(list(tags))
        else:
            removes.append("fu_tags")
    expression = ("SET " + ", ".join(sets) if sets else "") + (
        " REMOVE " + ", ".join(removes) if removes else ""
    )
    if not expression:
        return get_item(code)
    return _update(
        Key={"pk": {"S": code}},
        UpdateExpression=expression.strip(),
        ConditionExpression=" AND ".join(conditions),
        ExpressionAttributeValues=values,
    )


def add_note(code: str, tenant_id: str, note: Mapping[str, Any]) -> dict[str, Any] | None:
    """Append a note (at most MAX_NOTES per response); None when the response is gone or full."""
    return _update(
        Key={"pk": {"S": code}},
        UpdateExpression="SET fu_notes = list_append(if_not_exists(fu_notes, :empty), :note)",
        ConditionExpression="attribute_exists(score) AND tenant_id = :t AND "
        "(attribute_not_exists(fu_notes) OR size(fu_notes) < :max)",
        ExpressionAttributeValues={
            ":empty": {"L": []},
            ":note": to_value([dict(note)]),
            ":t": to_value(tenant_id),
            ":max": to_value(MAX_NOTES),
        },
    )


# A position in a follow-up queue is the start key of its `follow_ups` index query.
QUEUE_POSITION_FIELDS = ("pk", "fq", "fd")


def queue_page(
    tenant_id: str,
    status: str,
    *,
    due_before: str | None,
    cursor: str | None,
    route: str,
    limit: int,
    filters: Mapping[str, str],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tenant's follow-ups with `status`'s queue (open and in progress share
    one), oldest due first: one Query of the `follow_ups` index, from `cursor` (sealed for
    `route`, else the one 400 `invalid_cursor`), and the sealed cursor of the next page.
    `filters` (status within the active queue, owner, survey) are filter expressions on that
    Query, so a page may hold fewer than `limit` items and still have a next one."""
    start = cursors.open_start(cursor, tenant_id=tenant_id, route=route, fields=QUEUE_POSITION_FIELDS)
    condition = "fq = :q"
    values: dict[str, Any] = {":q": to_value(queue_key(tenant_id, status))}
    if due_before is not None:
        condition += " AND fd < :before"
        values[":before"] = to_value(due_before)
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": QUEUE_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "Limit": limit,
    }
    names: dict[str, str] = {}
    clauses: list[str] = []
    for n, (name, value) in enumerate(sorted(filters.items())):
        names[f"#f{n}"] = name
        values[f":f{n}"] = to_value(value)
        clauses.append(f"#f{n} = :f{n}")
    if clauses:
        kwargs["FilterExpression"] = " AND ".join(clauses)
        kwargs["ExpressionAttributeNames"] = names
    if start is not None:
        kwargs["ExclusiveStartKey"] = start
    out = dynamo.request("query", **kwargs)
    items = [i for i in (from_item(raw) for raw in out.get("Items", [])) if i is not None]
    return items, cursors.seal_start(out.get("LastEvaluatedKey"), tenant_id=tenant_id, route=route)


def due_for_overdue(now_iso: str, page_size: int = 200) -> Iterator[str]:
    """Codes of open or in-progress follow-ups past their deadline whose overdue event is still
    to raise: one Query per shard of the sparse `follow_ups_due` index."""
    for shard in range(DUE_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": _table(),
            "IndexName": SWEEP_INDEX,
            "KeyConditionExpression": "fw = :s AND fd < :now",
            "ExpressionAttributeValues": {":s": to_value(str(shard)), ":now": to_value(now_iso)},
            "Limit": page_size,
        }
        for page in dynamo.pages(kwargs):
            for item in page:
                yield str(item["pk"]["S"])


def mark_overdue(code: str, now_iso: str) -> bool:
    """Record that the follow-up passed its deadline while open: exactly once (the index key
    leaves the item in the same write, and the condition needs it)."""
    return (
        _update(
            Key={"pk": {"S": code}},
            UpdateExpression="SET fu_overdue = :now REMOVE fw",
            ConditionExpression="attribute_exists(fw) AND fu_status <> :closed AND fu_due < :now",
            ExpressionAttributeValues={":now": to_value(now_iso), ":closed": to_value(CLOSED)},
        )
        is not None
    )
