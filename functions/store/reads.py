"""Reads that span tables in one request, for the hot read paths of docs/benchmarks.md, Targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from functions.domain.apikeys import ApiKey
from functions.domain.survey import Survey
from functions.settings import get_settings
from functions.store import core, scores


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
    found = core.get_many(
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


def key_surveys_and_summaries(hash_hex: str, survey_ids: Sequence[str], segment: str) -> RollUpRead:
    """The API key, each survey and its total of `segment`, 100 keys per BatchGetItem.

    That is 2 keys per survey plus the key's: one request up to 49 surveys, and
    ⌈(2 × surveys + 1) / 100⌉ requests beyond.
    """
    settings = get_settings()
    wanted: list[tuple[str, dict[str, Any]]] = [(settings.core_table, core.key_key(hash_hex))]
    for survey_id in survey_ids:
        wanted.append((settings.core_table, core.survey_key(survey_id)))
        wanted.append((settings.scores_table, scores.summary_key(survey_id, segment)))
    key = None
    surveys: dict[str, Survey] = {}
    summaries: dict[str, scores.StoredSummary] = {}
    for start in range(0, len(wanted), MAX_BATCH_KEYS):
        chunk: dict[str, list[dict[str, Any]]] = {}
        for table, item_key in wanted[start : start + MAX_BATCH_KEYS]:
            chunk.setdefault(table, []).append(item_key)
        found = core.get_many(chunk)
        for raw in found.get(settings.core_table, []):
            if raw["sk"]["S"] == "KEY":
                key = core.key_from_item(raw)
            elif (survey := core.survey_from_item(raw)) is not None:
                surveys[survey.id] = survey
        for raw in found.get(settings.scores_table, []):
            stored = scores.summary_from_item(raw)
            if stored is not None:
                summaries[raw["pk"]["S"][len("T#") :]] = stored
    return RollUpRead(key, surveys, summaries)
