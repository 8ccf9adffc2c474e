"""The suite really runs on each backend it names (a misrouted client would test moto twice)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Emulator

pytestmark = pytest.mark.integration


def test_the_tables_and_stream_live_on_the_backend_under_test(emulator: Emulator) -> None:
    from functions.store.clients import client

    table = os.environ["HARK_RESPONSES_TABLE"]
    assert client("dynamodb").meta.endpoint_url == emulator.dynamodb_endpoint
    assert emulator.poller.streams.meta.endpoint_url == emulator.dynamodb_endpoint
    described = client("dynamodb").describe_table(TableName=table)["Table"]
    assert described["LatestStreamArn"] == emulator.stream_arn
    # DynamoDB Local names its own region in ARNs; moto uses the client's
    local_arn = emulator.stream_arn.startswith("arn:aws:dynamodb:ddblocal:")
    assert local_arn == (emulator.backend == "dynamodb-local")
