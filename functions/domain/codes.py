"""Random identifiers: invitation codes (the secret part of every customer link) and ids."""

from __future__ import annotations

import re
import secrets

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 10 base62 characters: ~59.5 bits, short enough for an SMS link, far too many to guess.
CODE_LENGTH = 10
CODE_PATTERN = re.compile(r"^[0-9A-Za-z]{8,10}$")
ID_PATTERN = re.compile(r"^[a-z]{2,4}_[0-9A-Za-z]{8,32}$")
# What a business may use as its own customer id.
CUSTOMER_ID_PATTERN = re.compile(r"^[\w.@+\-:]{1,128}$")


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str, length: int = 16) -> str:
    """A random public id such as ``srv_4fJ9...``."""
    return f"{prefix}_{new_code(length)}"
