"""THE isolation test: every /v1 route, walked with another tenant's ids and with keys that lack
its scope. Routes come from the app itself, so a route added later cannot be forgotten."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from functions.api.app import app
from functions.api.models import (
    FollowUpPatch,
    InvitationsRequest,
    NoteCreate,
    PersonCreate,
    ReplyCreate,
    SettingsPatch,
    SurveyCreate,
    SurveyPatch,
    SurveyResponseCreate,
    SurveyResponseUpdate,
    UnsubscribeCreate,
    WebhookCreate,
)
from functions.api.operations import OPERATIONS, Operation, model
from functions.domain.apikeys import SCOPES
from functions.logic.tenants import create_key, create_tenant
from tests.conftest import Api, Emulator, path_of
from tests.helpers import invited

pytestmark = pytest.mark.integration

NPS = {"name": "Owner's survey", "kind": "nps", "question": "Recommend us?"}
# A valid body per request model, so a route is refused for who calls it, not for its body.
BODIES: dict[str, Any] = {
    SurveyCreate.__name__: {"name": "Intruder", "kind": "nps", "question": "Hm?"},
    SurveyPatch.__name__: {"name": "Hijacked", "status": "archived"},
    InvitationsRequest.__name__: {"recipients": [{"customer_id": "intruder"}]},
    WebhookCreate.__name__: {"url": "http://127.0.0.1:9/hook", "events": ["response.created"]},
    PersonCreate.__name__: {"email": "a@example.com"},
    SurveyResponseCreate.__name__: {"person": "cust-a", "score": 0},
    SurveyResponseUpdate.__name__: {"score": 0, "comment": "hijacked"},
    UnsubscribeCreate.__name__: {"person_email": "a@example.com"},
    SettingsPatch.__name__: {"default_locale": "fr", "sms": {"provider": "sns"}},
    FollowUpPatch.__name__: {"tags": ["hijacked"]},
    NoteCreate.__name__: {"text": "intruder"},
    ReplyCreate.__name__: {"text": "intruder", "email": "a@example.com"},
}
# Erasing a person or customer id names the caller's own namespace: another tenant's call
# erases nobody of the owner's (202, erased 0).
ERASURES = {"/v1/customers/{customer_id}", "/v1/people/{person_id}"}
PARAM = re.compile(r"{([a-z_]+)}")


def v1_routes() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, methods in app.routes.items()
        if path.startswith("/v1/")
        for method in methods
    }


def declared(method: str, path: str) -> Operation:
    return next(op for op in OPERATIONS if (op.method, op.path) == (method, path))


@pytest.fixture
def owner(api: Api, emulator: Emulator) -> dict[str, Any]:
    """Tenant A with a survey, an answered invitation and a webhook."""
    tenant = create_tenant("Owner")
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    out = invited(api, key, survey["id"], [{"customer_id": "cust-a", "email": "a@example.com"}])
    invitation = out["invitations"][0]
    assert api.form(path_of(invitation["url"]), {"score": "9"}).status_code == 303
    webhook = api.json(
        "POST",
        "/v1/webhooks",
        key,
        {"url": "http://127.0.0.1:9/owner", "events": ["response.created"]},
        expect=201,
    )
    number = "+1500" + str(uuid.uuid4().int)[:7]
    api.json("PATCH", "/v1/settings", key, {"sms": {"provider": "twilio", "number": number}})
    emulator.drain()
    # Delighted's survey responses are named by the invitation's code
    response_id = api.json("GET", f"/v1/survey_responses?survey_id={survey['id']}", key)[0]["id"]
    return {
        **tenant,
        "response_id": response_id,
        "person_id": "cust-a",
        "survey_id": survey["id"],
        "customer_id": "cust-a",
        "webhook_id": webhook["id"],
        "invitation_id": invitation["invitation_id"],
    }


def request_for(op: Operation, ids: dict[str, Any]) -> tuple[str, Any]:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in ids, f"teach the isolation test which owner id to use for {{{name}}} in {op.path}"
        return str(ids[name])

    path = PARAM.sub(fill, op.path)
    if survey_scoped(op):
        # Delighted-compatible calls act on the key's default survey, or on the one named;
        # a roll-up on the surveys it lists
        query = model(op.query)
        assert query is not None
        name = "survey_ids" if "survey_ids" in query.model_fields else "survey_id"
        path += f"?{name}={ids['survey_id']}"
    body = None
    if op.body is not None:
        assert op.body in BODIES, f"teach the isolation test a valid {op.body} body"
        body = BODIES[op.body]
    return path, body


def survey_scoped(op: Operation) -> bool:
    query = model(op.query)
    return query is not None and bool({"survey_id", "survey_ids"} & set(query.model_fields))


def owner_state(api: Api, owner: dict[str, Any]) -> Any:
    key = owner["api_key"]
    return (
        api.json("GET", f"/v1/surveys/{owner['survey_id']}", key),
        api.json("GET", f"/v1/surveys/{owner['survey_id']}/responses", key)["data"],
        api.json("GET", "/v1/webhooks", key)["data"],
        api.json("GET", f"/v1/surveys/{owner['survey_id']}/scores?window=all", key)["responses"],
        api.json("GET", "/v1/settings", key),
    )


def test_every_v1_route_is_declared_with_a_scope() -> None:
    routes = v1_routes()
    operations = {(op.method, op.path) for op in OPERATIONS if op.path.startswith("/v1/")}
    assert routes == operations, "register /v1 routes with functions.api.operations.operation(...)"
    assert all(declared(*route).scope in SCOPES for route in routes)


def test_no_route_lets_another_tenant_read_change_or_learn_about_data(
    api: Api, emulator: Emulator, owner: dict[str, Any]
) -> None:
    before = owner_state(api, owner)
    intruder = create_tenant("Intruder")["api_key"]
    secrets_of_owner = [owner["survey_id"], owner["webhook_id"], owner["invitation_id"], owner["response_id"]]
    for method, route in sorted(v1_routes()):
        op = declared(method, route)
        path, body = request_for(op, owner)
        response = api.call(method, path, intruder, body)
        text = response.body.decode()
        assert not any(secret in text for secret in secrets_of_owner), f"{method} {route} leaks: {text}"
        if op.path in ERASURES:
            # Customer ids are the tenant's own namespace: erasing "cust-a" in another tenant
            # erases nobody of the owner's.
            assert response.status_code == 202 and json.loads(text)["erased"] == 0
        elif PARAM.search(op.path) or survey_scoped(op):
            assert response.status_code == 404, f"{method} {route}: {response.status_code} {text}"
            assert json.loads(text)["error"]["code"] == "not_found"
        else:
            assert response.status_code < 300, f"{method} {route}: {response.status_code} {text}"
    emulator.drain()
    assert owner_state(api, owner) == before


def test_every_route_refuses_a_key_without_its_scope(
    api: Api, emulator: Emulator, owner: dict[str, Any]
) -> None:
    before = owner_state(api, owner)
    for method, route in sorted(v1_routes()):
        op = declared(method, route)
        assert op.scope is not None
        others = frozenset(s for s in SCOPES if s not in (op.scope, "admin"))
        weak = create_key(owner["tenant_id"], others)["api_key"]
        path, body = request_for(op, owner)
        response = api.call(method, path, weak, body)
        assert response.status_code == 403, f"{method} {route} with {sorted(others)}: {response.status_code}"
        assert json.loads(response.body)["error"]["code"] == "forbidden"
        assert op.scope in json.loads(response.body)["error"]["message"]
        anonymous = api.call(method, path, None, body)
        assert anonymous.status_code == 401, f"{method} {route} without a key"
    emulator.drain()
    assert owner_state(api, owner) == before


def test_admin_implies_every_scope(api: Api, emulator: Emulator, owner: dict[str, Any]) -> None:
    admin = create_key(owner["tenant_id"], frozenset({"admin"}))["api_key"]
    assert api.call("GET", f"/v1/surveys/{owner['survey_id']}/responses", admin).status_code == 200
