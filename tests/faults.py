"""DynamoDB faults injected at the HTTP layer (botocore's `before-send` event): the request
never reaches the emulator, and the store sees exactly the error response AWS would send, so
its one translation (functions/store/clients.py) is what is under test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from functions.store.clients import client

THROTTLED = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
# A transaction DynamoDB cancelled because it was throttled (no condition failed).
TRANSACTION_THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": "Transaction cancelled, please refer cancellation reasons [ThrottlingError]",
        "CancellationReasons": [
            {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}
        ],
    }
).encode()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@contextmanager
def throttle(
    operation: str,
    times: int,
    *,
    when: Callable[[bytes], bool] | None = None,
    body: bytes = THROTTLED,
) -> Iterator[list[int]]:
    """Answer the next `times` calls of DynamoDB's `operation` (those whose request body
    satisfies `when`, if given) with DynamoDB's throttling error (or `body`). Yields the number
    answered so far (botocore's own retries count too)."""
    seen = [0]
    error_type = json.loads(body)["__type"].rpartition("#")[2]

    def respond(request: Any, **_: Any) -> AWSResponse | None:
        if seen[0] >= times:
            return None
        sent = request.body or b""
        if when is not None and not when(sent if isinstance(sent, bytes) else str(sent).encode()):
            return None
        seen[0] += 1
        headers = {"x-amzn-ErrorType": error_type, "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Raw(body))

    events = client("dynamodb").meta.events
    events.register_first(f"before-send.dynamodb.{operation}", respond)
    try:
        yield seen
    finally:
        events.unregister(f"before-send.dynamodb.{operation}", respond)
