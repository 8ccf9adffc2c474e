"""The webhook event names (docs/api.md, Webhooks): their one home. The API's request model, the
route's description, the event rules (functions/domain/webhooks.py) and the delivery logic all
read them from here. No imports, so naming them costs a cold start nothing."""

from __future__ import annotations

CREATED = "response.created"
UPDATED = "response.updated"
DETRACTOR = "response.detractor"
# Deliveries (docs/sending.md): the outcome of Hark's email, by delivery status.
DELIVERY_EVENTS = {
    "sent": "invitation.sent",
    "failed": "invitation.failed",
    "bounced": "invitation.bounced",
    "complained": "invitation.complained",
}
# Closing the loop (docs/follow-ups.md): each happens once per follow-up.
FOLLOW_UP_OPENED = "follow_up.opened"
FOLLOW_UP_OVERDUE = "follow_up.overdue"
FOLLOW_UP_CLOSED = "follow_up.closed"
FOLLOW_UP_EVENTS = (FOLLOW_UP_OPENED, FOLLOW_UP_OVERDUE, FOLLOW_UP_CLOSED)
# Every event a webhook may subscribe to, in the order the API documents them.
EVENTS = (CREATED, UPDATED, DETRACTOR, *DELIVERY_EVENTS.values(), *FOLLOW_UP_EVENTS)
