"""Answering by text on a real `make dev`: the curl block of docs/sms.md, run as written, over loopback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.live import ROOT, call, clean_env, eventually, start_make_dev, stop_make_dev

pytestmark = pytest.mark.integration


def readme_block() -> str:
    text = (ROOT / "docs" / "sms.md").read_text()
    block = text.split("<!-- sms-curl:start -->", 1)[1].split("<!-- sms-curl:end -->", 1)[0]
    match = re.search(r"```sh\n(.*?)```", block, re.DOTALL)
    assert match, "the curl block of docs/sms.md is missing"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt-get install curl)")
def test_the_readme_curl_reply_records_a_score_on_make_dev(tmp_path: Path) -> None:
    proc, info = start_make_dev(tmp_path)
    try:
        dev_json = tmp_path / "dev.json"
        assert info["twilio_webhook_url"] == f"http://localhost:{info['port']}/webhooks/sms/twilio"

        # When a developer runs the block of docs/sms.md (a signed reply "9 great", then an unsigned one)
        out = subprocess.run(
            ["bash", "-c", readme_block()],
            env={**clean_env(), "DEV": str(dev_json)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

        # Then the signed one is thanked in TwiML and the unsigned one refused
        lines = out.stdout.strip().splitlines()
        assert lines[0] == (
            '<?xml version="1.0" encoding="UTF-8"?><Response>'
            "<Message>Thank you! We recorded your 9 and your comment.</Message></Response>"
        ), out
        assert lines[-1] == "403", out

        # And the demo survey's SMS scores move: one promoter
        def sms_summary() -> Any:
            path = f"/v1/surveys/{info['survey_id']}/scores?window=all&segment=channel:sms"
            _status, body = call("GET", info["api_url"] + path, info["api_key"])
            data = json.loads(body)
            return data if data["responses"] == 1 else None

        summary = eventually(sms_summary, 10)
        assert summary and summary["nps"] == 100.0 and summary["counts"]["9"] == 1
    finally:
        output = stop_make_dev(proc)
    assert proc.returncode == 0, output
    assert "twilio_webhook_url" in output
