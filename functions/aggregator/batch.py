"""Partial batch responses for a DynamoDB stream, the shape Powertools' batch utility returns.

Lambda's ``ReportBatchItemFailures`` reads ``{"batchItemFailures": [{"itemIdentifier": <sequence
number>}, ...]}``: each record whose handler raised, in batch order, and an empty list when all
succeeded (Powertools' ``BatchProcessor(EventType.DynamoDBStreams,
raise_on_entire_batch_failure=False)``); for a stream Lambda resumes from the lowest sequence
number reported. Importing Powertools' batch utility costs more than the rest of the
aggregator's imports together (it loads asyncio, its data classes and its logger), so the
aggregator reports failures itself; tests/unit/test_stream_batch.py checks every case against
Powertools (docs/scale.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_log = logging.getLogger(__name__)


def sequence_number(record: Mapping[str, Any]) -> str | None:
    return (record.get("dynamodb") or {}).get("SequenceNumber")


def process_partial(
    records: Sequence[Mapping[str, Any]], handler: Callable[[Mapping[str, Any]], None]
) -> dict[str, list[dict[str, Any]]]:
    """Call `handler` on every record; report the ones that raised, as Powertools does."""
    failures: list[dict[str, Any]] = []
    for record in records:
        try:
            handler(record)
        except Exception:  # a failing record is reported, the others proceed
            _log.exception("stream record failed", extra={"sequence_number": sequence_number(record)})
            failures.append({"itemIdentifier": sequence_number(record)})
    return {"batchItemFailures": failures}
