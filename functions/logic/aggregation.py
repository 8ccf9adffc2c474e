"""Keeping scores current from the responses stream (docs/architecture.md, Pipeline).

A batch is applied in three steps:
1. each record becomes ledger entries (segments folded by the cardinality guard); an entry that
   a later record of the same batch supersedes is dropped, and a malformed record fails alone;
2. the batch's entries are read from the ledger in one BatchGetItem; each entry newer than the
   stored one is written with the change it makes to its day tallies, in transactions that
   hold one ADD per (survey, segment, day) touched; an entry the ledger already holds at that
   revision or a newer one (a retry, a replay, a duplicate) is skipped;
3. the touched day tallies are read back (one BatchGetItem per 100), and each (survey,
   segment) touched gets its summary moved forward: every day whose tally is newer than the
   one the summary holds is replaced, days past the recent range roll into the older total,
   and the summary is written only over the version read (a concurrent writer makes it read
   again). A summary that does not exist yet, or a change to a day past the recent range,
   is rebuilt from all the segment's day tallies instead.
Ledger entry and tally change commit together, so a crash anywhere leaves either both or
neither, and step 3 only copies newer stored tallies: the effect is exactly once.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from functions.domain.ledger import LedgerEntry, StoredEntry, entries_for_change, entry_delta
from functions.domain.scoring import Tally
from functions.domain.windows import recent_cut, split_recent
from functions.logic import clock
from functions.logic.segment_guard import SegmentGuard
from functions.store import responses as response_store
from functions.store import scores as score_store

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
    body = record["dynamodb"]
    old = body.get("OldImage")
    new = body.get("NewImage")
    return entries_for_change(
        event_name,
        response_store.state_from_image(old) if old else None,
        response_store.state_from_image(new) if new else None,
        expired_by_ttl=expired_by_ttl(record),
    )


def tally_deltas(changes: Iterable[Change]) -> dict[score_store.DayTallyKey, Tally]:
    """(tenant, survey, segment, day) → the summed change the entries make to that day tally."""
    out: dict[score_store.DayTallyKey, Tally] = defaultdict(Tally)
    for entry, stored in changes:
        for segment, delta in entry_delta(stored, StoredEntry.of(entry)).items():
            out[(entry.tenant_id, entry.survey_id, segment, entry.day)].merge(delta)
    return dict(out)


def _tally_keys(change: Change) -> set[score_store.DayTallyKey]:
    entry, stored = change
    segments = {*entry.segments, *(stored.segments if stored else ())}
    return {(entry.tenant_id, entry.survey_id, segment, entry.day) for segment in segments}


def transactions(changes: Sequence[Change]) -> list[list[Change]]:
    """Group changes into transactions that fit DynamoDB's limit of items per transaction.

    A survey's changes go into one transaction whenever they fit in one (packed with other
    surveys'), so each day tally is written once per batch; only a survey whose changes
    overflow a transaction on their own is split, and its tallies are written once per part.
    """
    limit = score_store.MAX_TRANSACTION_ITEMS
    by_survey: dict[tuple[str, str], list[Change]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c[0].tenant_id, c[0].survey_id, c[0].day, c[0].code)):
        by_survey[(change[0].tenant_id, change[0].survey_id)].append(change)
    parts: list[tuple[list[Change], set[score_store.DayTallyKey]]] = []
    for survey_changes in by_survey.values():
        part: list[Change] = []
        keys: set[score_store.DayTallyKey] = set()
        for change in survey_changes:
            mine = _tally_keys(change)
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


@dataclass
class BatchAggregation:
    """The state of one stream batch between its records and its recomputation."""

    today: date = field(default_factory=lambda: clock.now().date())
    guard: SegmentGuard = field(default_factory=SegmentGuard)
    newest: dict[EntryId, LedgerEntry] = field(default_factory=dict)
    touched: set[score_store.DayTallyKey] = field(default_factory=set)
    ledger_writes: int = 0

    def apply_record(self, record: Mapping[str, Any]) -> None:
        """Note the ledger entries of one record (raises on a malformed record).

        Lambda delivers a shard's records in order, so an item changed several times in one
        batch needs only its newest revision written.
        """
        for entry in entries_for_record(record):
            held = self.newest.get(entry.identity)
            if held is None or entry.rev > held.rev:
                self.newest[entry.identity] = entry

    def finish(self) -> None:
        """Write the new ledger entries with their tally changes, then rebuild the summaries."""
        self.guard.prefetch(self.newest.values())
        entries = [self.guard.entry(entry) for entry in self.newest.values()]
        pending = entries
        for attempt in range(ATTEMPTS):
            pending = self._write(pending)
            if not pending:
                break
            # Another writer held an entry or a tally (TransactionConflict): back off, then
            # read again, so two aggregators do not keep colliding in step.
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 (jitter, not secrets)
        else:
            raise score_store.LedgerConflict(f"{len(pending)} ledger entries kept moving; retry the batch")
        refresh_summaries(self.touched, self.today)

    def _write(self, entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
        """Write what is new among `entries`; return those of transactions that conflicted."""
        stored = score_store.read_ledger_entries(entry.identity for entry in entries)
        changes: list[Change] = []
        for entry in entries:
            held = stored.get(entry.identity)
            # A stale entry (already applied) still marks its summaries: a crash after the
            # transaction but before the summaries is healed by the retry.
            for segment in (*entry.segments, *(held.segments if held else ())):
                self.touched.add((entry.tenant_id, entry.survey_id, segment, entry.day))
            if held is None or entry.rev > held.rev:
                changes.append((entry, held))
        conflicted: list[LedgerEntry] = []
        for group in transactions(changes):
            try:
                score_store.apply_ledger_changes(
                    [(entry, None if held is None else held.rev) for entry, held in group],
                    tally_deltas(group),
                )
                self.ledger_writes += len(group)
            except score_store.LedgerConflict:
                conflicted += [entry for entry, _ in group]
        return conflicted


def refresh_summaries(touched: Iterable[score_store.DayTallyKey], today: date) -> None:
    """Move the summaries of the touched day tallies forward to what is stored now."""
    pending: dict[SegmentKey, dict[str, score_store.DayTally]] = defaultdict(dict)
    for (tenant_id, survey_id, segment, day), stored in score_store.read_day_tallies_at(touched).items():
        pending[(tenant_id, survey_id, segment)][day] = stored
    for _attempt in range(ATTEMPTS):
        held = score_store.read_summaries((survey_id, segment) for _, survey_id, segment in pending)
        moved: dict[SegmentKey, dict[str, score_store.DayTally]] = {}
        for key, days in sorted(pending.items()):
            tenant_id, survey_id, segment = key
            summary = held.get((survey_id, segment))
            forward = roll_forward(summary, days, today)
            if forward is None:
                rebuild_summary(tenant_id, survey_id, segment, today)
            elif forward != summary and not score_store.put_summary(survey_id, forward, seen=summary):
                moved[key] = days  # another aggregator wrote it since: read it again
        if not moved:
            return
        pending = defaultdict(dict, moved)
    raise score_store.LedgerConflict(f"{len(pending)} summaries kept moving; retry the batch")


def roll_forward(
    summary: score_store.StoredSummary | None, days: Mapping[str, score_store.DayTally], today: date
) -> score_store.StoredSummary | None:
    """`summary` as of `today` with every newer day tally of `days` in it (pure).

    None when only a rebuild from all the day tallies can tell: no summary yet, or a changed
    day older than the recent range (the older total keeps no versions per day).
    """
    if summary is None:
        return None
    cut = recent_cut(today)
    older = Tally()
    older.merge(summary.older)
    recent = dict(summary.days)
    gens = dict(summary.day_gens)
    for day in [d for d in gens if d < cut]:
        if day in recent:
            older.merge(recent.pop(day))
        del gens[day]  # its version stays counted in the generation, with the older total
    for day, stored in days.items():
        if stored.gen <= summary.day_gens.get(day, 0):
            continue  # the summary already holds this version (or a newer one)
        if day < cut:
            return None
        gen_before = gens.get(day, 0)
        gens[day] = stored.gen
        if stored.tally.is_empty():
            recent.pop(day, None)
        else:
            recent[day] = stored.tally
        summary = replace(summary, gen=summary.gen + stored.gen - gen_before)
    return replace(summary, as_of=today.isoformat(), older=older, days=recent, day_gens=gens)


def rebuild_summaries(touched: Iterable[SegmentKey], today: date, *, force: bool = False) -> None:
    """Rebuild the summary of every touched (survey, segment) from all its day tallies."""
    for tenant_id, survey_id, segment in sorted(touched):
        rebuild_summary(tenant_id, survey_id, segment, today, force=force)


def rebuild_summary(
    tenant_id: str, survey_id: str, segment: str, today: date, *, force: bool = False
) -> None:
    days = score_store.read_day_tallies(tenant_id, survey_id, segment)
    cut = recent_cut(today)
    older, recent = split_recent(((d.day, d.tally) for d in days), today)
    score_store.put_summary(
        survey_id,
        score_store.StoredSummary(
            tenant_id=tenant_id,
            segment=segment,
            as_of=today.isoformat(),
            older=older,
            days=recent,
            gen=sum(d.gen for d in days),
            day_gens={d.day: d.gen for d in days if d.day >= cut},
        ),
        force=force,
    )
