"""The attacks of docs/security.md, made over HTTP against a real `make dev` stack: a second
tenant tries to catch the demo tenant's SMS replies and to point webhooks inside the network."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.live import call, clean_env, dev_stack, eventually

pytestmark = pytest.mark.integration

DEMO_NUMBER = "+15005550006"  # the demo tenant's number (infra/local/devstack.py)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("security-live")
    (home / ".hark").mkdir()
    with dev_stack(home / ".hark") as info:
        info["home"] = home
        yield info


def hark(live: dict[str, Any], *args: str) -> Any:
    """The operator's CLI, inside the make dev session (it reads .hark/dev.json)."""
    env = clean_env()
    out = subprocess.run(
        [str(Path(sys.executable).parent / "hark"), *args],
        cwd=live["home"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def api(live: dict[str, Any], method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    status, raw = call(method, live["api_url"].replace("localhost", "127.0.0.1") + path, key, body)
    return status, json.loads(raw) if raw else None


def sms_reply(live: dict[str, Any], to: str, body: str, sid: str) -> tuple[int, str]:
    from twilio.request_validator import RequestValidator

    form = {"From": live["demo_phone"], "To": to, "Body": body, "MessageSid": sid}
    signature = RequestValidator(live["twilio_auth_token"]).compute_signature(
        live["twilio_webhook_url"], form
    )
    url = live["twilio_webhook_url"].replace("localhost", "127.0.0.1")
    request = urllib.request.Request(
        url,
        data=urlencode(form).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sms_responses(live: dict[str, Any], key: str, survey_id: str) -> int:
    path = f"/v1/surveys/{survey_id}/scores?window=all&segment=channel:sms"
    return int(api(live, "GET", path, key)[1]["responses"])


def test_another_tenant_cannot_catch_the_demo_tenants_sms_replies(live: dict[str, Any]) -> None:
    # Given an attacker tenant that invites the demo customer's phone after the demo tenant did
    attacker = hark(live, "tenant", "create", "Attacker")
    key = attacker["api_key"]
    _status, survey = api(live, "POST", "/v1/surveys", key, {"name": "Bait", "kind": "nps", "question": "?"})
    recipients = {"recipients": [{"customer_id": "victim", "channel": "sms", "phone": live["demo_phone"]}]}
    assert api(live, "POST", f"/v1/surveys/{survey['id']}/invitations", key, recipients)[0] == 201

    # It cannot take over the demo tenant's number
    status, error = api(
        live, "PATCH", "/v1/settings", key, {"sms": {"provider": "twilio", "number": DEMO_NUMBER}}
    )
    assert status == 409 and error["error"]["code"] == "number_taken"

    # When the customer replies to the demo tenant's number
    status, twiml = sms_reply(live, DEMO_NUMBER, "9 great", "SM" + "a1" * 16)
    assert status == 200 and "We recorded your 9" in twiml

    # Then the demo survey records it and the attacker's newer invitation stays unanswered
    assert eventually(lambda: sms_responses(live, live["api_key"], live["survey_id"]) == 1)
    assert sms_responses(live, key, survey["id"]) == 0

    # A reply to a number nobody registered (two tenants now) records nothing and answers nothing
    status, twiml = sms_reply(live, "+15005550077", "0", "SM" + "b2" * 16)
    assert status == 200 and "<Message>" not in twiml

    # And a captured reply sent again is refused
    status, _ = sms_reply(live, DEMO_NUMBER, "9 great", "SM" + "a1" * 16)
    assert status == 409
    assert sms_responses(live, key, survey["id"]) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://[::a9fe:a9fe]/",
        "https://[::ffff:0:a9fe:a9fe]/",
        "https://[64:ff9b:1::a9fe:a9fe]/",
        "https://[fec0::1]/",
        "https://[5f00::1]/",
        "https://[::ffff:169.254.169.254]/latest/meta-data",
        "https://" + "a" * 64 + ".example.com/hook",
    ],
)
def test_webhooks_cannot_point_inside_the_network(live: dict[str, Any], url: str) -> None:
    status, error = api(
        live, "POST", "/v1/webhooks", live["api_key"], {"url": url, "events": ["response.created"]}
    )
    assert status == 422, error
    assert error["error"]["field"] == "url"
