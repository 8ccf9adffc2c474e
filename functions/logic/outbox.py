"""The developer outbox (docs/sending.md): what the embedded emulator's SES accepted.

Only the dev stage serves it. moto keeps every raw message it accepted and lists them at
``{AWS_ENDPOINT_URL}/moto-api/data.json`` (ses → RawMessage), so the outbox shows each email
exactly as Hark sent it, with its working links.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import urllib.request
from typing import Any

from functions.domain.errors import NotConfigured, NotFound
from functions.settings import get_settings


def _raw_messages() -> list[dict[str, Any]]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise NotConfigured("the outbox reads the local emulator: AWS_ENDPOINT_URL is not set")
    url = endpoint.rstrip("/") + "/moto-api/data.json?service=ses&model=RawMessage"
    with urllib.request.urlopen(url, timeout=10) as out:  # noqa: S310 (the local emulator)
        data = json.loads(out.read())
    return list(data.get("ses", {}).get("RawMessage", []))


def _parsed(raw: dict[str, Any]) -> email.message.EmailMessage:
    message = email.message_from_string(str(raw["raw_data"]), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def sent_emails() -> list[dict[str, Any]]:
    """Every email sent, oldest first: id (SES's message id), from, to, subject, date, url."""
    base = get_settings().public_base_url
    found = []
    for raw in _raw_messages():
        message = _parsed(raw)
        found.append(
            {
                "id": raw["id"],
                "from": message["From"],
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
                "url": f"{base}/dev/outbox/{raw['id']}",
            }
        )
    return found


def email_html(message_id: str) -> str:
    """The HTML part of one sent email, exactly as sent."""
    for raw in _raw_messages():
        if raw.get("id") == message_id:
            part = _parsed(raw).get_body(("html", "plain"))
            if part is None:
                break
            content = part.get_content()
            return content if part.get_content_type() == "text/html" else f"<pre>{content}</pre>"
    raise NotFound("no such email in the outbox", field="id")
