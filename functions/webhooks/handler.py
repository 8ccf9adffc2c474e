"""Lambda entries for webhooks, with Powertools batch processing and partial failures.

- `handle_stream_event`: the responses stream's second consumer; queues the events of each
  record for the tenant's subscribed webhooks. Scores do not wait for it, nor fail with it.
- `handle_delivery_event`: the delivery queue's consumer; one signed POST per message, a
  failed attempt re-queued with back-off (or dead-lettered once the budget is spent).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.logic import webhooks


def handle_stream_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Queue the webhook events of one stream batch.

    A malformed record is reported alone; the events of the others are queued together (one
    subscription read per tenant per batch). If queueing fails the whole batch is retried,
    which may queue an event twice: receivers deduplicate by webhook-id.
    """
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    events: list[webhooks.Event] = []

    def record_handler(record: DynamoDBRecord) -> None:
        events.extend(webhooks.events_for_record(record.raw_event))

    with processor(records=event.get("Records", []), handler=record_handler):
        processor.process()
    webhooks.enqueue_events(events)
    return dict(processor.response())


def handle_delivery_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Attempt each queued delivery; a message whose retry could not be queued is reported as
    failed, so SQS delivers it again (nothing is dropped silently)."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:
        webhooks.deliver(json.loads(record.body))

    with processor(records=event.get("Records", []), handler=record_handler):
        processor.process()
    return dict(processor.response())
