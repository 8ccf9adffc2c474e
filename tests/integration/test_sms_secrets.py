"""Deployed stages read the Twilio token and the phone hash key from SSM SecureStrings, not from
their environment (docs/security.md, "Least privilege and secrets"); here against the emulator's SSM."""

from __future__ import annotations

import secrets as random
import uuid
from collections.abc import Iterator

import pytest

from functions.logic import secrets
from functions.settings import SettingsError, reset_settings
from functions.store.clients import client
from functions.store.parameters import reset_parameters
from tests.conftest import Emulator

pytestmark = pytest.mark.integration


@pytest.fixture
def deployed_like(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of a deployed stage: parameter names, no secret values."""
    names = {
        "twilio": f"/hark/test-{uuid.uuid4().hex[:8]}/twilio-auth-token",
        "phone": f"/hark/test-{uuid.uuid4().hex[:8]}/phone-hash-key",
    }
    monkeypatch.delenv("HARK_TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("HARK_PHONE_HASH_KEY", raising=False)
    monkeypatch.setenv("HARK_TWILIO_AUTH_TOKEN_PARAMETER", names["twilio"])
    monkeypatch.setenv("HARK_PHONE_HASH_KEY_PARAMETER", names["phone"])
    reset_settings()
    reset_parameters()
    yield names
    monkeypatch.undo()
    reset_settings()
    reset_parameters()


def put(name: str, value: str) -> None:
    client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def test_the_sms_secrets_are_read_from_ssm(deployed_like: dict[str, str]) -> None:
    token, key = random.token_hex(16), random.token_urlsafe(32)
    put(deployed_like["twilio"], token)
    put(deployed_like["phone"], key)
    assert secrets.twilio_auth_token() == token
    assert secrets.phone_hash_key() == key


def test_missing_parameters_leave_sms_unconfigured(deployed_like: dict[str, str]) -> None:
    from functions.domain.errors import NotConfigured
    from functions.logic.sms import phone_key_for, recipient_problem

    assert secrets.twilio_auth_token() is None
    assert secrets.phone_hash_key() is None
    assert recipient_problem("sms") is not None
    with pytest.raises(NotConfigured):
        phone_key_for("+15005550006")


def test_a_short_phone_hash_key_in_ssm_is_a_settings_error(deployed_like: dict[str, str]) -> None:
    put(deployed_like["phone"], "too-short")
    with pytest.raises(SettingsError, match="at least 32"):
        secrets.phone_hash_key()
