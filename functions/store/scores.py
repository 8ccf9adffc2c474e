"""The scores table: the ledger, daily tallies per segment, and rolling summaries.

Items (pk / sk):
- ``L#<tenant>#<survey>#<day>`` / ``<I|R>#<code>`` — ledger entries (see domain/ledger.py);
- ``D#<tenant>#<survey>#<segment>`` / ``<day>`` — the tally of one (survey, segment, day);
- ``SUM#<survey>`` / ``<segment>`` — the summary: daily tallies of the last 365 days plus the
  total of everything older, so any window ending today is computed from one item;
- ``IDX#<survey>`` / ``<dimension>`` — the segment index: the values of a touchpoint or property
  key that have a series of their own (a string set that only grows, up to the limit).

Day tallies and summaries carry a generation and are written only over an older generation,
so concurrent aggregators never replace a newer result with an older one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.domain.ledger import LedgerEntry, StoredEntry
from functions.domain.scoring import Tally
from functions.settings import get_settings
from functions.store.clients import client
from functions.store.items import error_code, from_item, to_value


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


def ledger_pk(tenant_id: str, survey_id: str, day: str) -> str:
    return f"L#{tenant_id}#{survey_id}#{day}"


def put_ledger_entry(entry: LedgerEntry, *, force: bool = False) -> bool:
    """Store `entry` unless the ledger already holds this revision or a newer one.

    With `force` (rebuild), an entry at the same revision is overwritten too.
    """
    names = {"#rev": "rev", "#seg": "seg", "#ever": "seg_ever", "#del": "erased"}
    values: dict[str, Any] = {
        ":rev": to_value(entry.rev),
        ":seg": to_value(list(entry.segments)),
        ":segset": {"SS": sorted(set(entry.segments))},
        ":del": {"BOOL": entry.erased},
    }
    sets = ["#rev = :rev", "#seg = :seg", "#del = :del"]
    removes = []
    names["#score"] = "score"
    names["#attrs"] = "attrs"
    if entry.score is not None:
        sets.append("#score = :score")
        values[":score"] = to_value(entry.score)
    else:
        removes.append("#score")
    if entry.attrs:
        sets.append("#attrs = :attrs")
        values[":attrs"] = to_value(dict(entry.attrs))
    else:
        removes.append("#attrs")
    update = "SET " + ", ".join(sets) + " ADD #ever :segset"
    if removes:
        update += " REMOVE " + ", ".join(removes)
    return _conditional(
        "update_item",
        TableName=_table(),
        Key={
            "pk": {"S": ledger_pk(entry.tenant_id, entry.survey_id, entry.day)},
            "sk": {"S": f"{entry.part}#{entry.code}"},
        },
        UpdateExpression=update,
        ConditionExpression=f"attribute_not_exists(pk) OR #rev {'<=' if force else '<'} :rev",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def _stored_entry(item: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        key=item["sk"],
        part=item["sk"].split("#", 1)[0],
        rev=int(item["rev"]),
        segments=tuple(item.get("seg") or ()),
        segments_ever=frozenset(item.get("seg_ever") or ()),
        score=None if item.get("score") is None else int(item["score"]),
        attrs={k: int(v) for k, v in (item.get("attrs") or {}).items()},
        erased=bool(item.get("erased")),
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


def day_pk(tenant_id: str, survey_id: str, segment: str) -> str:
    return f"D#{tenant_id}#{survey_id}#{segment}"


def put_day_tally(
    tenant_id: str, survey_id: str, segment: str, day: str, tally: Tally, gen: int, force: bool = False
) -> bool:
    return _conditional(
        "put_item",
        TableName=_table(),
        Item={
            "pk": {"S": day_pk(tenant_id, survey_id, segment)},
            "sk": {"S": day},
            "t": {"S": json.dumps(tally.to_compact(), separators=(",", ":"))},
            "gen": to_value(gen),
        },
        ConditionExpression=f"attribute_not_exists(pk) OR gen {'<=' if force else '<'} :g",
        ExpressionAttributeValues={":g": to_value(gen)},
    )


@dataclass(frozen=True)
class DayTally:
    day: str
    tally: Tally
    gen: int


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
        DayTally(item["sk"], Tally.from_compact(json.loads(item["t"])), int(item["gen"]))
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
    tenant_id: str
    segment: str
    as_of: str
    older: Tally
    days: dict[str, Tally]
    gen: int


def summary_key(survey_id: str, segment: str) -> dict[str, Any]:
    return {"pk": {"S": f"SUM#{survey_id}"}, "sk": {"S": segment}}


def put_summary(survey_id: str, summary: StoredSummary, force: bool = False) -> bool:
    return _conditional(
        "put_item",
        TableName=_table(),
        Item={
            **summary_key(survey_id, summary.segment),
            "tenant_id": {"S": summary.tenant_id},
            "as_of": {"S": summary.as_of},
            "older": {"S": json.dumps(summary.older.to_compact(), separators=(",", ":"))},
            "days": {
                "S": json.dumps(
                    {d: t.to_compact() for d, t in sorted(summary.days.items())},
                    separators=(",", ":"),
                )
            },
            "gen": to_value(summary.gen),
        },
        ConditionExpression=f"attribute_not_exists(pk) OR gen {'<=' if force else '<'} :g",
        ExpressionAttributeValues={":g": to_value(summary.gen)},
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
    )


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


# ---- the whole table, for `hark verify` -------------------------------------------------------


@dataclass
class ScoresSnapshot:
    """Everything in the scores table, read by one consistent scan."""

    ledger: list[tuple[tuple[str, str, str], StoredEntry]] = field(default_factory=list)
    days: dict[tuple[str, str, str], dict[str, Tally]] = field(default_factory=lambda: defaultdict(dict))
    summaries: dict[tuple[str, str], StoredSummary] = field(default_factory=dict)
    indexes: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))


def scan_scores() -> ScoresSnapshot:
    snapshot = ScoresSnapshot()
    kwargs: dict[str, Any] = {"TableName": _table(), "ConsistentRead": True}
    while True:
        out = client("dynamodb").scan(**kwargs)
        for raw in out.get("Items", []):
            item = from_item(raw)
            assert item is not None
            kind, _, rest = item["pk"].partition("#")
            if kind == "L":
                tenant_id, survey_id, day = rest.split("#", 2)
                snapshot.ledger.append(((tenant_id, survey_id, day), _stored_entry(item)))
            elif kind == "D":
                tenant_id, survey_id, segment = rest.split("#", 2)
                snapshot.days[(tenant_id, survey_id, segment)][item["sk"]] = Tally.from_compact(
                    json.loads(item["t"])
                )
            elif kind == "SUM":
                snapshot.summaries[(rest, item["sk"])] = _summary_from_plain(item)
            elif kind == "IDX":
                snapshot.indexes[rest][item["sk"]] = set(item.get("vals") or ())
        if "LastEvaluatedKey" not in out:
            return snapshot
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
