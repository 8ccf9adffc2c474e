"""The bounce and complaint suppression lists keep keyed hashes (docs/security.md, "Erasure"):
the row is keyed by the address's keyed hash, the address beside it only while Delighted's
`Bounce.all()` / `Unsubscribe.all()` may list it, and erasure leaves only the hash, which still
suppresses the address. Rows of the first, clear-keyed layout are still honoured and migrated."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.logic.ses_events import apply_event
from functions.settings import get_settings
from functions.store import people
from functions.store.clients import client
from functions.store.items import from_item
from infra.local.ses_simulator import simulated_event
from tests.conftest import Api, Emulator
from tests.helpers import put_legacy_suppression
from tests.integration.test_sending import NPS, Clock, code_of, invite, run_sender, stored

pytestmark = pytest.mark.integration


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def core_items(tenant_id: str, prefix: str) -> list[dict[str, Any]]:
    """Every core-table item of `prefix` (BOUNCE, UNSUB) for the tenant, as stored."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": get_settings().core_table,
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": f"{prefix}#{tenant_id}#"}},
        "ConsistentRead": True,
    }
    while True:
        out = client("dynamodb").scan(**kwargs)
        found += [i for i in (from_item(raw) for raw in out.get("Items", [])) if i]
        if "LastEvaluatedKey" not in out:
            return found
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def sent(api: Api, tenant: dict, survey_id: str, customer_id: str, address: str) -> dict[str, Any]:
    [inv] = invite(
        api,
        tenant["api_key"],
        survey_id,
        {"send": True, "recipients": [{"customer_id": customer_id, "email": address}]},
    )["invitations"]
    run_sender([{"MessageId": f"m-{customer_id}", "Body": json.dumps({"code": code_of(inv)})}])
    return dict(stored(inv["invitation_id"], code_of(inv)), url=inv["url"])


def ses_event(kind: str, item: dict[str, Any], tenant_id: str, address: str) -> dict[str, Any]:
    """The event SES publishes when `address` bounces (`bounce`) or complains (`complaint`)."""
    tags = {"hark_invitation": item["pk"], "hark_tenant": tenant_id}
    event = simulated_event(
        f"{kind}@simulator.amazonses.com", item["send_provider_id"], "x@hark.localhost", tags
    )
    assert event is not None
    body = event.get("bounce") or event["complaint"]
    for recipient in body.get("bouncedRecipients") or body.get("complainedRecipients"):
        recipient["emailAddress"] = address.upper()  # SES keeps the recipient's spelling
    return event


def delighted_get(api: Api, key: str, path: str) -> list[dict[str, Any]]:
    basic = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    out = api.call("GET", path, headers={"Authorization": basic})
    assert out.status_code == 200, out.body
    return list(json.loads(out.body))


def test_a_bounce_and_a_complaint_are_kept_as_keyed_hashes_that_outlive_the_customer(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key, tenant_id = tenant["api_key"], tenant["tenant_id"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    bouncing, complaining = "ada.bounce@example.com", "bob.complaint@example.com"
    first = sent(api, tenant, survey["id"], "c-77", bouncing)
    second = sent(api, tenant, survey["id"], "c-78", complaining)
    assert apply_event(ses_event("bounce", first, tenant_id, bouncing)) == "bounced"
    assert apply_event(ses_event("complaint", second, tenant_id, complaining)) == "complained"

    # Keyed by the hash, never the address; the address and the customer id stand beside it
    [bounce] = core_items(tenant_id, "BOUNCE")
    [unsubscribe] = core_items(tenant_id, "UNSUB")
    for row, address, customer in ((bounce, bouncing, "c-77"), (unsubscribe, complaining, "c-78")):
        assert "#h:" in row["pk"] and address not in row["pk"] and address not in row["gsi1sk"]
        assert (row["email"], row["person_id"]) == (address, customer)
    # Delighted's lists show them as its API did
    listed = delighted_get(api, key, "/v1/bounces.json")
    assert [(b["email"], b["person_id"]) for b in listed] == [(bouncing, "c-77")]
    assert [u["email"] for u in delighted_get(api, key, "/v1/unsubscribes.json")] == [complaining]

    # When the customers are erased by their own ids (which are not their addresses)
    for customer in ("c-77", "c-78"):
        api.json("DELETE", f"/v1/customers/{customer}", key, expect=202)

    # Then only the keyed hashes are left, off Delighted's lists, and still suppressing
    for row in (*core_items(tenant_id, "BOUNCE"), *core_items(tenant_id, "UNSUB")):
        text = json.dumps(row)
        assert bouncing not in text and complaining not in text and "c-77" not in text and "c-78" not in text
    assert delighted_get(api, key, "/v1/bounces.json") == []
    assert delighted_get(api, key, "/v1/unsubscribes.json") == []
    again = [sent(api, tenant, survey["id"], c, a) for c, a in (("c-79", bouncing), ("c-80", complaining))]
    assert [i["send_status"] for i in again] == ["suppressed", "suppressed"]
    assert "bounced" in again[0]["send_error"] and "unsubscribed" in again[1]["send_error"]


def test_a_bounce_kept_under_the_address_is_still_honoured_and_erasure_moves_it_under_its_hash(
    api: Api, emulator: Emulator, tenant: dict, now: Clock
) -> None:
    key, tenant_id = tenant["api_key"], tenant["tenant_id"]
    address = "legacy.bounce@example.com"
    # A row of the first layout: keyed by the address in clear, the address as its person id
    put_legacy_suppression(
        tenant_id, "BOUNCE", address, "2026-11-01T00:00:00.000Z", people.bounces_index(tenant_id)
    )
    assert people.is_bounced(tenant_id, address)
    assert [b["email"] for b in delighted_get(api, key, "/v1/bounces.json")] == [address]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    held = sent(api, tenant, survey["id"], "legacy-1", address)
    assert held["send_status"] == "suppressed" and "bounced" in held["send_error"]

    # Erasing the person (a Delighted person's id is the address) moves the row under the hash
    api.json("DELETE", f"/v1/customers/{address}", key, expect=202)
    [row] = core_items(tenant_id, "BOUNCE")
    assert "#h:" in row["pk"] and address not in json.dumps(row)
    assert row["bounced_at"] == "2026-11-01T00:00:00.000Z"
    assert people.is_bounced(tenant_id, address)
    assert delighted_get(api, key, "/v1/bounces.json") == []
