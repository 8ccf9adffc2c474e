"""Keeping scores current from the responses stream (SPEC §6).

A batch is applied in three steps:
1. each record becomes ledger entries (segments folded by the cardinality guard), written only
   if newer than what the ledger holds (per record, so a poison record fails alone); an entry
   that a later record of the same batch supersedes is not written at all;
2. each (survey, day) touched is recomputed from its ledger and one tally is written per
   (survey, segment, day) touched;
3. each (survey, segment) touched gets its summary rebuilt from its day tallies.
Steps 2 and 3 are pure functions of stored state, so running them again (a retry, a replay,
a duplicate batch) writes the same values: the effect is exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from functions.domain.ledger import (
    LedgerEntry,
    day_generation,
    day_tallies,
    entries_for_change,
)
from functions.domain.windows import split_recent
from functions.logic import clock
from functions.logic.segment_guard import SegmentGuard
from functions.store import responses as response_store
from functions.store import scores as score_store

TTL_PRINCIPAL = "dynamodb.amazonaws.com"

DayKey = tuple[str, str, str]  # tenant, survey, day
SegmentKey = tuple[str, str, str]  # tenant, survey, segment
EntryId = tuple[str, str, str, str, str]  # tenant, survey, day, part, code


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


@dataclass
class BatchAggregation:
    """The state of one stream batch between its records and its recomputation."""

    today: date = field(default_factory=lambda: clock.now().date())
    guard: SegmentGuard = field(default_factory=SegmentGuard)
    touched_days: dict[DayKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    touched_codes: dict[DayKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    newest: dict[EntryId, int] = field(default_factory=dict)
    written: set[tuple[EntryId, int]] = field(default_factory=set)
    ledger_writes: int = 0

    def plan(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Note the newest revision of every ledger entry the batch holds.

        Lambda delivers a shard's records in order, so an item changed several times in one
        batch needs only its last revision written. A record that cannot be read is skipped
        here and reported when it is applied.
        """
        for record in records:
            try:
                entries = entries_for_record(record)
            except Exception:  # noqa: S112 (reported by apply_record)
                continue
            for entry in entries:
                if entry.rev > self.newest.get(entry.identity, -1):
                    self.newest[entry.identity] = entry.rev

    def apply_record(self, record: Mapping[str, Any]) -> None:
        """Write the ledger entries of one record (raises on a malformed record)."""
        for entry in entries_for_record(record):
            newest = self.newest.get(entry.identity, entry.rev)
            if entry.rev < newest or (entry.identity, entry.rev) in self.written:
                continue  # a later record of this batch carries a newer revision, or this one
            entry = self.guard.entry(entry)
            # Stale entries (already applied) still mark their day: a crash after the ledger
            # write but before the recompute is healed by the retry.
            score_store.put_ledger_entry(entry)
            self.written.add((entry.identity, entry.rev))
            self.ledger_writes += 1
            self.touched_days[entry.day_key].update(entry.segments)
            self.touched_codes[entry.day_key].add(f"{entry.part}#{entry.code}")

    def finish(self) -> None:
        """Recompute the touched day tallies, then the touched summaries."""
        touched_segments = refresh_days(self.touched_days, self.touched_codes)
        refresh_summaries(touched_segments, self.today)


def refresh_days(
    touched: Mapping[DayKey, Iterable[str]],
    codes: Mapping[DayKey, Iterable[str]],
    *,
    every_segment: bool = False,
) -> set[SegmentKey]:
    """Rewrite the tally of every touched (survey, segment, day) from the ledger.

    `codes` names the ledger entries the batch wrote per day: the segments they ever
    counted in are rewritten too, so a segment an entry has left drops it.
    """
    out: set[SegmentKey] = set()
    for (tenant_id, survey_id, day), segments in sorted(touched.items()):
        entries = score_store.read_ledger_day(tenant_id, survey_id, day)
        gen = day_generation(entries)
        tallies = day_tallies(entries)
        wanted = set(segments)
        mine = set(codes.get((tenant_id, survey_id, day), ()))
        for entry in entries:
            if every_segment or entry.key in mine:
                wanted |= entry.segments_ever
        for segment in sorted(wanted & set(tallies)):
            score_store.put_day_tally(
                tenant_id, survey_id, segment, day, tallies[segment], gen, force=every_segment
            )
            out.add((tenant_id, survey_id, segment))
    return out


def refresh_summaries(touched: Iterable[SegmentKey], today: date, *, force: bool = False) -> None:
    """Rebuild the summary of every touched (survey, segment) from its day tallies."""
    for tenant_id, survey_id, segment in sorted(touched):
        rebuild_summary(tenant_id, survey_id, segment, today, force=force)


def rebuild_summary(
    tenant_id: str, survey_id: str, segment: str, today: date, *, force: bool = False
) -> None:
    days = score_store.read_day_tallies(tenant_id, survey_id, segment)
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
        ),
        force=force,
    )
