"""Sealed positions: every cursor and public id that stands for a storage position
(docs/security.md, "Cursors and response ids").

A position in the store (a DynamoDB start key, a response's index sort key, which holds its
answer code) never leaves the store as itself. It is sealed with AES-SIV (RFC 5297:
deterministic authenticated encryption) under a key derived from the signing key for this one
purpose, with the tenant and the route as associated data. So a caller can neither read a
cursor nor forge or alter one, and a cursor carried to another tenant or another route does
not open: each of those is the route's 400 ``invalid_cursor``.

Deterministic on purpose: the same position seals to the same text, so a public id made this
way (a Delighted response id) is stable. The text is ``<kid>.<base64url>``: ``kid`` names the
signing key, so keys rotate as links do (the first key seals, every listed key opens).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from functions.domain.errors import InvalidInput
from functions.lazy import lazy
from functions.store.parameters import signing_keys

if TYPE_CHECKING:
    import cryptography.exceptions as crypto_errors
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import aead
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV
    from cryptography.hazmat.primitives.kdf import hkdf
else:  # only paginated routes pay for cryptography, not a customer's click
    crypto_errors, hashes = lazy("cryptography.exceptions"), lazy("cryptography.hazmat.primitives.hashes")
    aead = lazy("cryptography.hazmat.primitives.ciphers.aead")
    hkdf = lazy("cryptography.hazmat.primitives.kdf.hkdf")

_PURPOSE = b"hark-sealed-position-v1"
_SEALED = re.compile(r"^([a-z0-9]{1,8})\.([A-Za-z0-9_-]{22,1900})$")


class SealBroken(Exception):
    """The text is not a position this deployment sealed for this tenant and route."""


@lru_cache(maxsize=8)
def _cipher(secret: bytes) -> AESSIV:
    key = hkdf.HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_PURPOSE).derive(secret)
    return aead.AESSIV(key)


def _context(tenant_id: str, route: str) -> list[bytes]:
    return [tenant_id.encode(), route.encode()]


def seal(position: Any, *, tenant_id: str, route: str) -> str:
    """The sealed text of a JSON-able `position`, for `tenant_id` on `route` only."""
    kid, secret = signing_keys().current
    plain = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    sealed = _cipher(secret).encrypt(plain, _context(tenant_id, route))
    return f"{kid}.{base64.urlsafe_b64encode(sealed).rstrip(b'=').decode()}"


def unseal(text: str, *, tenant_id: str, route: str) -> Any:
    """The position inside `text`; SealBroken if it was not sealed by us for this tenant and route."""
    match = _SEALED.match(text)
    secret = signing_keys().secret_for(match.group(1)) if match else None
    if match is None or secret is None:
        raise SealBroken("not a sealed position")
    body = match.group(2)
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode() != body:
            raise ValueError("not the one encoding of these bytes")  # one text per position
        plain = _cipher(secret).decrypt(sealed, _context(tenant_id, route))
        return json.loads(plain)
    except (crypto_errors.InvalidTag, ValueError, binascii.Error) as exc:
        raise SealBroken("not a sealed position") from exc


def open_cursor(text: str | None, *, tenant_id: str, route: str, field: str = "cursor") -> Any:
    """The position inside a cursor this API returned (None for no cursor), else the one 400."""
    if not text:
        return None
    try:
        return unseal(text, tenant_id=tenant_id, route=route)
    except SealBroken:
        raise InvalidInput(
            f"{field} is not one this API returned", field=field, code="invalid_cursor"
        ) from None


# ---- DynamoDB start keys: the one codec of a paginated read's position ------------------------


def seal_start(key: Mapping[str, Any] | None, *, tenant_id: str, route: str) -> str | None:
    """The cursor of a query's `LastEvaluatedKey` (None after the last page)."""
    return seal(key, tenant_id=tenant_id, route=route) if key else None


def open_start(
    text: str | None,
    *,
    tenant_id: str,
    route: str,
    fields: Collection[str],
    field: str = "cursor",
    plain: bool = False,
    pinned: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The `ExclusiveStartKey` inside a cursor (None for no cursor): exactly the key attributes
    `fields`, each a string (`plain`: sealed as bare strings, else as DynamoDB values), and
    the `pinned` ones equal to the value given; anything else is the route's 400."""
    value = open_cursor(text, tenant_id=tenant_id, route=route, field=field)
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {}
    strings = {
        k: v if plain else v["S"]
        for k, v in value.items()
        if (
            isinstance(v, str)
            if plain
            else isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
        )
    }
    if (
        not value
        or set(value) != set(fields)
        or len(strings) != len(value)
        or any(strings.get(k) != v for k, v in (pinned or {}).items())
    ):
        raise InvalidInput(f"{field} is not one this API returned", field=field, code="invalid_cursor")
    return {k: {"S": v} for k, v in strings.items()}
