"""Lambda entry for the responses stream: Powertools batch processing with partial failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.logic.aggregation import BatchAggregation


def handle_stream_event(event: dict[str, Any]) -> dict[str, Any]:
    """Apply one stream batch; return ``{"batchItemFailures": [...]}`` for the records that failed.

    A failing record (a poison image, a write error) is reported alone and the rest proceed;
    Lambda retries from the first failure, which is safe because applying is idempotent.
    A failure while recomputing scores raises, so the whole batch is retried.
    """
    records = event.get("Records", [])
    batch = BatchAggregation()
    batch.plan(records)
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

    def record_handler(record: DynamoDBRecord) -> None:
        batch.apply_record(record.raw_event)

    with processor(records=records, handler=record_handler):
        processor.process()
    batch.finish()
    return dict(processor.response())
