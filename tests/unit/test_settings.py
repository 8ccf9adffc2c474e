"""Settings: every required value named when missing, typed values checked."""

from __future__ import annotations

import pytest

from functions.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit

REQUIRED = {
    "HARK_STAGE": "dev",
    "HARK_CORE_TABLE": "core",
    "HARK_RESPONSES_TABLE": "responses",
    "HARK_SCORES_TABLE": "scores",
    "HARK_PUBLIC_BASE_URL": "https://hark.example/",
    "HARK_SIGNING_KEYS": "k1:" + "a" * 40,
}


def test_required_settings_load_with_defaults() -> None:
    settings = load_settings(REQUIRED)
    assert settings.public_base_url == "https://hark.example"
    assert settings.invitation_ttl_days == 30 and settings.sms_keyword_replies is False
    assert settings.twilio_auth_token is None


def test_every_missing_setting_is_named() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"HARK_STAGE": "dev"})
    for name in ("HARK_CORE_TABLE", "HARK_SIGNING_KEYS", "HARK_PUBLIC_BASE_URL"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HARK_INVITATION_TTL_DAYS", "0"),
        ("HARK_INVITATION_TTL_DAYS", "x"),
        ("HARK_PHONE_HASH_KEY", "short"),
        ("HARK_SMS_KEYWORD_REPLIES", "maybe"),
        ("HARK_RAW_RETENTION_DAYS", "-1"),
    ],
)
def test_invalid_values_are_refused_with_their_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**REQUIRED, name: value})


def test_typed_values_are_converted_and_blank_optionals_are_unset() -> None:
    settings = load_settings(
        {
            **REQUIRED,
            "HARK_INVITATION_TTL_DAYS": "7",
            "HARK_SNS_SEND_REPLIES": "true",
            "HARK_TWILIO_AUTH_TOKEN": "  ",
        }
    )
    assert settings.invitation_ttl_days == 7 and settings.sns_send_replies is True
    assert settings.twilio_auth_token is None


BASE = {
    "HARK_STAGE": "prod",
    "HARK_CORE_TABLE": "c",
    "HARK_RESPONSES_TABLE": "r",
    "HARK_SCORES_TABLE": "s",
    "HARK_PUBLIC_BASE_URL": "https://surveys.example.com/",
}


def test_signing_keys_may_come_from_the_environment_or_an_ssm_parameter() -> None:
    assert load_settings({**BASE, "HARK_SIGNING_KEYS": "k1:abc"}).signing_keys == "k1:abc"
    from_ssm = load_settings({**BASE, "HARK_SIGNING_KEYS_PARAMETER": "/hark/prod/signing-keys"})
    assert from_ssm.signing_keys is None
    assert from_ssm.signing_keys_parameter == "/hark/prod/signing-keys"
    assert from_ssm.public_base_url == "https://surveys.example.com"


def test_without_any_signing_keys_the_error_names_both_settings() -> None:
    with pytest.raises(SettingsError, match="HARK_SIGNING_KEYS or HARK_SIGNING_KEYS_PARAMETER"):
        load_settings(BASE)


@pytest.mark.parametrize("url", ["", "surveys.example.com", "ftp://x"])
def test_links_need_an_absolute_public_base_url(url: str) -> None:
    with pytest.raises(SettingsError, match="HARK_PUBLIC_BASE_URL"):
        load_settings({**BASE, "HARK_PUBLIC_BASE_URL": url, "HARK_SIGNING_KEYS": "k1:abc"})


def test_loopback_webhooks_only_on_the_dev_stage_and_never_inside_lambda() -> None:
    assert load_settings(REQUIRED).allows_loopback_webhooks
    assert not load_settings({**REQUIRED, "HARK_STAGE": "prod"}).allows_loopback_webhooks
    # The Lambda runtime API listens on 127.0.0.1:9001 inside every function.
    inside_lambda = {**REQUIRED, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
    assert not load_settings(inside_lambda).allows_loopback_webhooks
