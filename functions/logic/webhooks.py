"""Webhooks (docs/api.md, Webhooks): the subscriptions; events and delivery have a module each.

Flow: the responses stream has a second consumer (`functions/webhooks/events.py`, beside the
aggregator; its logic is `functions/logic/webhook_events.py`) that turns each record into
events (`response.created`, `response.updated`, `response.detractor`) and, for tenants with a
matching subscription, puts one message per (event, webhook) on the delivery queue (SQS). The
delivery function (`functions/webhooks/delivery.py`; `functions/logic/webhook_delivery.py`)
signs each message per Standard Webhooks and POSTs it. A failed attempt is re-queued with a
growing delay (the retry budget is `HARK_WEBHOOK_RETRY_DELAYS`); when the budget is spent the
message goes to the dead-letter queue. Delivery is at least once: a receiver deduplicates by
`webhook-id`, which stays the same across retries and replays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.domain import webhooks as rules
from functions.domain.codes import ID_PATTERN, new_id
from functions.domain.errors import Conflict, NotFound
from functions.logic import clock, outbound
from functions.settings import get_settings
from functions.store import webhooks as store
from functions.store.webhooks import Webhook

MAX_WEBHOOKS_PER_TENANT = 20

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
