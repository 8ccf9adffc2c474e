"""A local stand-in for Twilio's Messages API, for `make dev` (docs/sending.md, "Locally").

The local stack's emulator plays AWS; this plays Twilio, so a tenant whose `sms.provider` is
`twilio` (the demo tenant's) texts on a laptop with no Twilio account, and the developer
outbox lists what it sent. It answers the two calls Hark makes, as Twilio does:

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form: ``To``, ``Body``, and ``From`` or
  ``MessagingServiceSid``; HTTP Basic with the account SID and auth token): ``201`` with the
  message's ``sid``; ``401`` (code 20003) for other credentials, ``400`` (21604 / 21211) for a
  missing field or a ``To`` that is not E.164;
- ``GET`` on the same path: the messages sent, newest first, in Twilio's list shape.

It listens on 127.0.0.1 only and keeps the messages for as long as it runs.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

LOCAL_ACCOUNT_SID = "AC" + "0" * 32
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def basic_auth(account_sid: str, auth_token: str) -> str:
    """The Authorization header Twilio expects: HTTP Basic, the account SID and auth token."""
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()


def reply_json(handler: BaseHTTPRequestHandler, status: int, doc: dict[str, Any]) -> None:
    """Answer the request `handler` serves with `doc` as JSON, as Twilio's API answers."""
    data = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class TwilioStandIn:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self._auth = basic_auth(account_sid, auth_token)
        self._path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, method: str, path: str, auth: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path.split("?", 1)[0] != self._path:
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if auth != self._auth:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if method == "GET":
            with self._lock:
                return 200, {"messages": list(reversed(self.messages)), "next_page_uri": None}
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
        except (ValueError, UnicodeDecodeError):
            form = {}
        if not form.get("Body") or ("From" in form) == ("MessagingServiceSid" in form):
            return 400, {
                "code": 21604,
                "message": "A 'To', a 'Body' and one of 'From' or 'MessagingServiceSid' are required.",
                "status": 400,
            }
        if not E164.match(form.get("To", "")):
            return 400, {
                "code": 21211,
                "message": f"The 'To' number {form.get('To', '')} is not a valid phone number.",
                "status": 400,
            }
        message = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "queued",
            "date_created": formatdate(usegmt=True),
        }
        with self._lock:
            self.messages.append(message)
        return 201, message

    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, doc = standin.answer(method, self.path, self.headers.get("Authorization", ""), body)
                reply_json(self, status, doc)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="twilio-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
