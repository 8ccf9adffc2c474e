"""Webhooks (SPEC §4), the pure parts: secrets, Standard Webhooks signatures, which events a
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

from functions.domain.errors import Unprocessable
from functions.domain.kinds import Kind

SECRET_PREFIX = "whsec_"  # noqa: S105 (a public prefix, not a secret)
SECRET_BYTES = 32
CREATED = "response.created"
UPDATED = "response.updated"
DETRACTOR = "response.detractor"
# Deliveries (docs/sending.md): the outcome of Hark's email, by delivery status.
DELIVERY_EVENTS = {
    "sent": "invitation.sent",
    "failed": "invitation.failed",
    "bounced": "invitation.bounced",
    "complained": "invitation.complained",
}
EVENTS = (CREATED, UPDATED, DETRACTOR, *DELIVERY_EVENTS.values())

# The low band of each kind's headline score: an answer here is a "detractor" event.
LOW_BAND: dict[Kind, int] = {Kind.NPS: 6, Kind.CSAT: 2, Kind.CES: 3, Kind.CSI: 4}

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


def is_low(kind: Kind, score: int) -> bool:
    return score <= LOW_BAND[kind]


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


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def is_public_address(text: str) -> bool:
    """True for a globally routable unicast address: no private, loopback, link-local (the
    metadata service 169.254.169.254 and fd00:ec2::254 included), multicast or reserved one."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public_address(str(inner))
    return bool(address.is_global) and not address.is_multicast


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
    try:
        addresses = tuple(dict.fromkeys(resolve(host, port)))
    except OSError:
        raise _bad_url(f"the host {host} does not resolve") from None
    if not addresses:
        raise _bad_url(f"the host {host} does not resolve")
    for address in addresses:
        if local and is_loopback(address):
            continue
        if not is_public_address(address):
            raise _bad_url(f"the host {host} resolves to a private or reserved address; use a public one")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses)


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
