"""Shared fixtures: an emulator per backend holding the real tables and stream.

Every integration test runs on two backends: moto (server mode) and DynamoDB Local (the
engine inside LocalStack's DynamoDB, with DynamoDB's real stream semantics), so a moto quirk
cannot hide a bug. DynamoDB Local has no SQS or SSM: moto serves those on both backends.
Without Java or the npm package the DynamoDB Local half skips, saying how to get it.

Tables come from infra/tables.json (the deployed definition). The stream poller is driven
synchronously with `drain()`, so tests wait for the aggregator deterministically, never sleep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Property tests explore new examples on every developer run; in CI (CI=true) they replay the
# same derandomized examples, so a submission's run cannot fail on an example no one has seen.
# An example a developer's run finds goes into the test as an @example (docs/testing.md).
from hypothesis import settings as hypothesis_settings

from infra.local import stack as local
from infra.local.in_process import InProcessApi

# No per-example deadline anywhere: tests assert behaviour, never wall-clock time, and an example
# that takes 250 ms on a loaded 2-core machine (other tests run beside it on every core) is not
# a failure.
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--load", action="store_true", help="run the load tier (make reliability)")


SIGNING_KEYS = "k2:" + "b" * 40 + ",k1:" + "a" * 40
BASE_URL = "http://localhost:8000"
TWILIO_AUTH_TOKEN = "twilio-test-token-" + "t" * 14
PHONE_HASH_KEY = "phone-hash-key-" + "p" * 32
SNS_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:hark-inbound-sms"


# The localstack backend runs the same suite against a LocalStack you started
# (`make localstack-up`); it is marked `localstack` and skips, saying why, without one.
BACKENDS = ["moto", "dynamodb-local", pytest.param("localstack", marks=pytest.mark.localstack)]
DYNAMODB_ENDPOINTS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
LOCALSTACK_URL = os.environ.get("LOCALSTACK_URL", "http://localhost:4566")


@dataclass
class Emulator:
    backend: str
    endpoint: str  # moto: SQS, SSM, and DynamoDB unless dynamodb_endpoint differs
    dynamodb_endpoint: str
    stream_arn: str
    queue_url: str
    poller: Any
    # moto and DynamoDB Local show a write on the stream at once; LocalStack relays its stream
    # with a short delay, so there drain() polls (with back-off) until it has been quiet this long.
    settle_seconds: float = 0.0
    events_poller: Any = None
    deliveries: Any = None
    tally_writer: Any = None

    def drain(self) -> int:
        """Deliver every pending stream record to the aggregator (and to the webhook events
        consumer, which queues webhook deliveries), then what the aggregator left pending to the
        tally writer; the number of records delivered to the aggregator."""
        total, delay = 0, 0.05
        quiet_since = time.monotonic()
        while True:
            handled = self.poller.poll_once()
            if self.events_poller is not None:
                self.events_poller.poll_once()
            self.settle_scores()
            total += handled
            if handled:
                quiet_since, delay = time.monotonic(), 0.05
            elif time.monotonic() - quiet_since >= self.settle_seconds:
                return total
            else:
                time.sleep(delay)  # polling a relayed stream with back-off, bounded by settle_seconds
                delay = min(delay * 2, 0.4)

    def settle_scores(self) -> int:
        """Apply every pending score delta now (the tally writer drains its queue)."""
        return int(self.tally_writer.drain()) if self.tally_writer is not None else 0

    def deliver(self) -> int:
        """Attempt every queued webhook delivery that is due (retries with no delay too)."""
        return int(self.deliveries.drain())


def localstack_unavailable() -> str | None:
    """Why the LocalStack suite cannot run here, as an instruction; None when it can."""
    missing = []
    if not os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        missing.append("LOCALSTACK_AUTH_TOKEN is not set")
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        missing.append(f"no Docker daemon ({type(exc).__name__})")
    if missing:
        return (
            "LocalStack suite skipped: " + " and ".join(missing) + ". Start Docker, export "
            "LOCALSTACK_AUTH_TOKEN, then `make localstack-up localstack-test` (README: Run on LocalStack)"
        )
    from urllib.parse import urlparse

    from pytest_localstack.session import RunningSession

    session = RunningSession(
        urlparse(LOCALSTACK_URL).hostname, services=["dynamodb", "dynamodbstreams", "sqs", "ssm"]
    )
    try:
        session.start(timeout=30)
    except Exception as exc:
        return f"LocalStack suite skipped: nothing answers at {LOCALSTACK_URL} ({exc}): `make localstack-up`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without LocalStack, deselect the suite's LocalStack runs: tests/localstack reports the one
    skip with its reason (one line in the summary instead of one per test)."""
    on_localstack = [
        item
        for item in items
        if getattr(getattr(item, "callspec", None), "params", {}).get("emulator") == "localstack"
    ]
    if on_localstack and localstack_unavailable():
        config.hook.pytest_deselected(items=on_localstack)
        dropped = {id(item) for item in on_localstack}
        items[:] = [item for item in items if id(item) not in dropped]
    if not config.getoption("--load"):
        skip = pytest.mark.skip(reason="load tier: run it with `make reliability`")
        for item in items:
            if "load" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", params=BACKENDS)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    from infra.local import dynamodb_local

    backend = request.param
    if backend == "dynamodb-local" and (reason := dynamodb_local.unavailable()):
        pytest.skip(reason)
    if backend == "localstack" and (reason := localstack_unavailable()):
        pytest.skip(reason)
    local.use_emulator_credentials()
    for name in DYNAMODB_ENDPOINTS:
        os.environ.pop(name, None)
    server, ddb = None, None
    env = local.stage_environment("dev")
    if backend == "localstack":
        endpoint = LOCALSTACK_URL
        # Tables of their own, so a `make dev` or a deployed dev stack on the same LocalStack is untouched
        env.update(
            HARK_CORE_TABLE="hark-pytest-core",
            HARK_RESPONSES_TABLE="hark-pytest-responses",
            HARK_SCORES_TABLE="hark-pytest-scores",
        )
    else:
        server, endpoint = local.start_moto()
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "HARK_SIGNING_KEYS": SIGNING_KEYS,
            "HARK_PUBLIC_BASE_URL": BASE_URL,
            "HARK_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "HARK_PHONE_HASH_KEY": PHONE_HASH_KEY,
            "HARK_SNS_TOPIC_ARNS": SNS_TOPIC_ARN,
            # Every test shares one client address; tests/integration/test_abuse.py turns them on.
            "HARK_RATE_PER_ADDRESS": "0",
            "HARK_RATE_PER_LINK": "0",
        }
    )
    if backend == "dynamodb-local":
        ddb = dynamodb_local.start()
        env.update(dict.fromkeys(DYNAMODB_ENDPOINTS, ddb.endpoint))
    local.apply_settings(env)
    try:
        stream, queue = local.create_tables_and_queue()
        poller = local.make_poller(stream, queue)
        settle = 3.0 if backend == "localstack" else 0.0
        emu = Emulator(
            backend,
            endpoint,
            ddb.endpoint if ddb else endpoint,
            stream,
            queue,
            poller,
            settle,
            local.make_events_poller(stream, queue),
            local.make_delivery_worker(),
            local.make_tally_writer(),
        )
        emu.drain()
        emu.deliver()
        yield emu
    finally:
        if ddb:
            ddb.stop()
        if server:
            server.stop()
        for name in DYNAMODB_ENDPOINTS:
            os.environ.pop(name, None)


# The in-process client of the app, as a business app or a customer's browser sees it.
Api = InProcessApi


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
