"""Every operation of the OpenAPI document, fuzzed by schemathesis against the running local
stack (a real `make dev` process on loopback): no 5xx, and every response matches the schema.

Bounded: a few examples per operation, derandomised, so the run is quick and repeatable.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from functions.api.openapi import build_document
from tests import hostile
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
    # A topic, so the unauthenticated SNS webhook parses what it is sent (instead of a 503).
    topics = {"HARK_SNS_TOPIC_ARNS": "arn:aws:sns:us-east-1:000000000000:hark-sms-replies"}
    with dev_stack(state, topics) as info:
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


# ---- hostile bodies on every operation and webhook, over real HTTP ----------------------------
# Schemathesis generates values that fit the schema; these do not, on purpose: 40,000-deep
# nesting, integers past 2**53 (and past Python's 4,300-digit limit), NaN, 1e400, lone
# surrogates, odd Unicode and over-long DNS labels (docs/security.md, "Crafted input").

BODY_METHODS = {"post", "put", "patch"}
WEBHOOKS = ["/webhooks/sms/sns", "/webhooks/sms/twilio"]


def _targets() -> list[tuple[str, str]]:
    out = []
    for path, item in build_document()["paths"].items():
        for method, spec in item.items():
            if method in BODY_METHODS and "requestBody" in spec:
                out.append((method.upper(), re.sub(r"\{[^}]+\}", "hostile_x", path)))
    return out + [("POST", path) for path in WEBHOOKS]


def _send(live: dict[str, Any], method: str, path: str, body: str) -> tuple[int, bytes]:
    base = live["api_url"].replace("localhost", "127.0.0.1").rstrip("/")
    content_type = "application/x-www-form-urlencoded" if path.endswith("twilio") else "application/json"
    request = urllib.request.Request(
        base + path,
        data=body.encode("utf-8", "surrogatepass"),
        method=method,
        headers={"Authorization": f"Bearer {live['api_key']}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


TARGETS = _targets()


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    target=st.sampled_from(TARGETS),
    raw=hostile.hostile_values,
    field=st.sampled_from([None, "url", "name"]),
)
def test_hostile_bodies_on_every_operation_and_webhook_are_never_a_5xx(
    live: dict[str, Any], target: tuple[str, str], raw: str, field: str | None
) -> None:
    method, path = target
    body = raw if field is None else hostile.object_with(field, raw)
    status, answer = _send(live, method, path, body)
    assert status < 500, (method, path, body[:80], answer[:300])


def test_every_body_operation_refuses_40000_deep_json_in_the_error_shape(live: dict[str, Any]) -> None:
    for method, path in TARGETS:
        if path in WEBHOOKS:
            continue
        status, answer = _send(live, method, path, hostile.nested(hostile.DEEP))
        assert 400 <= status < 500, (method, path, status, answer[:300])
        assert json.loads(answer)["error"]["code"], (method, path)
