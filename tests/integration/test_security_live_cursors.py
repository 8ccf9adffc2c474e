"""The cursor and response-id attacks of docs/security.md, over HTTP against a real `make dev`
process on loopback (the in-process versions, on both backends, are test_sealed_cursors.py and
test_expensive_reads.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local import loopback
from tests.helpers import decodings
from tests.live import dev_stack

pytestmark = pytest.mark.integration


def call(
    url: str, key: str | None = None, body: Any = None, form: dict[str, str] | None = None
) -> tuple[int, Any]:
    """A GET, or a POST of `body` (JSON) or `form`: the status and the body, as JSON when it is."""
    method = "GET" if body is None and form is None else "POST"
    encoded = None if form is None else urlencode(form)
    status, _headers, raw = loopback.call(method, url, key, body, encoded, timeout=10)
    text = raw.decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state: Path = tmp_path_factory.mktemp("security-stack")
    with dev_stack(state) as info:
        api, key, survey = info["api_url"], info["api_key"], info["survey_id"]
        rows = [
            {"customer_id": f"live-sms-{i}", "channel": "sms", "phone": f"+1555020{i:04d}"} for i in range(3)
        ]
        status, out = call(f"{api}/v1/surveys/{survey}/invitations", key, {"recipients": rows})
        assert status == 201, out
        codes = []
        for inv in out["invitations"]:
            status, _ = call(inv["short_url"], form={"score": "9"})
            assert status == 303
            codes.append(inv["short_url"].rsplit("/", 1)[1])
        yield {**info, "codes": codes}


def test_a_responses_cursor_hides_the_codes_and_a_tampered_one_is_400(live: dict[str, Any]) -> None:
    path = f"{live['api_url']}/v1/surveys/{live['survey_id']}/responses?limit=1"
    status, page = call(path, live["api_key"])
    assert status == 200 and page["next_cursor"]
    cursor = page["next_cursor"]
    assert not any(code.encode() in raw for raw in decodings(cursor) for code in live["codes"])
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    status, body = call(f"{path}&cursor={tampered}", live["api_key"])
    assert status == 400 and body["error"]["code"] == "invalid_cursor" and body["error"]["field"] == "cursor"


def test_a_delighted_response_id_does_not_answer_the_sms_link(live: dict[str, Any]) -> None:
    api = live["api_url"]
    status, listed = call(f"{api}/v1/survey_responses?survey_id={live['survey_id']}", live["api_key"])
    assert status == 200 and len(listed) == 3
    for response in listed:
        assert response["id"] not in live["codes"]
        assert not any(code in json.dumps(response) for code in live["codes"])
        status, _ = call(f"{api}/s/{response['id']}", form={"score": "0"})
        assert status in (400, 404)
    status, answers = call(f"{api}/v1/surveys/{live['survey_id']}/responses", live["api_key"])
    assert [a["score"] for a in answers["data"]] == [9, 9, 9]


def test_a_deep_delighted_page_is_a_clear_422(live: dict[str, Any]) -> None:
    url = f"{live['api_url']}/v1/survey_responses?survey_id={live['survey_id']}&per_page=100&page=100000"
    status, body = call(url, live["api_key"])
    assert status == 422 and body["error"]["code"] == "page_too_deep"
