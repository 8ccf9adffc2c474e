"""The Business API end to end against a running stack (docs/api.md, "Walkthrough").

    make dev                                   # in one terminal
    .venv/bin/python -m infra.local.walkthrough  # in another

It creates a tenant and a key with the `hark` command, a survey, 1,000 invitations in one call,
ten answers, then reads the scores, the Delighted-style metrics and a CSV export, erases the
customer who answered 0, and waits until the scores drop that answer. It prints what it saw
as JSON and exits non-zero if anything differs from what docs/api.md promises.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local import loopback

ANSWERS = [10, 9, 9, 8, 7, 6, 5, 0, 10, 9]  # nps 20 (5 promoters, 2 passives, 3 detractors)
INVITATIONS = 1000


class WalkthroughError(RuntimeError):
    pass


def hark(state_dir: Path, *args: str) -> Any:
    """Run the operator's command (it finds the stack through <state_dir>/dev.json)."""
    out = subprocess.run(  # noqa: S603 (our own command, fixed arguments)
        [sys.executable, "-m", "functions.cli", *args],
        cwd=state_dir.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise WalkthroughError(f"hark {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def call(
    method: str,
    url: str,
    key: str | None = None,
    body: Any = None,
    form: dict[str, str] | None = None,
    accept: str = "application/json",
) -> tuple[int, dict[str, str], bytes]:
    encoded = None if form is None else urllib.parse.urlencode(form)
    return loopback.call(method, url, key, body, encoded, accept=accept)


def expect(status: int, wanted: int, body: bytes, what: str) -> Any:
    if status != wanted:
        raise WalkthroughError(f"{what}: HTTP {status} (wanted {wanted}): {body[:500]!r}")
    return json.loads(body) if body else None


def api_json(method: str, url: str, key: str, wanted: int, what: str, body: Any = None) -> Any:
    status, _, raw = call(method, url, key, body)
    return expect(status, wanted, raw, what)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
    """Poll with back-off until `check` returns something truthy: scores follow the stream."""
    delay, deadline = 0.1, time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WalkthroughError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def run(state_dir: Path) -> dict[str, Any]:
    info = json.loads((state_dir / "dev.json").read_text())
    api = info["api_url"]
    report: dict[str, Any] = {}

    # 1. A tenant and its first key (every scope), from the operator's command
    tenant = hark(state_dir, "tenant", "create", "Walkthrough Co")
    owner = tenant["api_key"]

    # 2. A survey
    question = {"name": "Checkout", "kind": "nps", "question": "How likely are you to recommend us?"}
    survey = api_json("POST", f"{api}/v1/surveys", owner, 201, "create survey", question)
    survey_id = survey["id"]

    # 3. The business app's own key: scoped, with the survey as its default (Delighted-style calls)
    app_key = hark(
        state_dir,
        "key",
        "create",
        tenant["tenant_id"],
        "--scopes",
        "surveys:write,scores:read,responses:read,responses:erase",
        "--default-survey",
        survey_id,
    )["api_key"]

    # 4. 1,000 invitations in one call
    recipients = [{"customer_id": f"cust-{i:04d}", "email": f"c{i}@example.com"} for i in range(INVITATIONS)]
    started = time.monotonic()
    path = f"{api}/v1/surveys/{survey_id}/invitations"
    invited = api_json("POST", path, app_key, 201, "invite", {"recipients": recipients})
    report["invitations"] = len(invited["invitations"])
    report["invite_seconds"] = round(time.monotonic() - started, 1)
    if report["invitations"] != INVITATIONS or invited["errors"] or invited["skipped"]:
        raise WalkthroughError(f"wanted {INVITATIONS} invitations, got {report['invitations']}")

    # 5. Ten customers answer (the POST their survey page makes)
    for invitation, score in zip(invited["invitations"], ANSWERS, strict=False):
        status, _, body = call("POST", invitation["url"], form={"score": str(score)})
        expect(status, 303, body, f"answer {score}")
    eraser = invited["invitations"][ANSWERS.index(0)]["customer_id"]

    # 6. Scores, as soon as the aggregator has caught up
    def summary(responses: int, invited: int) -> Any:
        out = api_json("GET", f"{api}/v1/surveys/{survey_id}/scores?window=all", app_key, 200, "scores")
        return out if (out["responses"], out["invited"]) == (responses, invited) else None

    before = wait_for(lambda: summary(len(ANSWERS), INVITATIONS), "ten answers in the scores")
    report["scores_before"] = {k: before[k] for k in ("responses", "invited", "nps", "margin_of_error")}

    # 7. Delighted-style metrics (no survey_id: the key's default survey)
    report["metrics"] = api_json("GET", f"{api}/v1/metrics", app_key, 200, "metrics")

    # 8. A CSV export
    status, headers, body = call("GET", f"{api}/v1/surveys/{survey_id}/responses", app_key, accept="text/csv")
    if status != 200:
        raise WalkthroughError(f"export: HTTP {status}: {body[:500]!r}")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    report["csv_rows"] = len(rows)
    report["csv_content_type"] = headers.get("Content-Type")

    # 9. Erase the customer who answered 0
    erased = api_json("DELETE", f"{api}/v1/customers/{eraser}", app_key, 202, "erase")
    report["erased"] = {"customer_id": eraser, "items": erased["erased"]}

    # 10. The scores drop that answer
    after = wait_for(
        lambda: summary(len(ANSWERS) - 1, INVITATIONS - 1), "the erased answer to leave the scores"
    )
    report["scores_after"] = {k: after[k] for k in ("responses", "invited", "nps", "margin_of_error")}

    checks = {
        "nps before is 20": before["nps"] == 20.0,
        "metrics nps is 20": report["metrics"]["nps"] == 20 and report["metrics"]["response_count"] == 10,
        "csv has ten rows": report["csv_rows"] == len(ANSWERS),
        "nps after erasure is 33.3": after["nps"] == 33.3 and after["counts"]["0"] == 0,
        "invited drops by one": after["invited"] == before["invited"] - 1,
    }
    report["checks"] = checks
    report["survey_id"] = survey_id
    report["tenant_id"] = tenant["tenant_id"]
    report["api_key"] = owner
    if not all(checks.values()):
        raise WalkthroughError(f"unexpected results: {json.dumps(report, indent=2)}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="walkthrough", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=Path.cwd() / ".hark", help="where make dev wrote dev.json"
    )
    args = parser.parse_args(argv)
    try:
        report = run(args.state_dir.resolve())
    except WalkthroughError as exc:
        print(f"walkthrough: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in report.items() if k != "api_key"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
