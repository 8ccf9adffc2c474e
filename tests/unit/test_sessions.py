"""Dashboard session cookies: signed, expiring, tamper-evident, rotating with the signing keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain import tokens
from functions.domain.sessions import Session, SessionExpired, SessionInvalid, sign_session, verify_session

pytestmark = pytest.mark.unit

KEYS = tokens.SigningKeys.parse("k2:" + "b" * 40 + ",k1:" + "a" * 40)
TENANT = "ten_AbCdEfGh12345678"
KEY_ID = "key_0123456789abcdef0123"
NOW = 1_800_000_000


def test_a_session_verifies_until_it_expires() -> None:
    value = sign_session(TENANT, KEY_ID, NOW + 3600, KEYS)
    assert value.startswith("k2.")
    assert verify_session(value, KEYS, NOW) == Session(TENANT, KEY_ID, NOW + 3600)
    assert verify_session(value, KEYS, NOW + 3599).key_id == KEY_ID
    with pytest.raises(SessionExpired):
        verify_session(value, KEYS, NOW + 3600)


def test_older_keys_still_verify_and_removed_keys_do_not() -> None:
    old = tokens.SigningKeys.parse("k1:" + "a" * 40)
    value = sign_session(TENANT, KEY_ID, NOW + 60, old)
    assert verify_session(value, KEYS, NOW).tenant_id == TENANT
    with pytest.raises(SessionInvalid):
        verify_session(value, tokens.SigningKeys.parse("k2:" + "b" * 40), NOW)


def test_a_session_is_not_an_invitation_token_under_the_same_key() -> None:
    # Same key, different purpose: the MAC is taken under a key derived for sessions only
    value = sign_session(TENANT, KEY_ID, NOW + 60, KEYS)
    _, _, _, expiry, mac = value.split(".")
    forged = tokens.sign("AAAAAAAAAA", int(expiry, 36), KEYS)
    assert forged.split(".")[3] != mac


@pytest.mark.parametrize(
    "change",
    [
        lambda v: v.replace(TENANT, "ten_ZZZZZZZZZZZZZZZZ"),
        lambda v: v.replace(KEY_ID, "key_ffffffffffffffffffff"),
        lambda v: ".".join([*v.split(".")[:3], "zzzzzz", v.split(".")[4]]),
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
        lambda v: "k9" + v[2:],
        lambda v: v + ".x",
        lambda v: "",
        lambda v: v.replace(".", "", 1),
    ],
)
def test_any_change_is_refused(change: object) -> None:
    value = sign_session(TENANT, KEY_ID, NOW + 3600, KEYS)
    with pytest.raises(SessionInvalid):
        verify_session(change(value), KEYS, NOW)  # type: ignore[operator]


@given(st.text(max_size=120))
def test_garbage_is_refused_without_crashing(value: str) -> None:
    with pytest.raises(SessionInvalid):
        verify_session(value, KEYS, NOW)


def test_only_real_ids_are_signed() -> None:
    with pytest.raises(ValueError):
        sign_session("ten_x.y", KEY_ID, NOW, KEYS)
