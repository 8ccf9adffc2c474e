"""Webhook rules: signatures a Standard Webhooks receiver accepts, which URLs may receive
deliveries, which changes are events, and the retry budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from functions.domain import webhooks as rules
from functions.domain.errors import InvalidInput

pytestmark = pytest.mark.unit


def test_a_signed_payload_verifies_with_the_standardwebhooks_library() -> None:
    secret = rules.new_secret()
    assert secret.startswith("whsec_")
    body = json.dumps({"type": "response.created", "data": {"score": 9}})
    now = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": rules.sign(secret, "msg_1", now, body),
    }
    assert Webhook(secret).verify(body, headers) == {"type": "response.created", "data": {"score": 9}}
    tampered = body.replace("9", "1")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rules.new_secret()).verify(body, headers)


def test_event_ids_are_stable_per_revision_and_event() -> None:
    assert rules.event_id("AbCdEfGhIj", 1, "response.created") == rules.event_id(
        "AbCdEfGhIj", 1, "response.created"
    )
    assert rules.event_id("AbCdEfGhIj", 1, "response.created") != rules.event_id(
        "AbCdEfGhIj", 2, "response.created"
    )
    assert "AbCdEfGhIj" not in rules.event_id("AbCdEfGhIj", 1, "response.created")


def item(score: int | None, rev: int, kind: str = "nps", comment: str | None = None) -> dict:
    return {"pk": "AbCdEfGhIj", "score": score, "rev": rev, "page": {"kind": kind}, "comment": comment}


@pytest.mark.parametrize(
    ("name", "old", "new", "events"),
    [
        ("INSERT", None, item(None, 0), []),  # an invitation
        ("MODIFY", item(None, 0), item(9, 1), ["response.created"]),
        ("MODIFY", item(None, 0), item(3, 1), ["response.created", "response.detractor"]),
        ("MODIFY", item(9, 1), item(10, 2), ["response.updated"]),
        ("MODIFY", item(9, 1), item(6, 2), ["response.updated", "response.detractor"]),
        ("MODIFY", item(5, 1), item(2, 2), ["response.updated"]),  # was a detractor already
        ("MODIFY", item(9, 1), item(9, 2, comment="late comment"), ["response.updated"]),
        ("MODIFY", item(9, 1), item(9, 1), []),  # a write that changed nothing
        ("REMOVE", item(3, 1), None, []),  # erasure or expiry
        ("MODIFY", item(None, 0, "csat"), item(2, 1, "csat"), ["response.created", "response.detractor"]),
        ("MODIFY", item(None, 0, "csat"), item(3, 1, "csat"), ["response.created"]),
        ("MODIFY", item(None, 0, "ces"), item(3, 1, "ces"), ["response.created", "response.detractor"]),
        ("MODIFY", item(None, 0, "csi"), item(5, 1, "csi"), ["response.created"]),
    ],
)
def test_events_for_change(name: str, old: dict | None, new: dict | None, events: list[str]) -> None:
    assert rules.events_for_change(name, old, new) == events


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # the metadata service over IPv6
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "not an address",
    ],
)
def test_private_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not rules.is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "::ffff:8.8.8.8"])
def test_public_addresses_are_public(address: str) -> None:
    assert rules.is_public_address(address)


# What DNS answers in these tests: IP literals resolve to themselves, as getaddrinfo does.
DNS = resolver(
    {
        "hooks.example.com": ["93.184.215.14"],
        "rebind.example.com": ["93.184.215.14", "10.0.0.7"],
        "10.0.0.1": ["10.0.0.1"],
        "169.254.169.254": ["169.254.169.254"],
        "::1": ["::1"],
        "127.0.0.1": ["127.0.0.1"],
    }
)


@pytest.mark.parametrize(
    ("url", "loopback", "message"),
    [
        ("http://hooks.example.com/x", False, "must use https"),
        ("ftp://hooks.example.com/x", False, "absolute https URL"),
        ("https://user:pw@hooks.example.com/x", False, "user name or password"),
        ("https://10.0.0.1/x", False, "private or reserved"),
        ("https://169.254.169.254/latest/meta-data", False, "private or reserved"),
        ("https://[::1]/x", False, "private or reserved"),
        ("https://rebind.example.com/x", False, "private or reserved"),
        ("https://nowhere.example.com/x", False, "does not resolve"),
        ("http://127.0.0.1:9000/x", False, "must use https"),
        ("http://10.0.0.1/x", True, "must use https"),
        ("https://hooks.example.com:99999/x", False, "not a valid URL"),
    ],
)
def test_urls_that_may_not_receive_webhooks(url: str, loopback: bool, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.check_url(url, allow_loopback=loopback, resolve=DNS)
    assert message in caught.value.message and caught.value.field == "url"


def test_public_https_and_dev_loopback_are_accepted() -> None:
    target = rules.check_url("https://hooks.example.com/in?x=1", allow_loopback=False, resolve=DNS)
    assert (target.scheme, target.host, target.port, target.path, target.addresses) == (
        "https",
        "hooks.example.com",
        443,
        "/in?x=1",
        ("93.184.215.14",),
    )
    local = rules.check_url("http://127.0.0.1:8123/hook", allow_loopback=True, resolve=DNS)
    assert (local.scheme, local.port, local.addresses) == ("http", 8123, ("127.0.0.1",))


def test_the_retry_budget_is_bounded() -> None:
    delays = rules.parse_delays("5,30,120")
    assert [rules.retry_delay(attempt, delays) for attempt in (1, 2, 3, 4)] == [5, 30, 120, None]
    assert rules.retry_delay(1, ()) is None
    with pytest.raises(ValueError):
        rules.parse_delays("5,-1")
