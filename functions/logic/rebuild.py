"""`hark rebuild` and `hark verify` (docs/operations.md): scores against a fresh recomputation.

The truth is the responses table for answers that still exist, plus the ledger for answers
whose raw data expired by TTL (their scores stay). Erased answers count nowhere. Segments are
folded by the same cardinality guard as the aggregator's (verify only reads the index).

Both read whole tables (one consistent scan each): run them off-peak on large stacks. With
`--survey` they read (scan with a filter) and rewrite that survey only. A rebuild also moves a
stack from the older layout (one summary item per segment holding a year of days) to month
tallies and totals, and deletes the old summary items (docs/scale.md).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from functions.domain.ledger import StoredEntry, day_tallies, entries_for_change
from functions.domain.scoring import Tally, sum_tallies
from functions.domain.windows import WINDOWS, window_span
from functions.logic import clock
from functions.logic.aggregation import ATTEMPTS
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


def rebuild_rollups(tenant_id: str, survey_id: str, segment: str) -> None:
    """Rewrite the month tallies and the total of one (survey, segment) from its day tallies.

    Their versions are read before the days, and each is replaced only at the version read, so
    an aggregator's transaction landing in between makes the write fail and the segment is read
    again, as `rebuild_day` does.
    """
    for _attempt in range(ATTEMPTS):
        months_seen = {m.day: m.gen for m in score_store.read_month_tallies(tenant_id, survey_id, segment)}
        total_seen = score_store.read_total(survey_id, segment)
        days = score_store.read_day_tallies(tenant_id, survey_id, segment)
        months: dict[str, Tally] = defaultdict(Tally)
        for day in days:
            months[day.day[:7]].merge(day.tally)
        written = [
            score_store.put_rollup(
                tenant_id, survey_id, segment, month, months.get(month, Tally()), months_seen.get(month)
            )
            for month in sorted(set(months) | set(months_seen))
        ]
        written.append(
            score_store.put_rollup(
                tenant_id,
                survey_id,
                segment,
                None,
                sum_tallies(d.tally for d in days),
                None if total_seen is None else total_seen.gen,
            )
        )
        if all(written):
            return
    raise score_store.LedgerConflict(f"{segment} of {survey_id} kept moving during the rebuild; run it again")


def rebuild(survey_id: str | None = None) -> dict[str, Any]:
    """Re-apply every stored answer to the ledger, then recompute every day, month and total (of
    one survey, or of all), and delete summaries of the older layout."""
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
    segments: set[SegmentKey] = set(snapshot.months)
    segments.update((s.tenant_id, survey, segment) for (survey, segment), s in snapshot.summaries.items())
    for (tenant_id, survey_id, day), known in sorted(days.items()):
        for segment in rebuild_day(tenant_id, survey_id, day, known):
            segments.add((tenant_id, survey_id, segment))
    for tenant_id, survey, segment in sorted(segments):
        rebuild_rollups(tenant_id, survey, segment)
    for survey, segment in snapshot.legacy:
        score_store.delete_legacy_summary(survey, segment)
    return {
        "ledger_entries": written,
        "days": len(days),
        "summaries": len(segments),
        "legacy_summaries_deleted": len(snapshot.legacy),
        "unreadable": sorted(unreadable),
    }


def _expected_window(days: dict[str, Tally], window: str, today: date) -> Tally:
    span = window_span(window, today)
    if span is None:
        return sum_tallies(days.values())
    first, last = (d.isoformat() for d in span)
    return sum_tallies(t for day, t in days.items() if first <= day <= last)


def verify(survey_id: str | None = None) -> dict[str, Any]:
    """Compare stored scores with a recomputation; list drift per (survey, segment, window).

    Every window is read as a score read reads it (total, month and day tallies), and every
    day tally (trends read them), month tally and total is checked on its own. With
    `survey_id`, only that survey is read (through a filtered scan) and reported.
    """
    today = clock.now().date()
    snapshot = score_store.scan_scores(survey_id)
    unreadable: list[str] = []
    expected = expected_day_tallies(snapshot, unreadable, survey_id)
    stored_keys = {(s.tenant_id, survey, segment) for (survey, segment), s in snapshot.summaries.items()}
    drift: list[dict[str, Any]] = []
    checked = 0
    every = set(expected) | stored_keys | set(snapshot.days) | set(snapshot.months)
    for tenant_id, survey, segment in sorted(every):
        if survey_id is not None and survey != survey_id:
            continue
        where = {"tenant_id": tenant_id, "survey_id": survey, "segment": segment}
        days = expected.get((tenant_id, survey, segment), {})
        total = snapshot.summaries.get((survey, segment))
        if total is not None and total.tenant_id != tenant_id:
            total = None  # a total filed under another tenant counts for nothing here
        stored_days = snapshot.days.get((tenant_id, survey, segment), {})
        stored_months = snapshot.months.get((tenant_id, survey, segment), {})
        parts: dict[str, Tally] = defaultdict(Tally)
        parts.update({day: held.tally for day, held in stored_days.items()})
        parts.update({month: held.tally for month, held in stored_months.items()})
        stored = score_store.StoredSummary(tenant_id, segment, total.total if total else Tally(), parts=parts)
        for window in WINDOWS:
            want = _expected_window(days, window, today).to_compact()
            have = stored.window(window, today).to_compact()
            checked += 1
            if want != have:
                drift.append({**where, "window": window, "expected": want, "stored": have})
        months: dict[str, Tally] = defaultdict(Tally)
        for day, tally in days.items():
            months[day[:7]].merge(tally)
        for month in sorted(set(months) | set(stored_months)):
            want = months.get(month, Tally()).to_compact()
            held = stored_months.get(month)
            have = (held.tally if held else Tally()).to_compact()
            checked += 1
            if want != have:
                drift.append({**where, "month": month, "expected": want, "stored": have})
        for day in sorted(set(days) | set(stored_days)):
            want = days.get(day, Tally()).to_compact()
            held_day = stored_days.get(day)
            have = (held_day.tally if held_day else Tally()).to_compact()
            checked += 1
            if want != have:
                drift.append({**where, "day": day, "expected": want, "stored": have})
    return {
        "checked": checked,
        "drift": drift,
        "unreadable": sorted(unreadable),
        "legacy_summaries": len(snapshot.legacy),
    }
