"""The conflict proxy's answers parse in botocore exactly as DynamoDB's do (no network)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from infra.local.conflicts import _error, cancellation, write_units

pytestmark = pytest.mark.unit


def _parsed(operation: str, status: int, body: bytes) -> dict[str, Any]:
    """The response as botocore's endpoint parses it: the error, then its modeled fields."""
    model = botocore.session.get_session().get_service_model("dynamodb").operation_model(operation)
    parser = create_parser("json")
    response = {"status_code": status, "headers": {}, "body": body}
    parsed: dict[str, Any] = parser.parse(response, model.output_shape)
    shape = model.service_model.shape_for_error_code(parsed["Error"]["Code"])
    assert shape is not None  # an error DynamoDB's model knows
    parsed.update(parser.parse(response, shape))
    return parsed


def test_a_cancellation_names_each_action_and_parses_into_cancellation_reasons() -> None:
    status, body = cancellation([False, True, False])
    parsed = _parsed("TransactWriteItems", status, body)
    assert status == 400
    assert parsed["Error"] == {
        "Code": "TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, TransactionConflict, None]",
    }
    assert parsed["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
        {"Code": "None"},
    ]


def test_a_single_write_conflict_is_a_transaction_conflict_exception() -> None:
    status, body = _error("TransactionConflictException", "Transaction is ongoing for the item")
    parsed = _parsed("PutItem", status, body)
    assert parsed["Error"] == {
        "Code": "TransactionConflictException",
        "Message": "Transaction is ongoing for the item",
    }


@pytest.mark.parametrize(("size", "units"), [(0, 1), (1, 1), (1024, 1), (1025, 2), (4096, 4), (4097, 5)])
def test_a_write_costs_one_unit_per_started_kilobyte(size: int, units: int) -> None:
    assert write_units(size) == units
