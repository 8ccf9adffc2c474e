"""Secrets from SSM Parameter Store, read once per process (a Lambda container's cold start)."""

from __future__ import annotations

from functools import cache, lru_cache

from functions.domain.tokens import SigningKeys
from functions.settings import SettingsError, get_settings
from functions.store.clients import Refused, call


@cache
def secure_parameter(name: str) -> str:
    """The decrypted value of SecureString `name`; a missing parameter is a settings error.

    Cached for the life of the process: after rotating a secret, new containers read the new
    value (docs/deploy.md, "Signing keys", says how to roll it out).
    """
    try:
        out = call("ssm", "get_parameter", Name=name, WithDecryption=True)
    except Refused as exc:
        if exc.reason == "ParameterNotFound":
            raise SettingsError(
                f"the SSM parameter {name} does not exist (HARK_SIGNING_KEYS_PARAMETER)"
            ) from exc
        raise
    return str(out["Parameter"]["Value"])


@lru_cache(maxsize=4)
def _keys(spec: str) -> SigningKeys:
    return SigningKeys.parse(spec)


def signing_keys() -> SigningKeys:
    """The signing keys: from the environment (local stacks) or SSM (deployed stages).

    Links sign with them directly; sessions, cursors and public ids use keys derived from them
    for one purpose each, so a value made for one can never pass as another.
    """
    settings = get_settings()
    spec = settings.signing_keys or secure_parameter(str(settings.signing_keys_parameter))
    return _keys(spec)


def address_hash_secrets() -> tuple[bytes, ...]:
    """The secrets an unsubscribed address may be hashed under, the one to write first.

    HARK_PHONE_HASH_KEY when set (it is never rotated: it keys every stored contact hash), then
    every listed signing key, so a deployment without SMS still hashes, and an address hashed
    before a key rotation is still found while the old key stays listed.
    """
    settings = get_settings()
    phone_key = settings.phone_hash_key
    if not phone_key and settings.phone_hash_key_parameter:
        phone_key = optional_secure_parameter(settings.phone_hash_key_parameter)
    found = [phone_key.encode()] if phone_key else []
    found += [secret for _, secret in signing_keys().keys]
    return tuple(found)


@cache
def optional_secure_parameter(name: str) -> str | None:
    """The decrypted value of SecureString `name`, or None when it does not exist (an optional
    feature, such as Twilio replies, that this deployment has not set up). Cached likewise."""
    try:
        out = call("ssm", "get_parameter", Name=name, WithDecryption=True)
    except Refused as exc:
        if exc.reason == "ParameterNotFound":
            return None
        raise
    return str(out["Parameter"]["Value"])


def reset_parameters() -> None:
    """Forget cached values (tests point the process at a fresh emulator)."""
    secure_parameter.cache_clear()
    optional_secure_parameter.cache_clear()
