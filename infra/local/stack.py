"""The local stack's parts: emulator, settings, tables, failure queue, poller, HTTP server.

`make dev` (infra/local/devstack.py) and the test suite assemble the same parts, so the tests
run the system a developer runs.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHALICE_JSON = ROOT / "chalice.json"
REGION = "us-east-1"
FAILURE_QUEUE = "hark-aggregator-failures"
WEBHOOK_QUEUE = "hark-webhook-deliveries"
WEBHOOK_DEAD_LETTER_QUEUE = "hark-webhook-dead-letters"
SEND_QUEUE = "hark-sends"
SCORES_QUEUE = "hark-scores.fifo"


def stage_environment(stage: str = "dev") -> dict[str, str]:
    """The environment variables chalice.json gives `stage` (global, then the stage's own)."""
    config = json.loads(CHALICE_JSON.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def new_signing_keys() -> str:
    return f"k1:{secrets.token_urlsafe(32)}"


def use_emulator_credentials() -> None:
    """Dummy credentials and region: emulators accept anything, and nothing reaches AWS."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def start_moto(port: int = 0) -> tuple[Any, str]:
    """moto in server mode on 127.0.0.1; (server, endpoint URL)."""
    from moto.server import ThreadedMotoServer

    from infra.local import moto_fixes

    moto_fixes.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return server, f"http://{host}:{bound}"


def apply_settings(env: dict[str, str]) -> None:
    """Put `env` into the process environment and make the functions re-read it."""
    from functions.settings import reset_settings
    from functions.store.clients import reset_clients
    from functions.store.parameters import reset_parameters

    os.environ.update(env)
    reset_settings()
    reset_clients()
    reset_parameters()


def create_tables_and_queue() -> tuple[str, str]:
    """Tables from infra/tables.json and the on-failure queue; (stream ARN, queue URL)."""
    from functions.store.clients import client
    from infra.tables import create_tables, stream_arn

    names = {k: v for k, v in os.environ.items() if k.startswith("HARK_")}
    create_tables(client("dynamodb"), names)
    queue_url = client("sqs").create_queue(QueueName=FAILURE_QUEUE)["QueueUrl"]
    apply_settings(
        {
            "HARK_WEBHOOK_QUEUE_URL": client("sqs").create_queue(QueueName=WEBHOOK_QUEUE)["QueueUrl"],
            "HARK_WEBHOOK_DEAD_LETTER_QUEUE_URL": client("sqs").create_queue(
                QueueName=WEBHOOK_DEAD_LETTER_QUEUE
            )["QueueUrl"],
            "HARK_SEND_QUEUE_URL": client("sqs").create_queue(QueueName=SEND_QUEUE)["QueueUrl"],
            "HARK_SCORES_QUEUE_URL": client("sqs").create_queue(
                QueueName=SCORES_QUEUE, Attributes={"FifoQueue": "true"}
            )["QueueUrl"],
        }
    )
    verify_sender_domain()
    return stream_arn(client("dynamodb"), os.environ["HARK_RESPONSES_TABLE"]), queue_url


def verify_sender_domain() -> None:
    """Verify the default sender's domain in the emulator's SES, as an operator verifies it in
    AWS (docs/sending.md): the emulator, like SES, refuses mail from unverified senders."""
    from functions.store.clients import client

    sender = os.environ.get("HARK_EMAIL_FROM")
    if not sender:
        return
    domain = sender.rpartition("@")[2]
    ses = client("sesv2")
    if domain not in {i["IdentityName"] for i in ses.list_email_identities().get("EmailIdentities", [])}:
        ses.create_email_identity(EmailIdentity=domain)


def make_send_worker() -> Any:
    """A local stand-in for Lambda's SQS mapping of the sender function."""
    from functions.store.clients import client
    from infra.local.deliveries import QueueWorker

    handler = deployed_handler("Sender")
    return QueueWorker(client("sqs"), os.environ["HARK_SEND_QUEUE_URL"], handler, name="sender")


def make_tally_writer() -> Any:
    """A local stand-in for Lambda's SQS mapping of the tally writer (stage 2 of the scores
    pipeline, docs/scale.md): it drains the scores FIFO queue."""
    from functions.store.clients import client
    from infra.local.deliveries import QueueWorker

    return QueueWorker(
        client("sqs"),
        os.environ["HARK_SCORES_QUEUE_URL"],
        deployed_handler("TallyWriter"),
        name="tally-writer",
    )


def make_mailbox_simulator() -> Any:
    """SES's mailbox simulator and event destination, locally (infra/local/ses_simulator.py)."""
    from infra.local.ses_simulator import MailboxSimulator

    simulator = MailboxSimulator(deployed_handler("SesEvents"))
    simulator.attach()
    return simulator


def deployed_tick(function: str) -> Any:
    """A scheduled function's deployed handler as a Ticker's tick: the number of things it did."""
    handler = deployed_handler(function)

    def tick() -> int:
        return sum(handler({}, None).values())

    return tick


class Ticker:
    """A local stand-in for the scheduler's EventBridge rule: calls `tick` every `seconds`.

    An idle stack should cost nothing (`make dev` idles under 5% of a core): after a tick that
    did nothing (returned 0) the pause doubles, up to `idle_seconds`; a tick that did something,
    or (with `signal`, the embedded emulator) any write to the responses table, brings it back
    to `seconds`. So a send is queued within `seconds` of a write and within `idle_seconds` of
    its time.
    """

    def __init__(
        self,
        tick: Any,
        seconds: float,
        name: str = "send-scheduler",
        *,
        idle_seconds: float | None = None,
        signal: Any = None,
    ) -> None:
        self.tick, self.seconds, self.name = tick, seconds, name
        self.idle_seconds = max(idle_seconds or seconds, seconds)
        self.signal = signal
        self.pause = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the stack is stopped or (with a signal) written to."""
        if self.signal is None:
            self._stop.wait(seconds)
            return
        seen = self.signal.stream_generation()
        step = min(seconds, 0.25)  # wake to notice a stop
        waited = 0.0
        while waited < seconds and not self._stop.is_set():
            if self.signal.wait_for_stream_change(seen, step) != seen:
                self.pause = self.seconds
                return
            waited += step

    def start(self) -> None:
        import logging

        log = logging.getLogger("hark.scheduler")
        self.pause = self.seconds

        def run() -> None:
            while True:
                self._pause(self.pause)
                if self._stop.is_set():
                    return
                try:
                    busy = self.tick()
                except Exception:  # a dev stack survives a hiccup, as the next tick would
                    log.exception("%s tick failed", self.name)
                    busy = 0
                self.pause = self.seconds if busy else min(self.pause * 2, self.idle_seconds)

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def deployed_handler(function: str) -> Any:
    """The handler the packaged template names for `function` (infra/template.py, HANDLERS), so
    the local stack runs what Lambda runs."""
    from importlib import import_module

    from infra.template import HANDLERS

    module, _, name = HANDLERS[function].rpartition(".")
    return getattr(import_module(module), name)


def make_poller(stream: str, queue_url: str, handler: Any = None, **kwargs: Any) -> Any:
    """A poller feeding a deployed stream handler (default: the aggregator's) exactly as Lambda
    would."""
    import boto3

    from functions.store.clients import client
    from infra.local.poller import StreamPoller, sqs_failure_sink

    streams = boto3.session.Session().client("dynamodbstreams")
    return StreamPoller(
        streams,
        stream,
        handler or deployed_handler("Aggregator"),
        region=os.environ.get("AWS_DEFAULT_REGION", REGION),
        on_failure=sqs_failure_sink(client("sqs"), queue_url),
        **kwargs,
    )


def make_events_poller(stream: str, queue_url: str, **kwargs: Any) -> Any:
    """The stream's second reader: the webhook events consumer (its own checkpoints)."""
    return make_poller(stream, queue_url, deployed_handler("WebhookEvents"), **kwargs)


def make_delivery_worker() -> Any:
    """A local stand-in for Lambda's SQS mapping of the webhook delivery function."""
    from functions.store.clients import client
    from infra.local.deliveries import QueueWorker

    return QueueWorker(
        client("sqs"), os.environ["HARK_WEBHOOK_QUEUE_URL"], deployed_handler("WebhookDelivery")
    )


@dataclass
class HttpServer:
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


_DISPATCH = threading.Lock()


def _handler_class(quiet: bool = False) -> Any:
    """Chalice's local request handler, answering methods it lacks (TRACE, QUERY, …) with
    405 in the API's error shape instead of http.server's 501, as a gateway would refuse them.
    `quiet` drops the access log (benchmarks send thousands of requests)."""
    from chalice.local import ChaliceRequestHandler

    class LocalRequestHandler(ChaliceRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            if not quiet:
                super().log_message(format, *args)

        def _one_at_a_time(self) -> None:
            # One request at a time through the app, as in one Lambda instance: Chalice keeps
            # `app.current_request` in a single attribute, so two threads dispatching at once
            # could read each other's request (the load test caught answers recorded with
            # another request's score). Connections are still accepted concurrently.
            with _DISPATCH:
                ChaliceRequestHandler._generic_handle(self)

        # Chalice binds its do_<METHOD> names to _generic_handle when its class is made.
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _one_at_a_time

        def _method_not_allowed(self) -> None:
            # Consume any body and close: leftover bytes would corrupt the next request.
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.close_connection = True
            body = json.dumps(
                {"error": {"code": "method_not_allowed", "message": f"{self.command} is not supported"}}
            ).encode()
            self.send_response(405)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # http.server looks up do_<METHOD> for any method
                return self._method_not_allowed
            raise AttributeError(name)

    return LocalRequestHandler


def serve_api(host: str, port: int, stage: str = "dev", *, quiet: bool = False) -> HttpServer:
    """The Chalice app on host:port (threaded), in this process."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from functions.api.app import app

    config = Config(chalice_stage=stage, config_from_disk=json.loads(CHALICE_JSON.read_text()))
    from chalice.local import ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        request_queue_size = 128  # http.server's 5 resets connections under a burst of clients

    dev = LocalDevServer(app, config, host, port, handler_cls=_handler_class(quiet), server_cls=Server)
    thread = threading.Thread(target=dev.server.serve_forever, name="api", daemon=True)
    thread.start()
    return HttpServer(dev.server, thread)
