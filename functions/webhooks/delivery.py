"""The WebhookDelivery Lambda (infra/template.py, HANDLERS): the delivery queue's consumer, with
Powertools batch processing and partial failures. One signed POST per message, a failed
attempt re-queued with back-off (or dead-lettered once the budget is spent). Its cold start
loads the delivery code only, never the stream's event code (`functions/webhooks/events.py`).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.logic import webhook_delivery


def handle_delivery_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Attempt each queued delivery; a message whose retry could not be queued is reported as
    failed, so SQS delivers it again (nothing is dropped silently)."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:
        webhook_delivery.deliver(json.loads(record.body))

    with processor(records=event.get("Records", []), handler=record_handler):
        processor.process()
    return dict(processor.response())
