"""Settings name what is missing; deployed stages may keep the signing keys in SSM."""

from __future__ import annotations

import pytest

from functions.settings import SettingsError, _load

pytestmark = pytest.mark.unit

BASE = {
    "HARK_STAGE": "prod",
    "HARK_CORE_TABLE": "c",
    "HARK_RESPONSES_TABLE": "r",
    "HARK_SCORES_TABLE": "s",
    "HARK_PUBLIC_BASE_URL": "https://surveys.example.com/",
}


def test_signing_keys_may_come_from_the_environment_or_an_ssm_parameter() -> None:
    assert _load({**BASE, "HARK_SIGNING_KEYS": "k1:abc"}).signing_keys == "k1:abc"
    from_ssm = _load({**BASE, "HARK_SIGNING_KEYS_PARAMETER": "/hark/prod/signing-keys"})
    assert from_ssm.signing_keys is None
    assert from_ssm.signing_keys_parameter == "/hark/prod/signing-keys"
    assert from_ssm.public_base_url == "https://surveys.example.com"


def test_without_any_signing_keys_the_error_names_both_settings() -> None:
    with pytest.raises(SettingsError, match="HARK_SIGNING_KEYS or HARK_SIGNING_KEYS_PARAMETER"):
        _load(BASE)


@pytest.mark.parametrize("url", ["", "surveys.example.com", "ftp://x"])
def test_links_need_an_absolute_public_base_url(url: str) -> None:
    with pytest.raises(SettingsError, match="HARK_PUBLIC_BASE_URL"):
        _load({**BASE, "HARK_PUBLIC_BASE_URL": url, "HARK_SIGNING_KEYS": "k1:abc"})
