"""The SES events function (SNS topic of the configuration set's event destination)."""

from __future__ import annotations

import json
import logging
from typing import Any

from functions.logic.ses_events import apply_event

log = logging.getLogger("hark.ses_events")


def handle_sns_event(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    applied = 0
    for record in event.get("Records", []):
        try:
            message = json.loads(record["Sns"]["Message"])
        except (KeyError, TypeError, ValueError):
            log.error("an SNS record without an SES event; ignored")
            continue
        if apply_event(message):
            applied += 1
    return {"applied": applied}
