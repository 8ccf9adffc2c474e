"""The score ledger: what each invitation and response contributes to the scores (SPEC §6).

Every change of a responses-table item becomes at most two ledger entries: ``I`` (the invitation,
which counts in ``invited``) and ``R`` (the response, which counts its score). An entry carries
the item's revision; the store only accepts an entry whose revision is higher than the one it
holds, so replayed, duplicated and reordered stream records leave the ledger as the newest
revision alone would. Day histograms are recomputed from the ledger, never incremented, which
makes the aggregator's effect exactly once by construction.

Erasure writes tombstones (the entry stops counting; the random code and revision remain so
a stale replay cannot resurrect it). Expiry by TTL writes nothing: raw answers may expire,
scores stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from functions.domain.scoring import Tally

INVITED = "I"
ANSWERED = "R"
# An invitation entry has revision 0 while it counts and 1 once erased.
INVITATION_REV = 0


@dataclass(frozen=True)
class ItemState:
    """The score-relevant state of one responses-table item (an invitation, maybe answered)."""

    code: str
    tenant_id: str
    survey_id: str
    rev: int
    invited_day: str
    segments: tuple[str, ...]
    score: int | None = None
    answered_day: str | None = None
    attrs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LedgerEntry:
    tenant_id: str
    survey_id: str
    day: str
    part: str  # INVITED or ANSWERED
    code: str
    rev: int
    segments: tuple[str, ...]
    score: int | None = None
    attrs: Mapping[str, int] = field(default_factory=dict)
    erased: bool = False

    @property
    def day_key(self) -> tuple[str, str, str]:
        return (self.tenant_id, self.survey_id, self.day)


def _invited(state: ItemState, *, erased: bool) -> LedgerEntry:
    return LedgerEntry(
        tenant_id=state.tenant_id,
        survey_id=state.survey_id,
        day=state.invited_day,
        part=INVITED,
        code=state.code,
        rev=INVITATION_REV + (1 if erased else 0),
        segments=state.segments,
        erased=erased,
    )


def _answered(state: ItemState, *, erased: bool) -> LedgerEntry:
    assert state.answered_day is not None and state.score is not None
    return LedgerEntry(
        tenant_id=state.tenant_id,
        survey_id=state.survey_id,
        day=state.answered_day,
        part=ANSWERED,
        code=state.code,
        rev=state.rev + (1 if erased else 0),
        segments=state.segments,
        score=None if erased else state.score,
        attrs={} if erased else dict(state.attrs),
        erased=erased,
    )


def entries_for_change(
    event_name: str, old: ItemState | None, new: ItemState | None, *, expired_by_ttl: bool
) -> list[LedgerEntry]:
    """The ledger entries one stream record implies."""
    if event_name == "REMOVE":
        if expired_by_ttl or old is None:
            return []
        out = [_invited(old, erased=True)]
        if old.score is not None:
            out.append(_answered(old, erased=True))
        return out
    if new is None:
        return []
    out = []
    if event_name == "INSERT":
        out.append(_invited(new, erased=False))
    if new.score is not None:
        out.append(_answered(new, erased=False))
    return out


def newest_entries(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Keep the highest revision per (code, part): a batch writes each entry once."""
    best: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        key = (entry.code, entry.part)
        if key not in best or entry.rev > best[key].rev:
            best[key] = entry
    return list(best.values())


@dataclass
class StoredEntry:
    """A ledger entry as read back from the store, with every segment it ever counted in."""

    key: str  # "<part>#<code>"
    part: str
    rev: int
    segments: tuple[str, ...]
    segments_ever: frozenset[str]
    score: int | None
    attrs: Mapping[str, int]
    erased: bool


def day_generation(entries: Iterable[StoredEntry]) -> int:
    """A number that grows with every accepted ledger change of one (survey, day).

    Entries are never deleted and every change raises a revision, so the sum of (rev + 1)
    strictly increases: a snapshot with a higher generation is a newer snapshot.
    """
    return sum(entry.rev + 1 for entry in entries)


def day_tallies(entries: Iterable[StoredEntry]) -> dict[str, Tally]:
    """Tallies per segment for one (survey, day), including now-empty segments."""
    out: dict[str, Tally] = {}
    for entry in entries:
        for segment in entry.segments_ever:
            out.setdefault(segment, Tally())
        if entry.erased:
            continue
        for segment in entry.segments:
            tally = out.setdefault(segment, Tally())
            if entry.part == INVITED:
                tally.invited += 1
            elif entry.score is not None:
                tally.add_answer(entry.score, entry.attrs)
    return out
