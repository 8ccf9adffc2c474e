"""Twilio's Messages API: one survey text to a phone (docs/sending.md, "SMS through Twilio").

One form POST to {HARK_TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json with Basic
auth, made with the standard library rather than the `twilio` package: that is the whole of
what the sender needs, and the package (with aiohttp, requests and PyJWT underneath) would
add megabytes and import time to every sender cold start.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from functions.store.mail import SendLater, SendRefused

TIMEOUT_SECONDS = 10
API_VERSION = "2010-04-01"


def _reason(status: int, body: bytes) -> str:
    """Twilio's own error ("Twilio 21211: The 'To' number … is not a valid phone number")."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and (doc.get("code") or doc.get("message")):
        return f"Twilio {doc.get('code') or status}: {doc.get('message') or 'refused'}"
    return f"Twilio HTTP {status}"


def send_text(
    base: str,
    account_sid: str,
    auth_token: str,
    to: str,
    body: str,
    *,
    from_number: str | None = None,
    messaging_service_sid: str | None = None,
) -> str:
    """Send `body` to `to` from a number or a Messaging Service; Twilio's message SID.

    Raises SendLater on throttling (429), a Twilio 5xx or a network failure, SendRefused on
    any other refusal (with Twilio's error code and message).
    """
    form = {"To": to, "Body": body}
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    elif from_number:
        form["From"] = from_number
    else:
        raise SendRefused("no sender: set the tenant's sms.number or sms.messaging_service_sid")
    if not base.startswith(("https://", "http://")):
        raise SendRefused(f"HARK_TWILIO_API_BASE must be an http(s) URL, not {base!r}")
    url = f"{base.rstrip('/')}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}/Messages.json"
    credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
    request = urllib.request.Request(  # noqa: S310 (http(s), checked above)
        url,
        data=urlencode(form).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s), checked above)
            answer = response.read()
    except urllib.error.HTTPError as exc:
        reason = _reason(exc.code, exc.read())
        if exc.code == 429 or exc.code >= 500:
            raise SendLater(reason) from exc
        raise SendRefused(reason) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SendLater(f"Twilio unreachable: {exc}") from exc
    # Twilio accepted the message: an answer without a readable sid must not make a retry send
    # it again, so it is recorded as sent with no provider id.
    try:
        out = json.loads(answer)
    except ValueError:
        return ""
    return str(out.get("sid") or "") if isinstance(out, dict) else ""


def recent_texts(base: str, account_sid: str, auth_token: str, limit: int = 100) -> list[dict[str, object]]:
    """The account's latest texts (Twilio's Messages list, newest first, one page of `limit`):
    for the developer outbox. Raises OSError (urllib's errors) when Twilio cannot be read."""
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"HARK_TWILIO_API_BASE must be an http(s) URL, not {base!r}")
    url = (
        f"{base.rstrip('/')}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}/Messages.json"
        f"?{urlencode({'PageSize': limit})}"
    )
    credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
    request = urllib.request.Request(  # noqa: S310 (http(s), checked above)
        url, headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s), checked above)
        doc = json.loads(response.read())
    messages = doc.get("messages") if isinstance(doc, dict) else None
    return [m for m in messages or [] if isinstance(m, dict)]
