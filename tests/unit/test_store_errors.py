"""botocore's ClientError is translated in one place (functions/store/clients.py; docs/
architecture.md, "Store boundary"): what each DynamoDB error becomes, and no other module of
ours catches botocore's exceptions or calls a boto3 client itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.api.errors import status_for
from functions.domain.errors import Throttled
from functions.store import clients, dynamo

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# The one translation, and the item codec (no client calls).
DIRECT_CALLS_ALLOWED = {"functions/store/clients.py", "functions/store/items.py"}


def error(code: str, message: str = "m", **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **extra}, "Op")


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"]
)
def test_throttling_is_busy_a_throttled_answered_503_or_429(code: str) -> None:
    busy = clients.translate(error(code))
    assert isinstance(busy, dynamo.Busy) and isinstance(busy, Throttled) and busy.reason == code
    assert (status_for(busy, "json"), status_for(busy, "delighted"), status_for(busy, "page")) == (
        503,
        429,
        503,
    )
    assert busy.code == "throttled"  # the error body's code is the domain's, not the service's


def test_a_failed_condition_carries_the_old_item() -> None:
    item = {"pk": {"S": "x"}}
    failed = clients.translate(error("ConditionalCheckFailedException", Item=item))
    assert isinstance(failed, dynamo.ConditionFailed) and failed.item == item
    assert clients.translate(error("ConditionalCheckFailedException")).item is None  # type: ignore[attr-defined]


def test_a_cancelled_transaction_has_a_reason_per_action() -> None:
    reasons = [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "m"},
        {"Code": "ThrottlingError"},
    ]
    cancelled = clients.translate(error("TransactionCanceledException", CancellationReasons=reasons))
    assert isinstance(cancelled, dynamo.TransactionCancelled)
    assert cancelled.reasons == ("None", "ConditionalCheckFailed", "ThrottlingError")
    assert cancelled.condition_failed


def test_a_transaction_cancelled_only_by_throttling_is_busy() -> None:
    reasons = [{"Code": "None"}, {"Code": "ThrottlingError"}]
    assert isinstance(
        clients.translate(error("TransactionCanceledException", CancellationReasons=reasons)), dynamo.Busy
    )


def test_anything_else_is_refused_with_the_services_code_and_message() -> None:
    refused = clients.translate(error("ValidationException", "Item size has exceeded the maximum"))
    assert type(refused) is dynamo.Refused
    assert (refused.reason, refused.detail) == ("ValidationException", "Item size has exceeded the maximum")


def test_no_module_but_the_translation_catches_botocore_errors_or_calls_a_client() -> None:
    offenders = []
    for path in sorted((ROOT / "functions").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if name in DIRECT_CALLS_ALLOWED:
            continue
        if "botocore.exceptions" in text or "ClientError" in re.sub(r'"""(.|\n)*?"""', "", text):
            offenders.append(f"{name}: ClientError")
        if re.search(r"\bclient\(\"[a-z0-9-]+\"\)\.", text):
            offenders.append(f"{name}: a direct client call")
    assert offenders == []
