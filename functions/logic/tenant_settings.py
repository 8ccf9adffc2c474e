"""A tenant's settings (GET/PATCH /v1/settings): its sending identity and the SMS number (or
Twilio Messaging Service) that routes its customers' replies to it (docs/security.md).

`email_from` and `reply_to` are the sender of every email Hark sends for the tenant (resolved
by `functions.logic.sending.sender_identity`; docs/sending.md, "The sender address").

A number belongs to one tenant: the claim is a conditional write next to the settings, and
HARK_SMS_NUMBERS, the deploy-time seed, counts as a claim too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from functions.domain import phones, sender
from functions.domain.errors import Conflict, Unprocessable
from functions.logic import clock
from functions.settings import get_settings
from functions.store import tenant_settings as store

FIELDS = ("email_from", "reply_to", "default_locale")
SMS_FIELDS = ("provider", "number", "messaging_service_sid")


@lru_cache(maxsize=4)
def _seed(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        number, sep, tenant = part.strip().partition("=")
        normal = phones.normalise_phone(number)
        if sep and normal and tenant.strip():
            out[normal] = tenant.strip()
    return out


def seeded_tenant(number: str) -> str | None:
    """The tenant HARK_SMS_NUMBERS gives this number (E.164), if any."""
    return _seed(get_settings().sms_numbers).get(number)


def settings_view(values: dict[str, Any]) -> dict[str, Any]:
    sms = values.get("sms") or {}
    return {
        **{name: values.get(name) for name in FIELDS},
        "sms": {name: sms.get(name) for name in SMS_FIELDS},
    }


def get_tenant_settings(tenant_id: str) -> dict[str, Any]:
    return settings_view(store.get_tenant_settings(tenant_id).values)


def _routes(values: dict[str, Any]) -> set[tuple[str, str]]:
    sms = values.get("sms") or {}
    routes = set()
    if sms.get("number"):
        routes.add((store.NUMBER, str(sms["number"])))
    if sms.get("messaging_service_sid"):
        routes.add((store.SERVICE, str(sms["messaging_service_sid"])))
    return routes


def check_sender_address(field: str, address: str, *, on_identity: bool) -> None:
    """422 naming `field` unless `address` is a plain email address and, for a sender
    (`on_identity`), one the deployment's SES identity may send from (HARK_SES_IDENTITY, when
    set; functions/domain/sender.py). A survey's `email_from` passes the same check."""
    problem = sender.address_problem(address)
    if problem is None and on_identity:
        problem = sender.identity_problem(address, get_settings().ses_identity)
    if problem is not None:
        raise Unprocessable(f"{field}: {problem}", field=field, code="invalid_sender")


def update_tenant_settings(tenant_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` (the fields the caller sent; null clears one) and claim the SMS routes.

    Conflict (409) when another tenant holds the number or Messaging Service, by claim or by
    HARK_SMS_NUMBERS; the old number's claim is released in the same transaction.
    """
    for name in ("email_from", "reply_to"):
        if changes.get(name) is not None:
            check_sender_address(name, str(changes[name]), on_identity=name == "email_from")
    stored = store.get_tenant_settings(tenant_id)
    values: dict[str, Any] = {k: v for k, v in stored.values.items() if k in (*FIELDS, "sms")}
    for name in FIELDS:
        if name in changes:
            values[name] = changes[name]
    if "sms" in changes:
        merged = {} if changes["sms"] is None else {**(values.get("sms") or {}), **changes["sms"]}
        values["sms"] = {k: v for k, v in merged.items() if v is not None} or None
    values = {k: v for k, v in values.items() if v is not None}
    sms = values.get("sms") or {}
    if sms.get("messaging_service_sid") and sms.get("provider", "twilio") != "twilio":
        raise Unprocessable(
            "a Messaging Service is Twilio's: set sms.provider to twilio or leave the SID out",
            field="sms.messaging_service_sid",
        )
    old, new = _routes(stored.values), _routes(values)
    for kind, value in new - old:
        seeded = seeded_tenant(value) if kind == store.NUMBER else None
        if seeded is not None and seeded != tenant_id:
            raise Conflict(
                "this number is assigned to another tenant by the deployment (HARK_SMS_NUMBERS)",
                field="sms.number",
                code="number_taken",
            )
    store.save_tenant_settings(
        tenant_id,
        values,
        stored.version,
        clock.iso(clock.now()),
        claim=sorted(new),
        release=sorted(old - new),
    )
    return settings_view(values)


def tenant_for_reply(to: str, messaging_service_sid: str | None) -> str | None:
    """The tenant whose customers' replies arrive at our number `to` (or Messaging Service).

    Its claim (PATCH /v1/settings), else HARK_SMS_NUMBERS, else the deployment's only tenant;
    None when the number is nobody's and there are several tenants (or an unknown count).
    """
    number = phones.normalise_phone(to) if to else None
    if number:
        claimed = store.route_tenant(store.NUMBER, number)
        if claimed:
            return claimed
    if messaging_service_sid:
        claimed = store.route_tenant(store.SERVICE, messaging_service_sid)
        if claimed:
            return claimed
    if number:
        seeded = seeded_tenant(number)
        if seeded:
            return seeded
    return store.only_tenant()
