"""In-process AWS (moto's `mock_aws`) for tests that need hundreds of fast store calls.

moto's in-process mock shares its backends with the session's moto server (same process), and
starting or stopping it normally wipes them. So it is started without a reset, every use gets
tables of its own (created from infra/tables.json like everywhere else), and drops them after.
Tests sharing one stack keep apart by using their own tenant and survey ids.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.local.poller import lambda_record
from infra.local.stack import REGION

_names = itertools.count()
# botocore 1.44 sends DescribeStream to <account>.streams-ddb.<region>.amazonaws.com, a host
# moto 5.2's in-process mock does not route; the classic endpoint works.
STREAMS_ENDPOINT = f"https://streams.dynamodb.{REGION}.amazonaws.com"
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@dataclass
class InProcessStack:
    names: dict[str, str]
    stream_arn: str
    streams: Any
    scores_queue_url: str = ""
    _after: dict[str, str] = field(default_factory=dict)  # shard → last sequence number read

    def settle_scores(self) -> int:
        """Apply every pending score delta now: the tally writer drains its FIFO queue."""
        from functions.aggregator.writer import handle_queue_event
        from functions.store.clients import client
        from infra.local.deliveries import QueueWorker

        return int(QueueWorker(client("sqs"), self.scores_queue_url, handle_queue_event).drain())

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """One stream batch through the aggregator, then the tally writer: its response."""
        from functions.aggregator.handler import handle_stream_event

        response = handle_stream_event({"Records": records})
        self.settle_scores()
        return response

    def new_records(self, ttl_codes: Collection[str] = ()) -> list[dict[str, Any]]:
        """The responses stream's records since the last call, shaped as Lambda delivers them.

        moto never expires items by TTL; a REMOVE of a code in `ttl_codes` is marked as
        DynamoDB's TTL sweeper marks it (userIdentity Service / dynamodb.amazonaws.com).
        """
        out = []
        for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard_id in self._after:
                position = {
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                    "SequenceNumber": self._after[shard_id],
                }
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **position
            )["ShardIterator"]
            newest = int(self._after.get(shard_id, -1))
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                # Only records past the newest one read: a page that brings none ends the read
                # (an iterator that does not move on would otherwise loop for ever).
                fresh = [r for r in page["Records"] if int(r["dynamodb"]["SequenceNumber"]) > newest]
                for raw in fresh:
                    record = lambda_record(raw, self.stream_arn, REGION)
                    keys = record["dynamodb"].get("Keys", {})
                    if record["eventName"] == "REMOVE" and keys.get("pk", {}).get("S") in ttl_codes:
                        record["userIdentity"] = dict(TTL_IDENTITY)
                    out.append(record)
                    newest = int(raw["dynamodb"]["SequenceNumber"])
                    self._after[shard_id] = raw["dynamodb"]["SequenceNumber"]
                if not fresh:
                    break
                iterator = page.get("NextShardIterator")
        return out


@contextmanager
def in_process_aws(extra_env: dict[str, str] | None = None) -> Iterator[InProcessStack]:
    """Fresh tables in moto's in-process mock; the process's settings point at them meanwhile."""
    import boto3
    from moto import mock_aws

    from functions.settings import reset_settings
    from functions.store.clients import client, reset_clients
    from infra.local import moto_fixes
    from infra.local.stack import stage_environment, use_emulator_credentials
    from infra.tables import TABLE_SETTINGS, create_tables, stream_arn

    moto_fixes.apply()
    use_emulator_credentials()  # a region, dummy keys, and no instance-metadata probing
    prefix = f"prop{next(_names)}-{os.getpid()}"
    names = {setting: f"{prefix}-{setting.split('_')[1].lower()}" for setting in TABLE_SETTINGS.values()}
    env = {
        **stage_environment("dev"),
        **names,
        "HARK_SIGNING_KEYS": "k1:" + "c" * 40,
        "HARK_PUBLIC_BASE_URL": "http://localhost:8000",
        **(extra_env or {}),
    }
    # The mock intercepts AWS hosts only: no endpoint override may survive from another backend
    # (the DynamoDB Local session sets AWS_ENDPOINT_URL_DYNAMODB[_STREAMS]).
    endpoints = [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]
    restored = [*env, "AWS_ENDPOINT_URL", "HARK_SCORES_QUEUE_URL", *endpoints]
    saved = {name: os.environ.get(name) for name in restored}
    os.environ.update(env)
    for name in ["AWS_ENDPOINT_URL", *endpoints]:
        os.environ.pop(name, None)
    mock = mock_aws()
    mock.start(reset=False)
    reset_settings()
    reset_clients()
    queue_url = ""
    try:
        dynamodb = client("dynamodb")
        create_tables(dynamodb, names)
        queue_url = client("sqs").create_queue(
            QueueName=f"{prefix}-scores.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        os.environ["HARK_SCORES_QUEUE_URL"] = queue_url
        reset_settings()
        streams = boto3.session.Session().client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
        yield InProcessStack(names, stream_arn(dynamodb, names["HARK_RESPONSES_TABLE"]), streams, queue_url)
    finally:
        try:
            if queue_url:
                client("sqs").delete_queue(QueueUrl=queue_url)
            for table in names.values():
                client("dynamodb").delete_table(TableName=table)
        finally:
            mock.stop(remove_data=False)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            reset_settings()
            reset_clients()
