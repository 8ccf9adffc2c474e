"""Helpers that several test files share (fixtures stay in the conftest files)."""

from __future__ import annotations

import base64
import binascii
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[1]


def decodings(text: str) -> list[bytes]:
    """Every base64url reading of `text` and of each of its dot-separated parts: what a caller
    could decode from an opaque value, to check that nothing inside it is readable."""
    out = []
    for part in [text, *text.split(".")]:
        for pad in range(4):
            try:
                out.append(base64.urlsafe_b64decode(part + "=" * pad))
            except (binascii.Error, ValueError):
                continue
    return out


# A CSI survey of a shop with two weighted attributes, as the page and browser tests ask it.
STORE_CSI: dict[str, Any] = {
    "name": "Store CSI",
    "kind": "csi",
    "question": "Overall, how would you rate your visit?",
    "attributes": [
        {"key": "speed", "label": "Speed of service", "weight": 2},
        {"key": "staff", "label": "Friendliness of staff", "weight": 1},
    ],
}

# The worked example of the scores issue: ten NPS answers, 5 promoters, 2 passives, 3 detractors.
ISSUE_SCORES = [10, 9, 9, 8, 7, 6, 5, 0, 10, 9]
# Its figures in Delighted's metrics shape (whole percents).
ISSUE_METRICS = {
    "nps": 20,
    "promoter_count": 5,
    "promoter_percent": 50,
    "passive_count": 2,
    "passive_percent": 20,
    "detractor_count": 3,
    "detractor_percent": 30,
    "response_count": 10,
}


def assert_issue_nps(summary: dict[str, Any]) -> None:
    """A score summary of ISSUE_SCORES: NPS 50 - 30 = 20, from 5 promoters, 2 passives, 3 detractors."""
    assert summary["nps"] == 20.0
    assert (summary["promoter_count"], summary["passive_count"], summary["detractor_count"]) == (5, 2, 3)
    assert (summary["promoter_percent"], summary["passive_percent"], summary["detractor_percent"]) == (
        50.0,
        20.0,
        30.0,
    )


def invited(api: Api, key: str, survey_id: str, recipients: list[dict[str, Any]]) -> dict[str, Any]:
    """POST the survey's invitations for `recipients` (201 expected): the API's answer."""
    body = {"recipients": recipients}
    answer: dict[str, Any] = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)
    return answer


@contextmanager
def app_on_loopback() -> Iterator[str]:
    """The app over real HTTP on loopback (the server `make dev` uses), its links pointing at it
    (settings are cached, so they are applied and later restored): its base URL."""
    from infra.local import stack
    from tests.conftest import BASE_URL

    server = stack.serve_api("127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server.server_address[1]}"
    stack.apply_settings({"HARK_PUBLIC_BASE_URL": base})
    try:
        yield base
    finally:
        stack.apply_settings({"HARK_PUBLIC_BASE_URL": BASE_URL})
        server.stop()


def put_legacy_suppression(tenant_id: str, kind: str, address: str, at: str, index: str) -> None:
    """A suppression row of the first layout (`kind` UNSUB or BOUNCE): keyed by the address in
    clear, the address as its person id, listed in `index` from `at`."""
    from functions.settings import get_settings
    from functions.store.clients import client

    at_field = "unsubscribed_at" if kind == "UNSUB" else "bounced_at"
    client("dynamodb").put_item(
        TableName=get_settings().core_table,
        Item={
            "pk": {"S": f"{kind}#{tenant_id}#{address}"},
            "sk": {"S": kind},
            "email": {"S": address},
            "person_id": {"S": address},
            at_field: {"S": at},
            "gsi1pk": {"S": index},
            "gsi1sk": {"S": f"{at}#{address}"},
        },
    )


def run_python(
    *args: str, env: dict[str, str], timeout: float, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """`python *args` as a fresh process in the repository's root, its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
