"""`make dev`'s stack as a newcomer uses it: real HTTP on loopback, the README walkthrough."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.live import call, eventually, start_make_dev, stop_make_dev

pytestmark = pytest.mark.integration


def test_make_dev_walkthrough(tmp_path: Path) -> None:
    proc, info = start_make_dev(tmp_path)
    try:
        assert {"api_url", "aws_endpoint_url", "tenant_id", "api_key", "survey_id", "links"} <= set(info)
        assert info["aws_endpoint_url"].startswith("http://127.0.0.1:")
        api, key = info["api_url"], info["api_key"]

        # The README walkthrough: survey, invitation, score 9 → nps 100; change to 3 → nps -100
        status, body = call(
            "POST",
            f"{api}/v1/surveys",
            key,
            {"name": "Walkthrough", "kind": "nps", "question": "Recommend us?"},
        )
        assert status == 201
        survey = json.loads(body)["id"]
        status, body = call(
            "POST", f"{api}/v1/surveys/{survey}/invitations", key, {"recipients": [{"customer_id": "c1"}]}
        )
        url = json.loads(body)["invitations"][0]["url"]
        assert call("POST", url, form="score=9")[0] == 303

        def summary(expect_nps: float) -> Any:
            _status, body = call("GET", f"{api}/v1/surveys/{survey}/scores?window=all", key)
            data = json.loads(body)
            return data if data["nps"] == expect_nps else None

        first = eventually(lambda: summary(100.0), 10)
        assert first and first["responses"] == 1
        assert call("POST", url, form="score=3")[0] == 303
        second = eventually(lambda: summary(-100.0), 10)
        assert second and second["responses"] == 1

        # The 3 opened a follow-up within seconds (docs/follow-ups.md); a reply goes out through
        # the stack's scheduler and sender into the outbox, and closing it moves the figures
        def follow_up() -> Any:
            _status, body = call("GET", f"{api}/v1/follow-ups?survey_id={survey}", key)
            return json.loads(body)["data"] or None

        opened = eventually(follow_up, 10)
        assert opened and opened[0]["score"] == 3 and opened[0]["follow_up"]["status"] == "open"
        rid = opened[0]["id"]
        reply = {"text": "We are on it.", "email": "c1-reply@example.com"}
        assert call("POST", f"{api}/v1/responses/{rid}/reply", key, reply)[0] == 202

        def replied() -> Any:
            _status, body = call("GET", info["outbox_url"])
            return [e for e in json.loads(body)["data"] if e["to"] == "c1-reply@example.com"] or None

        assert eventually(replied, 20)
        assert call("PATCH", f"{api}/v1/responses/{rid}", key, {"status": "closed"})[0] == 200
        closed = eventually(lambda: (summary(-100.0) or {}).get("follow_ups", {}).get("closed") or None, 10)
        assert closed == 1

        # The demo links work too
        assert call("GET", info["links"]["score_urls"]["9"])[0] == 200
        assert call("GET", info["links"]["short_url"])[0] == 200

        # The demo email was sent by the scheduler and the sender: the outbox shows it as sent
        def demo_email() -> Any:
            _status, body = call("GET", info["outbox_url"])
            sent = [e for e in json.loads(body)["data"] if e["to"] == "success@simulator.amazonses.com"]
            return sent or None

        sent = eventually(demo_email, 20)
        assert sent and len(sent) == 1
        status, html = call("GET", sent[0]["url"])
        assert status == 200 and info["links"]["score_urls"]["9"].encode() in html

        # A text through the demo tenant's provider (Twilio, played locally) reaches the outbox
        phone = "+15005550123"
        texted = {"send": True, "recipients": [{"customer_id": "dev-text", "channel": "sms", "phone": phone}]}
        status, body = call("POST", f"{api}/v1/surveys/{survey}/invitations", key, texted)
        assert status == 201, body

        def demo_text() -> Any:
            _status, body = call("GET", info["outbox_url"])
            found = [
                m for m in json.loads(body)["data"] if m["channel"] == "sms" and m["provider"] == "twilio"
            ]
            return found or None

        texts = eventually(demo_text, 20)
        assert texts and texts[-1]["to"] == "+1••••••••23" and phone not in json.dumps(texts)
        assert json.loads(body)["invitations"][0]["short_url"] in texts[-1]["body"]
    finally:
        output = stop_make_dev(proc)
    assert proc.returncode == 0, output
    assert "Hark is running" in output
