"""The scores table: the ledger, and tallies per segment by day, by month and in total.

Items (pk / sk):
- ``L#<tenant>#<survey>#<day>#<bucket>`` / ``<I|R|F>#<code>`` — ledger entries (see
  domain/ledger.py), spread over 64 keys a day by a hash of the code;
- ``P#<survey>#<bucket>`` / ``<tx>#<day>#<segment>`` — pending deltas: the change one
  transaction of ledger entries makes to one day tally, written in that transaction (stage 1,
  the aggregator of one stream shard) and applied then deleted by the survey's one tally writer
  (stage 2), so the aggregators of many shards never write a shared item (docs/scale.md);
- ``D#<tenant>#<survey>#<segment>`` / ``<day>`` — the tally of one (survey, segment, day);
- ``M#<tenant>#<survey>#<segment>`` / ``<YYYY-MM>`` — the tally of one (survey, segment, month);
- ``T#<survey>`` / ``<segment>`` — the all-time total of one (survey, segment), with its tenant;
  all three moved by ADD in the tally writer's transaction that deletes the pending deltas. A
  window is read as the signed sum of a few day and month tallies (domain/windows.py
  `span_parts`), so no item grows with the history (docs/scale.md);
- ``IDX#<survey>`` / ``<dimension>`` — the segment index: the values of a touchpoint or property
  key that have a series of their own (a string set that only grows, up to the limit).

Tallies carry a version (``g``) that every change raises, so a rebuild replaces one only at
the version it read (a concurrent aggregator's change makes it read again). Items
``SUM#<survey>`` / ``<segment>`` are summaries of an older layout; `hark rebuild` deletes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from functions.domain.codes import new_code, spread
from functions.domain.ledger import LedgerEntry, LoopMark, StoredEntry
from functions.domain.scoring import Tally
from functions.domain.windows import span_parts, window_span
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_item, to_value


def _table() -> str:
    return get_settings().scores_table


def _conditional(call: str, **kwargs: Any) -> bool:
    """Run a conditional write; False when its condition said the write is stale."""
    return dynamo.conditional(call, **kwargs)


def _query_all(**kwargs: Any) -> Iterator[dict[str, Any]]:
    return dynamo.items(kwargs)


# ---- ledger ---------------------------------------------------------------------------------

EntryId = tuple[str, str, str, str, str]  # tenant, survey, day, part, code
DayTallyKey = tuple[str, str, str, str]  # tenant, survey, segment, day
DayKeyT = tuple[str, str, str]  # tenant, survey, day

# DynamoDB's limit on the items one TransactWriteItems may write.
MAX_TRANSACTION_ITEMS = 100


class LedgerConflict(Exception):
    """A ledger entry changed since it was read, or another transaction held an item."""


# A hot survey's ledger is spread over this many keys per day (by a hash of the answer's code),
# so no key takes more than a third of a partition's write units at 10,000 answers/s
# (docs/scale.md). Entries written before keys were spread live under the day's single key
# (`legacy_ledger_pk`): reads look there too, and `hark rebuild` moves them.
LEDGER_BUCKETS = 64
# Pending deltas (stage 1 → stage 2) of one survey, spread over this many keys by transaction.
PENDING_BUCKETS = 16


def ledger_pk(tenant_id: str, survey_id: str, day: str, code: str) -> str:
    return _bucket_pk(tenant_id, survey_id, day, spread(code, LEDGER_BUCKETS))


def _bucket_pk(tenant_id: str, survey_id: str, day: str, bucket: int) -> str:
    return f"L#{tenant_id}#{survey_id}#{day}#{bucket}"


def legacy_ledger_pk(tenant_id: str, survey_id: str, day: str) -> str:
    return f"L#{tenant_id}#{survey_id}#{day}"


def _ledger_key(identity: EntryId, pk: str | None = None) -> dict[str, Any]:
    tenant_id, survey_id, day, part, code = identity
    return {"pk": {"S": pk or ledger_pk(tenant_id, survey_id, day, code)}, "sk": {"S": f"{part}#{code}"}}


@dataclass(frozen=True)
class HeldEntry:
    """A ledger entry as stored: its value, the key it lives under (its bucket, or the older
    single key of its day) and the transaction that last wrote it (whose pending deltas carry
    its change to the tallies)."""

    entry: StoredEntry
    pk: str
    tx: str | None = None


def _entry_attributes(entry: LedgerEntry | StoredEntry, tx: str | None) -> dict[str, Any]:
    return to_item(
        {
            "tx": tx,
            "rev": entry.rev,
            "seg": list(entry.segments),
            "erased": entry.erased,
            "score": entry.score,
            "attrs": dict(entry.attrs) or None,
            "fu": None if entry.loop is None else entry.loop.to_plain(),
            "picks": list(entry.picks) or None,
        }
    )


def _ledger_item(entry: LedgerEntry, pk: str | None = None, tx: str | None = None) -> dict[str, Any]:
    return {**_ledger_key(entry.identity, pk), **_entry_attributes(entry, tx)}


def _stored_entry(item: dict[str, Any]) -> StoredEntry:
    return StoredEntry(
        key=item["sk"],
        part=item["sk"].split("#", 1)[0],
        rev=int(item["rev"]),
        segments=tuple(item.get("seg") or ()),
        score=None if item.get("score") is None else int(item["score"]),
        attrs={k: int(v) for k, v in (item.get("attrs") or {}).items()},
        erased=bool(item.get("erased")),
        loop=LoopMark.from_plain(item.get("fu")),
        picks=tuple(str(p) for p in item.get("picks") or ()),
    )


def _keep_newer(newest: dict[Any, HeldEntry], key: Any, held: HeldEntry) -> None:
    """Keep `held` under `key` unless a newer revision is there: an entry found under both its
    day's older key and its bucket counts once, at its newer revision."""
    seen = newest.get(key)
    if seen is None or held.entry.rev > seen.entry.rev:
        newest[key] = held


def read_held_entries(identities: Iterable[EntryId]) -> dict[EntryId, HeldEntry]:
    """The stored revision of each ledger entry named (absent ones are left out), read
    consistently: each under its bucket and under its day's older single key (one BatchGetItem
    per 50 entries)."""
    wanted: dict[tuple[str, str], EntryId] = {}
    for identity in set(identities):
        tenant_id, survey_id, day, part, code = identity
        for pk in (ledger_pk(tenant_id, survey_id, day, code), legacy_ledger_pk(tenant_id, survey_id, day)):
            wanted[(pk, f"{part}#{code}")] = identity
    found: dict[EntryId, HeldEntry] = {}
    keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in sorted(wanted)]
    for item in _batch_get(keys):
        _keep_newer(
            found,
            wanted[(item["pk"], item["sk"])],
            HeldEntry(_stored_entry(item), item["pk"], item.get("tx")),
        )
    return found


def read_ledger_entries(identities: Iterable[EntryId]) -> dict[EntryId, StoredEntry]:
    """The stored revision of each ledger entry named (absent ones are left out), read consistently."""
    return {identity: held.entry for identity, held in read_held_entries(identities).items()}


@dataclass(frozen=True)
class PendingDelta:
    """One (survey, segment, day)'s change from one transaction, waiting for the tally writer."""

    pk: str
    sk: str
    tenant_id: str
    survey_id: str
    segment: str
    day: str
    delta: Tally
    at: int = 0  # when the aggregator wrote it (epoch seconds; 0 when read from a message)

    @property
    def day_key(self) -> DayTallyKey:
        return (self.tenant_id, self.survey_id, self.segment, self.day)

    @property
    def tx(self) -> str:
        """The transaction that wrote it (the first part of its sort key)."""
        return self.sk.split("#", 1)[0]


def _pending_pk(survey_id: str, tx: str) -> str:
    return f"P#{survey_id}#{spread(tx, PENDING_BUCKETS)}"


@dataclass(frozen=True)
class PendingRef:
    """What a message to the tally writer names: one transaction's pending deltas of a survey
    (``P#<survey>#<bucket>`` / ``<tx>#…``), and, fresh from the aggregator, the deltas
    themselves, so the writer reads nothing (a replay names only the transaction)."""

    survey_id: str
    tx: str
    deltas: tuple[PendingDelta, ...] = field(default=(), compare=False)

    @property
    def pk(self) -> str:
        return _pending_pk(self.survey_id, self.tx)

    def to_message(self) -> dict[str, Any]:
        body: dict[str, Any] = {"s": self.survey_id, "tx": self.tx}
        if self.deltas:
            body["d"] = [[p.sk, p.tenant_id, p.segment, p.day, p.delta.to_compact()] for p in self.deltas]
        return body

    @classmethod
    def from_message(cls, body: Mapping[str, Any]) -> PendingRef:
        survey_id, tx = body.get("s"), body.get("tx")
        if not isinstance(survey_id, str) or not isinstance(tx, str) or not survey_id or not tx:
            raise ValueError("a tally-writer message names a survey (s) and a transaction (tx)")
        pk = _pending_pk(survey_id, tx)
        deltas = tuple(
            PendingDelta(
                pk, str(sk), str(tenant), survey_id, str(segment), str(day), Tally.from_compact(compact)
            )
            for sk, tenant, segment, day, compact in body.get("d") or ()
        )
        return cls(survey_id, tx, deltas)


def _pending_item(delta: PendingDelta) -> dict[str, Any]:
    return {
        "pk": {"S": delta.pk},
        "sk": {"S": delta.sk},
        "tenant_id": {"S": delta.tenant_id},
        "seg": {"S": delta.segment},
        "day": {"S": delta.day},
        "at": to_value(delta.at),
        "d": {"M": {k: to_value(v) for k, v in _tally_attributes(delta.delta).items()}},
    }


def _pending_delta(item: Mapping[str, Any]) -> PendingDelta:
    survey_id = item["pk"].split("#")[1]
    return PendingDelta(
        pk=item["pk"],
        sk=item["sk"],
        tenant_id=item["tenant_id"],
        survey_id=survey_id,
        segment=item["seg"],
        day=item["day"],
        delta=_tally_from_day_item(item.get("d") or {}),
        at=int(item.get("at") or 0),
    )


def apply_ledger_changes(
    changes: Sequence[tuple[LedgerEntry, HeldEntry | None]],
    deltas: Mapping[DayTallyKey, Tally],
    at: int = 0,
    queued: set[str] | None = None,
) -> list[PendingRef]:
    """Write ledger entries and the tally changes they make as pending deltas, all or nothing
    (one transaction); the pending deltas' names, one per survey, for the tally writer. The
    changes of a survey not in `queued` (None: every survey is) move its tallies directly
    instead: an ADD per day tally, month tally and total, in the same transaction.

    Each entry is written only over the revision it was read at (absent: not there), under the
    key it was found at, so a delta computed from that read is recorded exactly once. For a
    queued survey the transaction touches only the entries' own items and new pending items,
    never a shared tally, so aggregators of different stream shards do not conflict
    (docs/scale.md). Raises `LedgerConflict` when an entry moved since it was read, or another
    transaction held a tally: read again and recompute.
    """
    tx = new_code(16)
    refs = {
        survey: PendingRef(survey, tx) for _, survey, _, _ in deltas if queued is None or survey in queued
    }
    pending: dict[str, list[PendingDelta]] = defaultdict(list)
    actions: list[dict[str, Any]] = []
    for entry, seen in changes:
        put: dict[str, Any] = {
            "TableName": _table(),
            "Item": _ledger_item(
                entry, None if seen is None else seen.pk, tx if entry.survey_id in refs else None
            ),
        }
        if seen is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "rev = :seen"
            put["ExpressionAttributeValues"] = {":seen": to_value(seen.entry.rev)}
        actions.append({"Put": put})
    direct: dict[DayTallyKey, Tally] = {}
    for key, change in sorted(deltas.items()):
        tenant_id, survey_id, segment, day = key
        if survey_id not in refs:
            direct[key] = change
            continue
        ref = refs[survey_id]
        delta = PendingDelta(ref.pk, f"{tx}#{day}#{segment}", tenant_id, survey_id, segment, day, change, at)
        actions.append({"Put": {"TableName": _table(), "Item": _pending_item(delta)}})
        pending[survey_id].append(delta)
    for tally_item, moved in sorted(rollup_deltas(direct).items()):
        actions.append({"Update": _add_action(tally_item, moved)})
    if not actions:
        return []
    if len(actions) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"{len(actions)} items in one transaction (at most {MAX_TRANSACTION_ITEMS})")
    _transact(actions)
    return [PendingRef(survey, tx, tuple(pending[survey])) for survey in sorted(refs)]


def _transact(actions: list[dict[str, Any]]) -> None:
    try:
        dynamo.request("transact_write_items", TransactItems=actions)
    except dynamo.TransactionCancelled as exc:
        if _conflicted(exc):
            raise LedgerConflict(str(exc)) from exc
        raise


def read_pending(ref: PendingRef) -> list[PendingDelta]:
    """The pending deltas of one transaction for one survey (gone once applied), read consistently."""
    return [
        _pending_delta(item)
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p AND begins_with(sk, :tx)",
            ExpressionAttributeValues={":p": {"S": ref.pk}, ":tx": {"S": f"{ref.tx}#"}},
            ConsistentRead=True,
        )
    ]


def _query_keys(pks: Sequence[str], **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
    """(pk, item) of every item under each partition key, read consistently: a Query (all its
    pages) per key, 16 at a time. `kwargs` may add a filter: its values go beside ``:p``."""
    values = kwargs.pop("ExpressionAttributeValues", {})

    def one(pk: str) -> list[tuple[str, dict[str, Any]]]:
        found = _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": pk}, **values},
            ConsistentRead=True,
            **kwargs,
        )
        return [(pk, item) for item in found]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [pair for found in pool.map(one, pks) for pair in found]


def read_pending_day(tenant_id: str, survey_id: str, day: str) -> list[PendingDelta]:
    """Every pending delta of one (survey, day): a Query per bucket, in parallel."""
    return [
        _pending_delta(item)
        for _, item in _query_keys(
            [f"P#{survey_id}#{n}" for n in range(PENDING_BUCKETS)],
            FilterExpression="#d = :d AND tenant_id = :t",
            ExpressionAttributeNames={"#d": "day"},
            ExpressionAttributeValues={":d": {"S": day}, ":t": {"S": tenant_id}},
        )
    ]


def apply_pending(pending: Sequence[PendingDelta]) -> None:
    """Move the tallies by `pending` and delete those pending deltas, all or nothing (one
    transaction: one ADD per day tally, month tally and total touched, one conditional Delete
    per delta). A delta already applied is gone, so its Delete's condition cancels the
    transaction (`LedgerConflict`): read the pending deltas again and apply what is left."""
    deltas: dict[DayTallyKey, Tally] = defaultdict(Tally)
    for p in pending:
        deltas[p.day_key].merge(p.delta)
    actions: list[dict[str, Any]] = [
        {"Update": _add_action(key, delta)} for key, delta in sorted(rollup_deltas(deltas).items())
    ]
    for p in pending:
        actions.append(
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": {"pk": {"S": p.pk}, "sk": {"S": p.sk}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )
    if len(actions) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"{len(actions)} items in one transaction (at most {MAX_TRANSACTION_ITEMS})")
    if pending:
        _transact(actions)


def _conflicted(exc: dynamo.TransactionCancelled) -> bool:
    """Refused because an item moved or another transaction held one (read again and retry)."""
    if exc.reasons:
        return bool(set(exc.reasons) & {"ConditionalCheckFailed", "TransactionConflict"})
    # Some emulators name the reasons only in the message.
    return "ConditionalCheckFailed" in exc.detail or "TransactionConflict" in exc.detail


def put_ledger_entry(entry: LedgerEntry) -> bool:
    """Store `entry` unless the ledger holds a newer revision (rebuild; day tallies follow)."""
    return _conditional(
        "put_item",
        TableName=_table(),
        Item=_ledger_item(entry),
        ConditionExpression="attribute_not_exists(pk) OR rev <= :rev",
        ExpressionAttributeValues={":rev": to_value(entry.rev)},
    )


def _ledger_keys_of_day(tenant_id: str, survey_id: str, day: str) -> list[str]:
    buckets = [_bucket_pk(tenant_id, survey_id, day, n) for n in range(LEDGER_BUCKETS)]
    return [*buckets, legacy_ledger_pk(tenant_id, survey_id, day)]


def read_held_day(tenant_id: str, survey_id: str, day: str) -> list[HeldEntry]:
    """Every ledger entry of one (survey, day), read consistently: a Query per bucket and one of
    the day's older single key, in parallel; an entry found under both keys counts once, at its
    newer revision."""

    newest: dict[str, HeldEntry] = {}
    for pk, item in _query_keys(_ledger_keys_of_day(tenant_id, survey_id, day)):
        held = HeldEntry(_stored_entry(item), pk, item.get("tx"))
        _keep_newer(newest, held.entry.key, held)
    return [newest[key] for key in sorted(newest)]


def read_ledger_day(tenant_id: str, survey_id: str, day: str) -> list[StoredEntry]:
    """Every ledger entry of one (survey, day), read consistently."""
    return [held.entry for held in read_held_day(tenant_id, survey_id, day)]


def move_legacy_entry(tenant_id: str, survey_id: str, day: str, held: HeldEntry) -> bool:
    """Move an entry from its day's older single key to its bucket (rebuild), at the revision
    read; a copy the bucket already holds at that revision or a newer one only loses the older
    key. False when the entry moved meanwhile (the next rebuild moves it)."""
    part, _, code = held.entry.key.partition("#")
    identity = (tenant_id, survey_id, day, part, code)
    at_revision = {":r": to_value(held.entry.rev)}
    old_key = _ledger_key(identity, held.pk)
    drop_old = {
        "Delete": {
            "TableName": _table(),
            "Key": old_key,
            "ConditionExpression": "rev = :r",
            "ExpressionAttributeValues": at_revision,
        }
    }
    try:
        _transact(
            [
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": {**_ledger_key(identity), **_entry_attributes(held.entry, held.tx)},
                        "ConditionExpression": "attribute_not_exists(pk) OR rev < :r",
                        "ExpressionAttributeValues": at_revision,
                    }
                },
                drop_old,
            ]
        )
        return True
    except LedgerConflict:
        pass
    # Refused: the bucket may hold the entry already, or another transaction held an item (then
    # the bucket may hold nothing). Only a bucket copy at this revision or a newer one lets the
    # older key go.
    try:
        _transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": _table(),
                        "Key": _ledger_key(identity),
                        "ConditionExpression": "rev >= :r",
                        "ExpressionAttributeValues": at_revision,
                    }
                },
                drop_old,
            ]
        )
    except LedgerConflict:
        return False
    return True


# ---- day tallies ----------------------------------------------------------------------------
# A day tally is a set of numeric attributes, so a delta is one ADD: ``i`` (invited), ``s<point>``
# (answers per score point), ``a#<point>#<attribute>`` (CSI ratings), ``q#<question>#<value>``
# (additional questions' choices, by position: a few bytes each), and ``g``, a version that
# every change raises.


def day_pk(tenant_id: str, survey_id: str, segment: str) -> str:
    return f"D#{tenant_id}#{survey_id}#{segment}"


def month_pk(tenant_id: str, survey_id: str, segment: str) -> str:
    return f"M#{tenant_id}#{survey_id}#{segment}"


def total_key(survey_id: str, segment: str) -> dict[str, Any]:
    return {"pk": {"S": f"T#{survey_id}"}, "sk": {"S": segment}}


# What one transaction ADDs to: ("D", tenant, survey, segment, day), ("M", …, month) or
# ("T", tenant, survey, segment, "").
TallyItem = tuple[str, str, str, str, str]


def tally_items(key: DayTallyKey) -> tuple[TallyItem, TallyItem, TallyItem]:
    """The day tally, month tally and total one day's change moves."""
    tenant_id, survey_id, segment, day = key
    return (
        ("D", tenant_id, survey_id, segment, day),
        ("M", tenant_id, survey_id, segment, day[:7]),
        ("T", tenant_id, survey_id, segment, ""),
    )


def rollup_deltas(deltas: Mapping[DayTallyKey, Tally]) -> dict[TallyItem, Tally]:
    """Day deltas with the month and total deltas they make, one per item."""
    out: dict[TallyItem, Tally] = defaultdict(Tally)
    for key, delta in deltas.items():
        for item in tally_items(key):
            out[item].merge(delta)
    return dict(out)


def _item_key(item: TallyItem) -> dict[str, Any]:
    kind, tenant_id, survey_id, segment, period = item
    if kind == "D":
        return {"pk": {"S": day_pk(tenant_id, survey_id, segment)}, "sk": {"S": period}}
    if kind == "M":
        return {"pk": {"S": month_pk(tenant_id, survey_id, segment)}, "sk": {"S": period}}
    return total_key(survey_id, segment)


def _add_action(item: TallyItem, delta: Tally) -> dict[str, Any]:
    names = {"#g": "g"}
    values: dict[str, Any] = {":one": to_value(1)}
    adds = ["#g :one"]
    for n, (name, count) in enumerate(sorted(_tally_attributes(delta).items())):
        names[f"#a{n}"] = name
        values[f":a{n}"] = to_value(count)
        adds.append(f"#a{n} :a{n}")
    expression = "ADD " + ", ".join(adds)
    if item[0] == "T":
        names["#t"] = "tenant_id"
        values[":t"] = {"S": item[1]}
        expression = "SET #t = :t " + expression
    return {
        "TableName": _table(),
        "Key": _item_key(item),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


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
    # Follow-ups (docs/follow-ups.md): opened, closed, closed within the deadline, and closes
    # per hours-to-close bucket.
    for name, n in (("fo", tally.fu_opened), ("fc", tally.fu_closed), ("fw", tally.fu_within)):
        if n:
            out[name] = n
    for bucket, n in tally.fu_hours.items():
        if n:
            out[f"fh{bucket}"] = n
    out.update(_pick_attributes(tally))
    return out


def _pick_attributes(tally: Tally) -> dict[str, int]:
    """Additional questions' choices as tally attributes (``q#<question>#<value>``)."""
    return {f"q#{pick}": n for pick, n in tally.picks.items() if n}


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
        elif name == "fo":
            tally.fu_opened = n
        elif name == "fc":
            tally.fu_closed = n
        elif name == "fw":
            tally.fu_within = n
        elif name.startswith("fh") and name[2:].isdigit():
            tally.fu_hours[int(name[2:])] = n
        elif name.startswith("q#"):
            tally.picks[name[2:]] = n
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
    out = dynamo.request(
        "get_item",
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


# ---- summaries: totals, and the day and month tallies of windows ------------------------------


@dataclass(frozen=True)
class StoredSummary:
    """One (survey, segment): its all-time total, and the day and month tallies read so far.

    `parts` maps a period (``YYYY-MM-DD`` or ``YYYY-MM``) to its tally (empty when absent);
    `window` and `span` need the parts `span_parts` names, read by `load_parts`.
    """

    tenant_id: str
    segment: str
    total: Tally
    gen: int = 0
    parts: Mapping[str, Tally] = field(default_factory=dict)

    def span(self, first: date, last: date) -> Tally:
        """The tally of the days `first`..`last` (their parts must have been read)."""
        out = Tally()
        for period, sign in span_parts(first, last):
            out.merge(self.parts[period], sign)
        return out

    def window(self, window: str, today: date) -> Tally:
        """The tally of a rolling window ending `today` (`all`: the total)."""
        span = window_span(window, today)
        if span is None:
            out = Tally()
            out.merge(self.total)
            return out
        return self.span(*span)

    def missing(self, first: date, last: date) -> list[str]:
        return [period for period, _ in span_parts(first, last) if period not in self.parts]


def summary_key(survey_id: str, segment: str) -> dict[str, Any]:
    """The key of a segment's total (what a score read fetches with the API key and survey)."""
    return total_key(survey_id, segment)


def summary_from_item(raw: dict[str, Any] | None) -> StoredSummary | None:
    item = from_item(raw)
    return None if item is None else _summary_from_plain(item)


def _summary_from_plain(item: dict[str, Any]) -> StoredSummary:
    return StoredSummary(
        tenant_id=str(item.get("tenant_id", "")),
        segment=item["sk"],
        total=_tally_from_day_item(item),
        gen=int(item.get("g", 0)),
    )


def _part_key(summary: StoredSummary, survey_id: str, period: str) -> tuple[str, str]:
    pk = day_pk if len(period) == len("YYYY-MM-DD") else month_pk
    return pk(summary.tenant_id, survey_id, summary.segment), period


def load_parts(
    wanted: Sequence[tuple[str, StoredSummary, date, date]],
) -> dict[tuple[str, str], StoredSummary]:
    """Read the day and month tallies that spans of these summaries need.

    `wanted` holds (survey, summary, first day, last day); the answer maps (survey, segment)
    to the summary with those parts. One BatchGetItem per 100 tallies, eventually consistent
    (a score read, like a trend, may lag a just-committed batch by a moment).
    """
    held: dict[tuple[str, str], StoredSummary] = {}
    keys: dict[tuple[str, str], tuple[tuple[str, str], str]] = {}
    for survey_id, summary, first, last in wanted:
        at = (survey_id, summary.segment)
        held.setdefault(at, summary)
        for period in held[at].missing(first, last):
            keys[_part_key(summary, survey_id, period)] = (at, period)
    found: dict[tuple[str, str], dict[str, Tally]] = defaultdict(dict)
    for at, period in keys.values():
        found[at][period] = Tally()
    request = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in sorted(keys)]
    for item in _batch_get(request, consistent=False):
        at, period = keys[(item["pk"], item["sk"])]
        found[at][period] = _tally_from_day_item(item)
    return {at: replace(s, parts={**s.parts, **found.get(at, {})}) for at, s in held.items()}


def with_parts(survey_id: str, summary: StoredSummary, first: date, last: date) -> StoredSummary:
    """`summary` with the parts of one span (read if missing)."""
    if not summary.missing(first, last):
        return summary
    return load_parts([(survey_id, summary, first, last)])[(survey_id, summary.segment)]


def window_part_keys(
    tenant_id: str, survey_id: str, segment: str, first: date, last: date
) -> dict[tuple[str, str], str]:
    """(pk, sk) of each day or month tally a span of one (survey, segment) is summed from, with
    its period: for a read that packs them with other keys (logic.insight's roll-up)."""
    out: dict[tuple[str, str], str] = {}
    for period, _ in span_parts(first, last):
        pk = day_pk if len(period) == len("YYYY-MM-DD") else month_pk
        out[(pk(tenant_id, survey_id, segment), period)] = period
    return out


def tally_from_item(raw: dict[str, Any]) -> Tally:
    """The tally a day or month tally item holds (low-level attribute values)."""
    item = from_item(raw)
    return Tally() if item is None else _tally_from_day_item(item)


def _batch_get(keys: list[dict[str, Any]], consistent: bool = True) -> Iterator[dict[str, Any]]:
    """Items at `keys` (absent ones left out), read consistently, 100 keys per request."""
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            _table(): {"Keys": keys[start : start + 100], "ConsistentRead": consistent}
        }
        while request:
            response = dynamo.request("batch_get_item", RequestItems=request)
            for raw in response.get("Responses", {}).get(_table(), []):
                item = from_item(raw)
                assert item is not None
                yield item
            request = response.get("UnprocessedKeys") or {}


def get_summary(survey_id: str, segment: str) -> StoredSummary | None:
    out = dynamo.request("get_item", TableName=_table(), Key=summary_key(survey_id, segment))
    return summary_from_item(out.get("Item"))


def query_summaries(survey_id: str, prefix: str = "") -> list[StoredSummary]:
    """Every segment total of a survey whose segment starts with `prefix` (one query, paged)."""
    condition = "pk = :p"
    values: dict[str, Any] = {":p": {"S": f"T#{survey_id}"}}
    if prefix:
        condition += " AND begins_with(sk, :s)"
        values[":s"] = {"S": prefix}
    items = _query_all(TableName=_table(), KeyConditionExpression=condition, ExpressionAttributeValues=values)
    return [_summary_from_plain(item) for item in items]


# ---- rebuild: months and totals replaced from the day tallies --------------------------------


def read_month_tallies(tenant_id: str, survey_id: str, segment: str) -> list[DayTally]:
    """The month tallies of one (survey, segment) (``day`` holds the month), read consistently."""
    return [
        _day_tally(item)
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": to_value(month_pk(tenant_id, survey_id, segment))},
            ConsistentRead=True,
        )
    ]


def read_total(survey_id: str, segment: str) -> StoredSummary | None:
    out = dynamo.request(
        "get_item", TableName=_table(), Key=summary_key(survey_id, segment), ConsistentRead=True
    )
    return summary_from_item(out.get("Item"))


def put_rollup(
    tenant_id: str, survey_id: str, segment: str, month: str | None, tally: Tally, seen_gen: int | None
) -> bool:
    """Replace a month tally (`month`) or the total (None) if its version is still `seen_gen`."""
    item = (
        ("T", tenant_id, survey_id, segment, "")
        if month is None
        else ("M", tenant_id, survey_id, segment, month)
    )
    condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    if seen_gen is not None:
        condition = {
            "ConditionExpression": "g = :seen",
            "ExpressionAttributeValues": {":seen": to_value(seen_gen)},
        }
    extra = {"tenant_id": {"S": tenant_id}} if month is None else {}
    values = {k: to_value(v) for k, v in _tally_attributes(tally).items()}
    return _conditional(
        "put_item",
        TableName=_table(),
        Item={**_item_key(item), "g": to_value((seen_gen or 0) + 1), **extra, **values},
        **condition,
    )


def delete_legacy_summary(survey_id: str, segment: str) -> None:
    """Delete a summary item of the older layout (``SUM#<survey>``, which grew with history)."""
    dynamo.request(
        "delete_item", TableName=_table(), Key={"pk": {"S": f"SUM#{survey_id}"}, "sk": {"S": segment}}
    )


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
        out = dynamo.request(
            "update_item",
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
    except dynamo.ConditionFailed as exc:
        return False, index_values_from_item(exc.item)


# ---- what a write request writes (for the write-count tests and `make bench`) ----------------

KINDS = {
    "L": "ledger",
    "P": "pending delta",
    "D": "day tally",
    "M": "month tally",
    "T": "total",
    "SUM": "summary",
    "IDX": "segment index",
}


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


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB bills it (attribute names + values, in bytes; low-level form)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def written_items(
    operation: str, params: Mapping[str, Any]
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(key, the whole item when the request carries it) of each item a write request writes."""
    if operation == "TransactWriteItems":
        actions = [next(iter(a.values())) for a in params.get("TransactItems", [])]
        out = [
            (a["Item"], a["Item"]) if "Item" in a else (a["Key"], None)
            for a in actions
            if "Item" in a or "UpdateExpression" in a
        ]
    elif operation == "PutItem":
        out = [(params["Item"], params["Item"])]
    elif operation == "UpdateItem":
        out = [(params["Key"], None)]
    else:
        return []
    return [({"pk": key.get("pk", {"S": ""}), "sk": key.get("sk", {"S": ""})}, item) for key, item in out]


# ---- the whole table, for `hark verify` -------------------------------------------------------


@dataclass
class ScoresSnapshot:
    """Everything in the scores table, read by one consistent scan."""

    ledger: list[tuple[tuple[str, str, str], StoredEntry]] = field(default_factory=list)
    days: dict[tuple[str, str, str], dict[str, DayTally]] = field(default_factory=lambda: defaultdict(dict))
    months: dict[tuple[str, str, str], dict[str, DayTally]] = field(default_factory=lambda: defaultdict(dict))
    summaries: dict[tuple[str, str], StoredSummary] = field(default_factory=dict)
    # (survey, segment) of each summary item of the older layout, which `hark rebuild` deletes
    legacy: list[tuple[str, str]] = field(default_factory=list)
    indexes: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    # deltas not yet applied by the tally writer: the tallies plus these equal the ledger
    pending: list[PendingDelta] = field(default_factory=list)
    # ledger entries still under their day's older single key, which `hark rebuild` moves
    legacy_ledger: list[tuple[tuple[str, str, str], HeldEntry]] = field(default_factory=list)

    def apply_pending(self) -> None:
        """The tallies as they will be once the tally writer has applied every pending delta."""
        for p in self.pending:
            segment_key = (p.tenant_id, p.survey_id, p.segment)
            for held, period in ((self.days, p.day), (self.months, p.day[:7])):
                was = held[segment_key].get(period)
                tally = Tally.from_compact(was.tally.to_compact()) if was else Tally()
                tally.merge(p.delta)
                held[segment_key][period] = DayTally(period, tally, was.gen if was else 0)
            total = self.summaries.get((p.survey_id, p.segment))
            tally = Tally.from_compact(total.total.to_compact()) if total else Tally()
            tally.merge(p.delta)
            self.summaries[(p.survey_id, p.segment)] = StoredSummary(
                p.tenant_id, p.segment, tally, total.gen if total else 0
            )
        self.pending = []

    def dedupe_ledger(self) -> None:
        """An entry found under both its day's older key and its bucket counts once, newer wins."""
        newest: dict[tuple[tuple[str, str, str], str], HeldEntry] = {}
        for day_key, entry in self.ledger:
            _keep_newer(newest, (day_key, entry.key), HeldEntry(entry, ""))
        self.ledger = [(day_key, held.entry) for (day_key, _), held in newest.items()]


def _file(
    snapshot: ScoresSnapshot, item: dict[str, Any], survey_id: str | None, tenant_id: str | None
) -> None:
    """Put one scores item into `snapshot` (items of another survey or tenant are left out)."""
    kind, _, rest = item["pk"].partition("#")
    if kind in ("L", "D", "M"):
        tenant, survey, tail = rest.split("#", 2)
        if survey_id not in (None, survey) or tenant_id not in (None, tenant):
            return
        if kind == "L":
            day, _, bucket = tail.partition("#")
            stored = _stored_entry(item)
            snapshot.ledger.append(((tenant, survey, day), stored))
            if not bucket:
                snapshot.legacy_ledger.append(
                    ((tenant, survey, day), HeldEntry(stored, item["pk"], item.get("tx")))
                )
        else:
            held = snapshot.days if kind == "D" else snapshot.months
            held[(tenant, survey, tail)][item["sk"]] = _day_tally(item)
        return
    if kind == "P":
        pending = _pending_delta(item)
        if survey_id in (None, pending.survey_id) and tenant_id in (None, pending.tenant_id):
            snapshot.pending.append(pending)
        return
    if survey_id not in (None, rest):
        return
    if kind == "T":
        if tenant_id in (None, item.get("tenant_id")):
            snapshot.summaries[(rest, item["sk"])] = _summary_from_plain(item)
    elif kind == "SUM":
        if tenant_id in (None, item.get("tenant_id")):
            snapshot.legacy.append((rest, item["sk"]))
    elif kind == "IDX":
        snapshot.indexes[rest][item["sk"]] = set(item.get("vals") or ())


def scan_scores_page(
    segment: int,
    total_segments: int,
    *,
    tenant_id: str | None = None,
    survey_id: str | None = None,
    start: dict[str, Any] | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One consistent page of one parallel scan segment of the scores table: its items of the
    tenant or survey given (a filter on the keys that name them: the scan still reads, and
    bills, every item of the segment), and the key to continue from (None: done)."""
    expression, values = None, None
    if survey_id is not None:
        expression = "contains(pk, :mid) OR pk IN (:sum, :total, :idx)"
        values = {
            ":mid": {"S": f"#{survey_id}#"},
            ":sum": {"S": f"SUM#{survey_id}"},
            ":total": {"S": f"T#{survey_id}"},
            ":idx": {"S": f"IDX#{survey_id}"},
        }
    elif tenant_id is not None:
        # Segment indexes carry no tenant: all are kept (they are few and small).
        expression = (
            "begins_with(pk, :l) OR begins_with(pk, :d) OR begins_with(pk, :m) "
            "OR tenant_id = :t OR begins_with(pk, :idx)"
        )
        values = {
            ":l": {"S": f"L#{tenant_id}#"},
            ":d": {"S": f"D#{tenant_id}#"},
            ":m": {"S": f"M#{tenant_id}#"},
            ":t": {"S": tenant_id},
            ":idx": {"S": "IDX#"},
        }
    return dynamo.scan_segment(
        _table(),
        segment,
        total_segments,
        filter_expression=expression,
        values=values,
        start=start,
        limit=limit,
    )


def scan_scores(
    survey_id: str | None = None, *, tenant_id: str | None = None, segments: int = 1
) -> ScoresSnapshot:
    """The scores table in one consistent scan (`segments` parallel segments); with
    `survey_id` or `tenant_id`, that survey's or tenant's items only."""
    snapshot = ScoresSnapshot()

    def walk(segment: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page, start = scan_scores_page(
                segment, segments, tenant_id=tenant_id, survey_id=survey_id, start=start
            )
            found.extend(page)
            if start is None:
                return found

    with ThreadPoolExecutor(max_workers=max(1, segments)) as pool:
        for items in pool.map(walk, range(segments)):
            for item in items:
                _file(snapshot, item, survey_id, tenant_id)
    snapshot.dedupe_ledger()
    return snapshot


def query_survey_scores(
    survey_id: str, tenant_ids: Iterable[str], live_days: Iterable[DayKeyT]
) -> ScoresSnapshot:
    """One survey's scores items, read by Queries of its own keys only (no other survey's item
    is read): its totals, segment index and older-layout summaries; for each tenant, the day
    tallies of `all` (whose days, with `live_days`, name the ledger days to read), each ledger
    day, then the day and month tallies of every segment a total or a ledger entry names.

    A ledger day is found through its `all` day tally, a live answer or a pending delta: the
    aggregator writes a day's ledger entries and its pending deltas in one transaction, and the
    tally writer turns those into the day's tallies, so no other ledger day exists."""
    snapshot = ScoresSnapshot()
    pending_keys = [f"P#{survey_id}#{n}" for n in range(PENDING_BUCKETS)]
    for pk in (f"T#{survey_id}", f"IDX#{survey_id}", f"SUM#{survey_id}", *pending_keys):
        for item in _query_all(
            TableName=_table(),
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
            ConsistentRead=True,
        ):
            _file(snapshot, item, survey_id, None)
    tenants = set(tenant_ids) | {s.tenant_id for s in snapshot.summaries.values() if s.tenant_id}
    days: dict[str, set[str]] = defaultdict(set)
    for tenant, survey, day in [*live_days, *((p.tenant_id, p.survey_id, p.day) for p in snapshot.pending)]:
        if survey == survey_id:
            tenants.add(tenant)
            days[tenant].add(day)
    for tenant in sorted(tenants):
        segments = {seg for (survey, seg), s in snapshot.summaries.items() if s.tenant_id == tenant}
        segments.add("all")
        for tallied in read_day_tallies(tenant, survey_id, "all"):
            days[tenant].add(tallied.day)
        for day in sorted(days[tenant]):
            for entry in read_held_day(tenant, survey_id, day):
                snapshot.ledger.append(((tenant, survey_id, day), entry.entry))
                if entry.pk == legacy_ledger_pk(tenant, survey_id, day):
                    snapshot.legacy_ledger.append(((tenant, survey_id, day), entry))
                segments.update(entry.entry.segments)
        for segment in sorted(segments):
            for held in read_day_tallies(tenant, survey_id, segment):
                snapshot.days[(tenant, survey_id, segment)][held.day] = held
            for held in read_month_tallies(tenant, survey_id, segment):
                snapshot.months[(tenant, survey_id, segment)][held.day] = held
    return snapshot
