"""The score ledger: what each invitation and response contributes to the scores (docs/architecture.md).

Every change of a responses-table item that moves a score becomes ledger entries: ``I`` (the
invitation, which counts in ``invited`` on the day it was sent) and ``R`` (the response, which
counts its score on the day of the first answer). An entry carries the item's revision; the
store only accepts an entry whose revision is higher than the one it holds, so replayed,
duplicated and reordered stream records leave the ledger as the newest revision alone would.
An accepted entry moves the day histograms by exactly the difference between what it counts
and what the revision it replaces counted (`entry_delta`), and the store writes the entry and
that difference in one transaction: the aggregator's effect is exactly once, and a day
histogram always equals `day_tallies` of its ledger.

A third part, ``F``, is the response's follow-up (docs/follow-ups.md): it counts in the
follow-up figures on the day of the answer, and its revision is the item's revision times
`LOOP_REV_SPAN` plus the follow-up's own (1 when opened, 2 when closed), so it only grows.

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
FOLLOW_UP = "F"
LOOP_REV_SPAN = 1000


@dataclass(frozen=True)
class LoopMark:
    """What a response's follow-up counts: opened (always), closed, within its deadline, and the
    hours-to-close bucket. `rev` is the follow-up's own revision (1 opened, 2 closed)."""

    rev: int = 1
    closed: bool = False
    within_sla: bool = False
    bucket: int | None = None

    def to_plain(self) -> dict[str, int]:
        out = {"r": self.rev, "c": int(self.closed), "w": int(self.within_sla)}
        if self.bucket is not None:
            out["b"] = self.bucket
        return out

    @classmethod
    def from_plain(cls, data: Mapping[str, int] | None) -> LoopMark | None:
        if not data:
            return None
        bucket = data.get("b")
        return cls(
            int(data.get("r", 1)),
            bool(data.get("c")),
            bool(data.get("w")),
            None if bucket is None else int(bucket),
        )


@dataclass(frozen=True)
class ItemState:
    """The score-relevant state of one responses-table item (an invitation, maybe answered).

    `rev` grows with every change of the item; any change that moves a score, an attribute
    rating, a segment or a day must raise it, or the ledger would refuse the change as stale.
    """

    code: str
    tenant_id: str
    survey_id: str
    rev: int
    invited_day: str
    segments: tuple[str, ...]
    score: int | None = None
    answered_day: str | None = None
    attrs: Mapping[str, int] = field(default_factory=dict)
    follow_up: LoopMark | None = None
    # Counted choices of additional questions ("<question>#<value>" positions, domain.questions).
    picks: tuple[str, ...] = ()


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
    loop: LoopMark | None = None
    picks: tuple[str, ...] = ()

    @property
    def day_key(self) -> tuple[str, str, str]:
        return (self.tenant_id, self.survey_id, self.day)

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        """The ledger item this entry is a revision of."""
        return (self.tenant_id, self.survey_id, self.day, self.part, self.code)


def _invited(state: ItemState, rev: int, *, erased: bool) -> LedgerEntry:
    return LedgerEntry(
        tenant_id=state.tenant_id,
        survey_id=state.survey_id,
        day=state.invited_day,
        part=INVITED,
        code=state.code,
        rev=rev,
        segments=state.segments,
        erased=erased,
    )


def _answered(state: ItemState, rev: int, *, erased: bool) -> LedgerEntry:
    assert state.answered_day is not None and state.score is not None
    return LedgerEntry(
        tenant_id=state.tenant_id,
        survey_id=state.survey_id,
        day=state.answered_day,
        part=ANSWERED,
        code=state.code,
        rev=rev,
        segments=state.segments,
        score=None if erased else state.score,
        attrs={} if erased else dict(state.attrs),
        erased=erased,
        picks=() if erased else state.picks,
    )


def _follow_up(state: ItemState, rev: int, *, erased: bool) -> LedgerEntry:
    assert state.answered_day is not None and state.follow_up is not None
    return LedgerEntry(
        tenant_id=state.tenant_id,
        survey_id=state.survey_id,
        day=state.answered_day,
        part=FOLLOW_UP,
        code=state.code,
        rev=rev,
        segments=state.segments,
        loop=None if erased else state.follow_up,
        erased=erased,
    )


def follow_up_entry(state: ItemState) -> LedgerEntry:
    """The ledger entry of an answered item's follow-up, at its current revision."""
    return _follow_up(state, loop_rev(state), erased=False)


def loop_rev(state: ItemState) -> int:
    assert state.follow_up is not None
    return state.rev * LOOP_REV_SPAN + state.follow_up.rev


def _follow_up_changes(old: ItemState | None, new: ItemState) -> list[LedgerEntry]:
    if new.follow_up is None or new.answered_day is None:
        return []
    if old is not None and (old.follow_up, old.segments) == (new.follow_up, new.segments):
        return []  # notes, owner, tags or the overdue mark changed: no figure did
    return [_follow_up(new, loop_rev(new), erased=False)]


def _invitation_changes(old: ItemState | None, new: ItemState) -> list[LedgerEntry]:
    if old is not None and (old.invited_day, old.segments) == (new.invited_day, new.segments):
        return []  # nothing `invited` depends on moved: the entry already says this
    out = [_invited(new, new.rev, erased=False)]
    if old is not None and old.invited_day != new.invited_day:
        out.append(_invited(old, new.rev, erased=True))
    return out


def _answer_changes(old: ItemState | None, new: ItemState) -> list[LedgerEntry]:
    had = old is not None and old.score is not None
    if new.score is None:
        # An answer withdrawn without erasing the invitation (no product path does this yet).
        return [_answered(old, new.rev, erased=True)] if old is not None and had else []
    if had and old is not None:
        same = (old.score, dict(old.attrs), old.segments, old.answered_day, old.picks) == (
            new.score,
            dict(new.attrs),
            new.segments,
            new.answered_day,
            new.picks,
        )
        if same:
            return []  # a comment or another field changed: the scores did not
    out = [_answered(new, new.rev, erased=False)]
    if had and old is not None and old.answered_day != new.answered_day:
        out.append(_answered(old, new.rev, erased=True))
    return out


def entries_for_change(
    event_name: str, old: ItemState | None, new: ItemState | None, *, expired_by_ttl: bool
) -> list[LedgerEntry]:
    """The ledger entries one stream record implies (none when no score moves).

    INSERT writes the invitation (and the answer, if the item arrives answered); MODIFY writes
    whatever moved (score, ratings, segments, day) at the item's new revision; REMOVE by an
    erasure writes tombstones one revision above the last; REMOVE by TTL writes nothing.
    """
    if event_name == "REMOVE":
        if expired_by_ttl or old is None:
            return []
        out = [_invited(old, old.rev + 1, erased=True)]
        if old.score is not None:
            out.append(_answered(old, old.rev + 1, erased=True))
        if old.follow_up is not None and old.answered_day is not None:
            out.append(_follow_up(old, (old.rev + 1) * LOOP_REV_SPAN, erased=True))
        return out
    if new is None:
        return []
    if event_name == "INSERT":
        old = None
    return _invitation_changes(old, new) + _answer_changes(old, new) + _follow_up_changes(old, new)


def newest_entries(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Keep the highest revision per ledger item: a batch writes each entry once."""
    best: dict[tuple[str, str, str, str, str], LedgerEntry] = {}
    for entry in entries:
        key = entry.identity
        if key not in best or entry.rev > best[key].rev:
            best[key] = entry
    return list(best.values())


@dataclass(frozen=True)
class StoredEntry:
    """A ledger entry as read back from the store."""

    key: str  # "<part>#<code>"
    part: str
    rev: int
    segments: tuple[str, ...]
    score: int | None
    attrs: Mapping[str, int]
    erased: bool
    loop: LoopMark | None = None
    picks: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry: LedgerEntry) -> StoredEntry:
        return cls(
            f"{entry.part}#{entry.code}",
            entry.part,
            entry.rev,
            entry.segments,
            entry.score,
            entry.attrs,
            entry.erased,
            entry.loop,
            entry.picks,
        )


def _counts(entry: StoredEntry) -> Tally:
    """What one entry adds to each segment it counts in."""
    tally = Tally()
    if entry.erased:
        return tally
    if entry.part == INVITED:
        tally.invited = 1
    elif entry.part == FOLLOW_UP:
        if entry.loop is not None:
            tally.fu_opened = 1
            if entry.loop.closed:
                tally.fu_closed = 1
                tally.fu_within = int(entry.loop.within_sla)
                if entry.loop.bucket is not None:
                    tally.fu_hours[entry.loop.bucket] = 1
    elif entry.score is not None:
        tally.add_answer(entry.score, entry.attrs)
        tally.add_picks(entry.picks)
    return tally


def entry_delta(old: StoredEntry | None, new: StoredEntry) -> dict[str, Tally]:
    """segment → the change to its day tally when `new` replaces `old` (signed counts).

    Every segment either revision counts in is present, even when its change is zero, so the
    store touches (and versions) the tally of a segment an entry leaves.
    """
    out: dict[str, Tally] = {}
    if old is not None:
        gone = _counts(old)
        for segment in old.segments:
            out.setdefault(segment, Tally()).merge(gone, sign=-1)
    came = _counts(new)
    for segment in new.segments:
        out.setdefault(segment, Tally()).merge(came)
    return out


def day_tallies(entries: Iterable[StoredEntry]) -> dict[str, Tally]:
    """Tallies per segment for one (survey, day), from its ledger entries."""
    out: dict[str, Tally] = {}
    for entry in entries:
        counts = _counts(entry)
        for segment in entry.segments:
            out.setdefault(segment, Tally()).merge(counts)
    return out
