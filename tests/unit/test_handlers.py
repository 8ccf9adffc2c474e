"""A handler module per Lambda (infra/template.py, HANDLERS): each resolves to a callable, and
the local stack drives exactly those handlers."""

from __future__ import annotations

from typing import Any

from functions.aggregator import handler as aggregator
from functions.webhooks import handler as webhooks
from infra.local import stack
from infra.template import HANDLERS


def test_every_declared_handler_resolves_to_a_callable_of_its_module() -> None:
    for function in HANDLERS:
        assert callable(stack.deployed_handler(function)), function


def test_the_local_stack_drives_the_handlers_the_template_names() -> None:
    assert stack.deployed_handler("Aggregator") is aggregator.handle_stream_event
    assert stack.deployed_handler("WebhookEvents") is webhooks.handle_stream_event
    assert stack.deployed_handler("WebhookDelivery") is webhooks.handle_delivery_event


def test_a_scheduled_functions_tick_counts_what_its_handler_did(monkeypatch: Any) -> None:
    import functions.sending.scheduler as scheduler

    monkeypatch.setattr(scheduler, "enqueue_due", lambda: 3)
    assert stack.deployed_tick("SendScheduler")() == 3
