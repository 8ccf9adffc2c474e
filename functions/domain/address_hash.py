"""The keyed hash that stands in for an email address on the unsubscribe list.

An unsubscribe must outlive the person's erasure (docs/security.md, "Erasure"): Hark must still
know not to invite the address, but may no longer hold it. So the list is keyed by an
HMAC-SHA256 of the lower-cased address under a key derived for this purpose only; equal
addresses give equal keys, and the key cannot be reversed without the secret (a plain hash of
an address can, by trying likely addresses).
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"hark-unsubscribe-address-v1"


def address_key(secret: bytes, email: str) -> str:
    """The keyed hash (hex) of an email address under `secret` (at least 32 bytes)."""
    if len(secret) < 32:
        raise ValueError("the address hash secret must be at least 32 bytes")
    derived = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    return hmac.new(derived, email.strip().lower().encode(), hashlib.sha256).hexdigest()
