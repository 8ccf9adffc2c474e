"""Dashboard sessions: a signed, short-lived cookie in place of the API key.

A session is ``<kid>.<tenant_id>.<key_id>.<expiry>.<mac>``:
- ``kid`` names the signing key (the link-signing keys, so rotation works the same way);
- ``tenant_id`` and ``key_id`` say whose session it is and which API key opened it; the key
  itself is never in the cookie, and the key is checked again on every request, so revoking
  it ends its sessions;
- ``expiry`` is a unix time in base 36;
- ``mac`` is HMAC-SHA256, truncated to 128 bits, base64url, under a key *derived* from the
  signing key for this purpose only, so a session can never pass as a survey link or back.

Verification is constant-time and needs no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from functions.domain.codes import ID_PATTERN
from functions.domain.tokens import SigningKeys, b36, check_mac, mac

SESSION_SECONDS = 3600
_PURPOSE = b"hark-dashboard-session-v1"
_KID = re.compile(r"^[a-z0-9]{1,8}$")
_KEY_ID = re.compile(r"^key_[0-9a-f]{20}$")
_EXPIRY = re.compile(r"^[0-9a-z]{1,10}$")
_MAC = re.compile(r"^[A-Za-z0-9_-]{22}$")


class SessionInvalid(Exception):
    """Malformed, signed by an unknown key, or tampered with."""


class SessionExpired(Exception):
    """Authentic, but past its expiry."""


@dataclass(frozen=True)
class Session:
    tenant_id: str
    key_id: str
    expires_at: int


def _derived(secret: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def _mac(secret: bytes, body: str) -> str:
    return mac(_derived(secret), body)


def sign_session(tenant_id: str, key_id: str, expires_at: int, keys: SigningKeys) -> str:
    if not ID_PATTERN.match(tenant_id) or not _KEY_ID.match(key_id):
        raise ValueError("not a tenant id and key id")
    kid, secret = keys.current
    body = f"{kid}.{tenant_id}.{key_id}.{b36(expires_at)}"
    return f"{body}.{_mac(secret, body)}"


def verify_session(value: str, keys: SigningKeys, now: int) -> Session:
    """The session inside an authentic, unexpired cookie value."""
    parts = value.split(".")
    if len(parts) != 5:
        raise SessionInvalid("malformed session")
    kid, tenant_id, key_id, expiry, signature = parts
    if not (
        _KID.match(kid)
        and ID_PATTERN.match(tenant_id)
        and _KEY_ID.match(key_id)
        and _EXPIRY.match(expiry)
        and _MAC.match(signature)
    ):
        raise SessionInvalid("malformed session")
    check_mac(keys, kid, f"{kid}.{tenant_id}.{key_id}.{expiry}", signature, SessionInvalid, _derived)
    expires_at = int(expiry, 36)
    if expires_at <= now:
        raise SessionExpired("session expired")
    return Session(tenant_id, key_id, expires_at)
