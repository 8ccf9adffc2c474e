"""The scores table: the ledger, daily tallies per segment, and rolling summaries.

Items (pk / sk):
- ``L#<tenant>#<survey>#<day>`` / ``<I|R>#<code>`` — ledger entries (see domain/ledger.py);
- ``D#<tenant>#<survey>#<segment>`` / ``<day>`` — the tally of one (survey, segment, day), moved
  by ADD in the same transaction as the ledger entries that move it;
- ``SUM#<survey>`` / ``<segment>`` — the summary: daily tallies of the last 365 days plus the
  total of everything older, so any window ending today is computed from one item;
- ``IDX#<survey>`` / ``<dimension>`` — the segment index: the values of a touchpoint or property
  key that have a series of their own (a string set that only grows, up to the limit).

Day tallies carry a version (``g``) that every change raises. Summaries carry a generation (the
sum of the versions of the tallies they hold) and are written only over the summary they were
computed from, or (a rebuild) over an older generation, so concurrent aggregators never replace
a newer result with an older one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.domain.ledger import LedgerEntry, StoredEntry
from functions.domain.scoring import Tally
from functions.settings import get_settings
from functions.store.clients import client
from functions.store.items import error_code, from_item, to_item, to_value


def _table() -> str:
    return get_settings().scores_table


def _conditional(call: str, **kwargs: Any) -> bool:
    """Run a conditional write; False when its condition said the write is stale."""
    try:
        getattr(client("dynamodb"), call)(**kwargs)
        return True
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise


def _query_all(**kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        out = client("dynamodb").query(**kwargs)
        for raw in out.get("Items", []):
            item = from_item(raw)
            if item is not None:
                yield item
        if "LastEvaluatedKey" not in out:
            return
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


# ---- ledger ---------------------------------------------------------------------------------

EntryId = tuple[str, str, str, str, str]  # tenant, survey, day, part, code
DayTallyKey = tuple[str, str, str, str]  # tenant, survey, segment, day

# DynamoDB's limit on the items one TransactWriteItems may write.
MAX_TRANSACTION_ITEMS = 100


class LedgerConflict(Exception):
    """A ledger entry changed since it was read, or another transaction held an item."""


def ledger_pk(tenant_id: str, survey_id: str, day: str) -> str:
    return f"L#{tenant_id}#{survey_id}#{day}"


def _ledger_key(identity: EntryId) -> dict[str, Any]:
    tenant_id, survey_id, day, part, code = identity
    return {"pk": {"S": ledger_pk(tenant_id, survey_id, day)}, "sk": {"S": f"{part}#{code}"}}


def _ledger_item(entry: LedgerEntry) -> dict[str, Any]:
    values: dict[str, Any] = {
        "rev": entry.rev,
        "seg": list(entry.segments),
        "erased": entry.erased,
        "score": entry.score,
        "attrs": dict(entry.attrs) or None,
    }
    return {**_ledger_key(entry.identity), **to_item(values)}


def _stored_entry(item: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        key=item["sk"],
        part=item["sk"].split("#", 1)[0],
        rev=int(item["rev"]),
        segments=tuple(item.get("seg") or ()),
        score=None if item.get("score") is None else int(item["score"]),
        attrs={k: int(v) for k, v in (item.get("attrs") or {}).items()},
        erased=bool(item.get("erased")),
    )


def read_ledger_entries(identities: Iterable[EntryId]) -> dict[EntryId, StoredEntry]:
    """The stored revision of each ledger entry named (absent ones are left out), read consistently."""
    by_key = {(k["pk"]["S"], k["sk"]["S"]): i for i in identities for k in [_ledger_key(i)]}
    keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in by_key]
    return {by_key[(item["pk"], item["sk"])]: _stored_entry(item) for item in _batch_get(keys)}


def apply_ledger_changes(
    changes: Sequence[tuple[LedgerEntry, int | None]], deltas: Mapping[DayTallyKey, Tally]
) -> None:
    """Write ledger entries and move day tallies by `deltas`, all or nothing (one transaction).

    Each entry is written only over the revision it was read at (`None`: absent), so a delta
    computed from that read is applied exactly once. Day tallies are moved with ADD, which
    commutes: aggregators of other stream shards never conflict on them. Raises
    `LedgerConflict` when an entry moved since it was read: read again and recompute.
    """
    actions: list[dict[str, Any]] = []
    for entry, seen in changes:
        put: dict[str, Any] = {"TableName": _table(), "Item": _ledger_item(entry)}
        if seen is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "rev = :seen"
            put["ExpressionAttributeValues"] = {":seen": to_value(seen)}
        actions.append({"Put": put})
    for (tenant_id, survey_id, segment, day), delta in sorted(deltas.items()):
        names = {"#g": "g"}
        values: dict[str, Any] = {":one": to_value(1)}
        adds = ["#g :one"]
        for n, (name, count) in enumerate(sorted(_tally_attributes(delta).items())):
            names[f"#a{n}"] = name
            values[f":a{n}"] = to_value(count)
            adds.append(f"#a{n} :a{n}")
        actions.append(
            {
                "Update": {
                    "TableName": _table(),
                    "Key": {"pk": {"S": day_pk(tenant_id, survey_id, segment)}, "sk": {"S": day}},
                    "UpdateExpression": "ADD " + ", ".join(adds),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        )
    if not actions:
        return
    if len(actions) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"{len(actions)} items in one transaction (at most {MAX_TRANSACTION_ITEMS})")
    try:
        client("dynamodb").transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if error_code(exc) == "TransactionCanceledException" and _conflicted(exc):
            raise LedgerConflict(str(exc)) from exc
        raise


def _conflicted(exc: ClientError) -> bool:
    reasons = {r.get("Code") for r in exc.response.get("CancellationReasons") or []}
    if reasons:
        return bool(reasons & {"ConditionalCheckFailed", "TransactionConflict"})
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return "ConditionalCheckFailed" in message or "TransactionConflict" in message


def put_ledger_entry(entry: LedgerEntry) -> bool:
    """Store `entry` unless the ledger holds a newer revision (rebuild; day tallies follow)."""
    return _conditional(
        "put_item",
        TableName=_table(),
        Item=_ledger_item(entry),
        ConditionExpression="attribute_not_exists(pk) OR rev <= :rev",
        ExpressionAttributeValues={":rev": to_value(entry.rev)},
    )


def read_ledger_day(tenant_id: str, survey_id: str, day: str) -> list[StoredEntry]:
    """Every ledger entry of one (survey, day), read consistently."""
    return [
        _stored_entry(item)
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": to_value(ledger_pk(tenant_id, survey_id, day))},
            ConsistentRead=True,
        )
    ]


# ---- day tallies ----------------------------------------------------------------------------
# A day tally is a set of numeric attributes, so a delta is one ADD: ``i`` (invited), ``s<point>``
# (answers per score point), ``a#<point>#<attribute>`` (CSI ratings), and ``g``, a version
# that every change raises.


def day_pk(tenant_id: str, survey_id: str, segment: str) -> str:
    return f"D#{tenant_id}#{survey_id}#{segment}"


def _tally_attributes(tally: Tally) -> dict[str, int]:
    out: dict[str, int] = {}
    if tally.invited:
        out["i"] = tally.invited
    for point, n in tally.counts.items():
        if n:
            out[f"s{point}"] = n
    for key, hist in tally.attrs.items():
        for point, n in hist.items():
            if n:
                out[f"a#{point}#{key}"] = n
    return out


def _tally_from_day_item(item: Mapping[str, Any]) -> Tally:
    tally = Tally()
    for name, value in item.items():
        n = int(value) if isinstance(value, int) else 0
        if not n:
            continue
        if name == "i":
            tally.invited = n
        elif name[0] == "s" and name[1:].isdigit():
            tally.counts[int(name[1:])] = n
        elif name.startswith("a#"):
            _, point, key = name.split("#", 2)
            tally.attrs.setdefault(key, {})[int(point)] = n
    return tally


@dataclass(frozen=True)
class DayTally:
    day: str
    tally: Tally
    gen: int


def _day_tally(item: Mapping[str, Any]) -> DayTally:
    return DayTally(item["sk"], _tally_from_day_item(item), int(item.get("g", 0)))


def read_day_tallies_at(keys: Iterable[DayTallyKey]) -> dict[DayTallyKey, DayTally]:
    """The day tallies at `keys` (absent ones left out), read consistently."""
    wanted = {(day_pk(t, s, segment), day): (t, s, segment, day) for t, s, segment, day in keys}
    found = _batch_get([{"pk": {"S": pk}, "sk": {"S": day}} for pk, day in sorted(wanted)])
    return {wanted[(item["pk"], item["sk"])]: _day_tally(item) for item in found}


def read_day_tally(tenant_id: str, survey_id: str, segment: str, day: str) -> DayTally | None:
    out = client("dynamodb").get_item(
        TableName=_table(),
        Key={"pk": {"S": day_pk(tenant_id, survey_id, segment)}, "sk": {"S": day}},
        ConsistentRead=True,
    )
    item = from_item(out.get("Item"))
    return None if item is None else _day_tally(item)


def put_day_tally(
    tenant_id: str, survey_id: str, segment: str, day: str, tally: Tally, seen_gen: int | None
) -> bool:
    """Replace a day tally (rebuild) if its version is still `seen_gen` (None: absent)."""
    values = {k: to_value(v) for k, v in _tally_attributes(tally).items()}
    condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    if seen_gen is not None:
        condition = {
            "ConditionExpression": "g = :seen",
            "ExpressionAttributeValues": {":seen": to_value(seen_gen)},
        }
    return _conditional(
        "put_item",
        TableName=_table(),
        Item={
            "pk": {"S": day_pk(tenant_id, survey_id, segment)},
            "sk": {"S": day},
            "g": to_value((seen_gen or 0) + 1),
            **values,
        },
        **condition,
    )


def read_day_tallies(
    tenant_id: str,
    survey_id: str,
    segment: str,
    first_day: str | None = None,
    last_day: str | None = None,
    consistent: bool = True,
) -> list[DayTally]:
    """Day tallies of one (survey, segment), oldest first, optionally between two days."""
    condition = "pk = :p"
    values: dict[str, Any] = {":p": to_value(day_pk(tenant_id, survey_id, segment))}
    if first_day and last_day:
        condition += " AND sk BETWEEN :a AND :b"
        values[":a"] = to_value(first_day)
        values[":b"] = to_value(last_day)
    return [
        _day_tally(item)
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=consistent,
        )
    ]


# ---- summaries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSummary:
    """Daily tallies of the recent days and the total of older ones, for one (survey, segment).

    `gen` is the sum of the versions of every day tally it holds; `day_gens` the version of
    each recent day's, so a refresh can tell which of its days a newer tally replaces.
    """

    tenant_id: str
    segment: str
    as_of: str
    older: Tally
    days: dict[str, Tally]
    gen: int
    day_gens: dict[str, int] = field(default_factory=dict)


def summary_key(survey_id: str, segment: str) -> dict[str, Any]:
    return {"pk": {"S": f"SUM#{survey_id}"}, "sk": {"S": segment}}


def _compact(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value, separators=(",", ":"))}


def put_summary(
    survey_id: str, summary: StoredSummary, force: bool = False, *, seen: StoredSummary | None = None
) -> bool:
    """Write `summary` if it is newer than the stored one.

    With `seen` (a refresh of that stored summary), only if the summary is still the one read;
    otherwise, if its generation is higher (or, with `force`, not lower).
    """
    if seen is not None:
        condition = {
            "ConditionExpression": "gen = :g",
            "ExpressionAttributeValues": {":g": to_value(seen.gen)},
        }
    else:
        condition = {
            "ConditionExpression": f"attribute_not_exists(pk) OR gen {'<=' if force else '<'} :g",
            "ExpressionAttributeValues": {":g": to_value(summary.gen)},
        }
    return _conditional(
        "put_item",
        TableName=_table(),
        Item={
            **summary_key(survey_id, summary.segment),
            "tenant_id": {"S": summary.tenant_id},
            "as_of": {"S": summary.as_of},
            "older": _compact(summary.older.to_compact()),
            "days": _compact({d: t.to_compact() for d, t in sorted(summary.days.items())}),
            "dg": _compact(dict(sorted(summary.day_gens.items()))),
            "gen": to_value(summary.gen),
        },
        **condition,
    )


def summary_from_item(raw: dict[str, Any] | None) -> StoredSummary | None:
    item = from_item(raw)
    return None if item is None else _summary_from_plain(item)


def _summary_from_plain(item: dict[str, Any]) -> StoredSummary:
    return StoredSummary(
        tenant_id=item["tenant_id"],
        segment=item["sk"],
        as_of=item["as_of"],
        older=Tally.from_compact(json.loads(item["older"])),
        days={d: Tally.from_compact(t) for d, t in json.loads(item["days"]).items()},
        gen=int(item["gen"]),
        day_gens={d: int(g) for d, g in json.loads(item.get("dg") or "{}").items()},
    )


def _batch_get(keys: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Items at `keys` (absent ones left out), read consistently, 100 keys per request."""
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {_table(): {"Keys": keys[start : start + 100], "ConsistentRead": True}}
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(_table(), []):
                item = from_item(raw)
                assert item is not None
                yield item
            request = response.get("UnprocessedKeys") or {}


def read_summaries(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredSummary]:
    """(survey, segment) → its summary, for the keys that have one, read consistently."""
    wanted = [summary_key(survey_id, segment) for survey_id, segment in sorted(set(keys))]
    return {(item["pk"][4:], item["sk"]): _summary_from_plain(item) for item in _batch_get(wanted)}


def get_summary(survey_id: str, segment: str) -> StoredSummary | None:
    out = client("dynamodb").get_item(TableName=_table(), Key=summary_key(survey_id, segment))
    return summary_from_item(out.get("Item"))


def query_summaries(survey_id: str, prefix: str = "") -> list[StoredSummary]:
    """Every summary of a survey whose segment starts with `prefix` (one query, paged)."""
    condition = "pk = :p"
    values: dict[str, Any] = {":p": {"S": f"SUM#{survey_id}"}}
    if prefix:
        condition += " AND begins_with(sk, :s)"
        values[":s"] = {"S": prefix}
    items = _query_all(TableName=_table(), KeyConditionExpression=condition, ExpressionAttributeValues=values)
    return [_summary_from_plain(item) for item in items]


# ---- segment index (cardinality guard) ------------------------------------------------------


def index_key(survey_id: str, dimension: str) -> dict[str, Any]:
    return {"pk": {"S": f"IDX#{survey_id}"}, "sk": {"S": dimension}}


def index_values_from_item(raw: dict[str, Any] | None) -> set[str]:
    item = from_item(raw)
    return set(item.get("vals") or ()) if item else set()


def read_segment_index(survey_id: str) -> dict[str, set[str]]:
    """dimension → the values that have a series of their own, read consistently."""
    return {
        item["sk"]: set(item.get("vals") or ())
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"IDX#{survey_id}"}},
            ConsistentRead=True,
        )
    }


def read_segment_index_at(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """(survey, dimension) → its admitted values, for the keys that have an index item."""
    found = _batch_get([index_key(survey_id, dimension) for survey_id, dimension in sorted(set(keys))])
    return {(item["pk"][4:], item["sk"]): set(item.get("vals") or ()) for item in found}


def admit_segment_value(
    tenant_id: str, survey_id: str, dimension: str, value: str, limit: int
) -> tuple[bool, set[str]]:
    """Give `value` a series of its own if `dimension` has room (or already has it).

    One conditional UpdateItem: the set only grows and never past `limit`, so a value left
    out once is left out for good. Returns (admitted, the values now in the index).
    """
    try:
        out = client("dynamodb").update_item(
            TableName=_table(),
            Key=index_key(survey_id, dimension),
            UpdateExpression="SET tenant_id = :t ADD vals :new",
            ConditionExpression="attribute_not_exists(vals) OR size(vals) < :limit OR contains(vals, :v)",
            ExpressionAttributeValues={
                ":t": {"S": tenant_id},
                ":new": {"SS": [value]},
                ":v": {"S": value},
                ":limit": to_value(limit),
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return True, index_values_from_item(out.get("Attributes"))
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False, index_values_from_item(exc.response.get("Item"))
        raise


# ---- what a write request writes (for the write-count tests and `make bench`) ----------------

KINDS = {"L": "ledger", "D": "day tally", "SUM": "summary", "IDX": "segment index"}


def items_written(operation: str, params: Mapping[str, Any]) -> list[str]:
    """The kind of each item one DynamoDB write request writes (`KINDS`, or "other")."""
    if operation == "TransactWriteItems":
        actions = [next(iter(a.values())) for a in params.get("TransactItems", [])]
        keys = [
            a.get("Item") or a.get("Key") or {} for a in actions if "Item" in a or "UpdateExpression" in a
        ]
    elif operation == "BatchWriteItem":
        requests = [r for rs in params.get("RequestItems", {}).values() for r in rs]
        keys = [(r.get("PutRequest") or r.get("DeleteRequest") or {}).get("Item", {}) for r in requests]
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        keys = [params.get("Item") or params.get("Key") or {}]
    else:
        return []
    return [KINDS.get(str(k.get("pk", {}).get("S", "")).split("#", 1)[0], "other") for k in keys]


# ---- the whole table, for `hark verify` -------------------------------------------------------


@dataclass
class ScoresSnapshot:
    """Everything in the scores table, read by one consistent scan."""

    ledger: list[tuple[tuple[str, str, str], StoredEntry]] = field(default_factory=list)
    days: dict[tuple[str, str, str], dict[str, DayTally]] = field(default_factory=lambda: defaultdict(dict))
    summaries: dict[tuple[str, str], StoredSummary] = field(default_factory=dict)
    indexes: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))


def scan_scores(survey_id: str | None = None) -> ScoresSnapshot:
    """The scores table in one consistent scan; with `survey_id`, that survey's items only
    (a filter on the keys that name it: the scan still reads the table, but nothing else of
    another survey is parsed, rebuilt or compared)."""
    snapshot = ScoresSnapshot()
    kwargs: dict[str, Any] = {"TableName": _table(), "ConsistentRead": True}
    if survey_id is not None:
        kwargs["FilterExpression"] = "contains(pk, :mid) OR pk IN (:sum, :idx)"
        kwargs["ExpressionAttributeValues"] = {
            ":mid": {"S": f"#{survey_id}#"},
            ":sum": {"S": f"SUM#{survey_id}"},
            ":idx": {"S": f"IDX#{survey_id}"},
        }
    while True:
        out = client("dynamodb").scan(**kwargs)
        for raw in out.get("Items", []):
            item = from_item(raw)
            assert item is not None
            kind, _, rest = item["pk"].partition("#")
            if kind == "L":
                tenant_id, survey, day = rest.split("#", 2)
                if survey_id in (None, survey):
                    snapshot.ledger.append(((tenant_id, survey, day), _stored_entry(item)))
            elif kind == "D":
                tenant_id, survey, segment = rest.split("#", 2)
                if survey_id in (None, survey):
                    snapshot.days[(tenant_id, survey, segment)][item["sk"]] = _day_tally(item)
            elif kind == "SUM":
                snapshot.summaries[(rest, item["sk"])] = _summary_from_plain(item)
            elif kind == "IDX":
                snapshot.indexes[rest][item["sk"]] = set(item.get("vals") or ())
        if "LastEvaluatedKey" not in out:
            return snapshot
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
