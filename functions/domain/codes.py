"""Random identifiers: invitation codes (the secret part of every customer link) and ids."""

from __future__ import annotations

import re
import secrets
import zlib

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


def spread(code: str, buckets: int) -> int:
    """Which of `buckets` partition keys the items of `code` go to, so that one hot survey's
    writes spread over many keys (docs/scale.md). Stable across processes and versions (CRC-32,
    not Python's salted `hash`) and uniform over random codes."""
    return zlib.crc32(code.encode()) % buckets
