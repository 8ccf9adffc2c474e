"""Secrets from SSM Parameter Store, read once per process (a Lambda container's cold start)."""

from __future__ import annotations

from functools import cache

from botocore.exceptions import ClientError

from functions.settings import SettingsError
from functions.store.clients import client


@cache
def secure_parameter(name: str) -> str:
    """The decrypted value of SecureString `name`; a missing parameter is a settings error.

    Cached for the life of the process: after rotating a secret, new containers read the new
    value (README "Rotate the signing keys" says how to roll it out).
    """
    try:
        out = client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise SettingsError(
                f"the SSM parameter {name} does not exist (HARK_SIGNING_KEYS_PARAMETER)"
            ) from exc
        raise
    return str(out["Parameter"]["Value"])


@cache
def optional_secure_parameter(name: str) -> str | None:
    """The decrypted value of SecureString `name`, or None when it does not exist (an optional
    feature, such as Twilio replies, that this deployment has not set up). Cached likewise."""
    try:
        out = client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return str(out["Parameter"]["Value"])


def reset_parameters() -> None:
    """Forget cached values (tests point the process at a fresh emulator)."""
    secure_parameter.cache_clear()
    optional_secure_parameter.cache_clear()
