"""The WebhookEvents Lambda (infra/template.py, HANDLERS): the responses stream's second
consumer, with Powertools batch processing and partial failures. It queues the events of each
record for the tenant's subscribed webhooks; scores do not wait for it, nor fail with it. Its
cold start loads the event code only, never the delivery code (`functions/webhooks/delivery.py`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.logic import webhook_events


def handle_stream_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Queue the webhook events of one stream batch.

    A malformed record is reported alone; the events of the others are queued together (one
    subscription read per tenant per batch). If queueing fails the whole batch is retried,
    which may queue an event twice: receivers deduplicate by webhook-id.
    """
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    events: list[webhook_events.Event] = []

    def record_handler(record: DynamoDBRecord) -> None:
        events.extend(webhook_events.events_for_record(record.raw_event))

    with processor(records=event.get("Records", []), handler=record_handler):
        processor.process()
    webhook_events.enqueue_events(events)
    return dict(processor.response())
