"""Tenants and API keys."""

from __future__ import annotations

from functions.domain import apikeys
from functions.domain.apikeys import ApiKey
from functions.domain.codes import new_id
from functions.domain.errors import Forbidden, NotFound, Unauthenticated
from functions.logic import clock
from functions.store import core


def create_tenant(name: str) -> dict[str, str]:
    """A new tenant and its first key (every scope). The key is returned once, never stored."""
    tenant_id = new_id("ten")
    secret = apikeys.new_secret()
    hash_hex = apikeys.key_hash(secret)
    key = ApiKey(apikeys.key_id_for(hash_hex), tenant_id, frozenset(apikeys.SCOPES))
    core.create_tenant(tenant_id, name, clock.iso(clock.now()), hash_hex, key)
    return {"tenant_id": tenant_id, "api_key": secret, "key_id": key.key_id}


def create_key(
    tenant_id: str, scopes: frozenset[str], default_survey_id: str | None = None
) -> dict[str, str]:
    if not core.tenant_exists(tenant_id):
        raise NotFound(f"no tenant {tenant_id}")
    if default_survey_id is not None:
        survey = core.get_survey(default_survey_id)
        if survey is None or survey.tenant_id != tenant_id:
            raise NotFound(f"no survey {default_survey_id} in tenant {tenant_id}")
    secret = apikeys.new_secret()
    hash_hex = apikeys.key_hash(secret)
    key = ApiKey(apikeys.key_id_for(hash_hex), tenant_id, scopes, default_survey_id)
    core.put_key(hash_hex, key, clock.iso(clock.now()))
    return {"key_id": key.key_id, "api_key": secret}


def revoke_key(key_id: str) -> None:
    core.revoke_key(key_id)


def check_key(key: ApiKey | None, scope: str) -> ApiKey:
    """The key, if it exists, is live and has `scope`."""
    if key is None or key.revoked:
        raise Unauthenticated("the API key is not valid")
    if not key.allows(scope):
        raise Forbidden(f"this API key lacks the {scope} scope")
    return key


def authenticate(secret: str | None, scope: str) -> ApiKey:
    """The key behind a bearer secret, checked for `scope` (one read)."""
    if not secret or not apikeys.looks_like_key(secret):
        raise Unauthenticated("send 'Authorization: Bearer hk_live_…' with a valid API key")
    return check_key(core.get_key(apikeys.key_hash(secret)), scope)
