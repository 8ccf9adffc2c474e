"""`hark rebuild` and `hark verify` (SPEC §6): scores against a fresh recomputation.

The truth is the responses table for answers that still exist, plus the ledger for answers
whose raw data expired by TTL (their scores stay). Erased answers count nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from functions.domain.ledger import (
    ANSWERED,
    INVITED,
    StoredEntry,
    day_tallies,
    entries_for_change,
)
from functions.domain.scoring import Tally
from functions.domain.windows import WINDOWS, split_recent, window_tally
from functions.logic.aggregation import refresh_days, refresh_summaries
from functions.store import responses as response_store
from functions.store import scores as score_store

DayKey = tuple[str, str, str]


def _live_entries() -> dict[DayKey, dict[str, StoredEntry]]:
    """Ledger entries as the responses table says they should be, keyed by day and entry key."""
    out: dict[DayKey, dict[str, StoredEntry]] = defaultdict(dict)
    for item in response_store.scan_all():
        state = response_store.state_from_plain(item)
        for entry in entries_for_change("INSERT", None, state, expired_by_ttl=False):
            out[entry.day_key][f"{entry.part}#{entry.code}"] = StoredEntry(
                key=f"{entry.part}#{entry.code}",
                part=entry.part,
                rev=entry.rev,
                segments=entry.segments,
                segments_ever=frozenset(entry.segments),
                score=entry.score,
                attrs=entry.attrs,
                erased=False,
            )
    return out


def expected_day_tallies() -> dict[tuple[str, str, str], dict[str, Tally]]:
    """(tenant, survey, segment) → day → tally, recomputed from scratch."""
    live = _live_entries()
    live_codes = {key.split("#", 1)[1] for entries in live.values() for key in entries}
    merged: dict[DayKey, list[StoredEntry]] = defaultdict(list)
    for day_key, by_key in live.items():
        merged[day_key].extend(by_key.values())
    for day_key, stored in score_store.scan_ledger():
        code = stored.key.split("#", 1)[1]
        if code not in live_codes and not stored.erased and stored.part in (INVITED, ANSWERED):
            merged[day_key].append(stored)  # raw answer expired: its score stays
    out: dict[tuple[str, str, str], dict[str, Tally]] = defaultdict(dict)
    for (tenant_id, survey_id, day), day_entries in merged.items():
        for segment, tally in day_tallies(day_entries).items():
            if not tally.is_empty():
                out[(tenant_id, survey_id, segment)][day] = tally
    return out


def rebuild() -> dict[str, Any]:
    """Re-apply every stored answer to the ledger, then recompute every day and summary."""
    written = 0
    for item in response_store.scan_all():
        state = response_store.state_from_plain(item)
        for entry in entries_for_change("INSERT", None, state, expired_by_ttl=False):
            score_store.put_ledger_entry(entry, force=True)
            written += 1
    days: dict[DayKey, set[str]] = defaultdict(set)
    for day_key, stored in score_store.scan_ledger():
        days[day_key].update(stored.segments_ever)
    segments = refresh_days(days, {}, every_segment=True)
    refresh_summaries(segments, datetime.now(UTC).date(), force=True)
    return {"ledger_entries": written, "days": len(days), "summaries": len(segments)}


def verify() -> dict[str, Any]:
    """Compare every stored summary with a recomputation; list drift per (survey, segment, window)."""
    today = datetime.now(UTC).date()
    expected = expected_day_tallies()
    drift: list[dict[str, Any]] = []
    checked = 0
    for (tenant_id, survey_id, segment), days in sorted(expected.items()):
        stored = score_store.get_summary(survey_id, segment)
        older, recent = split_recent(days.items(), today)
        for window in WINDOWS:
            want = window_tally(older, recent, window, today)
            have = window_tally(stored.older, stored.days, window, today) if stored else Tally()
            checked += 1
            if want.to_compact() != have.to_compact():
                drift.append(
                    {
                        "tenant_id": tenant_id,
                        "survey_id": survey_id,
                        "segment": segment,
                        "window": window,
                        "expected": want.to_compact(),
                        "stored": have.to_compact(),
                    }
                )
    return {"checked": checked, "drift": drift}
