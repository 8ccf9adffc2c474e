"""The sender function (SQS send queue): one send per message, exactly once (docs/sending.md).

A throttled send is reported in ``batchItemFailures``: SQS makes that message visible again
after its visibility timeout, and its retry (same message id) claims the send again. Any
other error in one record fails that record alone, the same way.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from functions.logic.sending import send_invitation
from functions.store.mail import SendLater

log = logging.getLogger("hark.sender")


def handle_send_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = str(record["messageId"])
        try:
            code = str(json.loads(record["body"])["code"])
        except (ValueError, KeyError, TypeError):
            log.error("send message %s is not one the scheduler wrote; dropped", message_id)
            continue
        try:
            send_invitation(code, message_id)
        except SendLater as exc:
            log.warning("send of %s throttled (%s): retried later", code, exc)
            failures.append({"itemIdentifier": message_id})
        except Exception:
            log.exception("send of %s failed; retried later", code)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
