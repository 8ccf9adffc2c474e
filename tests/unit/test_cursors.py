"""Sealed cursors and public ids (docs/security.md): unreadable, unforgeable, bound to their
tenant and route, and they survive a signing-key rotation."""

from __future__ import annotations

import base64
import binascii
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.errors import InvalidInput
from functions.domain.tokens import SigningKeys
from functions.store import cursors

pytestmark = pytest.mark.unit

KEYS = SigningKeys.parse("k2:" + "b" * 40 + ",k1:" + "a" * 40)
CODE = "AbCdEfGhIj"
POSITION = {"a": f"2026-11-23T10:00:00.000Z#{CODE}"}
TENANT, OTHER_TENANT = "ten_AAAAAAAAAAAA", "ten_BBBBBBBBBBBB"
ROUTE = "GET /v1/surveys/srv_1/responses"


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cursors, "signing_keys", lambda: KEYS)


def every_decoding(text: str) -> list[bytes]:
    """What an attacker gets by base64-decoding the text, whole or by any dot-separated part,
    with any padding or alphabet."""
    out = []
    for part in [text, *text.split(".")]:
        for decode, pad in itertools.product((base64.urlsafe_b64decode, base64.b64decode), range(4)):
            try:
                out.append(decode(part + "=" * pad))
            except (binascii.Error, ValueError):
                continue
    return out


def test_a_sealed_position_round_trips_and_reveals_nothing() -> None:
    text = cursors.seal(POSITION, tenant_id=TENANT, route=ROUTE)
    assert cursors.unseal(text, tenant_id=TENANT, route=ROUTE) == POSITION
    assert CODE not in text
    for raw in every_decoding(text):
        assert CODE.encode() not in raw and b"2026" not in raw and b'"a"' not in raw


def test_the_same_position_seals_to_the_same_text() -> None:
    # A Delighted response id must be stable from one listing to the next.
    assert cursors.seal(CODE, tenant_id=TENANT, route=ROUTE) == cursors.seal(
        CODE, tenant_id=TENANT, route=ROUTE
    )


def test_another_tenant_or_route_cannot_open_it() -> None:
    text = cursors.seal(POSITION, tenant_id=TENANT, route=ROUTE)
    with pytest.raises(cursors.SealBroken):
        cursors.unseal(text, tenant_id=OTHER_TENANT, route=ROUTE)
    with pytest.raises(cursors.SealBroken):
        cursors.unseal(text, tenant_id=TENANT, route="GET /v1/surveys/srv_2/responses")


@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_any_tampered_byte_is_refused(where: int, xor: int) -> None:
    text = cursors.seal(POSITION, tenant_id=TENANT, route=ROUTE)
    kid, body = text.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[where % len(raw)] ^= xor or 1
    forged = f"{kid}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"
    with pytest.raises(cursors.SealBroken):
        cursors.unseal(forged, tenant_id=TENANT, route=ROUTE)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        base64.urlsafe_b64encode(b'{"a":"2026-11-23T10:00:00.000Z#AbCdEfGhIj"}').decode(),
        "k9." + "A" * 40,
        "k1." + "A" * 40,
        "k1.!!!!" + "A" * 30,
    ],
)
def test_a_forged_cursor_is_the_one_400(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cursors.open_cursor(text or "x", tenant_id=TENANT, route=ROUTE)
    assert caught.value.code == "invalid_cursor" and caught.value.field == "cursor"


def test_a_cursor_sealed_before_a_key_rotation_still_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cursors, "signing_keys", lambda: SigningKeys.parse("k1:" + "a" * 40))
    old = cursors.seal(POSITION, tenant_id=TENANT, route=ROUTE)
    monkeypatch.setattr(cursors, "signing_keys", lambda: KEYS)  # k2 now signs, k1 still listed
    assert old.startswith("k1.")
    assert cursors.unseal(old, tenant_id=TENANT, route=ROUTE) == POSITION
    assert cursors.seal(POSITION, tenant_id=TENANT, route=ROUTE).startswith("k2.")
