"""`make dev`: the whole system on one machine (docs/index.md, Two commands).

moto in server mode (or the emulator at AWS_ENDPOINT_URL, e.g. LocalStack), the tables from
infra/tables.json, the Chalice app on http://localhost:8000, the stream poller feeding the
aggregator, the send scheduler and the follow-up sweep (short ticks) and the sender, a demo
tenant, survey and invitations (the email one sent: see the outbox), and `.hark/dev.json` for
scripts.
Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local import stack

DEMO_PHONE = "+15555550100"
# The demo tenant's own number (Twilio's test number): replies route by the receiving number.
DEMO_NUMBER = "+15005550006"
# SES's mailbox simulator's "accepted" address: safe to send to from a real account too.
DEMO_EMAIL = "success@simulator.amazonses.com"
# The scheduler's tick locally (its EventBridge rule fires every minute in AWS): every second
# after a write, backing off to SEND_IDLE_TICK_SECONDS while nothing is due (infra/local/stack.py).
SEND_TICK_SECONDS = 1.0
SEND_IDLE_TICK_SECONDS = 8.0
SECRET_SETTINGS = {"HARK_SIGNING_KEYS", "HARK_PHONE_HASH_KEY"}


def _local_secrets(state: Path) -> dict[str, str]:
    """Development secrets, made once per checkout and kept out of git (.hark/)."""
    import secrets as random

    path = state / "secrets.json"
    makers: dict[str, Callable[[], str]] = {
        "signing_keys": stack.new_signing_keys,
        "twilio_auth_token": lambda: random.token_hex(16),
        "phone_hash_key": lambda: random.token_urlsafe(32),
    }
    values: dict[str, str] = dict(json.loads(path.read_text())) if path.exists() else {}
    if set(makers) <= set(values):
        return values
    # Older checkouts lack the newer secrets: add them, keep the rest (existing links stay valid).
    values.update({name: make() for name, make in makers.items() if name not in values})
    state.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def _call(api_url: str, key: str, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(  # noqa: S310 (our own http://localhost API)
        api_url + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def seed(api_url: str) -> dict[str, Any]:
    """A demo tenant (through the operator's logic), then a survey and invitations over HTTP."""
    from functions.logic.tenants import create_tenant

    tenant = create_tenant("Demo Coffee Co.")
    key = tenant["api_key"]
    try:
        _call(api_url, key, "PATCH", "/v1/settings", {"sms": {"provider": "twilio", "number": DEMO_NUMBER}})
    except urllib.error.HTTPError as exc:  # an emulator that kept an earlier demo tenant's data
        if exc.code != 409:
            raise
        print(
            f"make dev: {DEMO_NUMBER} is registered to an earlier demo tenant on this emulator",
            file=sys.stderr,
        )
    survey = _call(
        api_url,
        key,
        "POST",
        "/v1/surveys",
        {
            "name": "Demo NPS",
            "kind": "nps",
            "question": "How likely are you to recommend Demo Coffee Co. to a friend?",
            "follow_up_question": "What is the main reason for your score?",
            "brand": {"name": "Demo Coffee Co.", "color": "#6b3e26"},
        },
    )
    invited = _call(
        api_url,
        key,
        "POST",
        f"/v1/surveys/{survey['id']}/invitations",
        {
            "recipients": [
                {
                    "customer_id": "demo-email",
                    "channel": "email",
                    "email": DEMO_EMAIL,
                    "send": True,
                    "touchpoint": "delivery",
                    "properties": {"plan": "pro"},
                },
                {
                    "customer_id": "demo-sms",
                    "channel": "sms",
                    "phone": DEMO_PHONE,
                    "touchpoint": "delivery",
                },
            ]
        },
    )
    email, sms = invited["invitations"]
    return {
        "tenant_id": tenant["tenant_id"],
        "api_key": key,
        "survey_id": survey["id"],
        "links": {
            "url": email["url"],
            "score_urls": email["score_urls"],
            "short_url": sms["short_url"],
            "sms_body": sms["sms_body"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--moto-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=stack.ROOT / ".hark")
    args = parser.parse_args(argv)
    state: Path = args.state_dir

    # The emulator's own request log would drown the API's.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stack.use_emulator_credentials()
    local = _local_secrets(state)
    env = stack.stage_environment("dev")
    env["HARK_SIGNING_KEYS"] = local["signing_keys"]
    env["HARK_TWILIO_AUTH_TOKEN"] = local["twilio_auth_token"]
    env["HARK_PHONE_HASH_KEY"] = local["phone_hash_key"]
    env["HARK_PUBLIC_BASE_URL"] = f"http://localhost:{args.port}"
    # Twilio, played locally (infra/local/twilio_standin.py): the demo tenant texts through it
    # and the outbox lists what it sent.
    from infra.local.twilio_standin import LOCAL_ACCOUNT_SID, TwilioStandIn

    twilio = TwilioStandIn(LOCAL_ACCOUNT_SID, local["twilio_auth_token"]).start()
    env["HARK_TWILIO_ACCOUNT_SID"] = LOCAL_ACCOUNT_SID
    env["HARK_TWILIO_API_BASE"] = twilio.base

    moto = None
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        moto, endpoint = stack.start_moto(args.moto_port)
    env["AWS_ENDPOINT_URL"] = endpoint
    stack.apply_settings(env)

    stream, queue_url = stack.create_tables_and_queue()
    try:
        api = stack.serve_api("127.0.0.1", args.port)
    except OSError as exc:
        print(
            f"make dev: port {args.port} is busy ({exc}); stop the other server or run `make dev PORT=…`",
            file=sys.stderr,
        )
        if moto:
            moto.stop()
        twilio.stop()
        return 1
    # With the emulator in this process, idle pollers sleep until a stream gets a record
    # (no requests at all while nothing happens); with another emulator they back off.
    from infra.local import moto_fixes

    signal_from = moto_fixes if moto else None
    poller = stack.make_poller(stream, queue_url)
    poller.start(signal=signal_from)
    events = stack.make_events_poller(stream, queue_url)
    events.start(signal=signal_from)
    deliveries = stack.make_delivery_worker()
    deliveries.start()
    # Scores at scale (docs/scale.md): the tally writer applies what the aggregator leaves pending.
    tally_writer = stack.make_tally_writer()
    tally_writer.start()
    # Sending (docs/sending.md): the scheduler on a short tick, the sender on the send queue.
    scheduler = stack.Ticker(
        stack.deployed_tick("SendScheduler"),
        SEND_TICK_SECONDS,
        idle_seconds=SEND_IDLE_TICK_SECONDS,
        signal=signal_from,
    )
    scheduler.start()
    sender = stack.make_send_worker()
    sender.start()
    # SES's mailbox simulator: bounce@/complaint@simulator.amazonses.com answer as in AWS.
    simulator = stack.Ticker(
        stack.make_mailbox_simulator().poll_once,
        SEND_TICK_SECONDS,
        "ses-events",
        idle_seconds=SEND_IDLE_TICK_SECONDS,
        signal=signal_from,
    )
    simulator.start()
    # Closing the loop (docs/follow-ups.md): the overdue sweep on the same short tick.
    sweep = stack.Ticker(
        stack.deployed_tick("FollowUpSweep"),
        SEND_TICK_SECONDS,
        "follow-up-sweep",
        idle_seconds=SEND_IDLE_TICK_SECONDS,
        signal=signal_from,
    )
    sweep.start()

    api_url = f"http://localhost:{args.port}"
    info = {
        "api_url": api_url,
        "aws_endpoint_url": endpoint,
        **seed(api_url),
        # What the stack sent (the demo invitation among it): `hark outbox` lists it too.
        "outbox_url": f"{api_url}/dev/outbox",
        "twilio_auth_token": local["twilio_auth_token"],
        # Try a text reply with curl (docs/sms.md, "Try it with curl"): sign a form POST to this
        # URL with the token, From = the demo SMS invitation's phone.
        "twilio_webhook_url": f"{api_url}/webhooks/sms/twilio",
        "demo_phone": DEMO_PHONE,
        "failure_queue_url": queue_url,
        "region": os.environ["AWS_DEFAULT_REGION"],
        "environment": {k: v for k, v in env.items() if k.startswith("HARK_") and k not in SECRET_SETTINGS},
    }
    state.mkdir(parents=True, exist_ok=True)
    dev_json = state / "dev.json"
    dev_json.write_text(json.dumps(info, indent=2))
    dev_json.chmod(0o600)

    shown = (
        "api_url",
        "aws_endpoint_url",
        "tenant_id",
        "api_key",
        "survey_id",
        "links",
        "outbox_url",
        "twilio_auth_token",
        "twilio_webhook_url",
        "demo_phone",
    )
    print(json.dumps({k: info[k] for k in shown}, indent=2))
    print(f"\nHark is running. Written to {dev_json}. Ctrl-C stops it.", flush=True)

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    # A signal may be delivered to any thread; Python runs its handler in the main thread the
    # next time that thread runs. A wait with no timeout could sleep through Ctrl-C for ever
    # (the flaky "make dev did not exit" of earlier CI runs): wake up often enough to notice.
    while not stopping.wait(0.2):
        pass
    print("\nStopping…", flush=True)
    stop_all(
        [
            sweep.stop,
            scheduler.stop,
            sender.stop,
            deliveries.stop,
            tally_writer.stop,
            events.stop,
            poller.stop,
            api.stop,
            twilio.stop,
            *([moto.stop] if moto else []),
        ]
    )
    return 0


def stop_all(stops: list[Callable[[], Any]], budget: float = 1.5) -> None:
    """Run every `stop` at once and wait at most `budget` seconds in all: each part's threads
    are daemons, so whatever is still finishing a request ends with the process."""
    deadline = time.monotonic() + budget
    threads = [threading.Thread(target=stop, daemon=True) for stop in stops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


if __name__ == "__main__":
    code = main()
    # Tearing down moto's thousands of objects takes the interpreter seconds at exit; every
    # part is stopped and nothing is left to write, so leave at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
