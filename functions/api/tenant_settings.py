"""GET/PATCH /v1/settings: the tenant's sending and receiving identity (docs/security.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from chalice.app import Blueprint, Response

from functions.api.http import json_response
from functions.api.operations import Caller, operation
from functions.lazy import lazy

if TYPE_CHECKING:
    from functions.api import models as m
    from functions.logic import tenant_settings
else:  # loaded by the first settings call, not by a customer's click
    tenant_settings = lazy("functions.logic.tenant_settings")

bp = Blueprint(__name__)
SETTINGS = "Settings"


@operation(
    bp,
    "GET",
    "/v1/settings",
    scope="admin",
    summary="Read the tenant's settings",
    tag=SETTINGS,
)
def get_settings(caller: Caller) -> Annotated[Response, m.SettingsOut]:
    return json_response(tenant_settings.get_tenant_settings(caller.tenant_id))


@operation(
    bp,
    "PATCH",
    "/v1/settings",
    scope="admin",
    summary="Change the tenant's settings",
    description="Absent fields stay; null clears one. `sms.number` (E.164) routes inbound SMS "
    "replies to this tenant and belongs to one tenant only: 409 `number_taken` when another "
    "holds it. Changing it releases the old number.",
    tag=SETTINGS,
)
def update_settings(caller: Caller, body: m.SettingsPatch) -> Annotated[Response, m.SettingsOut]:
    changes = body.model_dump(exclude_unset=True)
    return json_response(tenant_settings.update_tenant_settings(caller.tenant_id, changes))
