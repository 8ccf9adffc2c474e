"""Lambda entry for the responses stream: partial batch failures in Powertools' shape
(functions/aggregator/batch.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions import telemetry
from functions.aggregator.batch import process_partial
from functions.domain.kinds import DETRACTOR_MAX
from functions.logic.aggregation import BatchAggregation
from functions.store import streams


def _nps_score(image: Mapping[str, Any] | None) -> int | None:
    if not image or (image.get("page") or {}).get("kind") != "nps":
        return None
    score = image.get("score")
    return int(score) if score is not None else None


def became_detractor(record: Mapping[str, Any]) -> bool:
    """An NPS answer that is now a detractor's and was not before (a new answer or a change)."""
    new, old = _nps_score(streams.new_image(record)), _nps_score(streams.old_image(record))
    return new is not None and new <= DETRACTOR_MAX and (old is None or old > DETRACTOR_MAX)


def handle_stream_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Apply one stream batch; return ``{"batchItemFailures": [...]}`` for the records that failed.

    A failing record (a poison image, a write error) is reported alone and the rest proceed;
    Lambda retries from the first failure, which is safe because applying is idempotent.
    A failure while writing the ledger and tallies raises, so the whole batch is retried.
    """
    records = event.get("Records", [])
    log = telemetry.logger()
    log.set_correlation_id(
        getattr(context, "aws_request_id", None) or (records[0].get("eventID") if records else None)
    )
    lag = telemetry.oldest_record_age_ms(records)
    batch = BatchAggregation()
    try:
        if lag is not None:
            telemetry.milliseconds(telemetry.AGGREGATOR_LAG, lag)
        response: dict[str, Any] = process_partial(records, batch.apply_record)
        batch.finish()
        failures: list[dict[str, Any]] = response["batchItemFailures"]
        failed = {f["itemIdentifier"] for f in failures}
        detractors = sum(
            1
            for r in records
            if r.get("dynamodb", {}).get("SequenceNumber") not in failed and became_detractor(r)
        )
        if detractors:
            telemetry.count(telemetry.DETRACTORS, detractors)
        log.info(
            "stream batch",
            extra={
                "records": len(records),
                "failed": len(failed),
                "ledger_writes": batch.ledger_writes,
                "lag_ms": None if lag is None else round(lag),
            },
        )
        return response
    finally:
        telemetry.flush()
