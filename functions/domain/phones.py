"""Phone numbers: E.164 normalisation and the keyed hash that stands in for a number.

Hark never stores a phone number in clear. An SMS invitation carries ``phone_key``, an
HMAC-SHA256 of the normalised number under a deployment secret (HARK_PHONE_HASH_KEY): equal
numbers give equal keys, so an inbound reply finds its invitation, but the key cannot be
reversed without the secret (a plain hash of a phone number can: there are only ~10^10 of
them per country code).
"""

from __future__ import annotations

import hashlib
import hmac
import re

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Separators people and carriers put inside numbers: spaces, dots, dashes, parentheses.
_SEPARATORS = re.compile(r"[\s.\-()\u00a0\u2010-\u2015]")
MIN_KEY_LENGTH = 32


def normalise_phone(text: str) -> str | None:
    """The E.164 form of `text` (``+`` and 7–15 digits), or None if it is not one.

    Accepts the forms a provider may send: ``+1 (555) 555-0100``, ``001555…`` (the
    international prefix 00). A number without a country code is refused rather than
    guessed.
    """
    compact = _SEPARATORS.sub("", text.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if E164.fullmatch(compact) else None


def phone_key(secret: str, phone: str) -> str:
    """The keyed hash (hex HMAC-SHA256) of a phone number; `phone` is normalised first."""
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"the phone hash key must be at least {MIN_KEY_LENGTH} characters")
    normal = normalise_phone(phone)
    if normal is None:
        raise ValueError("not a phone number in E.164 form")
    return hmac.new(secret.encode(), normal.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """A phone number as a developer tool may show it: its country-code end and its last two
    digits, the rest hidden (`+15555550123` → `+1••••••••23`), so a screen or a log of the outbox
    never shows a customer's whole number (docs/security.md)."""
    digits = phone[1:] if phone.startswith("+") else phone
    if len(digits) <= 4:
        return "•" * len(phone)
    head = ("+" if phone.startswith("+") else "") + digits[:1]
    return head + "•" * (len(digits) - 3) + digits[-2:]
