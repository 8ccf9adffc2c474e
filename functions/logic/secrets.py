"""The SMS secrets, from the environment (local stacks) or SSM Parameter Store (deployed stages).

A deployed stage names SecureStrings in HARK_TWILIO_AUTH_TOKEN_PARAMETER and
HARK_PHONE_HASH_KEY_PARAMETER, so the values never sit in a Lambda's environment, where
anyone allowed lambda:GetFunctionConfiguration reads them (docs/security.md). Each value
is read once per process; a parameter that does not exist leaves the feature unconfigured.
"""

from __future__ import annotations

from functions.domain.phones import MIN_KEY_LENGTH
from functions.settings import SettingsError, get_settings
from functions.store.parameters import optional_secure_parameter


def twilio_auth_token() -> str | None:
    settings = get_settings()
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    if settings.twilio_auth_token_parameter:
        return optional_secure_parameter(settings.twilio_auth_token_parameter) or None
    return None


def phone_hash_key() -> str | None:
    settings = get_settings()
    if settings.phone_hash_key:
        return settings.phone_hash_key
    if not settings.phone_hash_key_parameter:
        return None
    value = optional_secure_parameter(settings.phone_hash_key_parameter)
    if value is not None and len(value) < MIN_KEY_LENGTH:
        raise SettingsError(
            f"the SSM parameter {settings.phone_hash_key_parameter} (HARK_PHONE_HASH_KEY_PARAMETER) "
            f"must hold at least {MIN_KEY_LENGTH} characters"
        )
    return value or None
