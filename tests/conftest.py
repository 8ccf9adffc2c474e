"""Shared fixtures: one moto server per session holding the real tables and stream.

Tables come from infra/tables.json (the deployed definition). The stream poller is driven
synchronously with `drain()`, so tests wait for the aggregator deterministically, never sleep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.local import stack as local

SIGNING_KEYS = "k2:" + "b" * 40 + ",k1:" + "a" * 40
BASE_URL = "http://localhost:8000"


@dataclass
class Emulator:
    endpoint: str
    stream_arn: str
    queue_url: str
    poller: Any
    events_poller: Any = None
    deliveries: Any = None

    def drain(self) -> int:
        """Deliver every pending stream record to the aggregator (and to the webhook events
        consumer, which queues webhook deliveries); the number delivered to the aggregator."""
        total = 0
        while True:
            handled = self.poller.poll_once()
            if self.events_poller is not None:
                self.events_poller.poll_once()
            total += handled
            if not handled:
                return total

    def deliver(self) -> int:
        """Attempt every queued webhook delivery that is due (retries with no delay too)."""
        return int(self.deliveries.drain())


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    local.use_emulator_credentials()
    server, endpoint = local.start_moto()
    env = local.stage_environment("dev")
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "HARK_SIGNING_KEYS": SIGNING_KEYS,
            "HARK_PUBLIC_BASE_URL": BASE_URL,
        }
    )
    local.apply_settings(env)
    stream, queue = local.create_tables_and_queue()
    poller = local.make_poller(stream, queue)
    emu = Emulator(
        endpoint, stream, queue, poller, local.make_events_poller(stream, queue), local.make_delivery_worker()
    )
    emu.drain()
    emu.deliver()
    yield emu
    server.stop()


@dataclass
class Api:
    """The Chalice app in-process, as a business app or a customer's browser sees it."""

    client: Any

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if key:
            sent["Authorization"] = f"Bearer {key}"
        data = b""
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return getattr(self.client.http, method.lower())(path, headers=sent, body=data)

    def json(
        self, method: str, path: str, key: str | None = None, body: Any = None, expect: int = 200
    ) -> Any:
        response = self.call(method, path, key, body)
        assert response.status_code == expect, response.body
        return json.loads(response.body)

    def form(self, path: str, fields: dict[str, str]) -> Any:
        from urllib.parse import urlencode

        return self.call(
            "POST",
            path,
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    from chalice.test import Client

    from functions.api.app import app

    with Client(app, stage_name="dev") as client:
        yield Api(client)


@pytest.fixture
def tenant(emulator: Emulator) -> dict[str, str]:
    from functions.logic.tenants import create_tenant

    return create_tenant("Test tenant")


def path_of(url: str) -> str:
    """The path and query of an absolute link (the in-process client takes paths)."""
    assert url.startswith(BASE_URL)
    return url[len(BASE_URL) :]
