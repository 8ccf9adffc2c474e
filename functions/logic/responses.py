"""Listing and exporting a survey's responses (docs/api.md, Responses), newest first.

The order is the `by_survey` index: ``<first answered at>#<code>``. The first-answer time
never changes (editing an answer keeps it), so a walk through the pages never skips or
repeats a response while others are written: an edited response stays where it was, a new
answer sorts before page 1 (a walk that has started does not see it; a new walk does), and
an erased one simply disappears. The cursor is the position of the last response returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from functions.domain import export
from functions.domain.errors import InvalidInput
from functions.domain.survey import Survey
from functions.store import cursors
from functions.store import responses as response_store

LOWEST = "0"
HIGHEST = "~"
# A response body stays below Lambda's 6 MB payload limit; larger exports continue by cursor.
EXPORT_BYTES = 5_000_000
EXPORT_PAGE = 500
_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#([0-9A-Za-z]{8,10})$")


@dataclass(frozen=True)
class Span:
    """The first-answer times to include: ``lowest <= answer_sk <= highest``."""

    lowest: str = LOWEST
    highest: str = HIGHEST


def parse_instant(text: str, name: str) -> str:
    """A UTC ISO timestamp (sortable against stored ones) from unix seconds or ISO 8601."""
    try:
        if re.fullmatch(r"\d{1,12}", text):
            moment = datetime.fromtimestamp(int(text), UTC)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(
            f"{name} must be unix seconds or an ISO 8601 date or date-time",
            field=name,
            code="invalid_time",
        ) from None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def span(since: str | None, until: str | None) -> Span:
    """since is inclusive, until exclusive (a stored ``<until>#code`` sorts after `until`)."""
    lowest = parse_instant(since, "since") if since else LOWEST
    highest = parse_instant(until, "until") if until else HIGHEST
    if lowest > highest:
        raise InvalidInput("since must be before until", field="since", code="invalid_time")
    return Span(lowest, highest)


def _route(survey: Survey) -> str:
    # A cursor opens only on the route and survey that returned it (docs/security.md).
    return f"GET /v1/surveys/{survey.id}/responses"


def encode_cursor(survey: Survey, item: Mapping[str, Any]) -> str:
    """The sealed position of `item`: its index sort key holds its answer code, so it is
    encrypted, never base64 (docs/security.md)."""
    return cursors.seal({"a": item["answer_sk"]}, tenant_id=survey.tenant_id, route=_route(survey))


def decode_cursor(survey: Survey, text: str | None, within: Span) -> tuple[str, str] | None:
    """(answer_sk, code) of the last response seen, or a clear error for a foreign cursor."""
    value = cursors.open_cursor(text, tenant_id=survey.tenant_id, route=_route(survey))
    if value is None:
        return None
    position = value.get("a") if isinstance(value, dict) else None
    if not isinstance(position, str):
        raise InvalidInput("cursor is not one this API returned", field="cursor", code="invalid_cursor")
    match = _POSITION.match(position)
    if match is None or not within.lowest <= position <= within.highest:
        raise InvalidInput("cursor is not one this API returned", field="cursor", code="invalid_cursor")
    return position, match.group(1)


def answer_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """Who answered, where, and the answer: the fields every public view of a response shows."""
    return {
        "customer_id": item["customer_id"],
        "channel": item["channel"],
        "touchpoint": item.get("touchpoint"),
        "properties": dict(item.get("props") or {}),
        "score": None if item.get("score") is None else int(item["score"]),
        "comment": item.get("comment"),
        "attributes": {k: int(v) for k, v in (item.get("attrs") or {}).items()},
    }


def response_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The public shape of a response (an answered invitation)."""
    return {
        "id": item["invitation_id"],
        "invitation_id": item["invitation_id"],
        "survey_id": item["survey_id"],
        **answer_fields(item),
        "answers": {k: [str(v) for v in vs] for k, vs in (item.get("qa") or {}).items()},
        "created_at": item.get("first_answered_at"),
        "updated_at": item.get("answered_at"),
        "invited_at": item["created_at"],
    }


def _walk(survey: Survey, within: Span, cursor: str | None, page_size: int) -> Iterator[dict[str, Any]]:
    yield from response_store.answers_by_survey(
        survey.tenant_id,
        survey.id,
        lowest=within.lowest,
        highest=within.highest,
        after=decode_cursor(survey, cursor, within),
        page_size=page_size,
    )


def list_responses(
    survey: Survey, within: Span, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of responses and the cursor of the next (None on the last page).

    Reads one item past the page, so the last page says so instead of ending in an empty one.
    """
    page: list[dict[str, Any]] = []
    more = False
    for item in _walk(survey, within, cursor, limit + 1):
        if len(page) == limit:
            more = True
            break
        page.append(item)
    next_cursor = encode_cursor(survey, page[-1]) if more and page else None
    return [response_view(item) for item in page], next_cursor


@dataclass(frozen=True)
class ExportChunk:
    body: str
    rows: int
    next_cursor: str | None


def export_responses(
    survey: Survey,
    within: Span,
    cursor: str | None,
    fmt: str,
    *,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> ExportChunk:
    """CSV or NDJSON of the survey's responses, written row by row from pages of the index.

    A response body holds at most `max_bytes` (Lambda returns at most 6 MB): when more rows
    remain, `next_cursor` continues the export. A CSV chunk has the header row only when it
    starts the export, so the chunks concatenate into one file.
    """
    budget = EXPORT_BYTES if max_bytes is None else max_bytes
    keys = [a.key for a in survey.attributes]
    questions = [q.key for q in survey.questions]
    lines: list[str] = []
    size = 0
    if fmt == "csv" and not cursor:
        lines.append(export.csv_header(keys, questions))
        size += len(lines[0].encode())
    rows = 0
    last: dict[str, Any] | None = None
    more = False
    for item in _walk(survey, within, cursor, EXPORT_PAGE):
        view = response_view(item)
        line = export.csv_row(view, keys, questions) if fmt == "csv" else export.ndjson_row(view)
        length = len(line.encode())
        if (max_rows is not None and rows >= max_rows) or (rows and size + length > budget):
            more = True
            break
        lines.append(line)
        size += length
        rows += 1
        last = item
    return ExportChunk("".join(lines), rows, encode_cursor(survey, last) if more and last else None)
