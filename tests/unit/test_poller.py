"""The local stream poller copes with real streams: many shards, closed shards, empty pages."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.poller import StreamPoller

pytestmark = pytest.mark.unit

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026"


def record(seq: str) -> dict[str, Any]:
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": seq, "ApproximateCreationDateTime": 1.0, "NewImage": {}},
    }


class FakeStreams:
    """DynamoDB Streams as the service behaves: pages, shards that close, parents and children.

    A shard is a list of records and None (None = a page that comes back empty although more
    records follow, as DynamoDB's GetRecords may answer).
    """

    def __init__(self, shards: dict[str, dict[str, Any]], page_size: int = 2) -> None:
        self.shards = shards
        self.page_size = page_size

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start : start + 1]  # one shard per page: pagination must be followed
        described = []
        for shard_id in page:
            shard = self.shards[shard_id]
            numbers = {"StartingSequenceNumber": "0"}
            if shard["closed"]:
                numbers["EndingSequenceNumber"] = "999"
            entry = {"ShardId": shard_id, "SequenceNumberRange": numbers}
            if shard.get("parent"):
                entry["ParentShardId"] = shard["parent"]
            described.append(entry)
        out: dict[str, Any] = {"Shards": described}
        if start + 1 < len(ids):
            out["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": out}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, **kw: Any
    ) -> dict[str, Any]:
        items = self.shards[ShardId]["items"]
        position = 0
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            seqs = [i["dynamodb"]["SequenceNumber"] if i else None for i in items]
            position = seqs.index(kw["SequenceNumber"]) + 1
        return {"ShardIterator": f"{ShardId}:{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, raw = ShardIterator.split(":")
        position, shard = int(raw), self.shards[shard_id]
        items = shard["items"]
        records: list[dict[str, Any]] = []
        if position < len(items) and items[position] is None:
            position += 1  # an empty page
        else:
            while position < len(items) and items[position] is not None and len(records) < self.page_size:
                records.append(items[position])
                position += 1
        out: dict[str, Any] = {"Records": records}
        if position < len(items) or not shard["closed"]:
            out["NextShardIterator"] = f"{shard_id}:{position}"
        return out


def drain(poller: StreamPoller) -> None:
    while poller.poll_once():
        pass


def collect() -> tuple[list[str], Any]:
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(r["dynamodb"]["SequenceNumber"] for r in event["Records"])
        return {"batchItemFailures": []}

    return seen, handler


def test_a_child_shard_waits_for_its_parent_and_empty_pages_do_not_stop_a_closed_shard() -> None:
    # Given a closed parent whose records follow empty pages, and an open child listed first
    streams = FakeStreams(
        {
            "child": {"closed": False, "parent": "parent", "items": [record("5"), record("6")]},
            "parent": {"closed": True, "items": [None, record("1"), None, None, record("2"), record("3")]},
        }
    )
    seen, handler = collect()
    poller = StreamPoller(streams, ARN, handler, region="us-east-1")

    # When the poller drains the stream
    drain(poller)

    # Then every record arrives once, the parent's before the child's
    assert seen == ["1", "2", "3", "5", "6"]


def test_a_child_whose_parent_was_trimmed_is_read() -> None:
    streams = FakeStreams({"child": {"closed": False, "parent": "gone", "items": [record("7")]}})
    seen, handler = collect()
    drain(StreamPoller(streams, ARN, handler, region="us-east-1"))
    assert seen == ["7"]


def test_new_records_on_an_open_shard_are_picked_up_after_the_checkpoint() -> None:
    shard = {"closed": False, "items": [record("1")]}
    streams = FakeStreams({"only": shard})
    seen, handler = collect()
    poller = StreamPoller(streams, ARN, handler, region="us-east-1")
    drain(poller)
    shard["items"].append(record("2"))
    drain(poller)
    assert seen == ["1", "2"]
