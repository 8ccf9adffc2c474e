"""The packaged stack deployed to LocalStack with `make deploy`'s code, used over its real API.

Needs Docker, LOCALSTACK_AUTH_TOKEN and a running LocalStack (`make localstack-up`); skips,
saying which is missing, otherwise. It deploys (or updates) the `hark-localstack` stack from
chalice.json's localstack stage: API Gateway → the API Lambda; the responses stream → the
event source mapping → the aggregator Lambda, exactly as on AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from infra.local import loopback
from tests.conftest import LOCALSTACK_URL, SIGNING_KEYS, localstack_unavailable

pytestmark = pytest.mark.localstack

ROOT = Path(__file__).resolve().parents[2]
STAGE, STACK, BUCKET = "localstack", "hark-localstack", "hark-localstack-artifacts"


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    if reason := localstack_unavailable():
        pytest.skip(reason)
    from infra.deploy import deploy
    from infra.package import build

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", LOCALSTACK_URL)
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        outputs = deploy(stage=STAGE, bucket=BUCKET, stack=STACK, build_dir=build(STAGE), create_bucket=True)
        yield outputs


def call(
    url: str, method: str = "GET", key: str | None = None, body: Any = None, form: str | None = None
) -> Any:
    status, _headers, data = loopback.call(method, url, key, body, form)
    return status, data


def test_a_click_on_the_deployed_stack_becomes_a_score(stack: dict[str, str]) -> None:
    from functions.logic.tenants import create_tenant
    from infra.local import stack as local

    # LocalStack's path to a REST API's stage
    api = f"{LOCALSTACK_URL}/restapis/{stack['RestAPIId']}/api/_user_request_"
    local.apply_settings(
        {
            "AWS_ENDPOINT_URL": LOCALSTACK_URL,
            "HARK_STAGE": STAGE,
            "HARK_CORE_TABLE": stack["CoreTableName"],
            "HARK_RESPONSES_TABLE": stack["ResponsesTableName"],
            "HARK_SCORES_TABLE": stack["ScoresTableName"],
            "HARK_PUBLIC_BASE_URL": "http://unused.invalid",
            "HARK_SIGNING_KEYS": SIGNING_KEYS,
        }
    )
    key = create_tenant("LocalStack tenant")["api_key"]

    status, body = call(
        f"{api}/v1/surveys", "POST", key, {"name": "LS", "kind": "nps", "question": "Recommend?"}
    )
    assert status == 201, body
    survey = json.loads(body)["id"]
    status, body = call(
        f"{api}/v1/surveys/{survey}/invitations", "POST", key, {"recipients": [{"customer_id": "c"}]}
    )
    assert status == 201, body
    link = urlparse(json.loads(body)["invitations"][0]["url"])
    assert call(f"{api}{link.path.removeprefix('/api')}", "POST", form="score=9")[0] == 303

    # The stream mapping runs the aggregator Lambda; poll the score with back-off
    delay, deadline, summary = 0.5, time.monotonic() + 180, {}
    while time.monotonic() < deadline:
        summary = json.loads(call(f"{api}/v1/surveys/{survey}/scores?window=all", key=key)[1])
        if summary.get("responses") == 1:
            break
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    assert (summary.get("responses"), summary.get("nps")) == (1, 100.0), summary
