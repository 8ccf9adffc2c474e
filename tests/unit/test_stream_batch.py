"""The aggregator's partial batch response has the shape and content Powertools' batch utility
gives for a DynamoDB stream (functions/aggregator/batch.py), so Lambda retries the same records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.aggregator.batch import process_partial

pytestmark = pytest.mark.unit


def record(seq: int, poison: bool = False) -> dict[str, Any]:
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/r/stream/2026-01-01T00:00:00.000",
        "dynamodb": {
            "SequenceNumber": f"{seq:021d}",
            "Keys": {"pk": {"S": f"R#{seq}"}},
            "NewImage": {"pk": {"S": f"R#{seq}"}, "poison": {"BOOL": poison}},
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def handle(raw: Mapping[str, Any]) -> None:
    if raw["dynamodb"]["NewImage"]["poison"]["BOOL"]:
        raise ValueError("poison record")


def powertools(records: list[dict[str, Any]]) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

    def handler(record: DynamoDBRecord) -> None:  # Powertools passes it as `record=`
        handle(record.raw_event)

    with processor(records=records, handler=handler):
        processor.process()
    return dict(processor.response())


CASES = {
    "empty batch": [],
    "all succeed": [record(1), record(2), record(3)],
    "one in the middle fails": [record(1), record(2, poison=True), record(3)],
    "first and last fail": [record(1, poison=True), record(2), record(3, poison=True)],
    "all fail": [record(1, poison=True), record(2, poison=True)],
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_response_equals_powertools_batch_processor(name: str) -> None:
    records = CASES[name]
    assert process_partial(records, handle) == powertools(records)


def test_failed_records_are_reported_by_sequence_number_and_the_rest_are_handled() -> None:
    handled: list[str] = []

    def handler(raw: Mapping[str, Any]) -> None:
        handle(raw)
        handled.append(raw["eventID"])

    response = process_partial([record(1), record(2, poison=True), record(3)], handler)
    assert response == {"batchItemFailures": [{"itemIdentifier": "000000000000000000002"}]}
    assert handled == ["e1", "e3"]
