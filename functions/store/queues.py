"""SQS: the webhook delivery queue and its dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from functions.store.clients import call

SEND_BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900  # SQS's longest per-message delay


def send_messages(queue_url: str, bodies: Sequence[Mapping[str, Any]], delay_seconds: int = 0) -> None:
    """Send JSON messages in batches of 10; raises if any message was not accepted, so the
    caller's batch is retried (delivery is at least once)."""
    for start in range(0, len(bodies), SEND_BATCH_LIMIT):
        chunk = bodies[start : start + SEND_BATCH_LIMIT]
        out = call(
            "sqs",
            "send_message_batch",
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(body, separators=(",", ":")),
                    "DelaySeconds": min(max(delay_seconds, 0), MAX_DELAY_SECONDS),
                }
                for i, body in enumerate(chunk)
            ],
        )
        if out.get("Failed"):
            codes = sorted({f.get("Code", "?") for f in out["Failed"]})
            raise RuntimeError(f"SQS refused {len(out['Failed'])} messages: {', '.join(codes)}")


def send_message(queue_url: str, body: Mapping[str, Any], delay_seconds: int = 0) -> None:
    send_messages(queue_url, [body], delay_seconds)
