"""Abuse of the public endpoints: rate limits, guessing links, ballot stuffing, secrets at rest."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from functions.domain.codes import BASE62, CODE_LENGTH, new_code
from functions.settings import reset_settings
from functions.store.clients import client
from tests.conftest import Api, Emulator, path_of
from tests.helpers import invited

pytestmark = pytest.mark.integration

NPS = {"name": "Abuse", "kind": "nps", "question": "Recommend us?"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits for one test (the suite otherwise runs without them: one shared address)."""
    from functions.api import public

    monkeypatch.setenv("HARK_RATE_PER_LINK", "3")
    monkeypatch.setenv("HARK_RATE_PER_ADDRESS", "8")
    public._limits.clear()
    reset_settings()
    yield
    monkeypatch.undo()
    public._limits.clear()
    reset_settings()


def invite(api: Api, key: str, **recipient: str) -> tuple[str, dict]:
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    out = invited(api, key, survey, [{"customer_id": "abuse-1", **recipient}])
    return survey, out["invitations"][0]


def test_too_many_answers_to_one_link_get_429_and_record_nothing(
    api: Api, emulator: Emulator, tenant: dict, limits: None
) -> None:
    key = tenant["api_key"]
    survey, invitation = invite(api, key)
    url = path_of(invitation["url"])
    statuses = [api.form(url, {"score": "9"}).status_code for _ in range(3)]
    refused = api.form(url, {"score": "0"})
    assert statuses == [303, 303, 303]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Content-Type"].startswith("text/html")
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey}/scores?window=all", key)
    assert (summary["responses"], summary["nps"]) == (1, 100.0)  # one response; the 0 never landed


def test_one_client_address_is_limited_across_links(
    api: Api, emulator: Emulator, tenant: dict, limits: None
) -> None:
    _, invitation = invite(api, tenant["api_key"])
    statuses = [
        api.call("GET", path_of(url)).status_code for url in list(invitation["score_urls"].values())[:9]
    ]
    assert statuses[:8] == [200] * 8 and statuses[8] == 429


def test_guessing_a_short_code_is_hopeless(api: Api, emulator: Emulator) -> None:
    # Given 10 base62 characters, even a tenant with a billion open links leaves a guesser
    # ~840 million tries per hit; at the per-address limit (300 a minute) that is ~5 years.
    space = len(BASE62) ** CODE_LENGTH
    open_links = 10**9
    tries_per_hit = space / open_links
    minutes = tries_per_hit / 300
    assert tries_per_hit > 8e8 and minutes / (60 * 24 * 365) > 5
    # And random guesses against the real table find nothing.
    found = [api.call("GET", f"/s/{new_code()}").status_code for _ in range(200)]
    assert set(found) == {404}
    assert math.log2(space) > 59


def test_no_table_holds_an_api_key_or_a_phone_number_in_clear(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    phone = "+15555550123"
    invite(api, tenant["api_key"], channel="sms", phone=phone)
    from functions.settings import get_settings

    settings = get_settings()
    for table in (settings.core_table, settings.responses_table, settings.scores_table):
        pages = client("dynamodb").get_paginator("scan").paginate(TableName=table)
        text = json.dumps([page["Items"] for page in pages])
        assert tenant["api_key"] not in text and "hk_live_" not in text, table
        assert phone not in text and phone[1:] not in text, table
