"""The conflict proxy (infra/local/conflicts.py) gives DynamoDB Local DynamoDB's transaction-
conflict rule: overlapping in-flight transactions cancel the newcomer in DynamoDB's shape, and
boto3 and the store read that cancellation as they read DynamoDB's."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.conflicts import ConflictProxy, read_counts
from tests.conftest import Emulator

pytestmark = pytest.mark.integration

HOLD = 0.6  # long enough that the second request surely arrives while the first is held


@pytest.fixture
def local(emulator: Emulator) -> Emulator:
    if emulator.backend != "dynamodb-local":
        pytest.skip("the conflict proxy fronts DynamoDB Local (moto has its own transactions)")
    return emulator


@pytest.fixture
def proxy(local: Emulator) -> Iterator[ConflictProxy]:
    with ConflictProxy(local.dynamodb_endpoint, hold_seconds=HOLD) as running:
        yield running


def _client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": 1})
    )


@pytest.fixture
def table(local: Emulator) -> Iterator[str]:
    """A table keyed pk/sk like the scores table, made for the test and deleted after it."""
    name = f"conflicts-{uuid.uuid4().hex[:8]}"
    dynamodb = _client(local.dynamodb_endpoint)
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    yield name
    dynamodb.delete_table(TableName=name)


def _put(table: str, pk: str, sk: str = "x", **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "sk": {"S": sk}, **extra}}}


def _add(table: str, pk: str, sk: str = "x") -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _in_flight(proxy: ConflictProxy, dynamodb: Any, actions: list[dict[str, Any]]) -> threading.Thread:
    """Start a transaction in a thread and return once the proxy holds its items."""
    errors: list[Exception] = []

    def run() -> None:
        try:
            dynamodb.transact_write_items(TransactItems=actions)
        except Exception as exc:  # surfaced by the caller's join
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    deadline, delay = time.monotonic() + 10, 0.005
    while proxy.held() < len(actions):
        assert time.monotonic() < deadline, "the first transaction never reached the proxy"
        time.sleep(delay)  # polling the proxy's state with back-off
        delay = min(delay * 2, 0.05)
    return thread


def test_a_transaction_overlapping_an_in_flight_one_is_cancelled_as_dynamodb_cancels_it(
    proxy: ConflictProxy, table: str
) -> None:
    from functions.store.clients import translate
    from functions.store.scores import _conflicted

    dynamodb = _client(proxy.endpoint)
    first = _in_flight(proxy, dynamodb, [_add(table, "T#hot"), _put(table, "L#a")])
    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(TransactItems=[_put(table, "L#b"), _add(table, "T#hot")])
    first.join()
    assert first.errors == []  # type: ignore[attr-defined]

    error = caught.value
    assert error.response["Error"]["Code"] == "TransactionCanceledException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
    ]
    assert "[None, TransactionConflict]" in error.response["Error"]["Message"]
    assert _conflicted(translate(error))  # the store reads it as a conflict, as it reads DynamoDB's
    # The cancelled one wrote nothing; the first committed
    stored = _client(proxy.endpoint).get_item(TableName=table, Key={"pk": {"S": "T#hot"}, "sk": {"S": "x"}})
    assert stored["Item"]["n"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "L#b"}, "sk": {"S": "x"}})
    counts = proxy.counts()
    assert counts["transactions_attempted"] == 2
    assert counts["transactions_committed"] == 1
    assert counts["transactions_conflicted"] == 1


def test_disjoint_transactions_in_flight_together_both_commit(proxy: ConflictProxy, table: str) -> None:
    dynamodb = _client(proxy.endpoint)
    first = _in_flight(proxy, dynamodb, [_add(table, "T#one"), _put(table, "L#a")])
    # Same partition key, another sort key: another item, so no conflict
    dynamodb.transact_write_items(TransactItems=[_add(table, "T#one", "y"), _put(table, "L#b")])
    first.join()
    assert first.errors == []  # type: ignore[attr-defined]
    counts = proxy.counts()
    assert (counts["transactions_attempted"], counts["transactions_committed"]) == (2, 2)
    assert counts["transactions_conflicted"] == 0


def test_a_single_write_to_an_item_held_by_a_transaction_fails_with_transaction_conflict(
    proxy: ConflictProxy, table: str
) -> None:
    dynamodb = _client(proxy.endpoint)
    first = _in_flight(proxy, dynamodb, [_put(table, "L#held")])
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "L#held"}, "sk": {"S": "x"}, "v": {"S": "late"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "L#free"}, "sk": {"S": "x"}})
    first.join()
    assert caught.value.response["Error"]["Code"] == "TransactionConflictException"
    assert "Transaction is ongoing" in caught.value.response["Error"]["Message"]
    counts = proxy.counts()
    assert (counts["single_writes"], counts["single_writes_conflicted"]) == (2, 1)


def test_refusals_items_and_write_units_are_counted_and_readable_over_http(
    local: Emulator, table: str
) -> None:
    with ConflictProxy(local.dynamodb_endpoint, hold_seconds=0) as proxy:
        dynamodb = _client(proxy.endpoint)
        big = {"blob": {"S": "b" * 1500}}  # 2 KB started: 2 units, 4 inside a transaction
        dynamodb.transact_write_items(TransactItems=[_put(table, "L#big", **big), _add(table, "T#n")])
        refused = _put(table, "L#big")
        refused["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        with pytest.raises(ClientError) as caught:
            dynamodb.transact_write_items(TransactItems=[refused])
        assert caught.value.response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "P#1"}, "sk": {"S": "x"}, **big})
        counts = read_counts(proxy.endpoint)
    assert counts["transactions_attempted"] == 2
    assert counts["transactions_committed"] == 1
    assert counts["transactions_refused"] == 1
    assert counts["items_written"] == 3
    # the transaction: 2 × 2 (the big item) + 2 × 1 (the tally, as stored); the put: 2
    assert counts["write_units"] == 4 + 2 + 2
