"""A local stand-in for Lambda's DynamoDB stream event source mapping.

It reads the real stream (moto, DynamoDB Local or LocalStack), shapes each batch exactly as
Lambda does, calls the aggregator handler, and honours the same contract as the deployed
mapping (docs/architecture.md, Pipeline): ``batchItemFailures`` restart the batch at the first failed record,
a handler error retries the whole batch, and after a bounded number of attempts the failed
records go to the on-failure queue (SQS) instead of being dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger("hark.poller")

Handler = Callable[[dict[str, Any], Any], Any]
# How many empty pages in a row end one poll of a closed shard (the next poll goes on).
MAX_EMPTY_PAGES = 20
# How often the shard list is read again while shards stay open (new shards appear rarely).
DESCRIBE_EVERY_SECONDS = 10.0


class ChangeSignal(Protocol):
    """Something in this process that knows when a stream gets a record (the embedded emulator)."""

    def stream_generation(self) -> int: ...

    def wait_for_stream_change(self, since: int, timeout: float) -> int: ...


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (ARN added, timestamp as epoch seconds)."""
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = created.timestamp()
    elif created is None:
        body["ApproximateCreationDateTime"] = time.time()
    out = {
        "eventID": record.get("eventID", body.get("SequenceNumber")),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "eventSourceARN": stream_arn,
        "dynamodb": body,
    }
    if record.get("userIdentity"):
        out["userIdentity"] = record["userIdentity"]
    return out


class StreamPoller:
    """Polls every shard of one stream and feeds batches to `handler(event, context)`."""

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        handler: Handler,
        *,
        region: str,
        batch_size: int = 100,
        max_attempts: int = 3,
        on_failure: Callable[[list[dict[str, Any]], str], None] | None = None,
        checkpoints: dict[str, str] | None = None,
    ) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self.handler = handler
        self.region = region
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.on_failure = on_failure
        # shard id → last sequence number done; none means from the oldest record (TRIM_HORIZON)
        self._checkpoints: dict[str, str] = dict(checkpoints or {})
        self._closed: set[str] = set()
        # shard id → the NextShardIterator of the last page read, so an idle poll is one call
        self._iterators: dict[str, str] = {}
        self._shards: list[dict[str, Any]] = []
        self._described_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.records_done = 0
        self.failed_records = 0

    @property
    def checkpoints(self) -> dict[str, str]:
        """Where each shard is done up to (a copy), to start another poller from here."""
        return dict(self._checkpoints)

    # -- one pass -------------------------------------------------------------------------

    def _iterator(self, shard_id: str) -> tuple[str | None, bool]:
        """An iterator for the shard: the one the last poll ended with (True), or a new one."""
        held = self._iterators.pop(shard_id, None)
        if held is not None:
            return held, True
        return self._new_iterator(shard_id), False

    def _new_iterator(self, shard_id: str) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if shard_id in self._checkpoints:
            kwargs.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self._checkpoints[shard_id],
            )
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            out = self.streams.get_shard_iterator(**kwargs)
        except Exception as exc:
            if "TrimmedDataAccess" not in type(exc).__name__ + str(exc):
                raise
            # The checkpoint fell off the 24-hour trim horizon: what is left starts there.
            log.warning("records of shard %s expired before they were read", shard_id)
            kwargs.pop("SequenceNumber", None)
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
            out = self.streams.get_shard_iterator(**kwargs)
        iterator: str | None = out.get("ShardIterator")
        return iterator

    def shards(self) -> list[dict[str, Any]]:
        """Every shard of the stream (DescribeStream pages through them 100 at a time)."""
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def poll_once(self) -> int:
        """Deliver every record available now; the number of records handled.

        Real streams (DynamoDB, DynamoDB Local, LocalStack) split into shards that close and
        have children. As Lambda does, a child is read only after its parent is read to its
        end, so the changes to one item are delivered in order. A closed shard is followed to
        its end even across empty pages (DynamoDB may return some); an open shard is left at
        its first empty page and picked up again on the next poll.
        """
        handled = 0
        if time.monotonic() - self._described_at >= DESCRIBE_EVERY_SECONDS or not self._shards:
            self._shards, self._described_at = self.shards(), time.monotonic()
        shards = self._shards
        known = {shard["ShardId"] for shard in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            parent = shard.get("ParentShardId")
            if shard_id in self._closed or (parent in known and parent not in self._closed):
                continue
            is_closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            iterator, held = self._iterator(shard_id)
            empty_pages = 0
            while iterator:
                try:
                    out = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
                except Exception:
                    if not held:
                        raise
                    # A kept iterator may have expired (they live 15 minutes) or been dropped
                    # by the emulator: start again from the checkpoint, once.
                    iterator, held = self._new_iterator(shard_id), False
                    continue
                held = False
                records = out.get("Records", [])
                iterator = out.get("NextShardIterator")
                if records:
                    self._deliver(shard_id, records)
                    handled += len(records)
                    empty_pages = 0
                    continue
                empty_pages += 1
                if not is_closed or empty_pages >= MAX_EMPTY_PAGES:
                    break
            if iterator is None:
                self._closed.add(shard_id)
                self._described_at = float("-inf")  # its children appear in the next description
            else:
                self._iterators[shard_id] = iterator
        self.records_done += handled
        return handled

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """Hand one batch to the handler with Lambda's retry and failure-destination rules."""
        pending = [lambda_record(r, self.stream_arn, self.region) for r in records]
        attempts = 0
        while pending:
            attempts += 1
            try:
                result = self.handler({"Records": pending}, None) or {}
                failures = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
                error = "batchItemFailures"
            except Exception as exc:  # the handler failed as a whole: retry the batch
                log.warning("aggregator raised on a batch of %d: %s", len(pending), exc)
                failures = [pending[0]["dynamodb"]["SequenceNumber"]]
                error = f"{type(exc).__name__}: {exc}"
            if not failures:
                break
            sequence = [r["dynamodb"]["SequenceNumber"] for r in pending]
            known = [sequence.index(f) for f in failures if f in sequence]
            first = min(known) if known else 0
            if first > 0:
                # Progress: everything before the first failure is done (checkpointed), and
                # the batch restarts at the failed record, which has had one attempt.
                self._checkpoints[shard_id] = sequence[first - 1]
                pending = pending[first:]
                attempts = 1
                continue
            if attempts >= self.max_attempts:
                # Like Lambda with an on-failure destination: give up on the failing record,
                # send it to the failure queue, and carry on with the rest of the batch.
                self.failed_records += 1
                if self.on_failure:
                    self.on_failure([pending[0]], error)
                self._checkpoints[shard_id] = sequence[0]
                pending = pending[1:]
                attempts = 0
                continue
            time.sleep(min(0.05 * 2**attempts, 0.5))
        self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]

    # -- background thread ----------------------------------------------------------------

    def start(
        self, interval: float = 0.1, *, max_interval: float = 1.0, signal: ChangeSignal | None = None
    ) -> None:
        """Poll in a background thread until `stop()`.

        With a `signal` (the embedded emulator in this process), an idle poller sleeps until a
        stream gets a record; otherwise the pause after an empty poll doubles from `interval`
        up to `max_interval`, and a record brings it back to `interval`.
        """

        def run() -> None:
            pause = interval
            while not self._stop.is_set():
                seen = signal.stream_generation() if signal else 0
                try:
                    handled = self.poll_once()
                except Exception:  # keep polling: a dev stack should survive a hiccup
                    log.exception("stream poll failed")
                    self._iterators.clear()
                    self._stop.wait(1.0)
                    continue
                if handled:
                    pause = interval
                elif signal:
                    # Short waits, so stop() is seen quickly; a record wakes it at once.
                    while not self._stop.is_set() and signal.stream_generation() == seen:
                        signal.wait_for_stream_change(seen, 0.25)
                else:
                    self._stop.wait(pause)
                    pause = min(pause * 2, max_interval)

        self._thread = threading.Thread(target=run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=timeout)


def sqs_failure_sink(sqs: Any, queue_url: str) -> Callable[[list[dict[str, Any]], str], None]:
    """Send failed records to the on-failure queue, as Lambda's destination does."""

    def send(records: list[dict[str, Any]], error: str) -> None:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps({"error": error, "records": records}, default=str),
        )

    return send
