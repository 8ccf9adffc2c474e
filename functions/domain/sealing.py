"""Sealed values: addresses held for a pending send, and unsubscribe tokens (docs/sending.md).

A sealed value is ``<kid>.<base64url(nonce || AES-256-GCM ciphertext)>``. Its key is derived
with HKDF-SHA256 from the link-signing key named by ``kid`` and a purpose label, so a value
sealed for one purpose (an address on an invitation) never opens as another (an unsubscribe
token), and rotating the signing keys rotates these keys too: every listed key opens, the
first seals. The associated data binds a sealed address to its invitation, so copying the
field onto another item does not open it there.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from typing import TYPE_CHECKING

from functions.domain.tokens import SigningKeys
from functions.lazy import lazy

if TYPE_CHECKING:
    import cryptography.exceptions as crypto_errors
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import aead
    from cryptography.hazmat.primitives.kdf import hkdf
else:  # only a send that seals or opens an address pays for cryptography
    crypto_errors, hashes = lazy("cryptography.exceptions"), lazy("cryptography.hazmat.primitives.hashes")
    aead = lazy("cryptography.hazmat.primitives.ciphers.aead")
    hkdf = lazy("cryptography.hazmat.primitives.kdf.hkdf")

ADDRESS = b"hark/sealed-address/v1"
UNSUBSCRIBE = b"hark/unsubscribe-token/v1"
NONCE_BYTES = 12


class SealBroken(Exception):
    """The sealed value is malformed, sealed by an unknown key, or was changed."""


@lru_cache(maxsize=16)
def _key(secret: bytes, purpose: bytes) -> bytes:
    return hkdf.HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(plaintext: str, keys: SigningKeys, purpose: bytes, context: str = "") -> str:
    """`plaintext` sealed with the current key for `purpose`, bound to `context`."""
    kid, secret = keys.current
    nonce = os.urandom(NONCE_BYTES)
    sealed = aead.AESGCM(_key(secret, purpose)).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{kid}.{_b64(nonce + sealed)}"


def open_sealed(value: str, keys: SigningKeys, purpose: bytes, context: str = "") -> str:
    """The plaintext of a value `seal` made with the same purpose and context."""
    kid, sep, body = value.partition(".")
    secret = keys.secret_for(kid) if sep else None
    if secret is None:
        raise SealBroken("unknown key")
    try:
        raw = _unb64(body)
    except ValueError as exc:
        raise SealBroken("malformed") from exc
    if len(raw) <= NONCE_BYTES + 16:
        raise SealBroken("malformed")
    try:
        plain = aead.AESGCM(_key(secret, purpose)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
        )
    except crypto_errors.InvalidTag as exc:
        raise SealBroken("changed or sealed for something else") from exc
    return plain.decode()
