"""`hark rebuild` and `hark verify` (docs/operations.md): scores against a fresh recomputation.

The truth is the responses table for answers that still exist, plus the ledger for answers
whose raw data expired by TTL (their scores stay). Erased answers count nowhere. Segments are
folded by the same cardinality guard as the aggregator's (verify only reads the index).

Scope: everything, one tenant (`tenant_id`: parallel scan segments with a filter, so the
scans still read the whole tables) or one survey (`survey_id`: Queries of that survey's keys
only, through the responses table's `by_survey_code` index; nothing of another survey is
read). A rebuild keeps a checkpoint file (docs/operations.md) after every page, so an
interrupted one continues with `resume=True`. Every write is conditional on what was read
(ledger revisions, tally versions), and a write that would change nothing is skipped. A
rebuild also moves a stack from the older layout (one summary item per segment holding a year
of days) to month tallies and totals, and deletes the old summary items (docs/scale.md).

The day, month and total tallies are recomputed through `functions.domain.ledger.day_tallies`,
the aggregator's own arithmetic, so a figure the aggregator learns to count, rebuild counts.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from functions.domain.ledger import StoredEntry, day_tallies, entries_for_change
from functions.domain.scoring import Tally, sum_tallies
from functions.domain.windows import WINDOWS, window_span
from functions.logic import clock, tally_writer
from functions.logic.aggregation import ATTEMPTS
from functions.logic.segment_guard import SegmentGuard
from functions.store import responses as response_store
from functions.store import scores as score_store

DayKey = tuple[str, str, str]
SegmentKey = tuple[str, str, str]

# Parallel scan segments (and worker threads) when none are asked for: enough to keep a small
# operator machine busy on I/O without throttling an on-demand table.
DEFAULT_SEGMENTS = 4

# progress(phase, done, total or None when unknown)
Progress = Callable[[str, int, "int | None"], None]


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class Scope:
    """What a rebuild or verify covers: everything, one tenant, or one survey (of a tenant)."""

    tenant_id: str | None = None
    survey_id: str | None = None

    def label(self) -> str:
        parts = [
            f"tenant-{self.tenant_id}" if self.tenant_id else "",
            f"survey-{self.survey_id}" if self.survey_id else "",
        ]
        return "-".join(p for p in parts if p) or "all"

    def covers(self, tenant_id: str, survey_id: str) -> bool:
        return self.tenant_id in (None, tenant_id) and self.survey_id in (None, survey_id)


def default_checkpoint(scope: Scope) -> Path:
    return Path(".hark") / f"rebuild-{scope.label()}.json"


class CheckpointMismatch(ValueError):
    """`--resume` named the checkpoint of another rebuild (scope or segments)."""


class Interrupted(Exception):
    """Another worker failed: stop at the next page (its checkpoint is kept)."""


@dataclass
class Checkpoint:
    """A rebuild's progress, kept in a local JSON file (rewritten atomically after each page):
    per responses cursor (scan segment, or the survey's Query) the key to continue from, the
    days and segments already rebuilt, and the counts so far."""

    path: Path | None
    state: dict[str, Any]
    # held by whoever changes `state` or writes it out (worker threads share one checkpoint)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def start(cls, path: Path | None, scope: Scope, cursors: int, resume: bool) -> Checkpoint:
        fresh = {
            "scope": {"tenant_id": scope.tenant_id, "survey_id": scope.survey_id},
            "cursors": {str(n): {"start": None, "done": False, "pages": 0} for n in range(cursors)},
            "ledger_entries": 0,
            "ledger_written": 0,
            "unreadable": [],
            "live_days": [],
            "days_done": [],
            "rollups_done": [],
        }
        if resume and path is not None and path.exists():
            state = json.loads(path.read_text())
            if state.get("scope") != fresh["scope"] or len(state.get("cursors", {})) != cursors:
                raise CheckpointMismatch(
                    f"{path} is the checkpoint of another rebuild (scope {state.get('scope')}, "
                    f"{len(state.get('cursors', {}))} segments): run it with the same options, "
                    "or without --resume"
                )
            return cls(path, state)
        return cls(path, fresh)

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text(json.dumps(self.state))
            os.replace(partial, self.path)

    def finish(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()


def _read_pages(
    scope: Scope,
    segments: int,
    handle: Callable[[list[dict[str, Any]]], None],
    checkpoint: Checkpoint | None = None,
    page_size: int | None = None,
) -> None:
    """Every response item of `scope`, page by page, `segments` scan segments in parallel (a
    survey: one Query cursor); `handle` sees each page, then the cursor is checkpointed."""
    cursors = 1 if scope.survey_id else segments
    point = checkpoint or Checkpoint(None, {})
    state = point.state
    state.setdefault("cursors", {str(n): {"start": None, "done": False, "pages": 0} for n in range(cursors)})
    stop = threading.Event()

    def walk(n: int) -> None:
        cursor = state["cursors"][str(n)]
        try:
            while not cursor["done"]:
                if stop.is_set():
                    raise Interrupted
                if scope.survey_id is not None:
                    items, start = response_store.survey_page(
                        scope.survey_id, tenant_id=scope.tenant_id, start=cursor["start"], limit=page_size
                    )
                else:
                    items, start = response_store.scan_page(
                        n, cursors, tenant_id=scope.tenant_id, start=cursor["start"], limit=page_size
                    )
                handle(items)
                with point.lock:
                    cursor.update(start=start, done=start is None, pages=cursor["pages"] + 1)
                    point.save()
        except BaseException:
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=max(1, cursors))
    try:
        futures = [pool.submit(walk, n) for n in range(cursors)]
        errors = [e for f in futures if (e := f.exception()) is not None]
    except BaseException:  # Ctrl-C: every segment stops after its page, checkpointed
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True)
    if errors:
        raise next((e for e in errors if not isinstance(e, Interrupted)), errors[0])


def _states(items: Iterable[dict[str, Any]], unreadable: list[str]) -> list[Any]:
    out = []
    for item in items:
        try:
            out.append(response_store.state_from_plain(item))
        except (KeyError, ValueError, TypeError):
            unreadable.append(str(item.get("pk")))
    return out


def _read_states(scope: Scope, segments: int, page_size: int | None = None) -> tuple[list[Any], list[str]]:
    """The score-relevant state of every response item of `scope`, and the unreadable ones."""
    lock = threading.Lock()
    states: list[Any] = []
    unreadable: list[str] = []

    def handle(items: list[dict[str, Any]]) -> None:
        bad: list[str] = []
        found = _states(items, bad)
        with lock:
            states.extend(found)
            unreadable.extend(bad)

    _read_pages(scope, segments, handle, page_size=page_size)
    return states, unreadable


def _snapshot(scope: Scope, segments: int, live_days: Iterable[DayKey]) -> score_store.ScoresSnapshot:
    if scope.survey_id is not None:
        tenants = [scope.tenant_id] if scope.tenant_id else []
        snapshot = score_store.query_survey_scores(scope.survey_id, tenants, live_days)
        if scope.tenant_id is not None:  # a survey id of another tenant is not this one's
            snapshot.ledger = [(k, e) for k, e in snapshot.ledger if k[0] == scope.tenant_id]
            snapshot.days = defaultdict(
                dict, {k: v for k, v in snapshot.days.items() if k[0] == scope.tenant_id}
            )
            snapshot.months = defaultdict(
                dict, {k: v for k, v in snapshot.months.items() if k[0] == scope.tenant_id}
            )
            snapshot.summaries = {
                k: v for k, v in snapshot.summaries.items() if v.tenant_id == scope.tenant_id
            }
            snapshot.pending = [p for p in snapshot.pending if p.tenant_id == scope.tenant_id]
            snapshot.legacy_ledger = [(k, h) for k, h in snapshot.legacy_ledger if k[0] == scope.tenant_id]
        return snapshot
    return score_store.scan_scores(tenant_id=scope.tenant_id, segments=segments)


def expected_day_tallies(
    snapshot: score_store.ScoresSnapshot, states: Iterable[Any]
) -> dict[SegmentKey, dict[str, Tally]]:
    """(tenant, survey, segment) → day → tally, recomputed from scratch from the response
    items' `states` and, for answers whose raw data expired, the ledger in `snapshot`."""
    guard = SegmentGuard(admit=False)
    for indexed, index in snapshot.indexes.items():
        guard.preload(indexed, index)
    live: dict[DayKey, dict[str, StoredEntry]] = defaultdict(dict)
    for state in states:
        for entry in entries_for_change("INSERT", None, state, expired_by_ttl=False):
            stored = StoredEntry.of(guard.entry(entry))
            live[entry.day_key][stored.key] = stored
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


def _same(a: Tally, b: Tally | None) -> bool:
    return a.to_compact() == (b or Tally()).to_compact()


def rebuild_day(tenant_id: str, survey_id: str, day: str, segments: set[str]) -> set[str]:
    """Rewrite every day tally of one (survey, day) from its ledger; return its segments.

    The aggregator writes ledger entries with pending deltas, which the tally writer moves into
    the tallies, so a day's tallies plus its pending deltas equal its ledger. Each tally is
    read (one BatchGetItem) first, then the pending deltas, the ledger, and the pending deltas
    again: if those moved, an aggregator committed meanwhile and the day is read again. Each
    tally is replaced, less what is still pending, only at the version read, so the tally
    writer landing in between makes the write fail and the day is recomputed: a rebuild never
    loses a concurrent answer. Then the pending deltas read are applied (once: whoever applies
    one deletes it), so deltas left behind by a lost message are applied too. A tally that
    already holds the recomputed value is not written.
    """
    for _attempt in range(ATTEMPTS):
        keys = {s: (tenant_id, survey_id, s, day) for s in segments}
        held = score_store.read_day_tallies_at(keys.values())
        seen = {s: held.get(k) for s, k in keys.items()}
        pending = score_store.read_pending_day(tenant_id, survey_id, day)
        tallies = day_tallies(score_store.read_ledger_day(tenant_id, survey_id, day))
        if {(p.pk, p.sk) for p in score_store.read_pending_day(tenant_id, survey_id, day)} != {
            (p.pk, p.sk) for p in pending
        }:
            continue
        for p in pending:
            tallies.setdefault(p.segment, Tally()).merge(p.delta, sign=-1)
        if set(tallies) - set(seen):
            # A segment the ledger or a pending delta names, whose tally was not read first: its
            # version must be read before the pending deltas (the tally writer applying one in
            # between would otherwise be subtracted from a tally that already holds it).
            segments = segments | set(tallies)
            continue
        written = [
            score_store.put_day_tally(
                tenant_id,
                survey_id,
                segment,
                day,
                tallies.get(segment, Tally()),
                None if was is None else was.gen,
            )
            for segment, was in sorted(seen.items())
            if not (was is not None and _same(tallies.get(segment, Tally()), was.tally))
            and not (was is None and tallies.get(segment, Tally()).is_empty())
        ]
        segments = set(seen)
        if all(written):
            tally_writer.apply({score_store.PendingRef(p.survey_id, p.tx) for p in pending})
            return segments
    raise score_store.LedgerConflict(f"day {day} of {survey_id} kept moving during the rebuild; run it again")


def rebuild_rollups(tenant_id: str, survey_id: str, segment: str) -> None:
    """Rewrite the month tallies and the total of one (survey, segment) from its day tallies.

    Their versions are read before the days, and each is replaced only at the version read, so
    an aggregator's transaction landing in between makes the write fail and the segment is read
    again, as `rebuild_day` does. One that already holds the right value is not written.
    """
    for _attempt in range(ATTEMPTS):
        months_seen = {m.day: m for m in score_store.read_month_tallies(tenant_id, survey_id, segment)}
        total_seen = score_store.read_total(survey_id, segment)
        days = score_store.read_day_tallies(tenant_id, survey_id, segment)
        months: dict[str, Tally] = defaultdict(Tally)
        for day in days:
            months[day.day[:7]].merge(day.tally)
        written = [
            score_store.put_rollup(
                tenant_id, survey_id, segment, month, months.get(month, Tally()), held.gen if held else None
            )
            for month in sorted(set(months) | set(months_seen))
            if not (
                (held := months_seen.get(month)) is not None and _same(months.get(month, Tally()), held.tally)
            )
        ]
        total = sum_tallies(d.tally for d in days)
        if total_seen is None or total_seen.tenant_id != tenant_id or not _same(total, total_seen.total):
            written.append(
                score_store.put_rollup(
                    tenant_id, survey_id, segment, None, total, None if total_seen is None else total_seen.gen
                )
            )
        if all(written):
            return
    raise score_store.LedgerConflict(f"{segment} of {survey_id} kept moving during the rebuild; run it again")


def _apply_page(
    items: list[dict[str, Any]], guard: SegmentGuard, unreadable: list[str]
) -> tuple[int, int, set[DayKey]]:
    """Bring the ledger entries of one page of response items up to date: their stored
    revisions are read in BatchGetItems of 100, and only an entry missing or counting
    differently is written (conditionally: never over a newer revision). Returns (entries,
    written, days)."""
    entries = [
        guard.entry(e)
        for state in _states(items, unreadable)
        for e in entries_for_change("INSERT", None, state, expired_by_ttl=False)
    ]
    stored = score_store.read_ledger_entries(e.identity for e in entries)
    written = 0
    for entry in entries:
        have = stored.get(entry.identity)
        # An entry that counts the same is left at its revision: rewriting it would move no tally
        if have is None or (have.rev <= entry.rev and replace(have, rev=entry.rev) != StoredEntry.of(entry)):
            written += score_store.put_ledger_entry(entry)
    return len(entries), written, {e.day_key for e in entries}


def _in_parallel(work: Callable[[Any], None], units: list[Any], workers: int) -> None:
    """Run `work` on every unit with `workers` threads; on the first failure (or Ctrl-C) the
    units not started yet are dropped, and the failure is raised once the running ones end."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for _ in pool.map(work, units):
            pass
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def rebuild(
    survey_id: str | None = None,
    *,
    tenant_id: str | None = None,
    segments: int = DEFAULT_SEGMENTS,
    checkpoint: Path | None = None,
    resume: bool = False,
    progress: Progress = _no_progress,
    page_size: int | None = None,
) -> dict[str, Any]:
    """Re-apply every stored answer of the scope to the ledger, then recompute its every day,
    month and total, and delete its summaries of the older layout.

    Phases: the responses (`segments` scan segments in parallel, or the survey's Query), the
    scores snapshot, the days, the (survey, segment) roll-ups, the older layout. `checkpoint`
    (a local file) is rewritten after each page and each hundred days or segments; with
    `resume` a run continues from it. It is deleted when the rebuild completes.
    """
    scope = Scope(tenant_id, survey_id)
    cursors = 1 if survey_id else max(1, segments)
    point = Checkpoint.start(checkpoint, scope, cursors, resume)
    state = point.state
    lock = point.lock
    local = threading.local()
    live_days: set[DayKey] = {(d[0], d[1], d[2]) for d in state["live_days"]}
    total_items = None if survey_id else response_store.approximate_count()
    read = [0]

    def handle(items: list[dict[str, Any]]) -> None:
        if not hasattr(local, "guard"):
            local.guard = SegmentGuard()  # one per worker thread: a guard's cache is not shared
        bad: list[str] = []
        entries, written, days = _apply_page(items, local.guard, bad)
        with lock:
            state["ledger_entries"] += entries
            state["ledger_written"] += written
            state["unreadable"].extend(bad)
            if survey_id is not None:
                new = days - live_days
                live_days.update(new)
                state["live_days"].extend(list(d) for d in sorted(new))
            read[0] += len(items)
            progress("responses", read[0], total_items)

    try:
        return _rebuild_from(scope, cursors, segments, point, handle, live_days, progress, page_size)
    except BaseException:
        point.save()  # what was done so far, for --resume
        raise


def _rebuild_from(
    scope: Scope,
    cursors: int,
    segments: int,
    point: Checkpoint,
    handle: Callable[[list[dict[str, Any]]], None],
    live_days: set[DayKey],
    progress: Progress,
    page_size: int | None,
) -> dict[str, Any]:
    state, lock = point.state, point.lock
    _read_pages(scope, cursors, handle, point, page_size)
    snapshot = _snapshot(scope, segments, live_days)
    moved = sum(score_store.move_legacy_entry(*day_key, held) for day_key, held in snapshot.legacy_ledger)
    days: dict[DayKey, set[str]] = defaultdict(set)
    for day_key, stored in snapshot.ledger:
        days[day_key].update(stored.segments)
    for p in snapshot.pending:
        days[(p.tenant_id, p.survey_id, p.day)].add(p.segment)
    for (tenant, survey, segment), by_day in snapshot.days.items():
        for day in by_day:
            days[(tenant, survey, day)].add(segment)
    touched: set[SegmentKey] = set(snapshot.months) | set(snapshot.days)
    touched.update((s.tenant_id, survey, segment) for (survey, segment), s in snapshot.summaries.items())
    done_days = set(state["days_done"])
    todo = [key for key in sorted(days) if "|".join(key) not in done_days]

    def one_day(key: DayKey) -> None:
        found = rebuild_day(*key, days[key])
        with lock:
            touched.update((key[0], key[1], segment) for segment in found)
            state["days_done"].append("|".join(key))
            progress("days", len(state["days_done"]), len(days))
            if len(state["days_done"]) % 100 == 0:
                point.save()

    _in_parallel(one_day, todo, segments)
    point.save()
    touched = {key for key in touched if scope.covers(key[0], key[1])}
    done_rollups = set(state["rollups_done"])
    rollups = [key for key in sorted(touched) if "|".join(key) not in done_rollups]

    def one_rollup(key: SegmentKey) -> None:
        rebuild_rollups(*key)
        with lock:
            state["rollups_done"].append("|".join(key))
            progress("segments", len(state["rollups_done"]), len(touched))
            if len(state["rollups_done"]) % 100 == 0:
                point.save()

    _in_parallel(one_rollup, rollups, segments)
    for survey, segment in snapshot.legacy:
        score_store.delete_legacy_summary(survey, segment)
    point.finish()
    return {
        "scope": state["scope"],
        "segments": cursors,
        "ledger_entries": state["ledger_entries"],
        "ledger_written": state["ledger_written"],
        "ledger_moved": moved,
        "days": len(days),
        "summaries": len(touched),
        "legacy_summaries_deleted": len(snapshot.legacy),
        "unreadable": sorted(state["unreadable"]),
        "checkpoint": None if point.path is None else str(point.path),
    }


def _expected_window(days: dict[str, Tally], window: str, today: date) -> Tally:
    span = window_span(window, today)
    if span is None:
        return sum_tallies(days.values())
    first, last = (d.isoformat() for d in span)
    return sum_tallies(t for day, t in days.items() if first <= day <= last)


def verify(
    survey_id: str | None = None,
    *,
    tenant_id: str | None = None,
    segments: int = DEFAULT_SEGMENTS,
    progress: Progress = _no_progress,
    page_size: int | None = None,
) -> dict[str, Any]:
    """Compare stored scores with a recomputation; list drift per (survey, segment, window).

    The stored scores are the tallies with the deltas still pending for the tally writer
    applied (their count is reported): a delta waiting a second is not drift.

    Every window is read as a score read reads it (total, month and day tallies), and every
    day tally (trends read them), month tally and total is checked on its own. With
    `survey_id` or `tenant_id`, only that scope is read (a survey through Queries of its own
    keys, a tenant through filtered parallel scans) and reported. It writes nothing, so an
    interrupted verify is simply run again.
    """
    scope = Scope(tenant_id, survey_id)
    today = clock.now().date()
    states, unreadable = _read_states(scope, segments, page_size)
    progress("responses", len(states), len(states))
    live_days = {(s.tenant_id, s.survey_id, d) for s in states for d in (s.invited_day, s.answered_day) if d}
    snapshot = _snapshot(scope, segments, live_days)
    pending = len(snapshot.pending)
    written_at = [p.at for p in snapshot.pending if p.at]
    oldest = max(0, int(clock.now().timestamp()) - min(written_at)) if written_at else None
    snapshot.apply_pending()
    expected = expected_day_tallies(snapshot, states)
    stored_keys = {(s.tenant_id, survey, segment) for (survey, segment), s in snapshot.summaries.items()}
    drift: list[dict[str, Any]] = []
    checked = 0
    every = sorted(
        k
        for k in set(expected) | stored_keys | set(snapshot.days) | set(snapshot.months)
        if scope.covers(k[0], k[1])
    )
    for done, (tenant, survey, segment) in enumerate(every, 1):
        progress("segments", done, len(every))
        where = {"tenant_id": tenant, "survey_id": survey, "segment": segment}
        days = expected.get((tenant, survey, segment), {})
        total = snapshot.summaries.get((survey, segment))
        if total is not None and total.tenant_id != tenant:
            total = None  # a total filed under another tenant counts for nothing here
        stored_days = snapshot.days.get((tenant, survey, segment), {})
        stored_months = snapshot.months.get((tenant, survey, segment), {})
        parts: dict[str, Tally] = defaultdict(Tally)
        parts.update({day: held.tally for day, held in stored_days.items()})
        parts.update({month: held.tally for month, held in stored_months.items()})
        stored = score_store.StoredSummary(tenant, segment, total.total if total else Tally(), parts=parts)
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
        "pending_deltas": pending,
        # A delta older than a few seconds waits on a failing tally writer or a lost message
        # (the scores dead-letter queue): `hark rebuild` applies it.
        "oldest_pending_seconds": oldest,
        "legacy_ledger_entries": len(snapshot.legacy_ledger),
    }
