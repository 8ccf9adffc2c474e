"""Every operation of the OpenAPI document, fuzzed by schemathesis against the running local
stack (a real `make dev` process on loopback): no 5xx, and every response matches the schema.

Bounded: a few examples per operation, derandomised, so the run is quick and repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from functions.api.openapi import build_document
from tests.live import dev_stack

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(build_document())
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state: Path = tmp_path_factory.mktemp("schemathesis-stack")
    with dev_stack(state) as info:
        yield info


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_matches_its_schema(case: Any, live: dict[str, Any]) -> None:
    case.call_and_validate(
        base_url=live["api_url"].replace("localhost", "127.0.0.1"),
        headers={"Authorization": f"Bearer {live['api_key']}"},
        checks=CHECKS,
        timeout=20,
    )
