"""The developer outbox (docs/sending.md): what the local stack sent, emails and texts.

Only the dev stage serves it. moto keeps every raw message its SES accepted and every text its
SNS published, and lists them at ``{AWS_ENDPOINT_URL}/moto-api/data.json`` (ses → RawMessage,
sns → SMS), so the outbox shows each email exactly as Hark sent it, with its working links, and
each text as sent. Texts sent through Twilio are read back from the Messages list of the
Twilio that HARK_TWILIO_API_BASE names (locally, a stand-in). A text's phone is shown masked
(functions/domain/phones.py); its time is the invitation's `sent_at`, since the emulator's SNS
keeps none.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import urllib.request
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from functions.domain.errors import NotConfigured, NotFound
from functions.domain.phones import mask_phone
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.logic import secrets
    from functions.store import sends, twilio_messages
else:  # only what each listing reads
    secrets = lazy("functions.logic.secrets")
    sends = lazy("functions.store.sends")
    twilio_messages = lazy("functions.store.twilio_messages")

log = logging.getLogger("hark.outbox")


def _emulator_data() -> dict[str, Any]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise NotConfigured("the outbox reads the local emulator: AWS_ENDPOINT_URL is not set")
    # Sent emails and texts only: the whole dump walks every table item (infra/local/moto_fixes.py)
    url = endpoint.rstrip("/") + "/moto-api/data.json?service=ses&service=sns&model=RawMessage&model=SMS"
    with urllib.request.urlopen(url, timeout=10) as out:  # noqa: S310 (the local emulator)
        data: dict[str, Any] = json.loads(out.read())
    return data


def _raw_messages() -> list[dict[str, Any]]:
    return list(_emulator_data().get("ses", {}).get("RawMessage", []))


def _parsed(raw: dict[str, Any]) -> email.message.EmailMessage:
    message = email.message_from_string(str(raw["raw_data"]), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def _iso(date_header: str | None) -> str | None:
    try:
        moment = parsedate_to_datetime(date_header or "").astimezone(UTC)
    except (TypeError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sent_emails(data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every email sent, oldest first: id (SES's message id), channel, from, to, subject, date
    (the Date header), sent_at (the same, RFC 3339 UTC), url."""
    base = get_settings().public_base_url
    found = []
    for raw in (data if data is not None else _emulator_data()).get("ses", {}).get("RawMessage", []):
        message = _parsed(raw)
        found.append(
            {
                "id": raw["id"],
                "channel": "email",
                "from": message["From"],
                "to": message["To"],
                # A subject folded right after `Subject:` parses with the fold's space in front
                "subject": str(message["Subject"] or "").strip(),
                "date": message["Date"],
                "sent_at": _iso(message["Date"]),
                "url": f"{base}/dev/outbox/{raw['id']}",
            }
        )
    return found


def _text(
    provider: str, message_id: str, sender: str | None, to: str, body: str, at: str | None
) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel": "sms",
        "provider": provider,
        "from": sender,
        "to": mask_phone(to),
        "body": body,
        "sent_at": at,
    }


def _twilio_texts() -> list[dict[str, Any]]:
    """Texts of the Twilio account HARK_TWILIO_* name (locally, a stand-in), oldest first."""
    settings = get_settings()
    token = secrets.twilio_auth_token() if settings.twilio_account_sid else None
    if not settings.twilio_account_sid or not token:
        return []
    try:
        messages = twilio_messages.recent_texts(settings.twilio_api_base, settings.twilio_account_sid, token)
    except (OSError, ValueError) as exc:
        log.warning("the outbox could not read Twilio's messages: %s", exc)
        return []
    found = []
    for m in reversed(messages):  # Twilio lists newest first
        at = _iso(str(m.get("date_created") or ""))
        found.append(
            _text(
                "twilio",
                str(m.get("sid")),
                str(m["from"]) if m.get("from") else None,
                str(m.get("to") or ""),
                str(m.get("body") or ""),
                at,
            )
        )
    return found


def sent_texts(data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every text sent, oldest first: id (the provider's message id), channel `sms`, provider
    (`sns` or `twilio`), from, to (masked), body (as sent), sent_at."""
    published = (data if data is not None else _emulator_data()).get("sns", {}).get("SMS", [])
    times = sends.sent_times({str(m["message_id"]) for m in published})
    texts = [
        _text(
            "sns",
            str(m["message_id"]),
            None,
            str(m["phone_number"]),
            str(m["message"]),
            times.get(str(m["message_id"])),
        )
        for m in published
    ]
    return texts + _twilio_texts()


def sent_messages() -> list[dict[str, Any]]:
    """Everything sent, emails and texts, oldest first (by sent_at; unknown times last)."""
    data = _emulator_data()
    everything = sent_emails(data) + sent_texts(data)
    return sorted(everything, key=lambda m: (m["sent_at"] is None, m["sent_at"] or ""))


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
