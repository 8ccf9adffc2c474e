"""Webhook events from the responses stream (docs/api.md, Webhooks): each record's events, and
one delivery message per (event, subscribed webhook) on the delivery queue.

The stream's second consumer (`functions/webhooks/events.py`) runs this; it never loads the
delivery code (`functions/logic/webhook_delivery.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.domain import event_names as names
from functions.domain import webhooks as rules
from functions.lazy import lazy
from functions.logic.responses import response_view
from functions.settings import get_settings
from functions.store import queues, streams
from functions.store import webhooks as store
from functions.store.responses import delivery_from_plain

if TYPE_CHECKING:
    from functions.logic import follow_ups
else:  # follow-up events only: the webhook Lambdas' cold start skips the loop
    follow_ups = lazy("functions.logic.follow_ups")


@dataclass(frozen=True)
class Event:
    tenant_id: str
    type: str
    id: str
    payload: dict[str, Any]


def events_for_record(record: Mapping[str, Any]) -> list[Event]:
    """The events of one Lambda-shaped DynamoDB stream record."""
    old, new = streams.images(record)
    types = rules.events_for_change(record["eventName"], old, new)
    deliveries = [] if record["eventName"] == "REMOVE" else rules.delivery_events(old, new)
    loop = [] if record["eventName"] == "REMOVE" else rules.follow_up_events(old, new)
    if new is None or not (types or deliveries or loop):
        return []
    delivery_events = [_delivery_event(new, kind, key) for kind, key in deliveries]
    delivery_events += [_follow_up_event(new, kind) for kind in loop]
    if not types:
        return delivery_events
    data = response_view(new)
    data["survey_kind"] = new["page"]["kind"]
    if old is not None and old.get("score") is not None:
        data["previous_score"] = int(old["score"])
    rev = int(new.get("rev", 0))
    return [
        Event(
            tenant_id=new["tenant_id"],
            type=kind,
            # From the public invitation id, not the answer code: a receiver must not be able to
            # test guesses of a code against it (docs/security.md).
            id=rules.event_id(new["invitation_id"], rev, kind),
            payload={"type": kind, "timestamp": new.get("answered_at"), "data": data},
        )
        for kind in types
    ] + delivery_events


def _delivery_event(new: Mapping[str, Any], kind: str, key: str) -> Event:
    """An invitation's delivery outcome: who, which survey, and the delivery state (never the address)."""
    delivery = delivery_from_plain(new).view()
    data = {
        "invitation_id": new["invitation_id"],
        "survey_id": new["survey_id"],
        "customer_id": new["customer_id"],
        "channel": new["channel"],
        "delivery": delivery,
    }
    timestamp = new.get("remind_sent_at") or new.get("sent_at") or new.get("created_at")
    return Event(
        tenant_id=new["tenant_id"],
        type=kind,
        id=rules.event_id(new["pk"], int(new.get("rev", 0)), f"{kind}:{key}"),
        payload={"type": kind, "timestamp": timestamp, "data": data},
    )


def _follow_up_event(new: Mapping[str, Any], kind: str) -> Event:
    """A follow-up's event: the response as the loop shows it (its public id is what
    PATCH /v1/responses/{id} takes). One id per (follow-up, event): it happens once."""
    data = follow_ups.follow_up_view(new)
    moments = {
        names.FOLLOW_UP_OPENED: new.get("fu_opened"),
        names.FOLLOW_UP_OVERDUE: new.get("fu_overdue"),
        names.FOLLOW_UP_CLOSED: new.get("fu_closed"),
    }
    return Event(
        tenant_id=new["tenant_id"],
        type=kind,
        id=rules.event_id(new["invitation_id"], 0, kind),
        payload={"type": kind, "timestamp": moments.get(kind), "data": data},
    )


def enqueue_events(events: Iterable[Event]) -> int:
    """Queue one delivery per (event, subscribed webhook); the number queued.

    One Query per tenant that has events in the batch; tenants without webhooks cost that
    read and nothing else.
    """
    by_tenant: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_tenant[event.tenant_id].append(event)
    messages: list[dict[str, Any]] = []
    for tenant_id, tenant_events in by_tenant.items():
        for webhook in store.list_webhooks(tenant_id):
            for event in tenant_events:
                if event.type in webhook.events:
                    messages.append(
                        {
                            "tenant_id": tenant_id,
                            "webhook_id": webhook.id,
                            "event_id": event.id,
                            "payload": event.payload,
                            "attempt": 1,
                        }
                    )
    if messages:
        queues.send_messages(get_settings().required("webhook_queue_url"), messages)
    return len(messages)
