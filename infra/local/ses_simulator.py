"""A local stand-in for SES's mailbox simulator and its configuration-set event destination.

In AWS, a message to ``bounce@simulator.amazonses.com`` comes back as a permanent bounce,
``complaint@…`` as a complaint and ``suppressionlist@…`` as a bounce for an address on the
suppression list; SES publishes each as an event (through the configuration set's SNS topic) to
the function in functions/sending/ses_events.py. The emulator sends nothing back, so this
watches the process's SES client: each accepted message to a simulator address becomes the
event SES would publish, wrapped in the SNS record Lambda would receive, and `poll_once()`
hands the waiting ones to the same handler (as SES does, a moment after the send).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

DOMAIN = "simulator.amazonses.com"
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:hark-ses-events"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def simulated_event(
    address: str, message_id: str, source: str, tags: dict[str, str]
) -> dict[str, Any] | None:
    """The SES event a message to a mailbox-simulator `address` produces, or None."""
    local, _, domain = address.lower().partition("@")
    if domain != DOMAIN:
        return None
    mail = {
        "timestamp": _now(),
        "source": source,
        "messageId": message_id,
        "destination": [address],
        "tags": {name: [value] for name, value in tags.items()},
    }
    if local in ("bounce", "suppressionlist"):
        on_list = local == "suppressionlist"
        return {
            "eventType": "Bounce",
            "mail": mail,
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "OnAccountSuppressionList" if on_list else "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "Amazon SES did not send the message to this address because it is "
                        "on the suppression list for your account"
                        if on_list
                        else "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": _now(),
                "feedbackId": str(uuid.uuid4()),
            },
        }
    if local == "complaint":
        return {
            "eventType": "Complaint",
            "mail": mail,
            "complaint": {
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": _now(),
                "feedbackId": str(uuid.uuid4()),
                "complaintFeedbackType": "abuse",
            },
        }
    return None


class MailboxSimulator:
    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._attached: Any = None

    def attach(self) -> None:
        """Watch the process's current SES client (again, after the clients were recreated)."""
        from functions.store.clients import client

        ses = client("sesv2")
        if ses is self._attached:
            return
        ses.meta.events.register("before-parameter-build.sesv2.SendEmail", self._remember)
        ses.meta.events.register("after-call.sesv2.SendEmail", self._accepted)
        self._attached = ses

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["hark_simulator"] = {
            "to": list((params.get("Destination") or {}).get("ToAddresses") or []),
            "source": params.get("FromEmailAddress", ""),
            "tags": {t["Name"]: t["Value"] for t in params.get("EmailTags") or []},
        }

    def _accepted(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        sent = context.get("hark_simulator")
        if not sent or not parsed.get("MessageId"):
            return
        for address in sent["to"]:
            event = simulated_event(address, parsed["MessageId"], sent["source"], sent["tags"])
            if event is not None:
                with self._lock:
                    self._pending.append(event)

    def poll_once(self) -> int:
        """Deliver the events waiting (as SNS records, one invocation); how many."""
        self.attach()
        with self._lock:
            events, self._pending = self._pending, []
        if events:
            self.handler(
                {
                    "Records": [
                        {
                            "EventSource": "aws:sns",
                            "EventVersion": "1.0",
                            "Sns": {
                                "Type": "Notification",
                                "MessageId": str(uuid.uuid4()),
                                "TopicArn": TOPIC_ARN,
                                "Message": json.dumps(event),
                                "Timestamp": _now(),
                            },
                        }
                        for event in events
                    ]
                },
                None,
            )
        return len(events)
