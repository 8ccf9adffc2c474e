"""The cardinality guard on segments, decided when a ledger entry is written.

Per survey and dimension (`touchpoint`, `prop:<key>`), the first `limit` values seen get a
series of their own; the rest count in the dimension's `__other__` segment. The admitted
values live in a segment index item per (survey, dimension) that only grows and never past
the limit, so the decision for a value never changes once made:
- a value in the index stays there, so its entries always keep their own segment;
- a value refused by a full index is refused forever, so its entries always fold.
Ledger entries carry the folded segments, so replays, duplicates and reordering see the same
segments, and day tallies never need the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from functions.domain.ledger import LedgerEntry
from functions.domain.segments import fold, guarded, other_segment
from functions.settings import get_settings
from functions.store import scores as score_store


@dataclass
class SegmentGuard:
    """Folds segments for one batch (or one rebuild), caching each survey's index.

    With `admit` False (verify), nothing is written: an unseen value is kept while its
    dimension has room, as the aggregator would have done.
    """

    limit: int = field(default_factory=lambda: get_settings().segment_value_limit)
    admit: bool = True
    admissions: int = 0
    _indexes: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # the dimensions read
    _whole: set[str] = field(default_factory=set)  # surveys whose every dimension was read

    def preload(self, survey_id: str, index: dict[str, set[str]]) -> None:
        self._indexes[survey_id] = {dimension: set(values) for dimension, values in index.items()}
        self._whole.add(survey_id)

    def prefetch(self, entries: Iterable[LedgerEntry]) -> None:
        """Read, in one request per 100, the index of every dimension `entries` need."""
        wanted = {
            (entry.survey_id, found[0])
            for entry in entries
            for segment in entry.segments
            if (found := guarded(segment)) is not None and not self._known(entry.survey_id, found[0])
        }
        if wanted:
            read = score_store.read_segment_index_at(wanted)
            for survey_id, dimension in wanted:
                self._indexes.setdefault(survey_id, {})[dimension] = read.get((survey_id, dimension), set())

    def _known(self, survey_id: str, dimension: str) -> bool:
        return survey_id in self._whole or dimension in self._indexes.get(survey_id, {})

    def _dimension(self, survey_id: str, dimension: str) -> set[str]:
        if not self._known(survey_id, dimension):
            self.preload(survey_id, score_store.read_segment_index(survey_id))
        return self._indexes.setdefault(survey_id, {}).setdefault(dimension, set())

    def segment(self, tenant_id: str, survey_id: str, segment: str) -> str:
        found = guarded(segment)
        if found is None:
            return segment
        dimension, value = found
        admitted = self._dimension(survey_id, dimension)
        # The index only grows and never past the limit: a cached "in" or "full" is final.
        if value in admitted or len(admitted) >= self.limit or not self.admit:
            return fold(segment, admitted, full=len(admitted) >= self.limit)
        ok, now = score_store.admit_segment_value(tenant_id, survey_id, dimension, value, self.limit)
        self.admissions += 1
        admitted |= now
        return segment if ok else other_segment(dimension)

    def entry(self, entry: LedgerEntry) -> LedgerEntry:
        segments = tuple(
            dict.fromkeys(self.segment(entry.tenant_id, entry.survey_id, s) for s in entry.segments)
        )
        return entry if segments == entry.segments else replace(entry, segments=segments)
