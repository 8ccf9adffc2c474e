"""The Business API walkthrough of docs/api.md, run as a script against a real `make dev` process:
tenant and key → survey → 1,000 invitations in one call → answers → scores, metrics, CSV →
erase one customer → the scores drop that answer. Also: the local stack delivers webhooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.helpers import run_python
from tests.live import clean_env, dev_stack, eventually
from tests.webhook_receiver import start_receiver

pytestmark = pytest.mark.integration


def test_the_business_api_walkthrough_script(tmp_path: Path) -> None:
    state = tmp_path / ".hark"
    state.mkdir()
    receiver = start_receiver()
    try:
        with dev_stack(state) as info:
            # A webhook on the demo tenant: the local stack delivers it too
            request = {"url": receiver.url, "events": ["response.created"]}
            from urllib.request import Request, urlopen

            req = Request(
                f"{info['api_url']}/v1/webhooks",
                data=json.dumps(request).encode(),
                method="POST",
                headers={"Authorization": f"Bearer {info['api_key']}", "Content-Type": "application/json"},
            )
            with urlopen(req, timeout=10) as response:
                secret = json.loads(response.read())["secret"]
            with urlopen(Request(info["links"]["url"], data=b"score=9", method="POST"), timeout=10):
                pass

            # Like a newcomer's shell: only .hark/dev.json points the script at the stack (no
            # endpoint or table settings left over from the test session's other backends).
            walkthrough = ("-m", "infra.local.walkthrough", "--state-dir", str(state))
            out = run_python(*walkthrough, env=clean_env(), timeout=300)
            assert out.returncode == 0, out.stderr
            report = json.loads(out.stdout)
            assert report["invitations"] == 1000 and all(report["checks"].values())
            assert report["scores_before"]["nps"] == 20.0 and report["scores_after"]["nps"] == 33.3
            assert report["metrics"]["nps"] == 20 and report["csv_rows"] == 10
            assert report["erased"]["items"] == 1

            assert eventually(lambda: receiver.deliveries, 30), "the local stack delivered no webhook"
            event = Webhook(secret).verify(receiver.deliveries[0].body, receiver.deliveries[0].headers)
            assert event["type"] == "response.created" and event["data"]["customer_id"] == "demo-email"
    finally:
        receiver.stop()
