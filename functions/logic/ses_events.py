"""SES's bounce and complaint events (docs/sending.md): mark the invitation, suppress the address.

SES publishes each event of a configuration set to an SNS topic; the topic triggers the
function in functions/sending/ses_events.py. A permanent bounce marks the invitation `bounced`
and puts the address on the tenant's bounce list (Delighted's `Bounce.all()`); a complaint marks
it `complained` and unsubscribes the address. Either way the sender never mails the address
for that tenant again. Transient bounces (a full mailbox) change nothing: SES retried already.
The invitation and tenant come from the tags the sender put on the message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from functions.domain.survey import BOUNCED, COMPLAINED
from functions.logic import clock
from functions.logic.sending import TAG_INVITATION, TAG_TENANT
from functions.store import people, sends

log = logging.getLogger("hark.ses_events")


def _tag(mail: Mapping[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def apply_event(event: Mapping[str, Any]) -> str | None:
    """Apply one SES event (event publishing's ``eventType`` or a notification's
    ``notificationType``); the invitation's new status, or None when nothing changed."""
    kind = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail") or {}
    code, tenant_id = _tag(mail, TAG_INVITATION), _tag(mail, TAG_TENANT)
    if kind not in ("Bounce", "Complaint") or not code or not tenant_id:
        return None
    now = clock.iso(clock.now())
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return None
        recipients = [str(r.get("emailAddress", "")).lower() for r in bounce.get("bouncedRecipients") or []]
        reasons = [str(r.get("diagnosticCode") or "") for r in bounce.get("bouncedRecipients") or []]
        status = BOUNCED
        error = f"bounced ({bounce.get('bounceSubType') or 'permanent'}): {'; '.join(filter(None, reasons))}"
        suppress = people.add_bounce
    else:
        complaint = event.get("complaint") or {}
        recipients = [
            str(r.get("emailAddress", "")).lower() for r in complaint.get("complainedRecipients") or []
        ]
        status = COMPLAINED
        error = f"the recipient reported the email ({complaint.get('complaintFeedbackType') or 'complaint'})"
        suppress = people.add_unsubscribe
    customer_id = sends.mark_delivery_event(
        code, str(mail.get("messageId", "")), status, error.rstrip(": ")[:500]
    )
    # Suppressed either way (the address bounced or complained, whichever send it was), under
    # its keyed hash; the customer id lets erasure find the row (functions/logic/erasure.py).
    for address in filter(None, recipients):
        suppress(tenant_id, address, customer_id or "", now)
    if customer_id is None:
        log.warning("SES %s for a message that is not invitation %s's latest send", kind, code)
        return None
    return status
