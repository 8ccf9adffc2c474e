"""Shared fixtures: an emulator per backend holding the real tables and stream.

Every integration test runs on two backends: moto (server mode) and DynamoDB Local (the
engine inside LocalStack's DynamoDB, with DynamoDB's real stream semantics), so a moto quirk
cannot hide a bug. DynamoDB Local has no SQS or SSM: moto serves those on both backends.
Without Java or the npm package the DynamoDB Local half skips, saying how to get it.

Tables come from infra/tables.json (the deployed definition). The stream poller is driven
synchronously with `drain()`, so tests wait for the aggregator deterministically, never sleep.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.local import stack as local

SIGNING_KEYS = "k2:" + "b" * 40 + ",k1:" + "a" * 40
BASE_URL = "http://localhost:8000"


BACKENDS = ["moto", "dynamodb-local"]
DYNAMODB_ENDPOINTS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")


@dataclass
class Emulator:
    backend: str
    endpoint: str  # moto: SQS, SSM, and DynamoDB unless dynamodb_endpoint differs
    dynamodb_endpoint: str
    stream_arn: str
    queue_url: str
    poller: Any

    def drain(self) -> int:
        """Deliver every pending stream record to the aggregator; the number delivered."""
        total = 0
        while True:
            handled = self.poller.poll_once()
            total += handled
            if not handled:
                return total


@pytest.fixture(scope="session", params=BACKENDS)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    from infra.local import dynamodb_local

    backend = request.param
    if backend == "dynamodb-local" and (reason := dynamodb_local.unavailable()):
        pytest.skip(reason)
    local.use_emulator_credentials()
    for name in DYNAMODB_ENDPOINTS:
        os.environ.pop(name, None)
    server, endpoint = local.start_moto()
    env = local.stage_environment("dev")
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "HARK_SIGNING_KEYS": SIGNING_KEYS,
            "HARK_PUBLIC_BASE_URL": BASE_URL,
        }
    )
    ddb = None
    if backend == "dynamodb-local":
        ddb = dynamodb_local.start()
        env.update(dict.fromkeys(DYNAMODB_ENDPOINTS, ddb.endpoint))
    local.apply_settings(env)
    try:
        stream, queue = local.create_tables_and_queue()
        poller = local.make_poller(stream, queue)
        emu = Emulator(backend, endpoint, ddb.endpoint if ddb else endpoint, stream, queue, poller)
        emu.drain()
        yield emu
    finally:
        if ddb:
            ddb.stop()
        server.stop()
        for name in DYNAMODB_ENDPOINTS:
            os.environ.pop(name, None)


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
