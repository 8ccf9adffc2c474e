"""The embedded emulator behaves as DynamoDB does where Hark depends on it (infra/local/moto_fixes.py).

Each test here fails on an unpatched moto 5.2.5: concurrent writers sharing stream sequence
numbers, a cancelled transaction that still costs a copy of the whole table, a Query that walks
every partition, shard iterators that pile up for ever.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.local import moto_fixes
from infra.local.stack import REGION, start_moto, use_emulator_credentials

pytestmark = pytest.mark.integration

TABLE = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    use_emulator_credentials()
    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()


_tables = iter(range(10**6))


@pytest.fixture
def table(endpoint: str) -> Iterator[tuple[Any, Any, str, str]]:
    """A table of its own on the shared emulator: (dynamodb, streams, name, stream ARN)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION)
    name = f"fixes-{next(_tables)}"
    arn = dynamodb.create_table(TableName=name, **TABLE)["TableDescription"]["LatestStreamArn"]
    try:
        yield dynamodb, streams, name, arn
    finally:
        dynamodb.delete_table(TableName=name)


def stream_records(streams: Any, arn: str) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    out: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            return out
        out += page["Records"]
        iterator = page["NextShardIterator"]


def test_concurrent_writers_get_distinct_stream_sequence_numbers(table: tuple[Any, Any, str, str]) -> None:
    dynamodb, streams, name, arn = table

    # Given 8 threads each putting 60 items at once
    def put(worker: int) -> None:
        for i in range(60):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": f"w{worker}"}, "sk": {"S": f"{i:03d}"}})

    threads = [threading.Thread(target=put, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the stream holds one record per write, each with its own sequence number, in order
    records = stream_records(streams, arn)
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert len(records) == 480
    assert numbers == sorted(set(numbers))


def test_threads_writing_in_process_get_distinct_increasing_sequence_numbers() -> None:
    """The root cause of a flaky write-count test: invitations are written by a thread pool,
    and moto numbered two records alike, so a checkpointed reader re-read or skipped some.
    A tiny switch interval makes the interleaving that a busy CI machine produces by chance."""
    import sys

    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends

    use_emulator_credentials()
    name = f"fixes-race-{next(_tables)}"
    mock = mock_aws()
    mock.start(reset=False)  # the session's emulator shares these backends: leave them be
    switch = sys.getswitchinterval()
    try:
        dynamodb = boto3.client(
            "dynamodb", region_name=REGION, endpoint_url="https://dynamodb.us-east-1.amazonaws.com"
        )
        dynamodb.create_table(TableName=name, **TABLE)

        def put(worker: int) -> None:
            for i in range(100):
                dynamodb.put_item(
                    TableName=name,
                    Item={"pk": {"S": f"w{worker}"}, "sk": {"S": f"{i:03d}"}, "x": {"S": "y" * 200}},
                )

        sys.setswitchinterval(1e-6)
        threads = [threading.Thread(target=put, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(switch)
        shard = dynamodb_backends["123456789012"][REGION].tables[name].stream_shard
        numbers = [int(record.to_json()["dynamodb"]["SequenceNumber"]) for record in shard.items]
        assert len(numbers) == 800
        assert numbers == sorted(set(numbers))
    finally:
        sys.setswitchinterval(switch)
        try:
            boto3.client(
                "dynamodb", region_name=REGION, endpoint_url="https://dynamodb.us-east-1.amazonaws.com"
            ).delete_table(TableName=name)
        finally:
            mock.stop(remove_data=False)


def test_a_cancelled_transaction_writes_nothing_and_emits_nothing(table: tuple[Any, Any, str, str]) -> None:
    dynamodb, streams, name, arn = table
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    before = len(stream_records(streams, arn))

    # When a transaction's second condition fails
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": name,
                        "Item": {"pk": {"S": "a"}, "sk": {"S": "1-new"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    # Then DynamoDB's reasons come back, and neither item nor stream changed
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    item = dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]
    assert item["n"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "1-new"}})
    assert len(stream_records(streams, arn)) == before


def test_an_action_that_fails_mid_transaction_undoes_the_ones_before_it(
    table: tuple[Any, Any, str, str],
) -> None:
    dynamodb, streams, name, arn = table
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}, "sk": {"S": "1"}, "s": {"S": "text"}})
    before = len(stream_records(streams, arn))

    # When the first action writes and the second fails while writing (ADD to a string)
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "b"}, "sk": {"S": "2"}}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}},
                        "UpdateExpression": "ADD s :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    # Then the first action is undone, with its stream record
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"pk": {"S": "b"}, "sk": {"S": "2"}})
    assert dynamodb.get_item(TableName=name, Key={"pk": {"S": "b"}, "sk": {"S": "1"}})["Item"]["s"] == {
        "S": "text"
    }
    assert len(stream_records(streams, arn)) == before


def test_a_transaction_copies_only_the_items_it_touches(
    table: tuple[Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    dynamodb, _, name, _ = table
    for i in range(50):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "c"}, "sk": {"S": f"{i:03d}"}})

    # Given that copying a whole table fails
    def refuse(self: Any, memo: Any) -> Any:
        raise AssertionError("a transaction copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)

    # When a transaction writes two items, it succeeds without copying the table
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "c"}, "sk": {"S": "new"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "c"}, "sk": {"S": "000"}}}},
        ]
    )
    assert "Item" in dynamodb.get_item(TableName=name, Key={"pk": {"S": "c"}, "sk": {"S": "new"}})
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"pk": {"S": "c"}, "sk": {"S": "000"}})


def test_a_query_reads_its_partition_only_and_answers_as_before(
    table: tuple[Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    dynamodb, _, name, _ = table
    for pk in ("p", "q", "r"):
        for i in (3, 1, 2):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": {"S": f"{i}"}})
    sorted_sizes: list[int] = []
    real_sorted = sorted

    def counting_sorted(items: Any, **kwargs: Any) -> Any:
        out = real_sorted(items, **kwargs)
        sorted_sizes.append(len(out))
        return out

    monkeypatch.setitem(Table.all_items.__globals__, "sorted", counting_sorted)

    page = dynamodb.query(
        TableName=name,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "q"}, ":s": {"S": "1"}},
        ScanIndexForward=False,
    )
    assert [i["sk"]["S"] for i in page["Items"]] == ["3", "2"]
    assert sorted_sizes and max(sorted_sizes) <= 3  # the partition, never the 9-item table


def test_shard_iterators_do_not_pile_up(
    table: tuple[Any, Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    _, streams, _, arn = table
    monkeypatch.setattr(moto_fixes, "MAX_SHARD_ITERATORS", 20)
    for _ in range(30):
        stream_records(streams, arn)
    backend = dynamodbstreams_backends["123456789012"][REGION]
    assert len(backend.shard_iterators) <= 20


def test_a_poller_in_the_process_is_woken_by_a_new_record(table: tuple[Any, Any, str, str]) -> None:
    dynamodb, _, name, _ = table
    seen = moto_fixes.stream_generation()
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "w"}, "sk": {"S": "1"}})
    assert moto_fixes.wait_for_stream_change(seen, timeout=5) != seen


def test_the_data_dump_narrowed_to_one_model_leaves_the_tables_out(
    endpoint: str, table: tuple[Any, Any, str, str]
) -> None:
    import json
    import urllib.request

    dynamodb, _, name, _ = table
    for i in range(20):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": f"{i:03d}"}})
    ses = boto3.client("sesv2", endpoint_url=endpoint, region_name=REGION)
    ses.create_email_identity(EmailIdentity="dump.example")
    raw = b"From: a@dump.example\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
    ses.send_email(
        FromEmailAddress="a@dump.example",
        Destination={"ToAddresses": ["b@example.com"]},
        Content={"Raw": {"Data": raw}},
    )

    def dump(query: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json{query}", timeout=30) as out:
            return dict(json.loads(out.read()))

    narrowed = dump("?service=ses&model=RawMessage")
    assert list(narrowed) == ["ses"] and list(narrowed["ses"]) == ["RawMessage"]
    assert any("Subject: hi" in m["raw_data"] for m in narrowed["ses"]["RawMessage"])
    whole = dump("")  # as before: every service, the table's items included
    assert "dynamodb" in whole and whole["ses"]["RawMessage"] == narrowed["ses"]["RawMessage"]
