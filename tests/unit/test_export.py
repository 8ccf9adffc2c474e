"""Export rows: CSV cells that a spreadsheet would evaluate are neutralised."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain import export

pytestmark = pytest.mark.unit

RESPONSE = {
    "id": "inv_1",
    "invitation_id": "inv_1",
    "survey_id": "srv_1",
    "customer_id": "+15551234567",
    "channel": "email",
    "touchpoint": None,
    "properties": {"plan": '=HYPERLINK("http://evil")', "region": "eu"},
    "score": 9,
    "comment": "=1+2",
    "attributes": {"speed": 7},
    "created_at": "2026-11-23T10:00:00.000Z",
    "updated_at": "2026-11-23T10:00:00.000Z",
    "invited_at": "2026-11-22T10:00:00.000Z",
}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_cells_get_a_leading_apostrophe(start: str) -> None:
    assert export.neutralise(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_ordinary_cells_and_numbers_are_left_alone() -> None:
    assert export.neutralise("great service") == "great service"
    assert export.neutralise(-3) == -3


def test_a_csv_export_reads_back_with_every_cell_safe() -> None:
    text = export.csv_header(["speed", "price"]) + export.csv_row(RESPONSE, ["speed", "price"])
    header, row = list(csv.reader(io.StringIO(text)))
    record = dict(zip(header, row, strict=True))
    assert record["comment"] == "'=1+2"
    assert record["customer_id"] == "'+15551234567"
    assert record["score"] == "9" and record["attr.speed"] == "7" and record["attr.price"] == ""
    assert json.loads(record["properties"]) == RESPONSE["properties"]  # JSON cells start with "{"
    assert record["touchpoint"] == ""


@given(st.text(max_size=50))
def test_no_cell_ever_starts_like_a_formula(comment: str) -> None:
    text = export.csv_row({**RESPONSE, "comment": comment, "customer_id": comment}, [])
    for cell in next(csv.reader(io.StringIO(text))):
        assert not cell.startswith(export.FORMULA_STARTS)


def test_ndjson_is_one_json_object_per_line() -> None:
    line = export.ndjson_row({**RESPONSE, "comment": "line one\nline two"})
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line)["comment"] == "line one\nline two"
