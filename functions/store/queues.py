"""SQS: the webhook delivery queue and its dead-letter queue, the send queue, and the tally
writer's FIFO queue."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from functions.store.clients import call

SEND_BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900  # SQS's longest per-message delay


def _send(queue_url: str, entries: Sequence[dict[str, Any]]) -> None:
    """SendMessageBatch in batches of 10; raises if any message was not accepted, so the
    caller's batch is retried (delivery is at least once)."""
    for start in range(0, len(entries), SEND_BATCH_LIMIT):
        chunk = entries[start : start + SEND_BATCH_LIMIT]
        out = call(
            "sqs",
            "send_message_batch",
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), **entry} for i, entry in enumerate(chunk)],
        )
        if out.get("Failed"):
            codes = sorted({f.get("Code", "?") for f in out["Failed"]})
            raise RuntimeError(f"SQS refused {len(out['Failed'])} messages: {', '.join(codes)}")


def _body(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def send_messages(queue_url: str, bodies: Sequence[Mapping[str, Any]], delay_seconds: int = 0) -> None:
    """Send JSON messages, each after `delay_seconds` (at most SQS's 15 minutes)."""
    delay = min(max(delay_seconds, 0), MAX_DELAY_SECONDS)
    _send(queue_url, [{"MessageBody": _body(body), "DelaySeconds": delay} for body in bodies])


def send_message(queue_url: str, body: Mapping[str, Any], delay_seconds: int = 0) -> None:
    send_messages(queue_url, [body], delay_seconds)


def send_grouped(queue_url: str, messages: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
    """Send JSON messages to a FIFO queue: (group, deduplication id, body) each. Messages of one
    group are delivered one batch at a time, in order; a message whose deduplication id was
    sent in the last five minutes is accepted and dropped."""
    _send(
        queue_url,
        [
            {"MessageBody": _body(body), "MessageGroupId": group, "MessageDeduplicationId": dedup}
            for group, dedup, body in messages
        ],
    )
