"""Webhooks (docs/api.md, Webhooks), the pure parts: secrets, Standard Webhooks signatures, which events a
change of a response implies, which URLs and addresses may receive them, and the retry schedule.

Signatures follow the Standard Webhooks scheme: the secret is ``whsec_<base64 key>``; the
signature of a delivery is ``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``, sent in
``webhook-signature`` with ``webhook-id`` and ``webhook-timestamp`` (unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from functions.domain import addresses
from functions.domain.errors import Unprocessable

# The event names live in functions/domain/event_names.py; the rules below use them by name.
from functions.domain.event_names import (
    CREATED,
    DELIVERY_EVENTS,
    DETRACTOR,
    FOLLOW_UP_CLOSED,
    FOLLOW_UP_OPENED,
    FOLLOW_UP_OVERDUE,
    UPDATED,
)
from functions.domain.kinds import LOW_MAX, Kind, is_low

SECRET_PREFIX = "whsec_"  # noqa: S105 (a public prefix, not a secret)
SECRET_BYTES = 32

# The low band of each kind's headline score (functions/domain/kinds.py): an answer there is a
# "detractor" event.
LOW_BAND = LOW_MAX

# Seconds to wait before each retry; the first attempt is immediate. len(...) + 1 attempts in all.
DEFAULT_RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    body = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(body)


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one delivery."""
    mac = hmac.new(_key(secret), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event_id(code: str, rev: int, event: str) -> str:
    """A stable id per (response revision, event): retries and replays carry the same id,
    so a receiver can deduplicate (at-least-once delivery). Not reversible to the link code."""
    digest = hashlib.sha256(f"{code}:{rev}:{event}".encode()).hexdigest()[:26]
    return f"msg_{digest}"


# ---- which events a change implies -------------------------------------------------------------


def events_for_change(
    event_name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[str]:
    """Events for one stream record, from the item's old and new plain images.

    created: the first score; updated: a later change of the answer (score, comment or
    ratings; a write that changes nothing emits nothing); detractor: an answer that enters the
    survey's low band (on creation, or when a change moves it there from outside it).
    Invitations, erasures and expiries emit nothing.
    """
    if event_name == "REMOVE" or new is None or new.get("score") is None:
        return []
    kind = Kind(new["page"]["kind"])
    score = int(new["score"])
    old_score = None if old is None or old.get("score") is None else int(old["score"])
    if old_score is None:
        return [CREATED, DETRACTOR] if is_low(kind, score) else [CREATED]
    if int(new.get("rev", 0)) <= int((old or {}).get("rev", 0)):
        return []
    out = [UPDATED]
    if is_low(kind, score) and not is_low(kind, old_score):
        out.append(DETRACTOR)
    return out


def follow_up_events(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Follow-up events a change records: opened (the follow-up appears), overdue (the sweep's
    mark appears), closed (the status becomes closed). Each mark is set once, so each event has
    one stream record (and one id, whatever the stream replays)."""
    if new is None:
        return []
    before = old or {}
    out = []
    if new.get("fu_status") and not before.get("fu_status"):
        out.append(FOLLOW_UP_OPENED)
    if new.get("fu_overdue") and not before.get("fu_overdue"):
        out.append(FOLLOW_UP_OVERDUE)
    if new.get("fu_status") == "closed" and before.get("fu_status") != "closed":
        out.append(FOLLOW_UP_CLOSED)
    return out


def delivery_events(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(event, distinguishing key) for each delivery outcome a change records: the email's
    (``send_status``) and its reminder's (``remind_status``). The key (the provider's message
    id, else the stage) keeps the event id of a reminder apart from the first email's."""
    if new is None:
        return []
    out = []
    for stage in ("send", "remind"):
        before, after = (old or {}).get(f"{stage}_status"), new.get(f"{stage}_status")
        if after != before and after in DELIVERY_EVENTS:
            out.append((DELIVERY_EVENTS[after], str(new.get(f"{stage}_provider_id") or stage)))
    return out


# ---- where deliveries may go ------------------------------------------------------------------


def is_public_address(text: str) -> bool:
    """True for a public unicast address (functions/domain/addresses.py says which those are)."""
    return addresses.is_public_address(text)


def is_loopback(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


Resolver = Callable[[str, int], Iterable[str]]


def check_url(url: str, *, allow_loopback: bool, resolve: Resolver) -> Target:
    """The delivery target of `url`, or Unprocessable saying why it may not receive webhooks.

    Every stage: https to a host whose every address is public. With `allow_loopback`
    (the dev stage) also http or https to 127.0.0.1 / ::1 / localhost. Checked at
    registration and again at each delivery, connecting only to the checked addresses, so a
    DNS answer that changes later (rebinding) cannot reach a private address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _bad_url("the url is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise _bad_url("the url must be an absolute https URL")
    if parts.username or parts.password:
        raise _bad_url("the url must not carry a user name or password")
    local = allow_loopback and (host in LOOPBACK_HOSTS or is_loopback(host))
    if parts.scheme != "https" and not local:
        raise _bad_url("the url must use https")
    port = port or (443 if parts.scheme == "https" else 80)
    problem = host_name_problem(host)
    if problem:
        raise _bad_url(problem)
    try:
        resolved = tuple(dict.fromkeys(resolve(host, port)))
    except (OSError, ValueError):  # ValueError: IDNA encoding (UnicodeError) or a NUL in the name
        raise _bad_url(f"the host {host} does not resolve") from None
    if not resolved:
        raise _bad_url(f"the host {host} does not resolve")
    for address in resolved:
        if local and is_loopback(address):
            continue
        if not is_public_address(address):
            raise _bad_url(f"the host {host} resolves to a private or reserved address; use a public one")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, resolved)


MAX_HOST_LENGTH = 253  # RFC 1035, without the trailing dot
MAX_LABEL_LENGTH = 63


def host_name_problem(host: str) -> str | None:
    """Why `host` (a URL's lower-cased host) cannot be a DNS name or an IP literal, or None.

    Checked before resolving: the resolver's IDNA codec raises UnicodeError on a label longer
    than 63 characters, which is no network error, and the answer is the same for every stage.
    """
    if ":" in host:  # an IPv6 literal; urlsplit has already checked its brackets
        return None
    name = host.removesuffix(".")
    try:
        encoded = name.encode("idna")
    except UnicodeError:
        return "the url's host name is not a valid DNS name (labels are 1 to 63 characters)"
    if not name or len(encoded) > MAX_HOST_LENGTH:
        return f"the url's host name must be 1 to {MAX_HOST_LENGTH} characters"
    if any(not 0 < len(label) <= MAX_LABEL_LENGTH for label in encoded.split(b".")):
        return "the url's host name is not a valid DNS name (labels are 1 to 63 characters)"
    if any(c in host for c in "\x00 /\\"):
        return "the url's host name holds a character a DNS name cannot"
    return None


def _bad_url(message: str) -> Unprocessable:
    return Unprocessable(message, field="url", code="invalid_webhook_url")


# ---- retries ------------------------------------------------------------------------------------


def parse_delays(text: str) -> tuple[int, ...]:
    """A retry schedule from ``"5,30,120"`` (seconds before each retry)."""
    delays = tuple(int(part) for part in text.split(",") if part.strip())
    if any(d < 0 for d in delays):
        raise ValueError("retry delays must be zero or more seconds")
    return delays


def retry_delay(attempt: int, delays: tuple[int, ...]) -> int | None:
    """Seconds to wait before attempt number `attempt + 1`, or None when the budget is spent
    (`attempt` counts the attempts made, the first being 1)."""
    if attempt - 1 >= len(delays):
        return None
    return delays[attempt - 1]
