"""Twilio's request signature (``X-Twilio-Signature``), computed exactly as Twilio specifies.

Take the full URL Twilio requested (as configured in Twilio's console: scheme, host, any
stage prefix, path and query string), then append every POST parameter, sorted by name,
as name + value with no delimiters; HMAC-SHA1 that with the account's auth token and
base64 the digest. A parameter sent more than once contributes each distinct value, in
sorted order, as Twilio's own validator does. The comparison is constant-time.

Twilio can also sign with a shared key and HMAC-SHA256, saying so in the
``X-Twilio-Webhooks-Signature-Settings`` header (``key=…,algorithm=HMAC_SHA256``); the same
string is then signed with SHA-256. Any other algorithm fails verification.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

HMAC_SHA1 = "HMAC_SHA1"
HMAC_SHA256 = "HMAC_SHA256"
_DIGESTS = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}


def algorithm_from_settings(header: str | None) -> str:
    """The algorithm named by the signature-settings header; none named means HMAC_SHA1."""
    for part in (header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return HMAC_SHA1


def signing_string(url: str, params: Iterable[tuple[str, str]]) -> str:
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    return url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))


def compute_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = HMAC_SHA1
) -> str:
    digest = _DIGESTS[algorithm]
    mac = hmac.new(auth_token.encode(), signing_string(url, params).encode(), digest)
    return base64.b64encode(mac.digest()).decode()


def is_valid(
    auth_token: str,
    url: str,
    params: Iterable[tuple[str, str]],
    signature: str | None,
    algorithm: str = HMAC_SHA1,
) -> bool:
    """Whether `signature` is Twilio's signature of this request (False when absent)."""
    if not signature or not auth_token or algorithm not in _DIGESTS:
        return False
    expected = compute_signature(auth_token, url, params, algorithm)
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace"))
