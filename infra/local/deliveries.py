"""A local stand-in for Lambda's SQS event source mapping (webhook deliveries, the sender).

It receives messages, shapes them as Lambda's SQS event, calls the handler, and deletes the
messages the handler did not report in ``batchItemFailures``; reported ones become visible
again after their visibility timeout, as with Lambda.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("hark.deliveries")

VISIBILITY_SECONDS = 30


class QueueWorker:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Any,
        *,
        batch_size: int = 10,
        name: str = "webhook-deliveries",
    ) -> None:
        self.name = name
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        arn = "arn:aws:sqs:us-east-1:000000000000:" + self.queue_url.rsplit("/", 1)[-1]
        return {
            "Records": [
                {
                    "messageId": msg["MessageId"],
                    "receiptHandle": msg["ReceiptHandle"],
                    "body": msg["Body"],
                    "attributes": msg.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": msg.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for msg in messages
            ]
        }

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Handle the messages available now (one receive); the number received."""
        out = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=VISIBILITY_SECONDS,
            AttributeNames=["All"],
        )
        messages = out.get("Messages", [])
        if not messages:
            return 0
        try:
            result = self.handler(self._event(messages), None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # like Lambda: the whole batch becomes visible again later
            log.exception("delivery handler failed")
            return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def drain(self) -> int:
        """Handle messages until none is visible (tests: retries with zero delay included)."""
        total = 0
        while True:
            handled = self.poll_once()
            total += handled
            if not handled:
                return total

    def start(self) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.poll_once(wait_seconds=1)
                except Exception:  # keep going: a dev stack should survive a hiccup
                    log.exception("delivery poll failed")
                    self._stop.wait(1.0)

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
