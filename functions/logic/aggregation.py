"""Keeping scores current from the responses stream (docs/architecture.md, Pipeline).

Stage 1, the aggregator of one stream shard, applies a batch in two steps:
1. each record becomes ledger entries (segments folded by the cardinality guard); an entry that
   a later record of the same batch supersedes is dropped, and a malformed record fails alone;
2. the batch's entries are read from the ledger in one BatchGetItem; each entry newer than the
   stored one is written, in transactions that also hold one pending delta per (survey,
   segment, day) touched: the change the entries make to that day's tallies. An entry the
   ledger already holds at that revision or a newer one (a retry, a replay, a duplicate) is
   skipped. Each transaction's pending deltas are then named to the survey's tally writer
   (stage 2, functions/logic/tally_writer.py) on a FIFO queue grouped by survey.
Ledger entries and their pending deltas commit together, so a crash anywhere leaves either
both or neither, and stage 2 applies each delta exactly once (it deletes it in the transaction
that applies it). A replayed entry names its transaction again, so a crash between the commit
and the message loses nothing. Stage 1 writes no shared item, so the aggregators of many shards
of one hot survey never conflict (docs/scale.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from functions.domain import follow_ups
from functions.domain.ledger import (
    LedgerEntry,
    LoopMark,
    StoredEntry,
    entries_for_change,
    entry_delta,
    follow_up_entry,
)
from functions.domain.scoring import Tally
from functions.logic import clock, tally_writer
from functions.logic.segment_guard import SegmentGuard
from functions.settings import get_settings
from functions.store import follow_ups as follow_up_store
from functions.store import responses as response_store
from functions.store import scores as score_store
from functions.store import streams

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
ATTEMPTS = 5  # reads and writes of one transaction, when entries move under it

SegmentKey = tuple[str, str, str]  # tenant, survey, segment
EntryId = score_store.EntryId
Change = tuple[LedgerEntry, StoredEntry | None]


def expired_by_ttl(record: Mapping[str, Any]) -> bool:
    """A REMOVE made by DynamoDB's TTL sweeper rather than by a user (an erasure)."""
    identity = record.get("userIdentity") or {}
    return bool(identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL)


def entries_for_record(record: Mapping[str, Any]) -> list[LedgerEntry]:
    """Ledger entries for one Lambda-shaped DynamoDB stream record (raises if malformed)."""
    event_name = record["eventName"]
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError(f"unknown stream event {event_name!r}")
    old, new = streams.images(record)
    return entries_for_change(
        event_name,
        response_store.state_from_plain(old) if old else None,
        response_store.state_from_plain(new) if new else None,
        expired_by_ttl=expired_by_ttl(record),
    )


def tally_deltas(changes: Iterable[Change]) -> dict[score_store.DayTallyKey, Tally]:
    """(tenant, survey, segment, day) → the summed change the entries make to that day tally."""
    out: dict[score_store.DayTallyKey, Tally] = defaultdict(Tally)
    for entry, stored in changes:
        for segment, delta in entry_delta(stored, StoredEntry.of(entry)).items():
            out[(entry.tenant_id, entry.survey_id, segment, entry.day)].merge(delta)
    return dict(out)


SurveyKey = tuple[str, str]  # tenant, survey


def queued_surveys(changes: Iterable[Change], least: int) -> set[SurveyKey]:
    """The surveys whose changes in this batch go through the tally writer: those with at
    least `least` of them (a hot survey). A quieter survey's tallies are moved in the batch's
    own transaction: fewer writes (no pending delta to put and delete), and its transactions
    are too few to conflict often (docs/scale.md, "Two paths")."""
    counts: dict[SurveyKey, int] = defaultdict(int)
    for entry, _ in changes:
        counts[(entry.tenant_id, entry.survey_id)] += 1
    return {survey for survey, n in counts.items() if n >= least}


def _items_of(change: Change, queued: set[SurveyKey]) -> set[Any]:
    """The items a change adds to its transaction beside its ledger entry: a pending delta per
    (survey, segment, day), or, directly, each day tally, month tally and total."""
    entry, stored = change
    segments = {*entry.segments, *(stored.segments if stored else ())}
    days = {(entry.tenant_id, entry.survey_id, segment, entry.day) for segment in segments}
    if (entry.tenant_id, entry.survey_id) in queued:
        return days
    return {item for day in days for item in score_store.tally_items(day)}


def transactions(changes: Sequence[Change], queued: set[SurveyKey] | None = None) -> list[list[Change]]:
    """Group changes into transactions that fit DynamoDB's limit of items per transaction.

    A survey's changes go into one transaction whenever they fit in one (packed with other
    surveys'), so each (segment, day) gets one pending delta (a `queued` survey's) or one ADD
    per tally per batch; only a survey whose changes overflow a transaction on their own is
    split, and its deltas are written once per part. By default every survey is queued.
    """
    if queued is None:
        queued = {(entry.tenant_id, entry.survey_id) for entry, _ in changes}
    limit = score_store.MAX_TRANSACTION_ITEMS
    by_survey: dict[tuple[str, str], list[Change]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c[0].tenant_id, c[0].survey_id, c[0].day, c[0].code)):
        by_survey[(change[0].tenant_id, change[0].survey_id)].append(change)
    parts: list[tuple[list[Change], set[Any]]] = []
    for survey_changes in by_survey.values():
        part: list[Change] = []
        keys: set[Any] = set()
        for change in survey_changes:
            mine = _items_of(change, queued)
            if part and len(part) + 1 + len(keys | mine) > limit:
                parts.append((part, keys))
                part, keys = [], set()
            part.append(change)
            keys |= mine
        parts.append((part, keys))
    groups: list[list[Change]] = []
    size = limit + 1
    for part, keys in parts:  # first fit, in order: a survey's parts stay whole
        if size + len(part) + len(keys) > limit:
            groups.append([])
            size = 0
        groups[-1].extend(part)
        size += len(part) + len(keys)
    return groups


@dataclass(frozen=True)
class LoopDecision:
    """What the newest image of an answered item asks of its follow-up (docs/follow-ups.md)."""

    code: str
    rev: int
    item: Mapping[str, Any]
    matching: bool
    has_follow_up: bool
    flagged: bool  # marked as no longer matching

    @property
    def opens(self) -> bool:
        return self.matching and not self.has_follow_up

    @property
    def reflags(self) -> bool:
        active = self.has_follow_up and self.item.get("fu_status") != follow_ups.CLOSED
        return active and self.matching == self.flagged


def loop_decision(record: Mapping[str, Any]) -> LoopDecision | None:
    """The follow-up decision of one record: None for invitations, erasures and expiries."""
    if record["eventName"] == "REMOVE":
        return None
    item = streams.new_image(record)
    if item is None or item.get("score") is None:
        return None
    attrs = {k: int(v) for k, v in (item.get("attrs") or {}).items()}
    return LoopDecision(
        code=str(item["pk"]),
        rev=int(item.get("rev", 0)),
        item=item,
        matching=follow_ups.matches(item["page"], int(item["score"]), attrs),
        has_follow_up=bool(item.get("fu_status")),
        flagged=bool(item.get("fu_nlm")),
    )


@dataclass
class BatchAggregation:
    """The state of one stream batch between its records and its recomputation."""

    guard: SegmentGuard = field(default_factory=SegmentGuard)
    newest: dict[EntryId, LedgerEntry] = field(default_factory=dict)
    ledger_writes: int = 0
    loops: dict[str, LoopDecision] = field(default_factory=dict)
    opened: int = 0
    # the pending deltas written (or, for a replayed entry, written before) for the tally writer
    pending: dict[score_store.PendingRef, None] = field(default_factory=dict)

    def apply_record(self, record: Mapping[str, Any]) -> None:
        """Note the ledger entries of one record (raises on a malformed record).

        Lambda delivers a shard's records in order, so an item changed several times in one
        batch needs only its newest revision written.
        """
        entries = entries_for_record(record)
        decision = loop_decision(record)
        for entry in entries:
            held = self.newest.get(entry.identity)
            if held is None or entry.rev > held.rev:
                self.newest[entry.identity] = entry
        if decision is not None:
            seen = self.loops.get(decision.code)
            # The newest revision decides (a batch replayed out of order must not let an older
            # answer's image speak for the item); within a revision the later record.
            if seen is None or decision.rev >= seen.rev:
                self.loops[decision.code] = decision

    def open_follow_ups(self) -> None:
        """Open the follow-ups the batch's answers call for (one conditional write each, a no-op
        on a replay) and flag open ones whose answer stopped (or again started) matching.

        An opened follow-up's ledger entry joins the batch's transaction, so the figures move in
        the same batch; the stream record of the opening finds that entry already written.
        """
        now = clock.now()
        for decision in self.loops.values():
            if decision.opens:
                _, sla, *_ = follow_ups.page_rule(decision.item["page"])
                opened_at = clock.iso(now)
                due_at = clock.iso(now + timedelta(hours=sla))
                tenant_id = str(decision.item["tenant_id"])
                if follow_up_store.open_follow_up(
                    decision.code, tenant_id, decision.rev, opened_at, due_at, sla
                ):
                    self.opened += 1
                    state = response_store.state_from_plain(decision.item)
                    entry = follow_up_entry(replace(state, follow_up=LoopMark(rev=1)))
                    held = self.newest.get(entry.identity)
                    if held is None or entry.rev > held.rev:
                        self.newest[entry.identity] = entry
            elif decision.reflags:
                follow_up_store.mark_matching(decision.code, decision.matching, decision.rev)

    def finish(self) -> None:
        """Open what the batch's answers call for, write the new ledger entries with their
        pending deltas, then name those to the tally writer (raises if the queue refused: the
        batch is retried, and its replayed entries name their transactions again)."""
        self.open_follow_ups()
        self.guard.prefetch(self.newest.values())
        entries = [self.guard.entry(entry) for entry in self.newest.values()]
        pending = entries
        for attempt in range(ATTEMPTS):
            pending = self._write(pending)
            if not pending:
                break
            # Another writer held an entry or a tally (TransactionConflict): back off, then
            # read again, so two aggregators do not keep colliding in step.
            clock.pause_before_retry(attempt)
        else:
            raise score_store.LedgerConflict(f"{len(pending)} ledger entries kept moving; retry the batch")
        tally_writer.notify(list(self.pending))

    def _write(self, entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
        """Write what is new among `entries`; return those of transactions that conflicted."""
        stored = score_store.read_held_entries(entry.identity for entry in entries)
        held_at: dict[EntryId, score_store.HeldEntry] = {}
        changes: list[Change] = []
        for entry in entries:
            held = stored.get(entry.identity)
            if held is None or entry.rev > held.entry.rev:
                changes.append((entry, None if held is None else held.entry))
                if held is not None:
                    held_at[entry.identity] = held
            if held is not None and held.tx:
                # The transaction that wrote the stored revision: name its deltas again, in case
                # the message after that commit was never sent (a retry, a replay, or a retried
                # batch whose newer record now replaces that revision, after which nothing
                # would name it again). Applied ones are gone: a no-op.
                self.pending[score_store.PendingRef(entry.survey_id, held.tx)] = None
        conflicted: list[LedgerEntry] = []
        now = int(clock.now().timestamp())
        queued = queued_surveys(changes, get_settings().tally_writer_from)
        queued_ids = {survey_id for _, survey_id in queued}
        for group in transactions(changes, queued):
            try:
                refs = score_store.apply_ledger_changes(
                    [(entry, held_at.get(entry.identity)) for entry, _ in group],
                    tally_deltas(group),
                    now,
                    queued=queued_ids,
                )
                self.pending.update(dict.fromkeys(refs))
                self.ledger_writes += len(group)
            except score_store.LedgerConflict:
                conflicted += [entry for entry, _ in group]
        return conflicted
