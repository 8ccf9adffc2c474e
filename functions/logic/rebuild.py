"""`hark rebuild` and `hark verify` (docs/operations.md): scores against a fresh recomputation.

The truth is the responses table for answers that still exist, plus the ledger for answers
whose raw data expired by TTL (their scores stay). Erased answers count nowhere. Segments are
folded by the same cardinality guard as the aggregator's (verify only reads the index).

Both read whole tables (one consistent scan each): run them off-peak on large stacks. With
`--survey` they read (scan with a filter) and rewrite that survey only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from functions.domain.ledger import StoredEntry, day_tallies, entries_for_change
from functions.domain.scoring import Tally
from functions.domain.windows import WINDOWS, split_recent, window_tally
from functions.logic import clock
from functions.logic.aggregation import ATTEMPTS, rebuild_summaries
from functions.logic.segment_guard import SegmentGuard
from functions.store import responses as response_store
from functions.store import scores as score_store

DayKey = tuple[str, str, str]
SegmentKey = tuple[str, str, str]


def _live_entries(
    guard: SegmentGuard, unreadable: list[str], survey_id: str | None = None
) -> dict[DayKey, dict[str, StoredEntry]]:
    """Ledger entries as the responses table says they should be, by day and entry key."""
    out: dict[DayKey, dict[str, StoredEntry]] = defaultdict(dict)
    for item in response_store.scan_all(survey_id):
        try:
            state = response_store.state_from_plain(item)
        except (KeyError, ValueError, TypeError):
            unreadable.append(str(item.get("pk")))
            continue
        for entry in entries_for_change("INSERT", None, state, expired_by_ttl=False):
            stored = StoredEntry.of(guard.entry(entry))
            out[entry.day_key][stored.key] = stored
    return out


def expected_day_tallies(
    snapshot: score_store.ScoresSnapshot, unreadable: list[str], survey_id: str | None = None
) -> dict[SegmentKey, dict[str, Tally]]:
    """(tenant, survey, segment) → day → tally, recomputed from scratch (of one survey, or all)."""
    guard = SegmentGuard(admit=False)
    for indexed, index in snapshot.indexes.items():
        guard.preload(indexed, index)
    live = _live_entries(guard, unreadable, survey_id)
    live_codes = {key.split("#", 1)[1] for entries in live.values() for key in entries}
    merged: dict[DayKey, list[StoredEntry]] = defaultdict(list)
    for day_key, by_key in live.items():
        merged[day_key].extend(by_key.values())
    for day_key, stored in snapshot.ledger:
        code = stored.key.split("#", 1)[1]
        if code not in live_codes and not stored.erased:
            merged[day_key].append(stored)  # raw answer expired: its score stays
    out: dict[SegmentKey, dict[str, Tally]] = defaultdict(dict)
    for (tenant_id, survey_id, day), day_entries in merged.items():
        for segment, tally in day_tallies(day_entries).items():
            if not tally.is_empty():
                out[(tenant_id, survey_id, segment)][day] = tally
    return out


def rebuild_day(tenant_id: str, survey_id: str, day: str, segments: set[str]) -> set[str]:
    """Rewrite every day tally of one (survey, day) from its ledger; return its segments.

    Each tally is read before the ledger and replaced only at the version read, so a running
    aggregator's transaction landing in between (it moves ledger and tally together) makes
    the write fail and the day is recomputed: a rebuild never loses a concurrent answer.
    """
    for _attempt in range(ATTEMPTS):
        seen = {s: score_store.read_day_tally(tenant_id, survey_id, s, day) for s in sorted(segments)}
        tallies = day_tallies(score_store.read_ledger_day(tenant_id, survey_id, day))
        for segment in set(tallies) - set(seen):
            seen[segment] = score_store.read_day_tally(tenant_id, survey_id, segment, day)
        versions = {segment: None if held is None else held.gen for segment, held in seen.items()}
        written = [
            score_store.put_day_tally(tenant_id, survey_id, segment, day, tallies.get(segment, Tally()), gen)
            for segment, gen in sorted(versions.items())
        ]
        segments = set(seen)
        if all(written):
            return segments
    raise score_store.LedgerConflict(f"day {day} of {survey_id} kept moving during the rebuild; run it again")


def rebuild(survey_id: str | None = None) -> dict[str, Any]:
    """Re-apply every stored answer to the ledger, then recompute every day and summary (of
    one survey, or of all)."""
    guard = SegmentGuard()
    written = 0
    unreadable: list[str] = []
    for item in response_store.scan_all(survey_id):
        try:
            state = response_store.state_from_plain(item)
        except (KeyError, ValueError, TypeError):
            unreadable.append(str(item.get("pk")))
            continue
        for entry in entries_for_change("INSERT", None, state, expired_by_ttl=False):
            score_store.put_ledger_entry(guard.entry(entry))
            written += 1
    snapshot = score_store.scan_scores(survey_id)
    days: dict[DayKey, set[str]] = defaultdict(set)
    for day_key, stored in snapshot.ledger:
        days[day_key].update(stored.segments)
    for (tenant_id, survey_id, segment), by_day in snapshot.days.items():
        for day in by_day:
            days[(tenant_id, survey_id, day)].add(segment)
    segments: set[SegmentKey] = set()
    for (tenant_id, survey_id, day), known in sorted(days.items()):
        for segment in rebuild_day(tenant_id, survey_id, day, known):
            segments.add((tenant_id, survey_id, segment))
    rebuild_summaries(segments, clock.now().date(), force=True)
    return {
        "ledger_entries": written,
        "days": len(days),
        "summaries": len(segments),
        "unreadable": sorted(unreadable),
    }


def verify(survey_id: str | None = None) -> dict[str, Any]:
    """Compare stored scores with a recomputation; list drift per (survey, segment, window).

    Summaries are checked for every window, and the day tallies trends read for every day.
    With `survey_id`, only that survey is read (through a filtered scan) and reported.
    """
    today = clock.now().date()
    snapshot = score_store.scan_scores(survey_id)
    unreadable: list[str] = []
    expected = expected_day_tallies(snapshot, unreadable, survey_id)
    stored_keys = {(s.tenant_id, survey, segment) for (survey, segment), s in snapshot.summaries.items()}
    drift: list[dict[str, Any]] = []
    checked = 0
    for tenant_id, survey, segment in sorted(set(expected) | stored_keys | set(snapshot.days)):
        if survey_id is not None and survey != survey_id:
            continue
        where = {"tenant_id": tenant_id, "survey_id": survey, "segment": segment}
        days = expected.get((tenant_id, survey, segment), {})
        stored = snapshot.summaries.get((survey, segment))
        if stored is not None and stored.tenant_id != tenant_id:
            stored = None  # a summary filed under another tenant counts for nothing here
        older, recent = split_recent(days.items(), today)
        for window in WINDOWS:
            want = window_tally(older, recent, window, today).to_compact()
            kept = window_tally(stored.older, stored.days, window, today) if stored else Tally()
            have = kept.to_compact()
            checked += 1
            if want != have:
                drift.append({**where, "window": window, "expected": want, "stored": have})
        stored_days = snapshot.days.get((tenant_id, survey, segment), {})
        for day in sorted(set(days) | set(stored_days)):
            want = days.get(day, Tally()).to_compact()
            held = stored_days.get(day)
            have = (held.tally if held else Tally()).to_compact()
            checked += 1
            if want != have:
                drift.append({**where, "day": day, "expected": want, "stored": have})
    return {"checked": checked, "drift": drift, "unreadable": sorted(unreadable)}
