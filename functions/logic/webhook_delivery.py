"""Webhook delivery (docs/api.md, Webhooks): one signed POST per queued message (Standard
Webhooks), a failed attempt re-queued with a growing delay (`HARK_WEBHOOK_RETRY_DELAYS`) and
dead-lettered once the budget is spent.

The delivery queue's consumer (`functions/webhooks/delivery.py`) runs this; it never loads
the stream's event code (`functions/logic/webhook_events.py`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from functions.domain import webhooks as rules
from functions.domain.errors import HarkError
from functions.logic import clock, outbound
from functions.logic.webhooks import target_of
from functions.settings import get_settings
from functions.store import queues
from functions.store import webhooks as store
from functions.store.webhooks import Webhook

log = logging.getLogger("hark.webhooks")

USER_AGENT = "Hark-Webhooks/1"

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
