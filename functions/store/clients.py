"""boto3 clients, created once per process, and the one translation of their errors.

botocore reads AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_DYNAMODB) itself, so the same code
talks to AWS, moto, DynamoDB Local or LocalStack with no emulator branches.

Every request of the store goes through `call` (DynamoDB's through `functions/store/dynamo.py`,
which builds on it), so botocore's `ClientError` is translated here and nowhere else
(docs/architecture.md, "Store boundary"): throttling is `Busy` (the domain's `Throttled`, the
documented 503), a failed condition `ConditionFailed`, a cancelled transaction
`TransactionCancelled` with a reason per action, anything else `Refused` with the service's
code. The module that made the call decides what a refusal means (its domain error or result).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from functions.domain.errors import Throttled

_lock = threading.Lock()

# Standard retry mode backs off on throttling; a bounded budget keeps a click's latency sane.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=32)

# The error codes (and, in a cancelled transaction, the reasons) that mean "too busy, retry".
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        # a transaction's cancellation reasons
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }
)


@cache
def client(service: str) -> Any:
    """The process-wide client for `service` (thread-safe creation)."""
    with _lock:
        return boto3.session.Session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget clients (tests point the process at a fresh emulator)."""
    client.cache_clear()


class Busy(Throttled):
    """The service throttled the request past botocore's own retries. A `Throttled`, so every
    route answers it as the documented 503 (429 in the Delighted profile); `reason` is the
    service's code (a sender may retry on it)."""

    def __init__(self, reason: str) -> None:
        super().__init__("the service is busy; try again in a moment")
        self.reason = reason


class Refused(Exception):
    """A request the service refused for a reason other than throttling; `reason` is the
    service's error code, `detail` its message. Never leaves the store as such: the module
    that made the call turns it into a domain error or a result, or lets it fail the request."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ConditionFailed(Refused):
    """A conditional write whose condition did not hold. `item` is the item as it was (raw
    attribute values), when the request asked for it (`ReturnValuesOnConditionCheckFailure`)."""

    def __init__(self, detail: str, item: Mapping[str, Any] | None) -> None:
        super().__init__("ConditionalCheckFailedException", detail)
        self.item = dict(item) if item is not None else None


class TransactionCancelled(Refused):
    """A TransactWriteItems that wrote nothing; `reasons` has one code per action, in order
    ("None" for an action that was fine, "ConditionalCheckFailed", "TransactionConflict", …)."""

    def __init__(self, detail: str, reasons: list[str]) -> None:
        super().__init__("TransactionCanceledException", detail)
        self.reasons = tuple(reasons)

    @property
    def condition_failed(self) -> bool:
        return "ConditionalCheckFailed" in self.reasons


def translate(exc: ClientError) -> Exception:
    """The store's exception for a botocore `ClientError` (raise it `from exc`)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    detail = str(error.get("Message", ""))
    if code in THROTTLING_CODES:
        return Busy(code)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(detail, exc.response.get("Item"))
    if code == "TransactionCanceledException":
        reasons = [str(r.get("Code") or "None") for r in exc.response.get("CancellationReasons") or []]
        if "ConditionalCheckFailed" not in reasons and THROTTLING_CODES.intersection(reasons):
            return Busy(code)  # throttled, not refused: the same transaction may succeed later
        return TransactionCancelled(detail, reasons)
    return Refused(code, detail)


def call(service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
    """One request of `service`'s client (`operation` as boto3 names it: `get_parameter`, ...),
    its `ClientError` translated (module docstring)."""
    try:
        out: dict[str, Any] = getattr(client(service), operation)(**kwargs)
    except ClientError as exc:
        raise translate(exc) from exc
    return out
