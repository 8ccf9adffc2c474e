"""API keys (docs/api.md): ``hk_live_<random>``, shown once, stored only as a SHA-256 hash.

A key has ~190 bits of randomness, so a fast hash is enough: nobody can brute-force it, and
checking it costs one hash and one key lookup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from functions.domain.codes import new_code

PREFIX = "hk_live_"
SCOPES = ("scores:read", "surveys:write", "responses:read", "responses:erase", "follow_ups:write", "admin")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant_id: str
    scopes: frozenset[str]
    default_survey_id: str | None = None
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        return not self.revoked and (scope in self.scopes or "admin" in self.scopes)


def new_secret() -> str:
    return PREFIX + new_code(32)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_id_for(hash_hex: str) -> str:
    """A public id for the key, derived from its hash (not reversible to the key)."""
    return "key_" + hash_hex[:20]


def looks_like_key(secret: str) -> bool:
    return secret.startswith(PREFIX) and 16 <= len(secret) <= 128 and secret.isascii()


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - set(SCOPES)
    if not scopes or unknown:
        raise ValueError(
            f"unknown scopes {sorted(unknown)}; choose from {', '.join(SCOPES)}"
            if unknown
            else "at least one scope is required"
        )
    return scopes
