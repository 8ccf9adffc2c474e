"""Response exports (docs/api.md, Exports): CSV and NDJSON lines, written one row at a time.

A CSV cell that starts with ``= + - @`` (or a tab or carriage return) is read as a formula by
spreadsheet programs; such cells get a leading apostrophe (OWASP's advice), so a customer's
comment can never run in the business's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = (
    "id",
    "invitation_id",
    "survey_id",
    "customer_id",
    "channel",
    "touchpoint",
    "score",
    "comment",
    "created_at",
    "updated_at",
    "invited_at",
    "properties",
)


def neutralise(value: Any) -> Any:
    """A cell value that spreadsheets show as text, never evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# A select_many answer's choices share one cell, joined by this (docs/questions.md).
CHOICE_SEPARATOR = ";"


def csv_columns(attribute_keys: Sequence[str], question_keys: Sequence[str] = ()) -> list[str]:
    """The CSV header: the response fields, one ``attr.<key>`` column per CSI attribute, then
    one ``q.<key>`` column per additional question."""
    return [*BASE_COLUMNS, *(f"attr.{key}" for key in attribute_keys), *(f"q.{key}" for key in question_keys)]


def _line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(v) for v in values])
    return buffer.getvalue()


def csv_header(attribute_keys: Sequence[str], question_keys: Sequence[str] = ()) -> str:
    return _line(csv_columns(attribute_keys, question_keys))


def csv_row(
    response: Mapping[str, Any], attribute_keys: Sequence[str], question_keys: Sequence[str] = ()
) -> str:
    """One response as a CSV line; properties as one JSON cell (their keys vary per row)."""
    values: list[Any] = []
    for column in BASE_COLUMNS:
        value = response.get(column)
        if column == "properties":
            value = json.dumps(value or {}, separators=(",", ":"), sort_keys=True) if value else ""
        values.append("" if value is None else value)
    ratings = response.get("attributes") or {}
    values.extend(ratings.get(key, "") for key in attribute_keys)
    answers = response.get("answers") or {}
    values.extend(CHOICE_SEPARATOR.join(answers.get(key) or ()) for key in question_keys)
    return _line(values)


def ndjson_row(response: Mapping[str, Any]) -> str:
    return json.dumps(response, separators=(",", ":"), ensure_ascii=False) + "\n"
