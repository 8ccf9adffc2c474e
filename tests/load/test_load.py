"""`make reliability`: 16 concurrent clients send 2,000 answers (new and changed) over real HTTP.

Afterwards: responses stored = answers accepted, every stored score is the customer's last
accepted answer, no 5xx, and a fresh recomputation finds no drift. Loopback only, bounded.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Emulator

pytestmark = pytest.mark.load

CLIENTS = 16
INVITATIONS = 1500
CHANGES = 500
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def _post(url: str, form: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    request = urllib.request.Request(
        url, data=form.encode(), method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:  # refused or reset: not accepted, and counted as such
        return 0


def _json(method: str, url: str, key: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with urllib.request.urlopen(
        urllib.request.Request(url, data=data, method=method, headers=headers), timeout=60
    ) as response:
        return json.loads(response.read())


def test_load_holds_and_nothing_is_lost(emulator: Emulator) -> None:
    from functions.logic.rebuild import verify
    from functions.logic.tenants import create_tenant
    from functions.store import responses
    from infra.local import stack

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api_url = f"http://127.0.0.1:{port}"
    stack.apply_settings({"HARK_PUBLIC_BASE_URL": api_url})
    server = stack.serve_api("127.0.0.1", port)
    poller = stack.make_poller(emulator.stream_arn, emulator.queue_url)
    poller.start(interval=0.02, max_interval=0.1)
    tally_writer = stack.make_tally_writer()  # stage 2, beside the aggregator as in Lambda
    tally_writer.start()
    try:
        key = create_tenant("Load")["api_key"]
        survey = _json(
            "POST", f"{api_url}/v1/surveys", key, {"name": "Load", "kind": "nps", "question": "Recommend us?"}
        )
        survey_id = survey["id"]
        urls: list[str] = []
        for start in range(0, INVITATIONS, 1000):
            count = min(1000, INVITATIONS - start)
            out = _json(
                "POST",
                f"{api_url}/v1/surveys/{survey_id}/invitations",
                key,
                {
                    "recipients": [
                        {"customer_id": f"c{start + i}", "touchpoint": "delivery"} for i in range(count)
                    ]
                },
            )
            urls += [i["url"] for i in out["invitations"]]

        rng = random.Random(2026)
        plan = [(url, rng.randrange(11)) for url in urls]
        plan += [(url, rng.randrange(11)) for url in rng.sample(urls, CHANGES)]  # changed answers
        # One client owns each invitation, so "last accepted" is well defined per invitation.
        by_client: list[list[tuple[str, int]]] = [[] for _ in range(CLIENTS)]
        for url, score in plan:
            by_client[hash(url) % CLIENTS].append((url, score))
        statuses: Counter[int] = Counter()
        last_accepted: dict[str, int] = {}
        lock = threading.Lock()

        def client(work: list[tuple[str, int]]) -> None:
            for url, score in work:
                status = _post(url, f"score={score}")
                with lock:
                    statuses[status] += 1
                    if status == 303:
                        last_accepted[url] = score

        threads = [threading.Thread(target=client, args=(work,)) for work in by_client]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        elapsed = time.perf_counter() - began

        def caught_up() -> bool:
            out = _json("GET", f"{api_url}/v1/surveys/{survey_id}/scores?window=all", key)
            return bool(out["responses"] == len(last_accepted))

        delay, deadline = 0.05, time.monotonic() + 180
        while not caught_up() and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        settled = time.perf_counter() - began

        tenant_id = _tenant_of(key)
        stored = {
            i["pk"]: int(i["score"])
            for i in responses.answers_by_survey(tenant_id, survey_id, lowest="0", highest="~")
        }
        accepted = {url.rsplit("/r/", 1)[1].split(".")[1]: score for url, score in last_accepted.items()}
        summary = _json("GET", f"{api_url}/v1/surveys/{survey_id}/scores?window=all", key)
        # The count catches up before the last changed answers have left the stream: wait until
        # a fresh recomputation agrees (bounded), then report what remains.
        delay, deadline = 0.2, time.monotonic() + 120
        while True:
            drift = verify(survey_id)["drift"]
            if not drift or time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        figures = {
            "backend": emulator.backend,
            "clients": CLIENTS,
            "answers_sent": len(plan),
            "invitations": INVITATIONS,
            "accepted": statuses[303],
            "statuses": dict(statuses),
            "answers_per_second": round(len(plan) / elapsed, 1),
            "seconds_until_scores_caught_up": round(settled, 1),
            "responses_stored": len(stored),
            "responses_in_scores": summary["responses"],
            "lost": len(set(accepted) - set(stored)),
            "drift": len(drift),
        }
        OUTPUT.mkdir(exist_ok=True)
        # printed after pytest's summary by tests/load/conftest.py
        (OUTPUT / f"reliability-{emulator.backend}.json").write_text(json.dumps(figures, indent=2))
        assert not [s for s in statuses if s >= 500], statuses
        assert statuses[303] == len(plan)
        assert stored == accepted  # every accepted answer stored once, with its last score
        assert summary["responses"] == len(accepted)
        assert drift == []
    finally:
        tally_writer.stop()
        poller.stop()
        server.stop()
        from tests.conftest import BASE_URL

        stack.apply_settings({"HARK_PUBLIC_BASE_URL": BASE_URL})  # as the other tests expect


def _tenant_of(key: str) -> str:
    from functions.domain.apikeys import key_hash
    from functions.store.core import get_key

    found = get_key(key_hash(key))
    assert found is not None
    return found.tenant_id
