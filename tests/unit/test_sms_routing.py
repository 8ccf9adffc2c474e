"""Which tenant an SMS reply reaches (functions/logic/tenant_settings.py), and how old a
provider callback may be (functions/domain/sns_message.py), without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.domain import sns_message
from functions.logic import tenant_settings
from functions.store import tenant_settings as store

pytestmark = pytest.mark.unit

SERVICE_SID = "MG" + "0" * 32


class Settings:
    def __init__(self, sms_numbers: str = "") -> None:
        self.sms_numbers = sms_numbers


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Claims and the tenant count, held in a dict instead of the core table."""
    state: dict[str, Any] = {"claims": {}, "only": None, "seed": ""}
    monkeypatch.setattr(store, "route_tenant", lambda kind, value: state["claims"].get((kind, value)))
    monkeypatch.setattr(store, "only_tenant", lambda: state["only"])
    monkeypatch.setattr(tenant_settings, "get_settings", lambda: Settings(state["seed"]))
    return state


def test_a_claimed_number_routes_to_its_tenant_whatever_else_is_set(routes: dict[str, Any]) -> None:
    routes["claims"][("number", "+15005550006")] = "ten_claimed"
    routes["seed"] = "+15005550006=ten_seeded"
    routes["only"] = "ten_only"
    assert tenant_settings.tenant_for_reply("+15005550006", None) == "ten_claimed"
    assert tenant_settings.tenant_for_reply("+1 500 555 0006", None) == "ten_claimed"


def test_then_the_messaging_service_then_the_seed_then_the_only_tenant(routes: dict[str, Any]) -> None:
    routes["claims"][("service", SERVICE_SID)] = "ten_service"
    routes["seed"] = "+15005550007=ten_seeded"
    routes["only"] = "ten_only"
    assert tenant_settings.tenant_for_reply("+15005550009", SERVICE_SID) == "ten_service"
    assert tenant_settings.tenant_for_reply("+15005550007", None) == "ten_seeded"
    assert tenant_settings.tenant_for_reply("+15005550009", None) == "ten_only"


def test_with_several_tenants_an_unregistered_number_reaches_nobody(routes: dict[str, Any]) -> None:
    routes["only"] = None  # more than one tenant (or a count from before tenants were counted)
    assert tenant_settings.tenant_for_reply("+15005550009", None) is None
    assert tenant_settings.tenant_for_reply("", None) is None
    assert tenant_settings.tenant_for_reply("not a number", "MG-unknown") is None


def message_at(moment: datetime | str) -> sns_message.SnsMessage:
    text = moment if isinstance(moment, str) else moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return sns_message.SnsMessage({"Timestamp": text})


@pytest.mark.parametrize(
    ("offset", "fresh"),
    [
        (timedelta(0), True),
        (timedelta(minutes=-4, seconds=-59), True),
        (timedelta(minutes=-5, seconds=-1), False),
        (timedelta(hours=-3), False),
        (timedelta(minutes=4), True),
        (timedelta(minutes=5, seconds=1), False),
    ],
)
def test_sns_messages_are_fresh_for_five_minutes(offset: timedelta, fresh: bool) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert sns_message.is_fresh(message_at(now + offset), now) is fresh


@pytest.mark.parametrize("text", ["", "yesterday", "2026-12-01T12:00:00", "2026-13-01T12:00:00Z"])
def test_an_sns_timestamp_that_does_not_parse_or_has_no_zone_is_not_fresh(text: str) -> None:
    assert not sns_message.is_fresh(message_at(text), datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
