"""Reads that span tables in one request, for the hot read paths of docs/benchmarks.md, Targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from functions.domain.apikeys import ApiKey
from functions.domain.scoring import Tally
from functions.domain.survey import Survey
from functions.settings import get_settings
from functions.store import core, dynamo, scores


@dataclass(frozen=True)
class ScoreRead:
    """What one BatchGetItem brought back for a scores request."""

    key: ApiKey | None
    survey: Survey | None
    summary: scores.StoredSummary | None = None
    # The segment index of the asked segment's dimension (None when not asked for).
    index: set[str] | None = None
    # Every summary read, by segment (the one above included).
    summaries: dict[str, scores.StoredSummary] = field(default_factory=dict)


def key_survey_and(
    hash_hex: str,
    survey_id: str,
    *,
    summary_segment: str | None = None,
    index_dimension: str | None = None,
    summary_segments: Sequence[str] = (),
) -> ScoreRead:
    """The API key and the survey, plus optionally summaries and a segment index entry.

    One BatchGetItem whatever is asked. A summary here is the segment's total: `all` needs
    nothing more; another window adds one BatchGetItem of its day and month tallies, whose keys
    carry the tenant this request establishes (docs/scale.md).
    """
    settings = get_settings()
    segments = list(
        dict.fromkeys([*([summary_segment] if summary_segment is not None else []), *summary_segments])
    )
    wanted: list[dict[str, Any]] = [scores.summary_key(survey_id, segment) for segment in segments]
    if index_dimension is not None:
        wanted.append(scores.index_key(survey_id, index_dimension))
    found = dynamo.get_many(
        {
            settings.core_table: [core.key_key(hash_hex), core.survey_key(survey_id)],
            settings.scores_table: wanted,
        }
    )
    key = survey = None
    for raw in found[settings.core_table]:
        if raw["sk"]["S"] == "KEY":
            key = core.key_from_item(raw)
        else:
            survey = core.survey_from_item(raw)
    index: set[str] | None = set() if index_dimension is not None else None
    summaries: dict[str, scores.StoredSummary] = {}
    for raw in found[settings.scores_table]:
        if raw["pk"]["S"].startswith("T#"):
            stored = scores.summary_from_item(raw)
            assert stored is not None
            summaries[stored.segment] = stored
        else:
            index = scores.index_values_from_item(raw)
    summary = None if summary_segment is None else summaries.get(summary_segment)
    return ScoreRead(key, survey, summary, index, summaries)


@dataclass(frozen=True)
class RollUpRead:
    """What a roll-up read: the key, the surveys found and their summaries of one segment."""

    key: ApiKey | None
    surveys: dict[str, Survey]
    summaries: dict[str, scores.StoredSummary]


# DynamoDB's limit on the keys of one BatchGetItem.
MAX_BATCH_KEYS = 100


def rollup_read(
    hash_hex: str, survey_ids: Sequence[str], segment: str, span: tuple[date, date] | None
) -> RollUpRead:
    """The API key, each survey, its total of `segment` and, for a window (`span`), the day and
    month tallies of that window, packed 100 keys per BatchGetItem.

    The tallies' keys carry the tenant, which the key (first in the first request) establishes,
    so they are queued behind the surveys and totals and fill the requests' spare room instead
    of a request of their own: ⌈(2 × surveys + 1 + tallies) / 100⌉ requests, and at least 2 for
    a window other than `all` (docs/insight.md). A key that is not found ends the read there.
    """
    settings = get_settings()
    queue: list[tuple[str, dict[str, Any]]] = [(settings.core_table, core.key_key(hash_hex))]
    queue += [(settings.scores_table, scores.summary_key(survey_id, segment)) for survey_id in survey_ids]
    queue += [(settings.core_table, core.survey_key(survey_id)) for survey_id in survey_ids]
    key: ApiKey | None = None
    surveys: dict[str, Survey] = {}
    summaries: dict[str, scores.StoredSummary] = {}
    # (pk, sk) of a queued tally → (survey, period)
    wanted_parts: dict[tuple[str, str], tuple[str, str]] = {}
    parts: dict[str, dict[str, Any]] = {}
    first_request = True
    while queue:
        chunk: dict[str, list[dict[str, Any]]] = {}
        for table, item_key in queue[:MAX_BATCH_KEYS]:
            chunk.setdefault(table, []).append(item_key)
        queue = queue[MAX_BATCH_KEYS:]
        found = dynamo.get_many(chunk)
        for raw in found.get(settings.core_table, []):
            if raw["sk"]["S"] == "KEY":
                key = core.key_from_item(raw)
            elif (survey := core.survey_from_item(raw)) is not None:
                surveys[survey.id] = survey
        if first_request and key is None:
            break  # nothing more is read for a caller who is refused anyway
        first_request = False
        for raw in found.get(settings.scores_table, []):
            pk = raw["pk"]["S"]
            if pk.startswith("T#"):
                stored = scores.summary_from_item(raw)
                if stored is None:
                    continue
                survey_id = pk[len("T#") :]
                summaries[survey_id] = stored
                if span is not None and key is not None and stored.tenant_id == key.tenant_id:
                    parts[survey_id] = {}
                    for (part_pk, part_sk), period in scores.window_part_keys(
                        key.tenant_id, survey_id, segment, *span
                    ).items():
                        wanted_parts[(part_pk, part_sk)] = (survey_id, period)
                        parts[survey_id][period] = Tally()
                        queue.append((settings.scores_table, {"pk": {"S": part_pk}, "sk": {"S": part_sk}}))
            elif (at := wanted_parts.get((pk, raw["sk"]["S"]))) is not None:
                parts[at[0]][at[1]] = scores.tally_from_item(raw)
    for survey_id, held in parts.items():
        summaries[survey_id] = replace(summaries[survey_id], parts={**summaries[survey_id].parts, **held})
    return RollUpRead(key, surveys, summaries)
