"""Webhooks (docs/api.md, Webhooks): subscriptions, events from the responses stream, signed delivery.

Flow: the responses stream has a second consumer (`functions/webhooks/handler.py`,
alongside the aggregator) that turns each record into events (`response.created`,
`response.updated`, `response.detractor`) and, for tenants with a matching subscription,
puts one message per (event, webhook) on the delivery queue (SQS). The delivery function
signs each message per Standard Webhooks and POSTs it. A failed attempt is re-queued with a
growing delay (the retry budget is `HARK_WEBHOOK_RETRY_DELAYS`); when the budget is spent the
message goes to the dead-letter queue. Delivery is at least once: a receiver deduplicates
by `webhook-id`, which stays the same across retries and replays.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.domain import webhooks as rules
from functions.domain.codes import ID_PATTERN, new_id
from functions.domain.errors import Conflict, HarkError, NotFound
from functions.lazy import lazy
from functions.logic import clock, outbound
from functions.logic.responses import response_view
from functions.settings import get_settings
from functions.store import queues, streams
from functions.store import webhooks as store
from functions.store.responses import delivery_from_plain
from functions.store.webhooks import Webhook

if TYPE_CHECKING:
    from functions.logic import follow_ups
else:  # follow-up events only: the webhook Lambdas' cold start skips the loop
    follow_ups = lazy("functions.logic.follow_ups")

log = logging.getLogger("hark.webhooks")

MAX_WEBHOOKS_PER_TENANT = 20
USER_AGENT = "Hark-Webhooks/1"

# ---- subscriptions --------------------------------------------------------------------------


def target_of(url: str) -> rules.Target:
    """Where `url` delivers, checked against this stage's rules (resolves the host now)."""
    return rules.check_url(
        url, allow_loopback=get_settings().allows_loopback_webhooks, resolve=outbound.resolve
    )


def create_webhook(tenant_id: str, url: str, events: Sequence[str]) -> Webhook:
    """A new subscription of `tenant_id` to `events` at `url` (the route has checked the shape)."""
    target_of(url)
    if len(store.list_webhooks(tenant_id)) >= MAX_WEBHOOKS_PER_TENANT:
        raise Conflict(
            f"a tenant has at most {MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first",
            code="too_many_webhooks",
        )
    webhook = Webhook(
        id=new_id("wh"),
        tenant_id=tenant_id,
        url=url,
        events=tuple(dict.fromkeys(events)),
        secret=rules.new_secret(),
        created_at=clock.iso(clock.now()),
    )
    store.put_webhook(webhook)
    return webhook


def webhook_view(webhook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "created_at": webhook.created_at,
    }
    if with_secret:
        view["secret"] = webhook.secret
    return view


def list_webhooks(tenant_id: str) -> list[Webhook]:
    return store.list_webhooks(tenant_id)


def delete_webhook(tenant_id: str, webhook_id: str) -> None:
    if not ID_PATTERN.match(webhook_id):
        raise NotFound("no such webhook", field="webhook_id")
    store.delete_webhook(tenant_id, webhook_id)


# ---- events from the stream -----------------------------------------------------------------


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
        rules.FOLLOW_UP_OPENED: new.get("fu_opened"),
        rules.FOLLOW_UP_OVERDUE: new.get("fu_overdue"),
        rules.FOLLOW_UP_CLOSED: new.get("fu_closed"),
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


# ---- delivery -------------------------------------------------------------------------------


Poster = Callable[[rules.Target, bytes, Mapping[str, str], float], outbound.PostResult]


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | retrying | dead | dropped | waiting
    detail: str = ""


def signed_headers(webhook: Webhook, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.sign(webhook.secret, message_id, timestamp, body),
    }


def deliver(message: Mapping[str, Any], post: Poster = outbound.post) -> Outcome:
    """One delivery attempt of a queued message, and what happens next.

    The webhook is read again (a deleted or unsubscribed one drops the message) and its URL
    checked again against this stage's rules and today's DNS answer before connecting.
    """
    settings = get_settings()
    now = int(clock.now().timestamp())
    not_before = int(message.get("not_before", 0))
    if not_before > now:  # a delay longer than SQS allows in one hop
        queues.send_message(settings.required("webhook_queue_url"), message, not_before - now)
        return Outcome("waiting", f"{not_before - now}s to go")
    webhook = store.get_webhook(message["tenant_id"], message["webhook_id"])
    payload = message["payload"]
    if webhook is None or payload["type"] not in webhook.events:
        return Outcome("dropped", "the webhook was deleted or no longer takes this event")
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        target = target_of(webhook.url)
    except HarkError as exc:  # the host now resolves somewhere it may not go
        result = outbound.PostResult(None, exc.message)
    else:
        headers = signed_headers(webhook, message["event_id"], now, body)
        result = post(target, body.encode(), headers, settings.webhook_timeout_seconds)
    if result.ok:
        return Outcome("delivered", result.detail)
    return _after_failure(message, result.detail, now)


def _after_failure(message: Mapping[str, Any], detail: str, now: int) -> Outcome:
    settings = get_settings()
    attempt = int(message.get("attempt", 1))
    delay = rules.retry_delay(attempt, rules.parse_delays(settings.webhook_retry_delays))
    log.warning(
        "webhook %s attempt %d failed: %s", message["webhook_id"], attempt, detail
    )  # no URL, body or secret in logs
    if delay is None:
        dead = {**message, "last_error": detail, "failed_at": clock.iso(clock.now())}
        queues.send_message(settings.required("webhook_dead_letter_queue_url"), dead)
        return Outcome("dead", detail)
    retry = {**message, "attempt": attempt + 1, "not_before": now + delay, "last_error": detail}
    queues.send_message(settings.required("webhook_queue_url"), retry, delay)
    return Outcome("retrying", detail)
