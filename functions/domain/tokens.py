"""Signed invitation tokens for email links (docs/architecture.md, Design choices).

A token is ``<kid>.<code>.<expiry>.<signature>``:
- ``kid`` names the signing key, so keys can rotate: every listed key verifies, the first signs;
- ``code`` is the invitation's random key (no customer data is in the URL);
- ``expiry`` is a unix time in base 36;
- ``signature`` is HMAC-SHA256 over the first three parts, truncated to 128 bits, base64url.

Verification is constant-time and needs no I/O, so a tampered or expired link is refused
before the database is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from functions.domain.codes import CODE_PATTERN

_KID = re.compile(r"^[a-z0-9]{1,8}$")
_EXPIRY = re.compile(r"^[0-9a-z]{1,10}$")
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{22}$")
SIGNATURE_BYTES = 16


class TokenInvalid(Exception):
    """The token is malformed, signed by an unknown key, or its signature does not match."""


class TokenExpired(Exception):
    """The token is authentic but its expiry has passed."""


@dataclass(frozen=True)
class SigningKeys:
    """Ordered signing keys; the first signs, all verify."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> SigningKeys:
        """Parse ``kid:secret,kid:secret`` (secrets at least 32 characters)."""
        keys: list[tuple[str, bytes]] = []
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            kid, sep, secret = part.partition(":")
            if not sep or not _KID.match(kid):
                raise ValueError("signing keys must look like 'kid:secret' with kid [a-z0-9]{1,8}")
            if len(secret) < 32:
                raise ValueError(f"signing key {kid!r} is shorter than 32 characters")
            keys.append((kid, secret.encode()))
        if not keys:
            raise ValueError("at least one signing key is required")
        if len({kid for kid, _ in keys}) != len(keys):
            raise ValueError("signing key ids must be unique")
        return cls(tuple(keys))

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def secret_for(self, kid: str) -> bytes | None:
        for candidate, secret in self.keys:
            if candidate == kid:
                return secret
        return None


def b36(number: int) -> str:
    """A non-negative whole number in base 36 (the expiry inside a signed value)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out


def mac(secret: bytes, message: str) -> str:
    """The signature a signed value ends with: HMAC-SHA256, cut to SIGNATURE_BYTES, base64url."""
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_mac(
    keys: SigningKeys,
    kid: str,
    body: str,
    signature: str,
    invalid: type[Exception],
    derive: Callable[[bytes], bytes] = lambda secret: secret,
) -> None:
    """Raise `invalid` unless `signature` is `body`'s, under the key `kid` names (its secret
    through `derive`): an unknown key or a bad signature."""
    secret = keys.secret_for(kid)
    if secret is None:
        raise invalid("unknown signing key")
    if not hmac.compare_digest(mac(derive(secret), body).encode(), signature.encode()):
        raise invalid("bad signature")


def sign(code: str, expires_at: int, keys: SigningKeys) -> str:
    """A token for invitation `code` that is valid until unix time `expires_at`."""
    if not CODE_PATTERN.match(code):
        raise ValueError("code is not an invitation code")
    kid, secret = keys.current
    body = f"{kid}.{code}.{b36(expires_at)}"
    return f"{body}.{mac(secret, body)}"


def verify(token: str, keys: SigningKeys, now: int) -> str:
    """The invitation code inside an authentic, unexpired token.

    Raises TokenInvalid for anything malformed or forged, TokenExpired when authentic but late.
    """
    parts = token.split(".")
    if len(parts) != 4:
        raise TokenInvalid("malformed token")
    kid, code, expiry, signature = parts
    if not (
        _KID.match(kid) and CODE_PATTERN.match(code) and _EXPIRY.match(expiry) and _SIGNATURE.match(signature)
    ):
        raise TokenInvalid("malformed token")
    check_mac(keys, kid, f"{kid}.{code}.{expiry}", signature, TokenInvalid)
    if int(expiry, 36) <= now:
        raise TokenExpired("token expired")
    return code
