"""Lambda entry for the tally writer: the scores FIFO queue's consumer (stage 2 of the scores
pipeline, functions/logic/tally_writer.py), with partial batch failures.

Lambda gives one invocation at a time each message group (survey) of a FIFO queue; the
messages of a batch are summed per survey and applied in as few transactions as fit. When a
survey's deltas cannot be applied, all of that survey's messages are reported as failed, so
they come back in order (as Lambda requires of a FIFO group); other surveys proceed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from functions import telemetry
from functions.logic import tally_writer
from functions.store.scores import PendingRef


def handle_queue_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Apply the pending deltas the messages name; ``{"batchItemFailures": [...]}``."""
    records = event.get("Records", [])
    log = telemetry.logger()
    log.set_correlation_id(getattr(context, "aws_request_id", None))
    by_survey: dict[str, list[tuple[str, PendingRef]]] = defaultdict(list)
    unreadable = 0
    for record in records:
        try:
            ref = PendingRef.from_message(json.loads(record["body"]))
        except (ValueError, TypeError, KeyError):
            # Not ours to apply and never will be: dropped (deleted), and said in the log.
            unreadable += 1
            log.error("unreadable tally-writer message", extra={"message_id": record.get("messageId")})
            continue
        by_survey[ref.survey_id].append((record["messageId"], ref))
    failed: list[str] = []
    applied = 0
    try:
        for survey_id, messages in by_survey.items():
            try:
                applied += tally_writer.apply(ref for _, ref in messages)
            except Exception:
                log.exception("tally writer failed", extra={"survey_id": survey_id})
                failed += [message_id for message_id, _ in messages]
        log.info(
            "tally writer batch",
            extra={
                "messages": len(records),
                "surveys": len(by_survey),
                "applied": applied,
                "failed": len(failed),
                "unreadable": unreadable,
            },
        )
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    finally:
        telemetry.flush()
