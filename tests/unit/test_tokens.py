"""Signed email-link tokens: tampering, expiry, wrong keys, rotation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.codes import new_code
from functions.domain.tokens import SigningKeys, TokenExpired, TokenInvalid, sign, verify

pytestmark = pytest.mark.unit

KEYS = SigningKeys.parse("k1:" + "a" * 40)
NOW = 1_800_000_000


def test_a_signed_token_verifies_to_its_code() -> None:
    code = new_code()
    assert verify(sign(code, NOW + 60, KEYS), KEYS, NOW) == code


def test_no_customer_data_in_the_token() -> None:
    token = sign("AbCdEf1234", NOW + 60, KEYS)
    kid, code, _expiry, signature = token.split(".")
    assert (kid, code) == ("k1", "AbCdEf1234") and len(signature) == 22


def test_expired_token_is_refused_as_expired() -> None:
    token = sign(new_code(), NOW - 1, KEYS)
    with pytest.raises(TokenExpired):
        verify(token, KEYS, NOW)


@pytest.mark.parametrize("part", [0, 1, 2, 3])
def test_changing_any_part_is_detected(part: int) -> None:
    token = sign("AbCdEf1234", NOW + 60, KEYS)
    pieces = token.split(".")
    original = pieces[part]
    pieces[part] = ("b" if original[0] != "b" else "c") + original[1:]
    with pytest.raises(TokenInvalid):
        verify(".".join(pieces), KEYS, NOW)


def test_a_token_from_another_key_is_refused() -> None:
    other = SigningKeys.parse("k1:" + "z" * 40)
    with pytest.raises(TokenInvalid):
        verify(sign(new_code(), NOW + 60, other), KEYS, NOW)


def test_rotation_newest_signs_and_old_keys_still_verify() -> None:
    old_token = sign("AbCdEf1234", NOW + 60, KEYS)
    rotated = SigningKeys.parse("k2:" + "b" * 40 + ",k1:" + "a" * 40)
    assert verify(old_token, rotated, NOW) == "AbCdEf1234"
    new_token = sign("AbCdEf1234", NOW + 60, rotated)
    assert new_token.startswith("k2.")
    with pytest.raises(TokenInvalid):  # a key that was retired no longer verifies
        verify(new_token, KEYS, NOW)


@pytest.mark.parametrize(
    "spec", ["", "k1", "k1:short", "K!:" + "a" * 40, "k1:" + "a" * 40 + ",k1:" + "b" * 40]
)
def test_bad_key_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError):
        SigningKeys.parse(spec)


@given(st.text(max_size=120))
def test_garbage_never_verifies(text: str) -> None:
    with pytest.raises((TokenInvalid, TokenExpired)):
        verify(text, KEYS, NOW)
